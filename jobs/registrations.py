"""The NetzWerkStatt's waiting list and reminders."""

from app.extensions import db
from app.registrations import services as registrations


def move_waiting_lists() -> int:
    """Offers not taken in time lapse and go to the next in line; reminders before
    the day go to everyone with a place."""
    count = registrations.lapse_offers()
    db.session.commit()
    count += registrations.queue_reminders()
    db.session.commit()
    return count
