"""``/impressum`` and ``/datenschutz``, linked in every page's footer."""

from flask import Blueprint, render_template

from ..shared.public_pages import public_page
from . import services as legal

bp = Blueprint("legal", __name__)


@bp.get("/impressum")
@public_page
def imprint():
    title, body = legal.page("imprint")
    return render_template("legal/page.html", title=title, body=body)


@bp.get("/datenschutz")
@public_page
def privacy():
    title, body = legal.page("privacy")
    return render_template("legal/page.html", title=title, body=body)
