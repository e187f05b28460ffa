"""Deciding what mail is due, and sending what the outbox holds."""

from app.delivery import sender
from app.extensions import db
from app.meetings import invitations, rsvp


def queue_meeting_mails() -> int:
    """Queue due announcements, updates, invitations (late joiners too) and
    reminders: each mailing one statement, committed at once, so the senders start on it."""
    total = 0
    for queue in (invitations.queue_announcements, invitations.queue_updates,
                  invitations.queue_invitations, invitations.queue_reminders,
                  rsvp.queue_headcounts):
        total += queue()
        db.session.commit()
    return total


def drain_outbox() -> int:
    """Send every due mail in this process (``jobs run-due``; the worker's senders
    send continuously); returns how many were sent."""
    return sender.drain()
