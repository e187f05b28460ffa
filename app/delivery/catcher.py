"""The local mail catcher: a real SMTP server (aiosmtpd) that keeps every mail it
receives in a Maildir (aiosmtpd's Mailbox handler, which adds the envelope as
X-MailFrom/X-RcptTo headers), where the catcher pages show them. Development only."""

import mailbox
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def start(directory: str, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """Start the catcher in a background thread; ``.stop()`` ends it."""
    controller = Controller(Mailbox(directory), hostname=host, port=port,
                            enable_SMTPUTF8=True)
    controller.start()
    return controller


def _box(directory: str) -> mailbox.Maildir:
    return mailbox.Maildir(directory, create=True)


def _parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def messages(directory: str):
    """The captured mails, newest first, as ``(key, message, received)``."""
    box = _box(directory)
    items = []
    for key in box.iterkeys():
        stored = box.get_message(key)  # a MaildirMessage knows when it arrived
        received = datetime.fromtimestamp(stored.get_date(), UTC)
        items.append((key, _parse(stored.as_bytes()), received))
    items.sort(key=lambda item: item[2], reverse=True)
    return items


def message(directory: str, key: str):
    try:
        return _parse(_box(directory).get_bytes(key))
    except KeyError:
        return None
