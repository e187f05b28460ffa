"""Keeping only what the service may keep."""

from app.extensions import db
from app.meetings import services as meetings
from app.registrations import services as registrations
from app.shared import ratelimit
from app.subscriptions import services as subscriptions


def purge_unconfirmed() -> int:
    """Delete sign-ups not confirmed in time; only their count remains."""
    count = subscriptions.purge_unconfirmed()
    db.session.commit()
    return count


def mark_meetings_held() -> int:
    """Announced meetings that are over become "held" (and can no longer be changed)."""
    count = meetings.mark_held()
    db.session.commit()
    return count


def forget_registrations() -> int:
    """A while after a NetzWerkStatt its registrations are deleted; counts remain."""
    count = registrations.forget_past()
    db.session.commit()
    return count


def forget_rate_limits() -> int:
    """Counts of requests are kept only while they still limit anything."""
    count = ratelimit.forget_expired()
    db.session.commit()
    return count
