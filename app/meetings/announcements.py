"""Topic announcements: written by an organiser, previewed, confirmed, then sent to
every active subscriber when due.

An announcement starts as a draft (``write``), which nothing ever sends; the
organiser looks at the preview, may send a test to themselves, and confirms it
(``schedule``), naming the time and seeing the number of recipients. Until it goes
out it can be changed (back to a draft, to be confirmed again) or withdrawn. Only
an announced meeting is announced to the list: confirming the announcement of a
draft meeting announces the meeting in the same step, with its data checked.
"""

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..delivery import outbox
from ..delivery.compose import compose
from ..extensions import db
from ..shared import audit, markup, ratelimit
from ..shared.database import by_id, utcnow
from ..shared.errors import UserError
from ..shared.timeutil import spoken
from ..shared.validation import clean_text
from ..subscriptions import services as subscriptions
from ..subscriptions.mails import list_links
from . import invitations
from . import services as meetings
from .models import Announcement, AnnouncementStatus, Meeting, MeetingStatus

OPEN = (AnnouncementStatus.DRAFT, AnnouncementStatus.SCHEDULED)
TEST_MAILS = "10/hour"  # test sends per organiser


def find(announcement_id) -> Announcement | None:
    return by_id(Announcement, announcement_id)


def _validated(meeting: Meeting, subject, body, send_at, now):
    if meeting.status not in (MeetingStatus.DRAFT, MeetingStatus.ANNOUNCED):
        raise UserError(_("Only a planned meeting can be announced."))
    subject = clean_text(subject, 200, _("Subject"))
    if not subject:
        raise UserError(_("%(field)s is required.", field=_("Subject")))
    body = (body or "").strip()
    if not body:
        raise UserError(_("%(field)s is required.", field=_("Text")))
    if len(body) > 20_000:
        raise UserError(_("The text is too long."))
    if send_at is not None and send_at < now - timedelta(minutes=5):
        raise UserError(_("The time to send lies in the past. Please leave it empty to "
                          "send right after the confirmation."))
    if send_at is not None and send_at > meeting.start_at:
        raise UserError(_("The announcement must go out before the meeting."))
    return subject, body


def write(meeting: Meeting, *, actor: str, subject, body, send_at=None,
          now=None) -> Announcement:
    """A new draft announcement; ``send_at`` None: right after the confirmation."""
    now = now or utcnow()
    subject, body = _validated(meeting, subject, body, send_at, now)
    announcement = Announcement(meeting_id=meeting.id, subject=subject, body=body,
                                send_at=send_at or now, created_by=actor,
                                status=AnnouncementStatus.DRAFT)
    db.session.add(announcement)
    db.session.flush()
    audit.record(actor, "announcement.write", f"announcement {announcement.id}",
                 meeting=meeting.id, title=subject)
    return announcement


def _still_open(announcement: Announcement) -> None:
    if announcement.status not in OPEN:
        raise UserError(_("This announcement has gone out or was withdrawn; it cannot be "
                          "changed any more."))


def change(announcement: Announcement, *, actor: str, subject, body, send_at=None,
           now=None) -> Announcement:
    """Change a draft or a scheduled announcement; it becomes a draft again, which
    must be previewed and confirmed anew."""
    _still_open(announcement)
    now = now or utcnow()
    subject, body = _validated(announcement.meeting, subject, body, send_at, now)
    announcement.subject, announcement.body = subject, body
    announcement.send_at = send_at or now
    announcement.status = AnnouncementStatus.DRAFT
    audit.record(actor, "announcement.change", f"announcement {announcement.id}",
                 title=subject)
    return announcement


def recipients() -> int:
    """How many people an announcement would reach now."""
    return subscriptions.active_count()


def forecast(announcement: Announcement, now=None) -> invitations.Forecast:
    """When the announcement will have reached everyone under the mail quota."""
    now = now or utcnow()
    return invitations.list_forecast(max(announcement.send_at, now), now)


