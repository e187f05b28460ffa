"""The outbox: every mail is a row first, written in the caller's transaction, and
delivered once that transaction has committed.

Delivery claims rows (``queued`` -> ``sending``) in a short transaction of its own,
talks SMTP outside any transaction and records the result. Temporary failures
(4xx, refused connections, timeouts) come back with exponential backoff; permanent
ones (5xx) fail the row.
"""

import smtplib
import socket
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app, g

from ..extensions import db
from ..models import OutboxMessage, OutboxStatus, Subscriber, SubscriberStatus, utcnow

# Lines may be long (tokens in List-Unsubscribe), but never over RFC 5322's limit.
POLICY = SMTP.clone(max_line_length=998)
SMTPUTF8_POLICY = POLICY.clone(utf8=True)


def enqueue(message: EmailMessage, *, key: str, kind: str, subscriber_id: int | None = None,
            list_mail: bool = False) -> OutboxMessage | None:
    """Queue ``message`` unless a mail with the same ``key`` is queued already.

    Returns the new row, or None when the key was taken (the mail exists).
    """
    exists = db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.key == key))
    if exists is not None:
        return None
    recipient = parseaddr(message["To"])[1]
    needs_utf8 = not recipient.isascii()
    row = OutboxMessage(
        key=key,
        kind=kind,
        subscriber_id=subscriber_id,
        list_mail=list_mail,
        sender=parseaddr(message["From"])[1],
        recipient=recipient,
        message_id=message["Message-ID"],
        message=message.as_bytes(policy=SMTPUTF8_POLICY if needs_utf8 else POLICY),
    )
    db.session.add(row)
    db.session.flush()
    g.setdefault("outbox_new", []).append(row.id)
    return row


def commit_and_deliver() -> None:
    """Commit the caller's transaction, then try at once to send what it queued.

    What cannot be sent now stays queued for the worker; nothing is lost.
    """
    db.session.commit()
    ids = g.pop("outbox_new", [])
    if ids:
        deliver(ids)


@contextmanager
def smtp_connection():
    """An SMTP connection configured like Flask-Mail's, but with a timeout."""
    settings = current_app.extensions["mail"]  # Flask-Mail's state for this app
    timeout = current_app.config["MAIL_TIMEOUT"]
    if settings.use_ssl:
        host = smtplib.SMTP_SSL(settings.server, settings.port, timeout=timeout)
    else:
        host = smtplib.SMTP(settings.server, settings.port, timeout=timeout)
    try:
        if settings.use_tls:
            host.starttls()
        if settings.username and settings.password:
            host.login(settings.username, settings.password)
        yield host
    finally:
        try:
            host.quit()
        except (smtplib.SMTPException, OSError):
            host.close()


def _claim(ids: list[int] | None, limit: int) -> list[OutboxMessage]:
    """Mark due rows as ``sending`` and commit, so that no other sender takes them."""
    now = utcnow()
    query = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.QUEUED,
               OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    rows = list(db.session.scalars(query))
    for row in rows:
        row.status = OutboxStatus.SENDING
        row.attempts += 1
    db.session.commit()
    return rows


def _still_wanted(row: OutboxMessage) -> bool:
    """List mail goes only to subscribers who are still active right now."""
    if not row.list_mail:
        return True
    status = db.session.scalar(
        sa.select(Subscriber.status).where(Subscriber.id == row.subscriber_id)
    )
    return status == SubscriberStatus.ACTIVE


def _record_failure(row: OutboxMessage, error: str, permanent: bool) -> None:
    row.last_error = error[:500]
    config = current_app.config
    if permanent or row.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        row.status = OutboxStatus.FAILED
        if permanent and row.subscriber_id is not None:
            db.session.execute(
                sa.update(Subscriber).where(Subscriber.id == row.subscriber_id)
                .values(hard_bounces=Subscriber.hard_bounces + 1)
            )
    else:
        row.status = OutboxStatus.QUEUED
        delay = config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (row.attempts - 1)
        row.next_attempt_at = utcnow() + timedelta(seconds=delay)


def deliver(ids: list[int] | None = None, limit: int = 100) -> int:
    """Send due rows (only ``ids`` if given) over one SMTP connection.

    Returns how many were sent.
    """
    rows = _claim(ids, limit)
    if not rows:
        return 0
    sent = 0
    try:
        with smtp_connection() as smtp:
            for row in rows:
                if not _still_wanted(row):
                    row.status = OutboxStatus.DROPPED
                    db.session.commit()
                    continue
                try:
                    options = [] if row.recipient.isascii() else ["SMTPUTF8"]
                    smtp.sendmail(row.sender, [row.recipient], row.message, mail_options=options)
                except smtplib.SMTPRecipientsRefused as error:
                    code, text = next(iter(error.recipients.values()))
                    _record_failure(row, f"{code} {text.decode(errors='replace')}", code >= 500)
                except smtplib.SMTPResponseException as error:
                    message = f"{error.smtp_code} {error.smtp_error.decode(errors='replace')}"
                    _record_failure(row, message, error.smtp_code >= 500)
                else:
                    row.status = OutboxStatus.SENT
                    row.sent_at = utcnow()
                    sent += 1
                db.session.commit()
    except (smtplib.SMTPException, OSError, socket.timeout) as error:
        # The connection itself failed: what was not done yet is retried later.
        for row in rows:
            if row.status == OutboxStatus.SENDING:
                _record_failure(row, f"{type(error).__name__}: {error}", permanent=False)
        db.session.commit()
        current_app.logger.warning("SMTP delivery interrupted: %s", error)
    return sent
