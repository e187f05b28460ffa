"""Meetings: create, change, announce, cancel, and plan the year.

Every change validates all of its input first and then writes, so bad input
changes nothing. Changes of time, place or status raise the calendar ``sequence``.
"""

import uuid
from datetime import date, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..shared import audit, validation
from ..shared.database import by_id, utcnow
from ..shared.districts import all_districts
from ..shared.errors import UserError
from ..shared.timeutil import local, local_text
from ..shared.urls import mail_domain
from ..shared.validation import clean_district, clean_text
from . import holidays_bw, invitations, planner, venues
from .models import Meeting, MeetingKind, MeetingStatus, Venue

MAX_DURATION = timedelta(hours=14)


def find(meeting_id) -> Meeting | None:
    return by_id(Meeting, meeting_id)


def by_uid(uid: str) -> Meeting | None:
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


def _check(start, end, district, venue, now) -> None:
    if end <= start:
        raise UserError(_("The meeting must end after it starts."))
    if end - start > MAX_DURATION:
        raise UserError(_("A meeting cannot last longer than 14 hours."))
    if start <= now:
        raise UserError(_("The meeting cannot be in the past."))
    if venue is not None and venue.district != district:
        raise UserError(_("The venue %(venue)s is in %(venue_district)s, not in %(district)s.",
                             venue=venue.name, venue_district=venue.district,
                             district=district))


def create(*, actor: str, start, end, district=None, venue_id=None, topic=None,
           description=None, notes=None, kind=MeetingKind.MEETING, capacity=None,
           now=None) -> Meeting:
    """A new draft meeting. ``start``/``end`` are aware datetimes."""
    venue = _venue(venue_id)
    district = clean_district(district) or (venue.district if venue else None)
    if district is None:
        raise UserError(_("Please choose the district of the meeting."))
    _check(start, end, district, venue, now or utcnow())
    meeting = Meeting(
        kind=MeetingKind(kind), start_at=start, end_at=end, district=district, venue=venue,
        topic=clean_text(topic, 200, _("Topic")), description=(description or "").strip() or None,
        organiser_notes=(notes or "").strip() or None,
        capacity=validation.capacity(capacity), uid=f"{uuid.uuid4()}@{mail_domain()}",
    )
    db.session.add(meeting)
    db.session.flush()
    audit.record(actor, "meeting.create", f"meeting {meeting.id}", start=local_text(start),
                 district=district, venue=venue.name if venue else None, topic=meeting.topic)
    return meeting


def update(meeting: Meeting, *, actor: str, now=None, **changes) -> Meeting:
    """Change what is given in ``changes`` (start, end, district, venue_id, topic,
    description, notes). Time or place changes raise the sequence."""
    if meeting.status == MeetingStatus.CANCELLED:
        raise UserError(_("A cancelled meeting cannot be changed."))
    if meeting.status == MeetingStatus.HELD:
        raise UserError(_("A meeting that has taken place cannot be changed."))
    start = changes.get("start") or meeting.start_at
    end = changes.get("end") or meeting.end_at
    venue = _venue(changes["venue_id"]) if "venue_id" in changes else meeting.venue
    district = (clean_district(changes["district"]) if changes.get("district")
                else (venue.district if "venue_id" in changes and venue else meeting.district))
    _check(start, end, district, venue, now or utcnow())
    topic = (clean_text(changes["topic"], 200, _("Topic")) if "topic" in changes
             else meeting.topic)
    moved = (start, end, district, venue) != (meeting.start_at, meeting.end_at,
                                             meeting.district, meeting.venue)
    before = {"start": local_text(meeting.start_at), "district": meeting.district,
              "venue": meeting.venue.name if meeting.venue else None, "topic": meeting.topic}
    meeting.start_at, meeting.end_at, meeting.district, meeting.venue = start, end, district, venue
    meeting.topic = topic
    if "description" in changes:
        meeting.description = (changes["description"] or "").strip() or None
    if "notes" in changes:
        meeting.organiser_notes = (changes["notes"] or "").strip() or None
    if moved:
        meeting.sequence += 1
        if meeting.status == MeetingStatus.ANNOUNCED:
            invitations.meeting_changed(meeting)
    audit.record(actor, "meeting.update", f"meeting {meeting.id}", before=before,
                 after={"start": local_text(start), "district": district,
                        "venue": venue.name if venue else None, "topic": topic})
    return meeting


def announce(meeting: Meeting, *, actor: str, now=None) -> Meeting:
    """Publish a draft: from now on invitations go out on schedule."""
    if meeting.status != MeetingStatus.DRAFT:
        raise UserError(_("Only a draft can be announced."))
    if meeting.start_at <= (now or utcnow()):
        raise UserError(_("The meeting cannot be in the past."))
    meeting.status = MeetingStatus.ANNOUNCED
    meeting.sequence += 1
    audit.record(actor, "meeting.announce", f"meeting {meeting.id}")
    return meeting


def cancel(meeting: Meeting, *, actor: str, reason: str | None) -> Meeting:
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.HELD):
        raise UserError(_("This meeting cannot be cancelled any more."))
    reason = clean_text(reason, 500, _("Reason"))
    if not reason:
        raise UserError(_("Please give a reason for the cancellation."))
    was_announced = meeting.status == MeetingStatus.ANNOUNCED
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancel_reason = reason
    meeting.sequence += 1
    if was_announced:
        invitations.meeting_cancelled(meeting)
    audit.record(actor, "meeting.cancel", f"meeting {meeting.id}", reason=reason)
    return meeting


def next_announced(now=None) -> Meeting | None:
    """The next meeting people can come to."""
    return db.session.scalar(
        sa.select(Meeting).where(Meeting.status == MeetingStatus.ANNOUNCED,
                                 Meeting.start_at > (now or utcnow()))
        .order_by(Meeting.start_at).limit(1))


def upcoming_and_recent(limit: int = 200) -> list[Meeting]:
    return list(db.session.scalars(
        sa.select(Meeting).order_by(Meeting.start_at.desc()).limit(limit)))


def plan(year: int, *, today: date | None = None, rules: planner.Rules | None = None):
    """The planner's proposal for ``year`` from the meetings held or planned so far."""
    if not 2000 <= year <= 2200:
        raise UserError(_("Please give a year such as 2027."))
    today = today or local(utcnow()).date()
    history = [
        planner.PastMeeting(local(start).date(), district)
        for start, district in db.session.execute(
            sa.select(Meeting.start_at, Meeting.district)
            .where(Meeting.status != MeetingStatus.CANCELLED,
                   Meeting.kind == MeetingKind.MEETING))
    ]
    if rules is None:
        config = current_app.config
        rules = planner.Rules(weekday=config["MEETING_WEEKDAY"],
                              start=time.fromisoformat(config["MEETING_START"]),
                              end=time.fromisoformat(config["MEETING_END"]),
                              no_repeat=config["MEETING_NO_REPEAT"])
    return planner.plan_year(year, history, all_districts(), venues.venue_by_district(),
                             rules, holidays_bw.blocked_days(year), today)


def apply_plan(proposals, *, actor: str) -> list[Meeting]:
    """Save the proposals as drafts."""
    return [create(actor=actor, start=p.start, end=p.end, district=p.district,
                   venue_id=p.venue_id) for p in proposals]


def mark_held(now=None) -> int:
    """Announced meetings whose end has passed have taken place."""
    result = db.session.execute(
        sa.update(Meeting)
        .where(Meeting.status == MeetingStatus.ANNOUNCED, Meeting.end_at < (now or utcnow()))
        .values(status=MeetingStatus.HELD))
    return result.rowcount
