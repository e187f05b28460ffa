"""What goes to the list about meetings, and when: invitations, reminders, updates,
cancellations and topic announcements. Each function queues outbox rows in the
caller's transaction; the outbox sends them.

Calendar method: PUBLISH, deliberately. The list is a broadcast: REQUEST would need
an ATTENDEE per recipient and make calendar clients send replies to the ORGANIZER
address, which nobody reads; replies come through the RSVP links instead. Updates
reuse the UID with a higher SEQUENCE; a cancellation is METHOD:CANCEL.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..models import (Announcement, AnnouncementStatus, Meeting, MeetingStatus, OutboxMessage,
                      OutboxStatus, Subscriber, SubscriberStatus, utcnow)
from . import calendar, markup, outbox
from .mails import ListMail

BATCH = 200  # subscribers rendered at a time; memory stays flat however long the list
INVITED = ("invitation", "update")  # kinds that put the meeting into someone's calendar
MEETING_KINDS = ("invitation", "update", "reminder", "cancellation")


def _list_sender() -> str:
    config = current_app.config
    return config["MAIL_LIST_SENDER"] or config["MAIL_DEFAULT_SENDER"]


def _active():
    """IDs of the active subscribers (a query, refined by the callers)."""
    return sa.select(Subscriber.id).where(Subscriber.status == SubscriberStatus.ACTIVE)


def _has_mail(meeting: Meeting, kinds):
    """Subscribers with a live (not dropped) mail of ``kinds`` about ``meeting``."""
    return sa.select(OutboxMessage.subscriber_id).where(
        OutboxMessage.meeting_id == meeting.id, OutboxMessage.kind.in_(kinds),
        OutboxMessage.status != OutboxStatus.DROPPED)


# Called in each subscriber's language.
SUBJECTS = {
    "invitation": lambda m: _("Invitation: %(summary)s", summary=calendar.summary(m)),
    "update": lambda m: _("Changed: %(summary)s", summary=calendar.summary(m)),
    "reminder": lambda m: _("Reminder: %(summary)s", summary=calendar.summary(m)),
    "cancellation": lambda m: _("Cancelled: %(summary)s", summary=calendar.summary(m)),
}


def _in_batches(subscriber_ids):
    """The subscribers, ``BATCH`` at a time; each batch leaves the session once done."""
    ids = list(subscriber_ids)
    for start in range(0, len(ids), BATCH):
        batch = db.session.scalars(sa.select(Subscriber).where(
            Subscriber.id.in_(ids[start:start + BATCH])).order_by(Subscriber.id)).all()
        yield batch
        for subscriber in batch:
            db.session.expunge(subscriber)


def _queue(kind: str, meeting: Meeting, subscriber_ids) -> int:
    """One personalised mail with the meeting's calendar to each subscriber."""
    method = "CANCEL" if kind == "cancellation" else "PUBLISH"
    ics = calendar.calendar([meeting], method=method).to_ical()
    mail = ListMail(kind, lambda: SUBJECTS[kind](meeting), sender=_list_sender(),
                    calendar=(ics, method), meeting=meeting,
                    description=markup.render(meeting.description),
                    meeting_url=calendar.meeting_url(meeting))
    count = 0
    for batch in _in_batches(subscriber_ids):
        count += outbox.enqueue_many([
            outbox.entry(mail.for_subscriber(subscriber),
                         key=f"{kind}:{meeting.id}:{subscriber.id}:{meeting.sequence}",
                         kind=kind, subscriber_id=subscriber.id, list_mail=True,
                         meeting_id=meeting.id, sequence=meeting.sequence)
            for subscriber in batch])
    return count


def _due_meetings(now, horizon) -> list[Meeting]:
    """Announced meetings starting between now and ``horizon``. Locked (PostgreSQL): a
    meeting another worker is queueing for, or an organiser is changing, is skipped."""
    return list(db.session.scalars(
        sa.select(Meeting).where(Meeting.status == MeetingStatus.ANNOUNCED,
                                 Meeting.start_at > now, Meeting.start_at <= horizon)
        .with_for_update(skip_locked=True)))


