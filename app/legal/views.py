"""``/impressum`` and ``/datenschutz``, linked in every page's footer."""

from flask import Blueprint, render_template

from . import services as legal

bp = Blueprint("legal", __name__)


@bp.get("/impressum")
def imprint():
    title, body = legal.page("imprint")
    return render_template("legal/page.html", title=title, body=body)


@bp.get("/datenschutz")
def privacy():
    title, body = legal.page("privacy")
    return render_template("legal/page.html", title=title, body=body)
