"""Deciding what mail is due, and sending what the outbox holds."""

from app.extensions import db
from app.services import delivery, outbox


def queue_meeting_mails() -> int:
    """Queue due announcements, invitations (late joiners too) and reminders."""
    count = (delivery.queue_announcements() + delivery.queue_invitations()
             + delivery.queue_reminders())
    db.session.commit()
    return count


def drain_outbox(batch: int = 200) -> int:
    """Send every due mail, batch after batch; returns how many were sent."""
    total = 0
    while True:
        sent = outbox.deliver(limit=batch)
        total += sent
        if sent < batch:
            return total