def _queue_due(kind: str, days_setting: str, recipients, now, limit) -> int:
    """Queue ``kind`` for every meeting due within the setting's days, to those of
    ``recipients(meeting)`` (a query of subscriber IDs) who lack it: at most ``limit``,
    so that the caller can commit in steps and senders start early."""
    now = now or utcnow()
    horizon = now + timedelta(days=current_app.config[days_setting])
    count = 0
    for meeting in _due_meetings(now, horizon):
        query = recipients(meeting).order_by(Subscriber.id)
        if limit:
            query = query.limit(limit - count)
        count += _queue(kind, meeting, db.session.scalars(query).all())
        if limit and count >= limit:
            break
    return count


def queue_invitations(now=None, limit: int | None = None) -> int:
    """Invite every active subscriber who has no invitation yet to each announced
    meeting that is within ``INVITE_BEFORE_DAYS`` (late joiners included)."""
    return _queue_due("invitation", "INVITE_BEFORE_DAYS", lambda meeting: _active().where(
        Subscriber.id.not_in(_has_mail(meeting, INVITED))), now, limit)


def queue_reminders(now=None, limit: int | None = None) -> int:
    """Remind the invited a short while before (``REMIND_BEFORE_DAYS``)."""
    return _queue_due("reminder", "REMIND_BEFORE_DAYS", lambda meeting: _active().where(
        Subscriber.id.in_(_has_mail(meeting, INVITED)),
        Subscriber.id.not_in(_has_mail(meeting, ("reminder",)))), now, limit)


def _drop_queued(meeting: Meeting, kinds) -> None:
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.meeting_id == meeting.id, OutboxMessage.kind.in_(kinds),
               OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.DROPPED))


def _already_invited(meeting: Meeting):
    """Subscribers to whom an invitation or update about ``meeting`` has gone out."""
    sent = sa.select(OutboxMessage.subscriber_id).where(
        OutboxMessage.meeting_id == meeting.id, OutboxMessage.kind.in_(INVITED),
        OutboxMessage.status.in_((OutboxStatus.SENT, OutboxStatus.SENDING)))
    return db.session.scalars(_active().where(Subscriber.id.in_(sent))).all()


def meeting_changed(meeting: Meeting) -> int:
    """Time or place changed: mails not sent yet are outdated and dropped (the next run
    invites those people afresh); who already has it in their calendar gets an update."""
    _drop_queued(meeting, MEETING_KINDS)
    db.session.flush()
    return _queue("update", meeting, _already_invited(meeting))


def meeting_cancelled(meeting: Meeting) -> int:
    """Nothing queued goes out any more; who has it in their calendar gets METHOD:CANCEL."""
    invited = _already_invited(meeting)
    _drop_queued(meeting, MEETING_KINDS)
    db.session.flush()
    return _queue("cancellation", meeting, invited)


def queue_announcements(now=None) -> int:
    """Send each scheduled announcement whose time has come to every active subscriber."""
    now = now or utcnow()
    count = 0
    for announcement in db.session.scalars(sa.select(Announcement).where(
            Announcement.status == AnnouncementStatus.SCHEDULED, Announcement.send_at <= now)
            .with_for_update(skip_locked=True)):
        meeting = announcement.meeting
        mail = ListMail("announcement", announcement.subject, sender=_list_sender(),
                        meeting=meeting, body=announcement.body,
                        body_html=markup.render(announcement.body))
        for batch in _in_batches(db.session.scalars(_active()).all()):
            count += outbox.enqueue_many([
                outbox.entry(mail.for_subscriber(subscriber),
                             key=f"announcement:{announcement.id}:{subscriber.id}",
                             kind="announcement", subscriber_id=subscriber.id, list_mail=True,
                             meeting_id=meeting.id)
                for subscriber in batch])
        announcement.status = AnnouncementStatus.SENT
        announcement.sent_at = now
    return count
