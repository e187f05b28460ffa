"""Meetings: create, change, announce, cancel, and plan the year.

Every change validates all of its input first and then writes, so bad input
changes nothing. Changes of time, place or status raise the calendar ``sequence``.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _

from ..extensions import db
from ..shared import audit, validation
from ..shared.database import by_id, utcnow
from ..shared.districts import all_districts
from ..shared.errors import Problems, UserError
from ..shared.timeutil import local, spoken
from ..shared.urls import mail_domain
from ..shared.validation import clean_district, clean_text
from . import holidays_bw, invitations, planner, venues
from .models import Announcement, AnnouncementStatus, Meeting, MeetingKind, MeetingStatus, Venue

MAX_DURATION = timedelta(hours=14)


class SameEvening(UserError):
    """Another meeting takes place on the same evening; saved only when the organiser
    confirms it (``allow_same_evening``)."""


def find(meeting_id) -> Meeting | None:
    return by_id(Meeting, meeting_id)


def by_uid(uid: str) -> Meeting | None:
    """The meeting with this UID (as a calendar reply names it; one with a NUL
    character, which no database column holds, names none)."""
    if "\x00" in uid:
        return None
    return db.session.scalar(sa.select(Meeting).where(Meeting.uid == uid))


def get(meeting_id) -> Meeting:
    meeting = find(meeting_id)
    if meeting is None:
        raise UserError(_("There is no meeting %(id)s.", id=meeting_id))
    return meeting


def _venue(venue_id) -> Venue | None:
    if venue_id in (None, ""):
        return None
    venue = venues.find(venue_id)
    if venue is None:
        raise UserError(_("There is no venue %(id)s.", id=venue_id))
    return venue


def _check(problems: Problems, start, end, district, venue, now, *, held: bool = False) -> None:
    """Time and place together; a time the caller could not read is None (and its
    problem noted already). A meeting entered as ``held`` must be over."""
    if start is not None and end is not None:
        if end <= start:
            problems.add("end", _("The meeting must end after it starts."))
        elif end - start > MAX_DURATION:
            problems.add("end", _("A meeting cannot last longer than 14 hours."))
    if held and end is not None and end > now:
        problems.add("end", _("A meeting entered as held must be over already."))
    if not held and start is not None and start <= now:
        problems.add("start", _("The meeting cannot be in the past."))
    if venue is not None and district is not None and venue.district != district:
        problems.add("venue_id", _("The venue %(venue)s is in %(venue_district)s, not in "
                                   "%(district)s.", venue=venue.name,
                                   venue_district=venue.district, district=district))


def on_same_evening(start, *, besides: Meeting | None = None) -> Meeting | None:
    """Another meeting (not cancelled) on the same local day as ``start``."""
    day = local(start).date()
    query = sa.select(Meeting).where(
        Meeting.status != MeetingStatus.CANCELLED,
        Meeting.start_at >= start - timedelta(days=1), Meeting.start_at <= start + timedelta(days=1))
    if besides is not None:
        query = query.where(Meeting.id != besides.id)
    return next((m for m in db.session.scalars(query) if local(m.start_at).date() == day), None)


def _check_evening(start, besides, allowed: bool) -> None:
    other = None if allowed else on_same_evening(start, besides=besides)
    if other is not None:
        raise SameEvening(_(
            "On the same evening there is already a meeting: %(when)s in %(district)s. "
            "Save anyway only if two meetings on one evening are intended.",
            when=spoken(other.start_at), district=other.district))


def _hosts(problems: Problems, host_organisation, host_contact) -> dict:
    return {"host_organisation": problems.check("host_organisation", clean_text,
                                                host_organisation, 150, _("Host organisation")),
            "host_contact": problems.check("host_contact", clean_text, host_contact, 300,
                                           _("Contact person of the host"))}


def create(*, actor: str, start, end, district=None, venue_id=None, topic=None,
           description=None, notes=None, kind=MeetingKind.MEETING, capacity=None,
           host_organisation=None, host_contact=None, allow_same_evening=False,
           held: bool = False, record: str | None = None,
           problems: Problems | None = None, now=None) -> Meeting:
    """A new draft meeting. ``start``/``end`` are aware datetimes. Every field's
    problem is raised together, with those the caller noted in ``problems`` (a time
    it could not read is None). A second meeting on one evening raises
    ``SameEvening`` unless ``allow_same_evening``.

    ``held``: one of the network's earlier meetings, entered for the archive with
    its ``record``: over already, public at once, and no mail goes out for it (mail
    goes only for announced meetings ahead)."""
    problems = problems or Problems()
    venue = problems.check("venue_id", _venue, venue_id)
    district = problems.check("district", clean_district, district) or (
        venue.district if venue else None)
    if district is None:
        problems.add("district", _("Please choose the district of the meeting."))
    _check(problems, start, end, district, venue, now or utcnow(), held=held)
    hosts = _hosts(problems, host_organisation, host_contact)
    topic = problems.check("topic", clean_text, topic, 200, _("Topic"))
    capacity = problems.check("capacity", validation.capacity, capacity)
    record = problems.check("record", record_text, record)
    problems.done()
    _check_evening(start, None, allow_same_evening)
    meeting = Meeting(
        kind=MeetingKind(kind), start_at=start, end_at=end, district=district, venue=venue,
        topic=topic, description=(description or "").strip() or None,
        organiser_notes=(notes or "").strip() or None, **hosts,
        capacity=capacity, uid=f"{uuid.uuid4()}@{mail_domain()}",
        status=MeetingStatus.HELD if held else MeetingStatus.DRAFT, record=record if held else None,
    )
    db.session.add(meeting)
    db.session.flush()
    audit.record(actor, "meeting.create", f"meeting {meeting.id}", start=spoken(start),
                 district=district, venue=venue.name if venue else None, topic=meeting.topic,
                 host=meeting.host_organisation, held=held or None)
    return meeting


def update(meeting: Meeting, *, actor: str, now=None, allow_same_evening=False,
           notify=False, problems: Problems | None = None, **changes) -> Meeting:
    """Change what is given in ``changes`` (start, end, district, venue_id, topic,
    description, notes, host_organisation, host_contact). Time or place changes
    raise the sequence and send those invited an update (after
    ``MEETING_UPDATE_DELAY_MINUTES``); other changes only with ``notify``. Every
    field's problem is raised together, as in ``create``. Moving onto another
    meeting's evening raises ``SameEvening`` unless ``allow_same_evening``."""
    if meeting.status == MeetingStatus.CANCELLED:
        raise UserError(_("A cancelled meeting cannot be changed."))
    if meeting.status == MeetingStatus.HELD:
        raise UserError(_("A meeting that has taken place cannot be changed."))
    change = _worked_out(meeting, changes, problems or Problems(), now or utcnow())
    if local(change.start).date() != local(meeting.start_at).date():
        _check_evening(change.start, meeting, allow_same_evening)
    _apply(meeting, change, actor=actor, notify=notify, now=now)
    return meeting


