"""Topic announcements: written by an organiser, sent to every active subscriber when due."""

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..delivery.compose import compose
from ..extensions import db
from ..shared import audit, markup
from ..shared.database import utcnow
from ..shared.errors import UserError
from ..shared.validation import clean_text
from ..subscriptions.mails import list_links
from .models import Announcement, Meeting, MeetingStatus


def _validated(meeting: Meeting, subject, body, send_at):
    if meeting.status == MeetingStatus.CANCELLED:
        raise UserError(_("A cancelled meeting cannot be announced."))
    subject = clean_text(subject, 200, _("Subject"))
    if not subject:
        raise UserError(_("%(field)s is required.", field=_("Subject")))
    body = (body or "").strip()
    if not body:
        raise UserError(_("%(field)s is required.", field=_("Text")))
    if len(body) > 20_000:
        raise UserError(_("The text is too long."))
    send_at = send_at or utcnow()
    if send_at > meeting.start_at:
        raise UserError(_("The announcement must go out before the meeting."))
    return subject, body, send_at


def preview(meeting: Meeting, *, subject, body, reader_email: str, reader_name: str | None):
    """The exact mail a subscriber gets, addressed to the organiser for the preview."""
    subject, body, _send_at = _validated(meeting, subject, body, None)
    return compose("announcement", subject, address=reader_email, name=reader_name,
                   language="de", sender=current_app.config["MAIL_LIST_SENDER"],
                   links=list_links("preview", "preview"), meeting=meeting, body=body,
                   body_html=markup.render(body))


def schedule(meeting: Meeting, *, actor: str, subject, body, send_at=None) -> Announcement:
    """Store the announcement; the delivery jobs send it when ``send_at`` has come."""
    subject, body, send_at = _validated(meeting, subject, body, send_at)
    announcement = Announcement(meeting_id=meeting.id, subject=subject, body=body,
                                send_at=send_at, created_by=actor)
    db.session.add(announcement)
    db.session.flush()
    audit.record(actor, "announcement.schedule", f"announcement {announcement.id}",
                 meeting=meeting.id, title=subject, send_at=send_at.isoformat())
    return announcement


def for_meeting(meeting: Meeting) -> list[Announcement]:
    return list(db.session.scalars(sa.select(Announcement)
                                   .where(Announcement.meeting_id == meeting.id)
                                   .order_by(Announcement.send_at)))
