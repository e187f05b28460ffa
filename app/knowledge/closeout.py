"""Meetings closed with what came out of them: after a meeting, organisers note how
many came (prefilled from the "Ich komme" answers, correctable, plus walk-ins), the
record, the projects presented, follow-ups (what, who, by when) and the record's
insights, each tagged with one of the eight Werkzeugkoffer phases.

``FOLLOW_UP_AFTER_DAYS`` after the meeting, those who said they would come get one
mail with the record and the projects (unless they opted out on their settings
page): one mailing, queued once."""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..delivery import outbox
from ..extensions import db
from ..meetings import rsvp
from ..meetings import services as meetings
from ..shared import audit
from ..shared.database import utcnow
from ..shared.errors import Problems, UserError
from ..shared.validation import clean_text, person_name
from ..subscriptions import services as subscriptions
from .models import PHASES, CloseOut, EntryStatus, FollowUp, Insight, Presentation, Project

MAX_PEOPLE = 10_000
# A close-out written this long after its mail was due sends none (old meetings
# entered for the archive surprise nobody).
LATE = timedelta(days=30)


@dataclass(frozen=True)
class CloseOutPage:
    """The close-out as its form shows it: stored values, or the prefill."""

    meeting: object  # meetings' own object
    attendance: int
    walk_ins: int
    closed: CloseOut | None
    presented: list[int]  # project IDs
    follow_ups: list[FollowUp]
    insights: list[Insight]


def closed_reason(meeting, now=None) -> str | None:
    """Why this meeting cannot be closed out (yet), or None."""
    if meeting.status not in ("announced", "held") or meeting.start_at > (now or utcnow()):
        return _("A meeting can be closed out once it has taken place.")
    return None


def page(meeting) -> CloseOutPage:
    closed = db.session.get(CloseOut, meeting.id)
    attendance = closed.attendance if closed else db.session.scalar(
        sa.select(sa.func.count()).select_from(rsvp.coming(meeting.id).subquery()))
    return CloseOutPage(
        meeting, attendance, closed.walk_ins if closed else 0, closed,
        list(db.session.scalars(sa.select(Presentation.project_id).where(
            Presentation.meeting_id == meeting.id))),
        list(db.session.scalars(sa.select(FollowUp).where(FollowUp.meeting_id == meeting.id)
                                .order_by(FollowUp.due, FollowUp.id))),
        insights_of(meeting.id))


def insights_of(meeting_id: int) -> list[Insight]:
    return list(db.session.scalars(sa.select(Insight).where(Insight.meeting_id == meeting_id)
                                   .order_by(Insight.id)))


def _count(problems: Problems, name: str, value, label: str) -> int | None:
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or int(text) > MAX_PEOPLE:
        problems.add(name, _("%(field)s: please give a whole number from 0 to %(max)s.",
                             field=label, max=f"{MAX_PEOPLE:,}".replace(",", ".")))
        return None
    return int(text)


def _day(text) -> date | None:
    try:
        return date.fromisoformat(str(text or "").strip())
    except ValueError:
        return None


def _follow_ups(problems: Problems, rows) -> list[tuple[str, str, date]]:
    """The rows with anything in them; each needs all three parts (the date as
    ``2027-04-30``, what a date field sends)."""
    kept = []
    for number, (task, person, due_text) in enumerate(rows):
        name = f"follow_ups-{number}"
        task = problems.check(f"{name}-task", clean_text, task, 300, _("What"))
        person = problems.check(f"{name}-person", person_name, person)
        due = _day(due_text)
        if not (task or person or str(due_text or "").strip()):
            continue
        if not task:
            problems.add(f"{name}-task", _("%(field)s is required.", field=_("What")))
        if not person:
            problems.add(f"{name}-person", _("%(field)s is required.", field=_("Who")))
        if due is None:
            problems.add(f"{name}-due", _("Please give a date."))
        if task and person and due:
            kept.append((task, person, due))
    return kept