@dataclass(frozen=True)
class _Change:
    """A meeting as a change would leave it."""

    start: datetime
    end: datetime
    district: str
    venue: Venue | None
    topic: str | None
    host_organisation: str | None
    host_contact: str | None
    description: str | None
    notes: str | None


def _worked_out(meeting: Meeting, changes: dict, problems: Problems, now) -> _Change:
    """The meeting with ``changes``, every field checked; their problems raised together."""
    start = changes.get("start") or meeting.start_at
    end = changes.get("end") or meeting.end_at
    venue = (problems.check("venue_id", _venue, changes["venue_id"]) if "venue_id" in changes
             else meeting.venue)
    district = (problems.check("district", clean_district, changes["district"])
                if changes.get("district")
                else (venue.district if "venue_id" in changes and venue else meeting.district))
    _check(problems, start, end, district, venue, now)
    topic = (problems.check("topic", clean_text, changes["topic"], 200, _("Topic"))
             if "topic" in changes else meeting.topic)
    hosts = _hosts(problems, changes.get("host_organisation", meeting.host_organisation),
                   changes.get("host_contact", meeting.host_contact))
    problems.done()
    return _Change(
        start=start, end=end, district=district, venue=venue, topic=topic, **hosts,
        description=((changes["description"] or "").strip() or None
                     if "description" in changes else meeting.description),
        notes=((changes["notes"] or "").strip() or None
               if "notes" in changes else meeting.organiser_notes))


