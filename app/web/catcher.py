"""Pages of the local mail catcher: read what the service sent while developing.

Registered only when ``MAIL_CATCHER`` is on (``python3 dev.py serve``)."""

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

from flask import Blueprint, abort, current_app, render_template

from .. import mailcatcher

bp = Blueprint("catcher", __name__, url_prefix="/_mails")


@bp.get("/")
def index():
    items = [(key, message, datetime.fromtimestamp(message.get_date(), UTC))
             for key, message in mailcatcher.messages(current_app.config["MAIL_CATCHER_DIR"])]
    return render_template("catcher/index.html", items=items)


@bp.get("/<key>")
def show(key):
    raw = mailcatcher.message(current_app.config["MAIL_CATCHER_DIR"], key)
    if raw is None:
        abort(404)
    message = BytesParser(policy=policy.default).parsebytes(raw.as_bytes())
    text = message.get_body(preferencelist=("plain",))
    return render_template(
        "catcher/show.html", message=message,
        text=text.get_content() if text else "",
        attachments=[part.get_filename() or part.get_content_type()
                     for part in message.iter_attachments()],
    )
