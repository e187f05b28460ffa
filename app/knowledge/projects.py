"""Projects that spread between districts: proposed by anyone (confirmed by mail),
published by organisers (audited), with the districts that took them up ("übernommen
in", proposed and moderated the same way) and the meetings where they were presented.
A contact's address is on a page only once that person confirmed it by mail."""

import secrets
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..meetings import services as meetings
from ..shared import audit, ratelimit
from ..shared.database import utcnow
from ..shared.districts import by_name
from ..shared.errors import Problems, UserError
from ..shared.tokens import TokenError, address_fingerprint, read_token
from ..shared.validation import clean_text, normalise_email, person_name
from . import mails
from .models import PHASES, Adoption, EntryStatus, Presentation, Project

PHASE_LABELS = dict(zip(PHASES, (
    _l("Start and finding people"), _l("Concept and planning"),
    _l("Results and responsibilities"), _l("Cooperation"), _l("Support and resources"),
    _l("Integration and inclusion"), _l("Stumbling blocks and conflicts"),
    _l("Network and exchange")), strict=True))


@dataclass(frozen=True)
class ProjectPage:
    project: Project
    adoptions: list[Adoption]
    presented: list  # the meetings (meetings' own objects)
    contact: tuple[str | None, str | None]  # name and address, where the contact agreed


def find(project_id) -> Project | None:
    return db.session.get(Project, project_id) if str(project_id).isdigit() else None


def _district(problems: Problems, name) -> str | None:
    district = by_name(name or "")
    if district is None:
        problems.add("district", _("Please choose one of the districts."))
        return None
    return district.name


def _allowed(email: str, ip: str | None, purpose: str) -> bool:
    return ratelimit.allow("CONFIRM_MAILS_PER_ADDRESS", purpose, email) and (
        ip is None or ratelimit.allow("CONFIRM_MAILS_PER_IP", purpose, ip))


def propose(*, name, district, description, phases, contact_name, contact_email, email,
            ip: str | None) -> Project | None:
    """A proposal, kept unconfirmed until its proposer confirms by mail. Every field's
    problem at once; None when a limit held the mail back (nothing stored then)."""
    problems = Problems()
    name = problems.check("name", clean_text, name, 120, _("Project"))
    if not name:
        problems.add("name", _("%(field)s is required.", field=_("Project")))
    district = _district(problems, district)
    description = (description or "").strip()
    if not description:
        problems.add("description", _("%(field)s is required.", field=_("What it does")))
    elif len(description) > 2000:
        problems.add("description", _("%(field)s is too long (at most %(max)d characters).",
                                      field=_("What it does"), max=2000))
    phases = [phase for phase in phases or [] if phase in PHASES]
    contact_name = problems.check("contact_name", person_name, contact_name)
    contact_email = problems.check("contact_email", normalise_email, contact_email) \
        if (contact_email or "").strip() else None
    email = problems.check("email", normalise_email, email)
    problems.done()
    if not _allowed(email, ip, "project"):
        return None
    project = Project(name=name, district=district, description=description,
                      phases=",".join(phases), contact_name=contact_name,
                      contact_email=contact_email, proposer_email=email,
                      nonce=secrets.token_hex(16), status=EntryStatus.UNCONFIRMED)
    db.session.add(project)
    db.session.flush()
    mails.send_entry_confirmation("project-confirm", project, project.name, email)
    return project


def propose_adoption(project: Project, *, district, year, how, email,
                     ip: str | None) -> Adoption | None:
    """"Übernommen in": kept unconfirmed until its proposer confirms by mail."""
    if project.status != EntryStatus.PUBLISHED:
        raise UserError(_("This project is not in the atlas."))
    problems = Problems()
    district = _district(problems, district)
    if district == project.district:
        problems.add("district", _("Please choose another district than the project's own."))
    text = str(year or "").strip()
    if not (text.isdigit() and 1990 <= int(text) <= date.today().year):
        problems.add("year", _("Please give the year (from 1990 to this year)."))
    how = problems.check("how", clean_text, how, 300, _("How"))
    if not how:
        problems.add("how", _("%(field)s is required.", field=_("How")))
    email = problems.check("email", normalise_email, email)
    problems.done()
    if not _allowed(email, ip, "adoption"):
        return None
    adoption = Adoption(project_id=project.id, district=district, year=int(text), how=how,
                        proposer_email=email, nonce=secrets.token_hex(16),
                        status=EntryStatus.UNCONFIRMED)
    db.session.add(adoption)
    db.session.flush()
    mails.send_entry_confirmation("adoption-confirm", adoption,
                                  f"{project.name} → {district}", email)
    return adoption


def _unconfirmed(purpose: str, model, token: str):
    payload = read_token(purpose, token)
    entry = db.session.get(model, payload.get("e")) if str(payload.get("e")).isdigit() else None
    if entry is None:
        raise TokenError("invalid")
    if entry.status != EntryStatus.UNCONFIRMED or entry.nonce != payload.get("n"):
        raise TokenError("used")
    return entry


def check_confirmation(purpose: str, token: str) -> None:
    _unconfirmed(purpose, Project if purpose == "project-confirm" else Adoption, token)


def confirm(purpose: str, token: str) -> None:
    """The proposer's link: the entry goes to the organisers, their address is deleted;
    a project's contact is asked, by mail, whether they may be shown."""
    entry = _unconfirmed(purpose, Project if purpose == "project-confirm" else Adoption, token)
    entry.status, entry.nonce, entry.proposer_email = EntryStatus.PROPOSED, None, None
    if isinstance(entry, Project) and entry.contact_email:
        mails.send_contact_consent(entry)


