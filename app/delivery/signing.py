"""DKIM signatures (dkimpy): big providers honour one-click unsubscribe only in signed
mail whose signature covers the list headers."""

import dkim
from flask import current_app

SIGNED_HEADERS = [b"From", b"To", b"Subject", b"Date", b"Message-ID", b"List-Id",
                  b"List-Unsubscribe", b"List-Unsubscribe-Post", b"MIME-Version",
                  b"Content-Type"]


def sign(message: bytes) -> bytes:
    """``message`` with a DKIM-Signature header in front, if DKIM is configured."""
    config = current_app.config
    key = config["DKIM_PRIVATE_KEY"]
    if not (key and config["DKIM_SELECTOR"] and config["DKIM_DOMAIN"]):
        return message
    # A listed header that a mail lacks is signed as absent: nobody can add it later.
    signature = dkim.sign(message, config["DKIM_SELECTOR"].encode(),
                          config["DKIM_DOMAIN"].encode(), key.encode(),
                          include_headers=SIGNED_HEADERS)
    return signature + message
