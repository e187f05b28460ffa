"""Pages of delivery: the organisers' view of every send, and (only with
``MAIL_CATCHER`` on, as in ``python3 dev.py serve``) the local mail catcher."""

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _

from ..shared.web import or_404, organiser_required
from . import catcher, outbox

bp = Blueprint("delivery", __name__)


@bp.app_template_global()
def kind_label(kind: str) -> str:
    """A kind of mail in words for people."""
    labels = {
        "confirm": _("Confirmations"), "welcome": _("Welcome mails"),
        "signin": _("Sign-in links"), "invitation": _("Invitations"),
        "update": _("Updates"), "reminder": _("Reminders"),
        "cancellation": _("Cancellations"), "announcement": _("Topic announcements"),
        "test": _("Test mails"), "again": _("Settings links after a second sign-up"),
        "rsvp-link": _("Answer links"), "headcount": _("Headcounts for the host"),
        "forward": _("Forwarded replies"), "registration": _("NetzWerkStatt registrations"),
        "registration-offer": _("Offered places"),
        "registration-reminder": _("NetzWerkStatt reminders"),
        "post": _("Posts by members"), "digest": _("Digests of posts"),
        "follow-up": _("Mails after a meeting"), "inquiry": _("Requests to a project's people"),
    }
    return labels.get(kind, kind)


@bp.get("/organisation/versand")
@organiser_required
def sends():
    """Per send: how far it is, when it should end under the quota, and what failed
    (with the SMTP answer; the addresses only for admins, who alone see the list)."""
    return render_template("delivery/sends.html", sends=outbox.status(),
                           pending=outbox.pending(), paused_until=outbox.paused_until(),
                           quota=outbox.quota_in_words())


catcher_bp = Blueprint("catcher", __name__, url_prefix="/_mails")


@catcher_bp.get("/")
def catcher_index():
    items = catcher.messages(current_app.config["MAIL_CATCHER_DIR"])
    return render_template("delivery/catcher.html", items=items)


@catcher_bp.get("/<key>")
def catcher_mail(key):
    message = or_404(catcher.message(current_app.config["MAIL_CATCHER_DIR"], key))
    text = message.get_body(preferencelist=("plain",))
    return render_template(
        "delivery/catcher_mail.html", message=message,
        text=text.get_content() if text else "",
        attachments=[part.get_filename() or part.get_content_type()
                     for part in message.iter_attachments()],
    )
