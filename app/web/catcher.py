"""Pages of the local mail catcher: read what the service sent while developing.

Registered only when ``MAIL_CATCHER`` is on (``python3 dev.py serve``)."""

from flask import Blueprint, abort, current_app, render_template

from .. import mailcatcher

bp = Blueprint("catcher", __name__, url_prefix="/_mails")


@bp.get("/")
def index():
    items = mailcatcher.messages(current_app.config["MAIL_CATCHER_DIR"])
    return render_template("catcher/index.html", items=items)


@bp.get("/<key>")
def show(key):
    message = mailcatcher.message(current_app.config["MAIL_CATCHER_DIR"], key)
    if message is None:
        abort(404)
    text = message.get_body(preferencelist=("plain",))
    return render_template(
        "catcher/show.html", message=message,
        text=text.get_content() if text else "",
        attachments=[part.get_filename() or part.get_content_type()
                     for part in message.iter_attachments()],
    )
