"""The local mail catcher: a real SMTP server (aiosmtpd) that keeps every mail it
receives in a Maildir (aiosmtpd's Mailbox handler, which adds the envelope as
X-MailFrom/X-RcptTo headers), where the catcher pages show them. Development only."""

import mailbox

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def start(directory: str, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """Start the catcher in a background thread; ``.stop()`` ends it."""
    controller = Controller(Mailbox(directory), hostname=host, port=port,
                            enable_SMTPUTF8=True)
    controller.start()
    return controller


def messages(directory: str):
    """The captured mails, newest first, as ``(key, message)``."""
    box = mailbox.Maildir(directory, create=True)
    items = [(key, box[key]) for key in box.keys()]
    items.sort(key=lambda item: item[1].get_date(), reverse=True)
    return items


def message(directory: str, key: str):
    try:
        return mailbox.Maildir(directory, create=True)[key]
    except KeyError:
        return None
