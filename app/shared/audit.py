"""The audit log: who did what, when, from the web or the command line.

Services record their actions here in the caller's transaction, so an entry exists
exactly when the change does, whichever entry point made it. The organiser area
shows the log.
"""

import json
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from . import logs
from .database import UTCDateTime, utcnow

CLI = "cli"  # the actor of changes made on the command line


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(254))  # organiser's address, or "cli"
    action: Mapped[str] = mapped_column(sa.String(60))
    subject: Mapped[str | None] = mapped_column(sa.String(100))  # e.g. "meeting 12"
    details: Mapped[str | None] = mapped_column(sa.Text)


def record(actor: str, action: str, subject: str | None = None, **details) -> None:
    """Add an entry in the caller's transaction; once it commits, the log has the
    action too (who, what, on what; the details stay in the database)."""
    db.session.add(AuditEntry(
        actor=actor, action=action, subject=subject,
        details=json.dumps(details, ensure_ascii=False, default=str) if details else None,
    ))
    logs.after_commit(db.session(), action, actor=actor, subject=subject)


# Every action in words for people; a new ``record`` call adds its action here.
ACTIONS = {
    "meeting.create": _l("Meeting created"), "meeting.update": _l("Meeting changed"),
    "meeting.announce": _l("Meeting announced"), "meeting.cancel": _l("Meeting cancelled"),
    "meeting.delete": _l("Draft meeting deleted"), "meeting.plan": _l("Year planned"),
    "meeting.record": _l("Record of a meeting written"),
    "meeting.registration": _l("NetzWerkStatt registration set"),
    "registration.cancel": _l("Registration cancelled by an organiser"),
    "registration.move": _l("Registration moved by an organiser"),
    "announcement.write": _l("Announcement written"),
    "announcement.change": _l("Announcement changed"),
    "announcement.schedule": _l("Announcement confirmed and scheduled"),
    "announcement.withdraw": _l("Announcement withdrawn"),
    "venue.add": _l("Venue added"), "venue.update": _l("Venue changed"),
    "subscriber.add": _l("Person added"), "subscriber.correct": _l("Person's details corrected"),
    "subscriber.unsubscribe": _l("Person unsubscribed"), "subscriber.erase": _l("Person erased"),
    "subscriber.reactivate": _l("Address reactivated"),
    "subscriber.resend_confirmation": _l("Confirmation link sent again"),
    "subscribers.import": _l("List imported"), "subscribers.export": _l("List exported"),
    "organiser.add": _l("Organiser added"), "organiser.sign_in": _l("Signed in"),
    "organiser.sign_out": _l("Signed out"), "organiser.deactivate": _l("Organiser deactivated"),
    "organiser.activate": _l("Organiser activated again"),
    "organiser.role": _l("Organiser's role changed"),
    "rsvp.assign": _l("Answer assigned to a member"), "inbound.done": _l("Kept mail settled"),
    "post.approve": _l("Post approved"), "post.reject": _l("Post rejected"),
    "post.discard": _l("Post discarded"),
    "topic.published": _l("Topic published"), "topic.declined": _l("Topic declined"),
    "topic.plan": _l("Topic planned for a meeting"),
    "project.publish": _l("Project published"), "project.decline": _l("Project declined"),
    "project.present": _l("Project's presentation noted"),
    "adoption.publish": _l("“Taken up in” published"),
    "adoption.decline": _l("“Taken up in” declined"),
}
# The areas to filter by: the first part of an action.
AREAS = {"meeting": _l("Meetings"), "announcement": _l("Topic announcements"),
         "venue": _l("Venues"), "subscriber": _l("Distribution list"),
         "organiser": _l("Organisers"), "inbound": _l("Incoming mail"),
         "registration": _l("NetzWerkStatt registrations"), "post": _l("Posts"),
         "topic": _l("Topics"), "project": _l("Project atlas"),
         "adoption": _l("Project atlas")}
SUBJECTS = {"meeting": _l("Meeting"), "announcement": _l("Announcement"), "venue": _l("Venue"),
            "subscriber": _l("Person"), "organiser": _l("Organiser"), "inbound": _l("Mail"),
            "post": _l("Post"), "topic": _l("Topic"), "project": _l("Project"),
            "adoption": _l("“Taken up in”")}
# (A registration's entries name their NetzWerkStatt as "meeting N".)
DETAILS = {
    "start": _l("Start"), "district": _l("District"), "venue": _l("Venue"),
    "topic": _l("Topic"), "host": _l("Host"), "reason": _l("Reason"), "title": _l("Subject"),
    "send_at": _l("Goes out"), "recipients": _l("Recipients"), "meeting": _l("Meeting"),
    "year": _l("Year"), "created": _l("Drafts created"), "before": _l("Before"),
    "after": _l("After"), "name": _l("Name"), "organisation": _l("Organisation"),
    "note": _l("Note"), "confirm_by_mail": _l("Confirmation by mail"),
    "added": _l("Added"), "rows": _l("Rows"), "mails_deleted": _l("Mails deleted"),
    "email": _l("E-mail address"), "role": _l("Role"), "answer": _l("Answer"),
    "subscriber": _l("Person"), "length": _l("Characters"), "open": _l("Open"),
    "capacity": _l("Places"), "childcare": _l("Child-care places"), "person": _l("Person"),
    "to": _l("Now"),
}
PAGE_SIZE = 50


def _value(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{DETAILS.get(k, k)}: {_value(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return "–" if value in (None, "") else str(value)


def describe(entry: AuditEntry) -> dict[str, str]:
    """An entry in words: the action, its subject ("Meeting 12") and the details as
    lines of text."""
    kind, _sep, number = (entry.subject or "").partition(" ")
    details = json.loads(entry.details) if entry.details else {}
    return {
        "action": str(ACTIONS.get(entry.action, entry.action)),
        "subject": f"{SUBJECTS.get(kind, kind)} {number}".strip() if entry.subject else "",
        "kind": kind, "number": number,
        "details": [f"{DETAILS.get(key, key)}: {_value(value)}"
                    for key, value in details.items()],
    }


def search(*, area: str = "", actor: str = "", text: str = "",
           page: int = 1) -> tuple[list[AuditEntry], int]:
    """One page of entries, newest first, of one area (``AREAS``), by actors whose
    address contains ``actor``, whose subject or details contain ``text``; and the
    number of all that match."""
    query = sa.select(AuditEntry)
    if area in AREAS:
        query = query.where(AuditEntry.action.like(f"{area}%"))
    if actor:
        query = query.where(sa.func.lower(AuditEntry.actor).contains(actor.lower(),
                                                                      autoescape=True))
    if text:
        query = query.where(sa.or_(
            sa.func.lower(AuditEntry.subject).contains(text.lower(), autoescape=True),
            sa.func.lower(AuditEntry.details).contains(text.lower(), autoescape=True)))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    entries = db.session.scalars(query.order_by(AuditEntry.id.desc())
                                 .offset((max(page, 1) - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return list(entries), total
