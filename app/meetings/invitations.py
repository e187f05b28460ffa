"""What goes to the list about meetings, and when: invitations, reminders, updates,
cancellations and topic announcements. Each function queues outbox rows in the
caller's transaction; the outbox sends them.

Where an invitation is decided, built and sent: ``queue_invitations`` here decides
(announced meeting, within ``INVITE_BEFORE_DAYS``, active subscriber without one)
and queues one mailing with a row per member (``outbox.queue_mailing``); when a
row is sent, the sender asks ``render`` (handed to delivery as a hook by
``create_app``) for that member's mail, with ``calendar.request`` in it; the
sender (``delivery.sender``) sends it.

Invitations and updates are meeting requests (METHOD:REQUEST, the member alone as
ATTENDEE, the service's own ``MAIL_CALENDAR_ADDRESS`` as ORGANIZER): every major
calendar shows Accept/Decline and applies updates; the replies come back through
inbound mail as RSVPs. Updates reuse the UID with a higher SEQUENCE; a cancellation
is METHOD:CANCEL to everyone who got a request. Reminders carry no calendar object,
only the answer links and a link to the meeting's ``.ics``. Every meeting mail has
the member's signed answer links (``rsvp``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _

from ..delivery import outbox
from ..delivery.compose import compose, envelope_sender, transport_address
from ..delivery.hooks import MailingInfo, Member
from ..delivery.mime import Mail
from ..extensions import db
from ..shared import markup
from ..shared.database import utcnow
from ..subscriptions import services as subscriptions
from ..subscriptions.mails import list_links, personal_token
from . import calendar, hooks, rsvp
from .models import Announcement, AnnouncementStatus, Meeting, MeetingKind, MeetingStatus

# An announcement and the invitation of its meeting are never this close together,
# unless the organiser chose so (``Announcement.same_hour_ok``).
APART = timedelta(hours=1)
INVITED = rsvp.INVITED  # kinds that put the meeting into someone's calendar
MEETING_KINDS = ("invitation", "update", "reminder", "cancellation")
KINDS = frozenset((*MEETING_KINDS, "announcement"))  # the mailings ``render`` knows

# Called in each subscriber's language.
SUBJECTS = {
    "invitation": lambda m: _("Invitation: %(summary)s", summary=calendar.summary(m)),
    "update": lambda m: _("Changed: %(summary)s", summary=calendar.summary(m)),
    "reminder": lambda m: _("Reminder: %(summary)s", summary=calendar.summary(m)),
    "cancellation": lambda m: _("Cancelled: %(summary)s", summary=calendar.summary(m)),
}


METHOD = {"invitation": "REQUEST", "update": "REQUEST", "cancellation": "CANCEL"}


@dataclass(frozen=True)
class MeetingMailing:
    """What every member's mail of one mailing shares, loaded once per batch."""

    kind: str
    meeting: Meeting
    announcement: Announcement | None
    context: dict


def prepare(mailing: MailingInfo) -> MeetingMailing | None:
    """A mailing about a meeting as it is sent now (delivery asks when it sends its
    rows); None when its meeting or announcement is gone."""
    meeting = db.session.get(Meeting, mailing.meeting_id)
    if meeting is None:
        return None
    if mailing.kind == "announcement":
        announcement = db.session.get(Announcement, mailing.reference)
        if announcement is None:
            return None
        return MeetingMailing(mailing.kind, meeting, announcement,
                              markup.for_mail(announcement.body))
    return MeetingMailing(mailing.kind, meeting, None, {
        "description": markup.render(meeting.description),
        "meeting_url": calendar.meeting_url(meeting), "ics_url": calendar.file_url(meeting),
        **calendar.add_links(meeting), "answers": mailing.kind != "cancellation",
        **_waiting_topics(mailing.kind, meeting)})


