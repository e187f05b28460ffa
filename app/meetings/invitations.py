"""What goes to the list about meetings, and when: invitations, reminders, updates,
cancellations and topic announcements. Each function queues outbox rows in the
caller's transaction; the outbox sends them.

Where an invitation is decided, built and sent: ``queue_invitations`` here decides
(announced meeting, within ``INVITE_BEFORE_DAYS``, active subscriber without one),
``delivery.compose.ListMail`` builds each personal mail with ``calendar.calendar``,
``delivery.outbox`` sends it.

Invitations and updates are meeting requests (METHOD:REQUEST, the member alone as
ATTENDEE, the service's own ``MAIL_CALENDAR_ADDRESS`` as ORGANIZER): every major
calendar shows Accept/Decline and applies updates; the replies come back through
inbound mail as RSVPs. Updates reuse the UID with a higher SEQUENCE; a cancellation
is METHOD:CANCEL to everyone who got a request. Reminders carry no calendar object,
only the answer links and a link to the meeting's ``.ics``. Every meeting mail has
the member's signed answer links (``rsvp``).
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..delivery import outbox
from ..delivery.compose import ListMail
from ..extensions import db
from ..shared import markup
from ..shared.database import utcnow
from ..subscriptions import services as subscriptions
from ..subscriptions.mails import list_links, personal_tokens
from . import calendar, rsvp
from .models import Announcement, AnnouncementStatus, Meeting, MeetingStatus

BATCH = 200  # subscribers rendered at a time; memory stays flat however long the list
# An announcement and the invitation of its meeting are never this close together,
# unless the organiser chose so (``Announcement.same_hour_ok``).
APART = timedelta(hours=1)
INVITED = rsvp.INVITED  # kinds that put the meeting into someone's calendar
MEETING_KINDS = ("invitation", "update", "reminder", "cancellation")

# Called in each subscriber's language.
SUBJECTS = {
    "invitation": lambda m: _("Invitation: %(summary)s", summary=calendar.summary(m)),
    "update": lambda m: _("Changed: %(summary)s", summary=calendar.summary(m)),
    "reminder": lambda m: _("Reminder: %(summary)s", summary=calendar.summary(m)),
    "cancellation": lambda m: _("Cancelled: %(summary)s", summary=calendar.summary(m)),
}


METHOD = {"invitation": "REQUEST", "update": "REQUEST", "cancellation": "CANCEL"}


def _queue_list_mail(mail: ListMail, subscriber_ids, *, key, meeting_id=None, **fields) -> int:
    """``mail`` to each subscriber, personalised; ``key(subscriber)`` names each row.
    With ``meeting_id``, each mail carries the member's answer links too."""
    count = 0
    for batch in subscriptions.in_batches(subscriber_ids, BATCH):
        entries = []
        for subscriber in batch:
            tokens = personal_tokens(subscriber)
            if meeting_id is not None and "rsvp" in mail.tokens:
                tokens["rsvp"] = rsvp.token(meeting_id, subscriber)
            entries.append(outbox.entry(
                mail.for_recipient(address=subscriber.email, name=subscriber.name,
                                   language=subscriber.language, tokens=tokens),
                key=key(subscriber), subscriber_id=subscriber.id, list_mail=True,
                meeting_id=meeting_id, **fields))
        count += outbox.enqueue_many(entries)
    return count


def _meeting_links(meeting: Meeting):
    """The list links and the answer links of a mail about ``meeting``."""
    def links(unsubscribe: str, preferences: str, rsvp_token: str) -> dict[str, str]:
        return {**list_links(unsubscribe, preferences), **rsvp.links(meeting.id, rsvp_token)}
    return links


def _queue(kind: str, meeting: Meeting, subscriber_ids) -> int:
    """One personalised mail about the meeting to each subscriber: a meeting request
    or cancellation with the member as ATTENDEE, or (reminder) the links alone."""
    request = calendar.Request(meeting, METHOD[kind]) if kind in METHOD else None
    mail = ListMail(kind, lambda: SUBJECTS[kind](meeting),
                    sender=current_app.config["MAIL_LIST_SENDER"],
                    links=_meeting_links(meeting), tokens=("unsubscribe", "preferences", "rsvp"),
                    calendar=(request.for_attendee, request.method) if request else None,
                    meeting=meeting, description=markup.render(meeting.description),
                    meeting_url=calendar.meeting_url(meeting),
                    ics_url=calendar.file_url(meeting), answers=kind != "cancellation")
    return _queue_list_mail(
        mail, subscriber_ids, kind=kind, meeting_id=meeting.id, sequence=meeting.sequence,
        key=lambda subscriber: f"{kind}:{meeting.id}:{subscriber.id}:{meeting.sequence}")


def _announced_near(now) -> sa.Select:
    """IDs of meetings with an announcement going out or gone out within an hour of
    ``now`` that is to stay apart from the invitation."""
    return sa.select(Announcement.meeting_id).where(
        Announcement.status.in_((AnnouncementStatus.SCHEDULED, AnnouncementStatus.SENT)),
        Announcement.same_hour_ok.is_(False),
        sa.func.coalesce(Announcement.sent_at, Announcement.send_at) > now - APART,
        sa.func.coalesce(Announcement.sent_at, Announcement.send_at) < now + APART)


