"""The audit log: who did what, when, from the web or the command line.

Services record their actions here in the caller's transaction, so an entry exists
exactly when the change does, whichever entry point made it. The organiser area
shows the log.
"""

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
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
    """Add an entry in the caller's transaction."""
    db.session.add(AuditEntry(
        actor=actor, action=action, subject=subject,
        details=json.dumps(details, ensure_ascii=False, default=str) if details else None,
    ))


def latest(limit: int = 300) -> list[AuditEntry]:
    return list(db.session.scalars(
        sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
