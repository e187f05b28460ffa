"""Deciding what mail is due, and sending what the outbox holds."""

from app.extensions import db
from app.services import delivery, outbox


def queue_meeting_mails(step: int = delivery.BATCH) -> int:
    """Queue due announcements, invitations (late joiners too) and reminders.

    Invitations and reminders are committed ``step`` at a time: senders (this
    worker's drain, other workers) start on the first ones while the rest are queued,
    and a crash loses nothing already done.
    """
    total = delivery.queue_announcements()
    db.session.commit()
    for queue in (delivery.queue_invitations, delivery.queue_reminders):
        while count := queue(limit=step):
            db.session.commit()
            total += count
    return total


def drain_outbox(batch: int = 200) -> int:
    """Send every due mail, batch after batch; returns how many were sent."""
    total = 0
    while True:
        sent = outbox.deliver(limit=batch)
        total += sent
        if sent < batch:
            return total