def _due_meetings(now, horizon, *, apart: bool = False) -> list[Meeting]:
    """Announced meetings starting between now and ``horizon`` (with ``apart``, not
    those announced within the hour). Locked (PostgreSQL): a meeting another worker
    is queueing for, or an organiser is changing, is skipped."""
    query = sa.select(Meeting).where(Meeting.status == MeetingStatus.ANNOUNCED,
                                     Meeting.start_at > now, Meeting.start_at <= horizon)
    if apart:
        query = query.where(Meeting.id.not_in(_announced_near(now)))
    return list(db.session.scalars(query.with_for_update(skip_locked=True)))


def invitation_time(meeting: Meeting, now=None):
    """When the invitations to ``meeting`` went out (the first), or will go out once
    it is announced."""
    sent = outbox.first_queued_about(meeting.id, ("invitation",))
    if sent is not None:
        return sent
    due = meeting.start_at - timedelta(days=current_app.config["INVITE_BEFORE_DAYS"])
    return max(now or utcnow(), due)


def _queue_due(kind: str, days_setting: str, recipients, now, limit) -> int:
    """Queue ``kind`` for every meeting due within the setting's days, to those of
    ``recipients(meeting)`` (a query of subscriber IDs) who lack it: at most ``limit``,
    so that the caller can commit in steps and senders start early."""
    now = now or utcnow()
    horizon = now + timedelta(days=current_app.config[days_setting])
    count = 0
    for meeting in _due_meetings(now, horizon, apart=kind == "invitation"):
        query = recipients(meeting)
        if limit:
            query = query.limit(limit - count)
        count += _queue(kind, meeting, db.session.scalars(query).all())
        if limit and count >= limit:
            break
    return count


def queue_invitations(now=None, limit: int | None = None) -> int:
    """Invite every active subscriber who has no invitation yet to each announced
    meeting that is within ``INVITE_BEFORE_DAYS`` (late joiners included)."""
    return _queue_due("invitation", "INVITE_BEFORE_DAYS", lambda meeting: subscriptions.active_ids(
        excluding=outbox.recipients_about(meeting.id, INVITED)), now, limit)


def queue_reminders(now=None, limit: int | None = None) -> int:
    """Remind the invited a short while before (``REMIND_BEFORE_DAYS``). Who was
    invited within that time (a meeting announced late, a late joiner) has just got
    the invitation and no reminder."""
    days = timedelta(days=current_app.config["REMIND_BEFORE_DAYS"])
    return _queue_due("reminder", "REMIND_BEFORE_DAYS", lambda meeting: subscriptions.active_ids(
        among=outbox.recipients_about(meeting.id, INVITED, created_before=meeting.start_at - days),
        excluding=outbox.recipients_about(meeting.id, ("reminder",))), now, limit)


def _already_invited(meeting: Meeting) -> list[int]:
    """Active subscribers to whom an invitation or update about ``meeting`` has gone out."""
    return db.session.scalars(subscriptions.active_ids(
        among=outbox.recipients_about(meeting.id, INVITED, delivered_only=True))).all()


def meeting_changed(meeting: Meeting) -> int:
    """Time or place changed: mails not sent yet are outdated and dropped (the next run
    invites those people afresh); who already has it in their calendar gets an update."""
    outbox.drop_queued_about(meeting.id, MEETING_KINDS)
    db.session.flush()
    return _queue("update", meeting, _already_invited(meeting))


def meeting_cancelled(meeting: Meeting) -> int:
    """Nothing queued goes out any more; who has it in their calendar gets METHOD:CANCEL."""
    invited = _already_invited(meeting)
    outbox.drop_queued_about(meeting.id, MEETING_KINDS)
    db.session.flush()
    return _queue("cancellation", meeting, invited)


def queue_announcements(now=None) -> int:
    """Send each scheduled announcement whose time has come to every active subscriber;
    only ever about an announced meeting (scheduling makes sure, and cancelling a
    meeting withdraws its announcements)."""
    now = now or utcnow()
    count = 0
    for announcement in db.session.scalars(sa.select(Announcement).join(Meeting).where(
            Announcement.status == AnnouncementStatus.SCHEDULED, Announcement.send_at <= now,
            Meeting.status == MeetingStatus.ANNOUNCED)
            .with_for_update(skip_locked=True)):
        meeting = announcement.meeting
        mail = ListMail("announcement", announcement.subject,
                        sender=current_app.config["MAIL_LIST_SENDER"], links=list_links,
                        tokens=("unsubscribe", "preferences"),
                        meeting=meeting, body=announcement.body,
                        body_html=markup.render(announcement.body))
        count += _queue_list_mail(
            mail, db.session.scalars(subscriptions.active_ids()).all(), kind="announcement",
            meeting_id=meeting.id,
            key=lambda subscriber, a=announcement: f"announcement:{a.id}:{subscriber.id}")
        announcement.status = AnnouncementStatus.SENT
        announcement.sent_at = now
    return count