def _waiting_topics(kind: str, meeting: Meeting) -> dict:
    """A quarterly meeting's invitation may carry one line on the topics that wait
    for votes, with their link (``INVITATION_TOPICS_LINE``)."""
    if kind != "invitation" or meeting.kind != MeetingKind.MEETING \
            or not current_app.config["INVITATION_TOPICS_LINE"]:
        return {}
    topics = hooks.waiting_topics()
    count = topics.count()
    return {"topics_waiting": count, "topics_url": topics.url()} if count else {}


def render(mailing: MeetingMailing, member: Member) -> Mail:
    """One member's mail of a mailing: the templates in their language, their
    personal links and (a meeting request) their own calendar object."""
    meeting, kind = mailing.meeting, mailing.kind
    common = {"address": member.address, "name": member.name, "language": member.language,
              "sender": current_app.config["MAIL_LIST_SENDER"], "code": member.code,
              "date": member.queued_at, "meeting": meeting, **mailing.context}
    if mailing.announcement is not None:
        token = personal_token(member.subscriber_id, member.address)
        return compose("announcement", mailing.announcement.subject, links=list_links(token),
                       **common)
    token = personal_token(member.subscriber_id, member.address, meeting_id=meeting.id)
    method = METHOD.get(kind)
    # Replies go to the member's own address (the mail's envelope tag): only a reply
    # there counts for them (inbound, rsvp.read_reply).
    ics = calendar.request(meeting, method, transport_address(member.address), member.name,
                           organizer=envelope_sender(member.code)) if method else None
    return compose(kind, lambda: SUBJECTS[kind](meeting),
                   links={**list_links(token), **rsvp.links(meeting.id, token)},
                   calendar=(ics, method) if method else None, **common)


@dataclass(frozen=True)
class Forecast:
    """When a mailing to the whole list will have reached everyone under the quota."""

    recipients: int
    last_mail_at: datetime
    too_late: bool = False  # a meeting's invitations and reminders cannot all go out in time

    def in_words(self) -> str:
        """For the organiser's page and the command line."""
        quota = outbox.quota_in_words()
        when = format_datetime(self.last_mail_at, "short")
        text = (_("Reaches all %(count)s by about %(time)s; your mailbox allows %(quota)s.",
                  count=self.recipients, time=when, quota=quota) if quota
                else _("Reaches all %(count)s by about %(time)s.", count=self.recipients,
                       time=when))
        if self.too_late:
            text += " " + _("Warning: under the mail quota the invitations and reminders "
                            "cannot all go out before the meeting starts.")
        return text


def _finish(mails: int, starting, now) -> datetime:
    if starting <= now:
        return outbox.list_mail_finish(mails, now)
    return starting + outbox.list_mail_duration(mails)


def list_forecast(starting, now=None) -> Forecast:
    """A mail to every member going out at ``starting`` (an announcement)."""
    now = now or utcnow()
    count = subscriptions.active_count()
    return Forecast(count, _finish(count, starting, now))


def meeting_forecast(meeting: Meeting, now=None) -> Forecast:
    """The invitations of ``meeting`` and, where they come first, its reminders."""
    now = now or utcnow()
    count = subscriptions.active_count()
    invited_at = invitation_time(meeting, now)
    last = _finish(count, invited_at, now)
    remind_at = meeting.start_at - timedelta(days=current_app.config["REMIND_BEFORE_DAYS"])
    reminded = remind_at + outbox.list_mail_duration(count) if invited_at < remind_at else last
    return Forecast(count, last, too_late=max(last, reminded) > meeting.start_at)


def _queue(kind: str, meeting: Meeting, subscriber_ids: sa.Select) -> int:
    """One personalised mail about the meeting to each subscriber of
    ``subscriber_ids`` (a query): a meeting request or cancellation with the member
    as ATTENDEE, or (reminder) the links alone."""
    return outbox.queue_mailing(
        kind, subscriptions.active_ids(among=subscriber_ids, with_address=True),
        key=f"{kind}:{meeting.id}:{{id}}:{meeting.sequence}", meeting_id=meeting.id,
        sequence=meeting.sequence)


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


