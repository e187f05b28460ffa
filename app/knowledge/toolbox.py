"""The Werkzeugkoffer: per phase of building a network, the insights tagged with it
in meeting records and NetzWerkStatt results, and the projects tagged with it,
newest first, each naming its source; organisers write a short introduction per
phase (audited)."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..meetings import services as meetings
from ..shared import audit
from ..shared.errors import Problems, UserError
from ..shared.timeutil import local
from .models import PHASES, EntryStatus, Insight, PhaseIntro, Project
from .projects import PHASE_LABELS

MAX_INTRO = 2000


@dataclass(frozen=True)
class Tip:
    """One entry of a phase: an insight (``meeting_id``) or a project (``project_id``)."""

    text: str
    source: str  # "Treffen Q2 2027, Vaihingen", "NetzWerkStatt 2027, Mitte", "Projekt in …"
    when: datetime
    meeting_id: int | None = None
    project_id: int | None = None


@dataclass(frozen=True)
class Phase:
    key: str
    label: str
    intro: str | None
    tips: list[Tip]


def source(meeting) -> str:
    """Where an insight comes from, in words."""
    start = local(meeting.start_at)
    if meeting.kind == "workshop":
        return _("NetzWerkStatt %(year)d, %(district)s", year=start.year,
                 district=meeting.district)
    return _("Meeting Q%(quarter)d %(year)d, %(district)s", quarter=(start.month - 1) // 3 + 1,
             year=start.year, district=meeting.district)


def _insight_tips() -> dict[str, list[Tip]]:
    tips: dict[str, list[Tip]] = {}
    found: dict[int, object] = {}
    for insight in db.session.scalars(sa.select(Insight).order_by(Insight.id)):
        if insight.meeting_id not in found:
            found[insight.meeting_id] = meetings.find(insight.meeting_id)
        meeting = found[insight.meeting_id]
        tips.setdefault(insight.phase, []).append(
            Tip(insight.text, source(meeting), meeting.start_at, meeting_id=meeting.id))
    return tips


def phases() -> list[Phase]:
    """The eight phases in their order, each with its tips, newest first."""
    tips = _insight_tips()
    for project in db.session.scalars(sa.select(Project).where(
            Project.status == EntryStatus.PUBLISHED)):
        for key in filter(None, project.phases.split(",")):
            tips.setdefault(key, []).append(Tip(
                project.name, _("Project in %(district)s", district=project.district),
                project.created_at, project_id=project.id))
    texts = intros()
    return [Phase(key, str(PHASE_LABELS[key]), texts.get(key),
                  sorted(tips.get(key, []), key=lambda tip: tip.when, reverse=True))
            for key in PHASES]


def intros() -> dict[str, str]:
    return {intro.phase: intro.text for intro in db.session.scalars(sa.select(PhaseIntro))}


def write_intros(texts: dict[str, str | None], *, actor: str) -> None:
    """The organisers' introductions, one per phase (empty: none). Every phase's
    problem at once; nothing is changed then."""
    if set(texts) - set(PHASES):
        raise UserError(_("Please choose one of the phases."))
    problems = Problems()
    cleaned = {}
    for key in PHASES:
        text = (texts.get(key) or "").strip()
        if len(text) > MAX_INTRO:
            problems.add(key, _("%(field)s is too long (at most %(max)d characters).",
                                field=PHASE_LABELS[key], max=MAX_INTRO))
        cleaned[key] = text or None
    problems.done()
    stored = {intro.phase: intro for intro in db.session.scalars(sa.select(PhaseIntro))}
    for key, text in cleaned.items():
        if text is None and key in stored:
            db.session.delete(stored[key])
        elif text is not None and key in stored:
            stored[key].text, stored[key].updated_by = text, actor
        elif text is not None:
            db.session.add(PhaseIntro(phase=key, text=text, updated_by=actor))
    audit.record(actor, "toolbox.intros", "werkzeugkoffer",
                 phases=[key for key, text in cleaned.items() if text])