def _apply(meeting: Meeting, change: _Change, *, actor: str, notify: bool, now) -> None:
    """Write ``change``, audited. A new time or place (or ``notify``) raises the
    sequence and, for an announced meeting, sends those invited an update."""
    moved = (change.start, change.end, change.district, change.venue) != (
        meeting.start_at, meeting.end_at, meeting.district, meeting.venue)
    before_start = meeting.start_at
    before = {"start": spoken(meeting.start_at), "district": meeting.district,
              "venue": meeting.venue.name if meeting.venue else None, "topic": meeting.topic,
              "host": meeting.host_organisation}
    meeting.start_at, meeting.end_at = change.start, change.end
    meeting.district, meeting.venue, meeting.topic = change.district, change.venue, change.topic
    meeting.host_organisation, meeting.host_contact = change.host_organisation, change.host_contact
    meeting.description, meeting.organiser_notes = change.description, change.notes
    if moved or notify:
        meeting.sequence += 1
        if meeting.status == MeetingStatus.ANNOUNCED:
            if change.start != before_start and meeting.previous_start_at is None:
                meeting.previous_start_at = before_start  # shown as "moved" in public
            invitations.meeting_changed(meeting, now)
    audit.record(actor, "meeting.update", f"meeting {meeting.id}", before=before,
                 after={"start": spoken(change.start), "district": change.district,
                        "venue": change.venue.name if change.venue else None,
                        "topic": change.topic, "host": change.host_organisation})


def announce(meeting: Meeting, *, actor: str, now=None) -> Meeting:
    """Publish a draft: from now on invitations go out on schedule. Its data must be
    complete: a time still ahead and a venue (the "where" of every invitation)."""
    if meeting.status != MeetingStatus.DRAFT:
        raise UserError(_("Only a draft can be announced."))
    if meeting.start_at <= (now or utcnow()):
        raise UserError(_("The meeting cannot be in the past."))
    if meeting.venue is None:
        raise UserError(_("Please choose the venue before announcing the meeting: "
                          "every invitation says where it takes place."))
    meeting.status = MeetingStatus.ANNOUNCED
    meeting.sequence += 1
    audit.record(actor, "meeting.announce", f"meeting {meeting.id}")
    return meeting


def cancel(meeting: Meeting, *, actor: str, reason: str | None) -> Meeting:
    """Cancel an announced meeting. The reason is public: it stands on the meeting's
    page and in the cancellation mail. Announcements not sent yet are withdrawn."""
    if meeting.status == MeetingStatus.DRAFT:
        raise UserError(_("A draft is not cancelled but deleted: nobody has heard of it."))
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.HELD):
        raise UserError(_("This meeting cannot be cancelled any more."))
    reason = clean_text(reason, 500, _("Reason"))
    if not reason:
        raise UserError(_("Please give a reason for the cancellation."))
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancel_reason = reason
    meeting.sequence += 1
    invitations.meeting_cancelled(meeting)
    db.session.execute(sa.update(Announcement).where(
        Announcement.meeting_id == meeting.id,
        Announcement.status.in_((AnnouncementStatus.DRAFT, AnnouncementStatus.SCHEDULED)))
        .values(status=AnnouncementStatus.CANCELLED))
    audit.record(actor, "meeting.cancel", f"meeting {meeting.id}", reason=reason)
    return meeting


def delete_draft(meeting: Meeting, *, actor: str) -> None:
    """Delete a draft and, with it (the database cascades), its announcements: nobody
    has heard of it, so nothing is sent and nothing public remains. The audit log
    keeps what it was."""
    if meeting.status != MeetingStatus.DRAFT:
        raise UserError(_("Only a draft can be deleted; an announced meeting is cancelled."))
    audit.record(actor, "meeting.delete", f"meeting {meeting.id}",
                 start=spoken(meeting.start_at), district=meeting.district,
                 topic=meeting.topic)
    db.session.delete(meeting)
    db.session.flush()


def next_announced(now=None) -> Meeting | None:
    """The next meeting people can come to."""
    return db.session.scalar(
        sa.select(Meeting).where(Meeting.status == MeetingStatus.ANNOUNCED,
                                 Meeting.start_at > (now or utcnow()))
        .order_by(Meeting.start_at).limit(1))


def lock(meeting: Meeting) -> Meeting:
    """Take the meeting's row lock for the rest of the transaction (PostgreSQL; SQLite
    writes one at a time anyway) and read it afresh: whatever is counted against it
    (a NetzWerkStatt's places) is then counted by one transaction at a time."""
    return db.session.scalars(sa.select(Meeting).where(Meeting.id == meeting.id)
                              .with_for_update().execution_options(populate_existing=True)).one()


PUBLIC = (MeetingStatus.ANNOUNCED, MeetingStatus.CANCELLED, MeetingStatus.HELD)


