"""Reading the inbound mailbox over IMAP (``INBOUND_IMAP_*``): every mail in the
folder is received (``services.receive``), committed, and only then moved to the
done folder. A mail whose handling fails stays where it is and is read again on
the next poll: nothing is lost."""

import contextlib
import imaplib
import logging
import re
import ssl

from flask import current_app

from ..extensions import db
from . import services

log = logging.getLogger(__name__)
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(Exception):
    """The mailbox cannot be reached or read; the message says why."""


def _connect() -> imaplib.IMAP4:
    config = current_app.config
    host, port, tls = config["INBOUND_IMAP_HOST"], config["INBOUND_IMAP_PORT"], config["INBOUND_IMAP_TLS"]
    timeout = config["MAIL_TIMEOUT"]
    if tls == "ssl":
        imap = imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(),
                                 timeout=timeout)
    else:
        imap = imaplib.IMAP4(host, port, timeout=timeout)
        if tls == "starttls":
            imap.starttls(ssl.create_default_context())
    imap.login(config["INBOUND_IMAP_USER"], config["INBOUND_IMAP_PASSWORD"])
    return imap


def check_mailbox() -> int:
    """Log in and open the folder without touching a mail: how many mails wait there
    (for ``doctor``). ``MailboxError`` when that fails."""
    try:
        imap = _connect()
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(f"{type(error).__name__}: {error}") from error
    try:
        data = _ok(imap.select(_quote(current_app.config["INBOUND_IMAP_FOLDER"]),
                               readonly=True), "SELECT")
        return int(data[0])
    except imaplib.IMAP4.error as error:
        raise MailboxError(str(error)) from error
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()


def _ok(result, what: str):
    kind, data = result
    if kind != "OK":
        raise MailboxError(f"{what}: {data!r}")
    return data


def _quote(name: str) -> str:
    """A folder name as IMAP wants it on the wire (quoted when it has spaces)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"' if " " in name else name


def _fetch(imap, uid: bytes) -> tuple[bytes, bool]:
    """The whole mail (and True), or only its headers when it is larger than the
    limit (and False)."""
    data = _ok(imap.uid("FETCH", uid, "(RFC822.SIZE)"), "FETCH SIZE")
    size = SIZE.search(data[0] if isinstance(data[0], bytes) else data[0][0])
    part = "BODY.PEEK[]"
    if size and int(size.group(1)) > current_app.config["INBOUND_MAX_BYTES"]:
        part = "BODY.PEEK[HEADER]"
    data = _ok(imap.uid("FETCH", uid, f"({part})"), "FETCH")
    return next(item[1] for item in data if isinstance(item, tuple)), part == "BODY.PEEK[]"


def _move(imap, uid: bytes, folder: str) -> None:
    if "MOVE" in imap.capabilities:
        _ok(imap.uid("MOVE", uid, folder), "MOVE")
    else:
        _ok(imap.uid("COPY", uid, folder), "COPY")
        _ok(imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        _ok(imap.expunge(), "EXPUNGE")


def poll() -> int:
    """Receive every mail in the folder; returns how many were handled or kept."""
    config = current_app.config
    try:
        imap = _connect()
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(f"cannot reach {config['INBOUND_IMAP_HOST']}: {error}") from None
    count = 0
    try:
        done = config["INBOUND_IMAP_DONE_FOLDER"]
        imap.create(_quote(done))  # answers NO when it exists
        _ok(imap.select(_quote(config["INBOUND_IMAP_FOLDER"])), "SELECT")
        uids = _ok(imap.uid("SEARCH", None, "UNDELETED"), "SEARCH")[0].split()
        for uid in uids:
            try:
                raw, complete = _fetch(imap, uid)
                services.receive(raw, complete=complete)
                db.session.commit()
            except Exception:  # any failure: the mail stays and is read again
                db.session.rollback()
                log.exception("inbound mail %s could not be handled; it stays", uid)
                continue
            _move(imap, uid, _quote(done))
            count += 1
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()
    return count

