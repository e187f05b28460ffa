"""Reading the mail that comes back (calendar replies, bounces, unsubscribes)."""

from flask import current_app

from app.inbound import imap


def poll_mailbox() -> int:
    """Read the inbound IMAP mailbox, if one is set (``INBOUND_IMAP_HOST``)."""
    if not current_app.config["INBOUND_IMAP_HOST"]:
        return 0
    return imap.poll()