def collides_with_invitation(announcement: Announcement, now=None):
    """The invitations' time when they come within the hour of ``announcement``, else None."""
    now = now or utcnow()
    invited = invitations.invitation_time(announcement.meeting, now)
    return invited if abs(max(announcement.send_at, now) - invited) < invitations.APART else None


def schedule(announcement: Announcement, *, actor: str, same_hour_ok: bool = False,
             announce_meeting: bool = False, now=None) -> Announcement:
    """Confirm a draft: it goes out at its time. The meeting must be announced, or is
    announced now with ``announce_meeting``. Within the hour of the meeting's
    invitation only with ``same_hour_ok``."""
    if announcement.status != AnnouncementStatus.DRAFT:
        raise UserError(_("Only a previewed draft can be confirmed."))
    now = now or utcnow()
    meeting = announcement.meeting
    if meeting.status == MeetingStatus.DRAFT:
        if not announce_meeting:
            raise UserError(_("The meeting is still a draft. Announce it together with "
                              "this announcement, or first complete and announce it."))
        meetings.announce(meeting, actor=actor, now=now)
    # A time that has passed meanwhile (or "now" when written) means: right away.
    announcement.send_at = max(announcement.send_at, now)
    _validated(meeting, announcement.subject, announcement.body, announcement.send_at, now)
    invited = collides_with_invitation(announcement, now)
    if invited is not None and not same_hour_ok:
        raise UserError(_(
            "The invitation to this meeting goes out at %(when)s, within the same hour. "
            "Please choose a time at least an hour apart, or confirm that both may "
            "arrive together.", when=spoken(invited)))
    announcement.status = AnnouncementStatus.SCHEDULED
    announcement.same_hour_ok = same_hour_ok
    audit.record(actor, "announcement.schedule", f"announcement {announcement.id}",
                 meeting=meeting.id, title=announcement.subject,
                 send_at=spoken(announcement.send_at), recipients=recipients())
    return announcement


def withdraw(announcement: Announcement, *, actor: str) -> Announcement:
    """Nothing of it is sent."""
    _still_open(announcement)
    announcement.status = AnnouncementStatus.CANCELLED
    audit.record(actor, "announcement.withdraw", f"announcement {announcement.id}",
                 title=announcement.subject)
    return announcement


def preview(announcement: Announcement, *, reader_email: str, reader_name: str | None,
            subject_prefix: str = ""):
    """The exact mail a subscriber gets, addressed to the organiser."""
    return compose("announcement", subject_prefix + announcement.subject, address=reader_email,
                   name=reader_name, language="de",
                   sender=current_app.config["MAIL_LIST_SENDER"],
                   links=list_links("preview"), meeting=announcement.meeting,
                   **markup.for_mail(announcement.body))


def send_test(announcement: Announcement, *, address: str, name: str | None) -> None:
    """The preview as a real mail to the organiser (no list member gets it)."""
    if not ratelimit.hit(TEST_MAILS, "announcement-test", address):
        raise UserError(_("You have sent many tests in the last hour. Please wait a little."))
    message = preview(announcement, reader_email=address, reader_name=name,
                      subject_prefix="[Test] ")
    outbox.enqueue(message, key=f"test:{announcement.id}:{secrets.token_hex(8)}", kind="test")


def for_meeting(meeting: Meeting) -> list[Announcement]:
    return list(db.session.scalars(sa.select(Announcement)
                                   .where(Announcement.meeting_id == meeting.id)
                                   .order_by(Announcement.send_at)))


def overview(sent_limit: int = 20) -> tuple[list[Announcement], list[Announcement]]:
    """Drafts and scheduled announcements (soonest first), and the latest ones sent
    or withdrawn."""
    waiting = list(db.session.scalars(sa.select(Announcement)
                                      .where(Announcement.status.in_(OPEN))
                                      .order_by(Announcement.send_at)))
    done = list(db.session.scalars(sa.select(Announcement)
                                   .where(Announcement.status.not_in(OPEN))
                                   .order_by(Announcement.send_at.desc()).limit(sent_limit)))
    return waiting, done
