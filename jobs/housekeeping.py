"""Keeping only what the service may keep."""

from app.extensions import db
from app.services import subscribers


def purge_unconfirmed() -> int:
    """Delete sign-ups not confirmed in time; only their count remains."""
    count = subscribers.purge_unconfirmed()
    db.session.commit()
    return count