def _queue_due(kind: str, days_setting: str, recipients, now) -> int:
    """Queue ``kind`` for every meeting due within the setting's days, to those of
    ``recipients(meeting)`` (a query of subscriber IDs) who lack it."""
    now = now or utcnow()
    horizon = now + timedelta(days=current_app.config[days_setting])
    return sum(_queue(kind, meeting, recipients(meeting))
               for meeting in _due_meetings(now, horizon, apart=kind == "invitation"))


def queue_invitations(now=None) -> int:
    """Invite every active subscriber who has no invitation yet to each announced
    meeting that is within ``INVITE_BEFORE_DAYS`` (late joiners included)."""
    return _queue_due("invitation", "INVITE_BEFORE_DAYS", lambda meeting: subscriptions.active_ids(
        excluding=outbox.recipients_about(meeting.id, INVITED)), now)


def queue_reminders(now=None) -> int:
    """Remind the invited a short while before (``REMIND_BEFORE_DAYS``), but not who
    said no. Who was invited within that time (a meeting announced late, a late
    joiner) has just got the invitation and no reminder."""
    days = timedelta(days=current_app.config["REMIND_BEFORE_DAYS"])
    return _queue_due("reminder", "REMIND_BEFORE_DAYS", lambda meeting: subscriptions.active_ids(
        among=outbox.recipients_about(meeting.id, INVITED, created_before=meeting.start_at - days),
        excluding=sa.union(outbox.recipients_about(meeting.id, ("reminder",)),
                           rsvp.declined(meeting.id))), now)


def _already_invited(meeting: Meeting) -> sa.Select:
    """Subscribers to whom an invitation or update about ``meeting`` has gone out."""
    return outbox.recipients_about(meeting.id, INVITED, delivered_only=True)


def meeting_changed(meeting: Meeting, now=None) -> None:
    """Time or place changed: mails not sent yet are outdated and dropped (the next run
    invites those people afresh); who already has it in their calendar gets an update
    ``MEETING_UPDATE_DELAY_MINUTES`` after the last change, one for all changes until
    then (``queue_updates``)."""
    outbox.drop_queued_about(meeting.id, MEETING_KINDS)
    delay = timedelta(minutes=current_app.config["MEETING_UPDATE_DELAY_MINUTES"])
    meeting.update_due_at = (now or utcnow()) + delay
    if not delay:
        queue_updates(now)


def queue_updates(now=None) -> int:
    """The update to everyone who has the meeting in their calendar, for each meeting
    whose last change is ``MEETING_UPDATE_DELAY_MINUTES`` ago."""
    now = now or utcnow()
    count = 0
    for meeting in db.session.scalars(sa.select(Meeting).where(
            Meeting.status == MeetingStatus.ANNOUNCED, Meeting.update_due_at <= now)
            .with_for_update(skip_locked=True)).all():
        meeting.update_due_at = None
        count += _queue("update", meeting, _already_invited(meeting))
    return count


def meeting_cancelled(meeting: Meeting) -> int:
    """Nothing queued goes out any more, nor an update still due; who has it in their
    calendar gets METHOD:CANCEL."""
    outbox.drop_queued_about(meeting.id, MEETING_KINDS)
    meeting.update_due_at = None
    return _queue("cancellation", meeting, _already_invited(meeting))


def queue_announcements(now=None) -> int:
    """Send each scheduled announcement whose time has come to every active subscriber;
    only ever about an announced meeting (scheduling makes sure, and cancelling a
    meeting withdraws its announcements)."""
    now = now or utcnow()
    count = 0
    for announcement in db.session.scalars(sa.select(Announcement).join(Meeting).where(
            Announcement.status == AnnouncementStatus.SCHEDULED, Announcement.send_at <= now,
            Meeting.status == MeetingStatus.ANNOUNCED)
            .with_for_update(skip_locked=True)).all():
        count += outbox.queue_mailing(
            "announcement", subscriptions.active_ids(with_address=True),
            key=f"announcement:{announcement.id}:{{id}}", meeting_id=announcement.meeting_id,
            reference=announcement.id)
        announcement.status = AnnouncementStatus.SENT
        announcement.sent_at = now
    return count