def find_public(meeting_id) -> Meeting | None:
    """A meeting anyone may see: announced, cancelled or held, never a draft."""
    meeting = find(meeting_id)
    return meeting if meeting is not None and meeting.status in PUBLIC else None


def upcoming(now=None, *, limit: int = 50) -> list[Meeting]:
    """Meetings still ahead, announced or cancelled (a cancelled one is shown as such)."""
    return list(db.session.scalars(
        sa.select(Meeting).where(Meeting.status.in_((MeetingStatus.ANNOUNCED,
                                                     MeetingStatus.CANCELLED)),
                                 Meeting.end_at > (now or utcnow()))
        .order_by(Meeting.start_at).limit(limit)))


def following(after: Meeting, now=None) -> list[Meeting]:
    """The announced meetings after ``after`` in the same year (the home page's list)."""
    year = local(after.start_at).year
    return [m for m in upcoming(now) if m.id != after.id and m.start_at > after.start_at
            and local(m.start_at).year == year]


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def archive(*, word: str = "", district: str = "", topic: str = "",
            now=None) -> dict[int, list[Meeting]]:
    """Past meetings (held, or cancelled) by year, newest first, found by a word in
    their topic, description or record, by district and by topic."""
    query = sa.select(Meeting).where(
        Meeting.status.in_((MeetingStatus.HELD, MeetingStatus.CANCELLED,
                            MeetingStatus.ANNOUNCED)),
        Meeting.end_at <= (now or utcnow()))
    for part in (word or "").split()[:8]:
        pattern = _like(part[:100])
        query = query.where(sa.or_(*(column.ilike(pattern, escape="\\") for column in (
            Meeting.topic, Meeting.description, Meeting.record, Meeting.district,
            Meeting.host_organisation))))
    if district:
        query = query.where(Meeting.district == district)
    if topic:
        query = query.where(Meeting.topic.ilike(_like(topic[:200]), escape="\\"))
    years: dict[int, list[Meeting]] = {}
    for meeting in db.session.scalars(query.order_by(Meeting.start_at.desc()).limit(500)):
        years.setdefault(local(meeting.start_at).year, []).append(meeting)
    return years


def topics(now=None) -> list[str]:
    """The topics of the meetings that took place, for the archive's search (a future
    or cancelled meeting's topic would find nothing worth reading)."""
    return sorted(set(db.session.scalars(sa.select(Meeting.topic).where(
        Meeting.status.in_((MeetingStatus.HELD, MeetingStatus.ANNOUNCED)),
        Meeting.end_at <= (now or utcnow()), Meeting.topic.is_not(None)))))


def write_record(meeting: Meeting, record: str | None, *, actor: str, now=None) -> Meeting:
    """Organisers' record of a meeting that has taken place ("Was wir mitgenommen
    haben", Markdown): public on its page and searchable in the archive."""
    if meeting.status == MeetingStatus.DRAFT or meeting.status == MeetingStatus.CANCELLED \
            or meeting.start_at > (now or utcnow()):
        raise UserError(_("A record can be written once the meeting has taken place."))
    record = record_text(record)
    meeting.record = record
    audit.record(actor, "meeting.record", f"meeting {meeting.id}", length=len(record or ""))
    return meeting


def record_text(record: str | None) -> str | None:
    """A record as stored: trimmed, None when empty (UserError when too long)."""
    record = (record or "").strip() or None
    if record is not None and len(record) > 20_000:
        raise UserError(_("The record is too long (at most 20,000 characters)."))
    return record


def workshops_open(now=None) -> list[Meeting]:
    """NetzWerkStatt days still ahead that take registrations."""
    return [m for m in upcoming(now) if m.kind == MeetingKind.WORKSHOP
            and m.status == MeetingStatus.ANNOUNCED and m.registration_open]


def workshops_between(start, end) -> list[Meeting]:
    """Announced NetzWerkStatt days starting in ``[start, end)`` (for reminders)."""
    return list(db.session.scalars(sa.select(Meeting).where(
        Meeting.kind == MeetingKind.WORKSHOP, Meeting.status == MeetingStatus.ANNOUNCED,
        Meeting.start_at >= start, Meeting.start_at < end)))


def workshops_ended_before(moment) -> list[Meeting]:
    return list(db.session.scalars(sa.select(Meeting).where(
        Meeting.kind == MeetingKind.WORKSHOP, Meeting.end_at < moment)))


