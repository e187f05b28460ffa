"""Deciding what mail is due, and sending what the outbox holds."""

from app.delivery import outbox
from app.extensions import db
from app.meetings import invitations, rsvp


def queue_meeting_mails(step: int = invitations.BATCH) -> int:
    """Queue due announcements, invitations (late joiners too) and reminders.

    Invitations and reminders are committed ``step`` at a time: senders (this
    worker's drain, other workers) start on the first ones while the rest are queued,
    and a crash loses nothing already done.
    """
    total = invitations.queue_announcements()
    db.session.commit()
    for queue in (invitations.queue_invitations, invitations.queue_reminders):
        while count := queue(limit=step):
            db.session.commit()
            total += count
    total += rsvp.queue_headcounts()
    db.session.commit()
    return total


def drain_outbox() -> int:
    """Send every due mail, batch after batch; returns how many were sent."""
    return outbox.drain()
