"""Keeping only what the service may keep."""

from app.extensions import db
from app.services import meetings, subscribers


def purge_unconfirmed() -> int:
    """Delete sign-ups not confirmed in time; only their count remains."""
    count = subscribers.purge_unconfirmed()
    db.session.commit()
    return count


def mark_meetings_held() -> int:
    """Announced meetings that are over become "held" (and can no longer be changed)."""
    count = meetings.mark_held()
    db.session.commit()
    return count