def _insights(problems: Problems, rows) -> list[tuple[str, str]]:
    kept = []
    for number, (phase, text) in enumerate(rows):
        name = f"insights-{number}"
        text = problems.check(f"{name}-text", clean_text, text, 1000, _("Insight"))
        if not text:
            continue
        if phase not in PHASES:
            problems.add(f"{name}-phase", _("Please choose one of the phases."))
            continue
        kept.append((phase, text))
    return kept


def _projects(problems: Problems, project_ids) -> list[int]:
    chosen = {str(value) for value in project_ids or []}
    wanted = {int(value) for value in chosen if value.isdigit()}
    published = set(db.session.scalars(sa.select(Project.id).where(
        Project.id.in_(wanted), Project.status == EntryStatus.PUBLISHED))) if wanted else set()
    if len(published) != len(chosen):
        problems.add("projects", _("Please choose projects from the atlas."))
    return sorted(published)


def close_out(meeting, *, attendance, walk_ins, record, project_ids, follow_ups, insights,
              actor: str, now=None) -> CloseOut:
    """Store what came out of a meeting that has taken place (again: a correction
    replaces what was there). Every field's problem at once; nothing is changed then.
    ``follow_ups``: (what, who, date) rows; ``insights``: (phase, text) rows."""
    now = now or utcnow()
    reason = closed_reason(meeting, now)
    if reason:
        raise UserError(reason)
    problems = Problems()
    attendance = _count(problems, "attendance", attendance, _("Came"))
    walk_ins = _count(problems, "walk_ins", walk_ins, _("Walk-ins"))
    record = problems.check("record", meetings.record_text, record)
    project_ids = _projects(problems, project_ids)
    follow_ups = _follow_ups(problems, follow_ups)
    insights = _insights(problems, insights)
    problems.done()
    meetings.write_record(meeting, record, actor=actor, now=now)
    closed = db.session.get(CloseOut, meeting.id)
    if closed is None:
        closed = CloseOut(meeting_id=meeting.id, attendance=attendance, closed_by=actor)
        db.session.add(closed)
    closed.attendance, closed.walk_ins, closed.closed_at, closed.closed_by = (
        attendance, walk_ins, now, actor)
    for model in (FollowUp, Insight):
        db.session.execute(sa.delete(model).where(model.meeting_id == meeting.id))
    db.session.execute(sa.delete(Presentation).where(Presentation.meeting_id == meeting.id))
    db.session.add_all([FollowUp(meeting_id=meeting.id, task=task, person=person, due=due)
                        for task, person, due in follow_ups])
    db.session.add_all([Insight(meeting_id=meeting.id, phase=phase, text=text)
                        for phase, text in insights])
    db.session.add_all([Presentation(project_id=project_id, meeting_id=meeting.id)
                        for project_id in project_ids])
    audit.record(actor, "meeting.close_out", f"meeting {meeting.id}", came=attendance,
                 walk_ins=walk_ins, projects=project_ids, follow_ups=len(follow_ups),
                 insights=len(insights))
    return closed


def queue_follow_up_mails(now=None) -> int:
    """For each closed-out meeting whose mail is due: one mailing to those who said
    they would come and did not opt out, queued once. Returns how many mails."""
    now = now or utcnow()
    after = timedelta(days=current_app.config["FOLLOW_UP_AFTER_DAYS"])
    queued = 0
    for closed in db.session.scalars(sa.select(CloseOut).where(
            CloseOut.follow_up_queued_at.is_(None)).with_for_update(skip_locked=True)):
        meeting = meetings.find(closed.meeting_id)
        due = meeting.end_at + after
        if due > now or now - due > LATE:
            continue
        closed.follow_up_queued_at = now
        queued += outbox.queue_mailing(
            "follow-up", subscriptions.active_ids(
                with_address=True, among=rsvp.coming(meeting.id),
                excluding=subscriptions.declining_follow_ups()),
            key=f"follow-up:{meeting.id}:{{id}}", meeting_id=meeting.id, reference=meeting.id)
    return queued
