"""Sending what the outbox holds."""

from app.services import outbox


def drain_outbox(batch: int = 200) -> int:
    """Send every due mail, batch after batch; returns how many were sent."""
    total = 0
    while True:
        sent = outbox.deliver(limit=batch)
        total += sent
        if sent < batch:
            return total