def agree_check(token: str) -> Project:
    """The project whose contact a consent link asks (TokenError otherwise)."""
    payload = read_token("project-contact", token)
    project = find(payload.get("p"))
    if project is None or not project.contact_email or \
            address_fingerprint(project.contact_email) != payload.get("h"):
        raise TokenError("invalid")
    return project


def agree_as_contact(token: str) -> Project:
    """The contact agrees to be shown with the project (their own address only)."""
    project = agree_check(token)
    project.contact_confirmed = True
    return project


def _decide(entry, status: EntryStatus, actor: str, action: str) -> None:
    if entry.status != EntryStatus.PROPOSED:
        raise UserError(_("Only a proposal waiting for organisers can be published or "
                          "declined."))
    entry.status, entry.decided_at, entry.decided_by = status, utcnow(), actor
    audit.record(actor, action, f"{type(entry).__name__.lower()} {entry.id}")


def decide(entry, *, publish: bool, actor: str) -> None:
    """Publish or decline a project or an "übernommen in" entry (audited)."""
    kind = "project" if isinstance(entry, Project) else "adoption"
    _decide(entry, EntryStatus.PUBLISHED if publish else EntryStatus.DECLINED, actor,
            f"{kind}.{'publish' if publish else 'decline'}")


def find_adoption(adoption_id) -> Adoption | None:
    return db.session.get(Adoption, adoption_id) if str(adoption_id).isdigit() else None


def present(project: Project, meeting_id, *, actor: str) -> None:
    """The project was presented at that meeting (one that has taken place)."""
    meeting = meetings.find(meeting_id)
    if meeting is None or meeting.start_at > utcnow():
        raise UserError(_("Please choose a meeting that has taken place."))
    exists = db.session.scalar(sa.select(Presentation.id).where(
        Presentation.project_id == project.id, Presentation.meeting_id == meeting.id))
    if exists is None:
        db.session.add(Presentation(project_id=project.id, meeting_id=meeting.id))
        audit.record(actor, "project.present", f"project {project.id}", meeting=meeting.id)


def waiting() -> tuple[list[Project], list[Adoption]]:
    return (list(db.session.scalars(sa.select(Project).where(
                Project.status == EntryStatus.PROPOSED).order_by(Project.created_at))),
            list(db.session.scalars(sa.select(Adoption).where(
                Adoption.status == EntryStatus.PROPOSED).order_by(Adoption.created_at))))


def _adoptions(project_ids=None, district: str | None = None) -> list[Adoption]:
    query = sa.select(Adoption).join(Project, Project.id == Adoption.project_id).where(
        Adoption.status == EntryStatus.PUBLISHED, Project.status == EntryStatus.PUBLISHED)
    if project_ids is not None:
        query = query.where(Adoption.project_id.in_(project_ids))
    if district is not None:
        query = query.where(Adoption.district == district)
    return list(db.session.scalars(query.order_by(Adoption.year, Adoption.id)))


def atlas(*, phase: str = "", word: str = "") -> tuple[list[Project], list[Adoption]]:
    """Published projects (of a phase, with a word in name or text) and what spread."""
    query = sa.select(Project).where(Project.status == EntryStatus.PUBLISHED)
    if phase in PHASES:
        query = query.where(Project.phases.contains(phase))
    for part in word.split()[:8]:
        pattern = "%" + part[:100].replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        query = query.where(sa.or_(Project.name.ilike(pattern, escape="\\"),
                                   Project.description.ilike(pattern, escape="\\")))
    found = list(db.session.scalars(query.order_by(Project.name)))
    return found, _adoptions([project.id for project in found])


@dataclass(frozen=True)
class DistrictProjects:
    own: list[Project]  # the district's own projects
    spread: list[Adoption]  # where its projects were taken up
    taken_up: list[tuple[Adoption, Project]]  # what it took up from others


def by_district(name: str) -> DistrictProjects:
    own = list(db.session.scalars(sa.select(Project).where(
        Project.status == EntryStatus.PUBLISHED, Project.district == name)
        .order_by(Project.name)))
    return DistrictProjects(own, _adoptions([project.id for project in own]),
                            [(adoption, find(adoption.project_id))
                             for adoption in _adoptions(district=name)])


def page(project_id) -> ProjectPage | None:
    project = find(project_id)
    if project is None or project.status != EntryStatus.PUBLISHED:
        return None
    presented = [meetings.find(meeting_id) for meeting_id in db.session.scalars(
        sa.select(Presentation.meeting_id).where(Presentation.project_id == project.id))]
    shown = (project.contact_name, project.contact_email) if project.contact_confirmed \
        else (None, None)
    return ProjectPage(project, _adoptions([project.id]), [m for m in presented if m], shown)


def api_projects(url_of) -> list[dict]:
    """The published projects with schema.org Project and Place fields; ``url_of``
    gives a project's page."""
    projects, adoptions = atlas()
    taken_up: dict[int, list[dict]] = {}
    for adoption in adoptions:
        taken_up.setdefault(adoption.project_id, []).append(
            {"@type": "Place", "name": adoption.district, "year": adoption.year,
             "description": adoption.how})
    return [{"@type": "Project", "name": project.name, "description": project.description,
             "url": url_of(project), "location": {"@type": "Place", "name": project.district,
                                                  "containedInPlace": "Stuttgart"},
             "keywords": [phase for phase in project.phases.split(",") if phase],
             "takenUpIn": taken_up.get(project.id, [])} for project in projects]
