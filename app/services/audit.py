"""The audit log: who did what, when."""

import json

from ..extensions import db
from ..models import AuditEntry


def record(actor: str, action: str, subject: str | None = None, **details) -> None:
    """Add an entry in the caller's transaction, so it exists exactly when the change does."""
    db.session.add(AuditEntry(
        actor=actor, action=action, subject=subject,
        details=json.dumps(details, ensure_ascii=False, default=str) if details else None,
    ))