def set_registration(meeting: Meeting, *, actor: str, open_: bool, capacity,
                     childcare_capacity) -> Meeting:
    """Open or close a NetzWerkStatt's registration and set its places."""
    if meeting.kind != MeetingKind.WORKSHOP:
        raise UserError(_("Only a NetzWerkStatt takes registrations."))
    problems = Problems()
    places = problems.check("capacity", validation.capacity, capacity)
    childcare = problems.check("childcare_capacity", validation.childcare_places,
                               childcare_capacity)
    problems.done()
    if open_ and meeting.status != MeetingStatus.ANNOUNCED:
        raise UserError(_("Registration opens once the NetzWerkStatt is announced."))
    meeting.registration_open = bool(open_)
    meeting.capacity, meeting.childcare_capacity = places, childcare
    audit.record(actor, "meeting.registration", f"meeting {meeting.id}",
                 open=bool(open_), capacity=places, childcare=childcare)
    return meeting


def upcoming_and_recent(limit: int = 200) -> list[Meeting]:
    return list(db.session.scalars(
        sa.select(Meeting).order_by(Meeting.start_at.desc()).limit(limit)))


def _quarter(day: date) -> int:
    return (day.month - 1) // 3 + 1


def plan(year: int, *, today: date | None = None, rules: planner.Rules | None = None):
    """The planner's proposal for ``year`` from the meetings held or planned so far:
    ``(proposals, unplanned quarters, {quarter: meeting already planned})``. A quarter
    that has a meeting (not cancelled) gets no proposal, so planning again adds nothing."""
    if not 2000 <= year <= 2200:
        raise UserError(_("Please give a year such as 2027."))
    today = today or local(utcnow()).date()
    meetings = list(db.session.scalars(
        sa.select(Meeting).where(Meeting.status != MeetingStatus.CANCELLED,
                                 Meeting.kind == MeetingKind.MEETING)
        .order_by(Meeting.start_at)))
    history = [planner.PastMeeting(local(m.start_at).date(), m.district) for m in meetings]
    planned = {}
    for meeting in meetings:
        day = local(meeting.start_at).date()
        if day.year == year:
            planned.setdefault(_quarter(day), meeting)
    if rules is None:
        config = current_app.config
        rules = planner.Rules(weekday=config["MEETING_WEEKDAY"],
                              start=time.fromisoformat(config["MEETING_START"]),
                              end=time.fromisoformat(config["MEETING_END"]),
                              no_repeat=config["MEETING_NO_REPEAT"])
    proposals, unplanned = planner.plan_year(
        year, history, all_districts(), venues.venue_by_district(), rules,
        holidays_bw.blocked_days(year), today, planned_quarters=set(planned))
    return proposals, unplanned, planned


def apply_plan(year: int, *, actor: str, today: date | None = None) -> list[Meeting]:
    """Save ``year``'s proposal as drafts, computed afresh: quarters planned in the
    meantime (a second click, a second organiser) get nothing new."""
    proposals, _unplanned, _planned = plan(year, today=today)
    created = [create(actor=actor, start=p.start, end=p.end, district=p.district,
                      venue_id=p.venue_id, allow_same_evening=True) for p in proposals]
    audit.record(actor, "meeting.plan", None, year=year, created=len(created))
    return created


def explain(proposal: planner.Proposal) -> str:
    """Why the planner proposes this date and district, in words for people."""
    kind = _("inner district") if proposal.kind == "inner" else _("outer district")
    parts = [_("never visited before") if proposal.last_visit is None
             else _("last visited %(day)s", day=format_date(proposal.last_visit, "d.M.y"))]
    if proposal.alternates:
        parts.append(_("%(kind)s after %(previous)s", kind=kind, previous=proposal.previous))
    else:
        parts.append(kind)
    parts.append(_("has a venue") if proposal.venue_id else _("no venue yet"))
    skipped = {}
    for day, reason in proposal.skipped:
        if reason != "past":
            skipped.setdefault(reason, []).append(day)
    for reason, days in skipped.items():
        parts.append(_("%(reason)s on %(days)s", reason=reason,
                       days=", ".join(format_date(d, "d.M.y") for d in sorted(days))))
    return "; ".join(parts)


def mark_held(now=None) -> int:
    """Announced meetings whose end has passed have taken place."""
    result = db.session.execute(
        sa.update(Meeting)
        .where(Meeting.status == MeetingStatus.ANNOUNCED, Meeting.end_at < (now or utcnow()))
        .values(status=MeetingStatus.HELD))
    return result.rowcount
