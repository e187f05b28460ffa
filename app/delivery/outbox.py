"""The outbox: every mail is a row first, written in the caller's transaction, and
delivered once that transaction has committed.

Delivery claims rows (``queued`` -> ``sending``, with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several workers never take the same row) in a short transaction of its
own, talks SMTP outside any transaction and commits the result of each mail at once.
Temporary failures (4xx, refused connections, timeouts) come back with exponential
backoff; permanent ones (5xx) fail the row and count as a hard bounce of the
recipient (``recipients.hard_bounce``).

Every sender writes a heartbeat. A row left ``sending`` by a sender whose heartbeat
has gone stale (the process died) is queued again, as procrastinate and pgqueuer
recover stalled jobs; a row held by a live sender is never touched.
"""

import os
import smtplib
import socket
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..shared import ratelimit
from ..shared.database import utcnow
from ..shared.urls import mail_domain as _domain
from . import recipients, signing
from .mime import Mail
from .models import OutboxMessage, OutboxStatus, WorkerHeartbeat

_SENDER_IDS: dict[int, str] = {}


def entry(mail: Mail, *, key: str, kind: str, subscriber_id: int | None = None,
          list_mail: bool = False, meeting_id: int | None = None,
          sequence: int | None = None) -> dict:
    """The outbox row for ``mail``, signed (DKIM) if configured."""
    return {"key": key, "kind": kind, "subscriber_id": subscriber_id, "list_mail": list_mail,
            "meeting_id": meeting_id, "sequence": sequence, "sender": mail.sender,
            "recipient": mail.recipient, "message_id": mail.message_id,
            "message": signing.sign(mail.data)}


def enqueue(mail: Mail, **fields) -> OutboxMessage | None:
    """Queue one mail unless a mail with the same ``key`` is queued already; it is
    sent right after the caller commits (``commit_and_deliver``).

    Returns the new row, or None when the key was taken (the mail exists).
    """
    if db.session.scalar(
            sa.select(OutboxMessage.id).where(OutboxMessage.key == fields["key"])) is not None:
        return None
    row = OutboxMessage(**entry(mail, **fields))
    db.session.add(row)
    db.session.flush()
    g.setdefault("outbox_new", []).append(row.id)
    return row


def enqueue_many(entries: list[dict]) -> int:
    """Queue many mails in one statement; the worker sends them. The caller's query
    has left out mails that exist already (the unique key still guards it)."""
    if entries:
        db.session.execute(sa.insert(OutboxMessage), entries)
    return len(entries)


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


def sender_id() -> str:
    """This process's name in claims and heartbeats (a forked child gets its own)."""
    pid = os.getpid()
    if pid not in _SENDER_IDS:
        _SENDER_IDS[pid] = f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}"
    return _SENDER_IDS[pid]


def beat() -> None:
    """Tell the others this sender is alive (commits)."""
    row = db.session.get(WorkerHeartbeat, sender_id())
    if row is None:
        db.session.add(WorkerHeartbeat(worker=sender_id(), seen_at=utcnow()))
    else:
        row.seen_at = utcnow()
    db.session.commit()


def recover_stalled() -> int:
    """Queue again what senders with a stale heartbeat left ``sending``."""
    stale_before = utcnow() - timedelta(seconds=current_app.config["OUTBOX_HEARTBEAT_TIMEOUT"])
    alive = sa.select(WorkerHeartbeat.worker).where(WorkerHeartbeat.seen_at >= stale_before)
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING,
               sa.or_(OutboxMessage.claimed_by.is_(None),
                      OutboxMessage.claimed_by.not_in(alive)))
        .values(status=OutboxStatus.QUEUED, claimed_by=None))
    db.session.execute(sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < stale_before))
    db.session.commit()
    return result.rowcount


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
        row.claimed_by = sender_id()
        row.attempts += 1
    db.session.commit()
    return rows


def _release(rows) -> None:
    """Give claimed rows that were not tried back to the queue, untouched."""
    for row in rows:
        if row.status == OutboxStatus.SENDING:
            row.status, row.claimed_by = OutboxStatus.QUEUED, None
            row.attempts -= 1
    db.session.commit()


def _unwanted(rows) -> set[int]:
    """IDs of list-mail rows whose recipient no longer wants list mail, checked once
    per batch right before sending (a batch takes a fraction of a second)."""
    ids = {row.subscriber_id for row in rows if row.list_mail}
    wanted = recipients.still_wanted(ids) if ids else set()
    return {row.id for row in rows if row.list_mail and row.subscriber_id not in wanted}


def _record_failure(row: OutboxMessage, error: str, permanent: bool) -> None:
    row.last_error = error[:500]
    row.claimed_by = None
    config = current_app.config
    if permanent or row.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        row.status = OutboxStatus.FAILED
        if permanent and row.subscriber_id is not None:
            recipients.hard_bounce(row.subscriber_id)
    else:
        row.status = OutboxStatus.QUEUED
        delay = config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (row.attempts - 1)
        row.next_attempt_at = utcnow() + timedelta(seconds=delay)


@contextmanager
def _keep_loaded():
    """Commit after every mail without reloading the whole batch each time: the rows
    are ours (claimed), nobody else changes them meanwhile."""
    session = db.session()
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        yield
    finally:
        session.expire_on_commit = previous


def deliver(ids: list[int] | None = None, limit: int = 100) -> int:
    """Send due rows (only ``ids`` if given) over one SMTP connection, within the
    configured rate. Returns how many were sent."""
    beat()
    recover_stalled()
    with _keep_loaded():
        rows = _claim(ids, limit)
        return _send(rows) if rows else 0


def drain(batch: int = 200) -> int:
    """Send every due mail, batch after batch; returns how many were sent."""
    total = 0
    while True:
        sent = deliver(limit=batch)
        total += sent
        if sent < batch:
            return total


_OUTBOX = OutboxMessage.__table__
_FINISHED = (sa.update(_OUTBOX).where(_OUTBOX.c.id == sa.bindparam("row_id"))
             .values(status=sa.bindparam("new_status"), sent_at=sa.bindparam("at"),
                     claimed_by=None))


def _finished(row: OutboxMessage, status: OutboxStatus) -> None:
    """Record a sent (or dropped) mail with a plain UPDATE on the session's connection:
    the hot path of a send. The loaded row learns its new status without becoming
    work for the next flush."""
    set_committed_value(row, "status", status)
    db.session.connection().execute(_FINISHED, {
        "row_id": row.id, "new_status": status.value,
        "at": utcnow() if status == OutboxStatus.SENT else None})


def _send(rows: list[OutboxMessage]) -> int:
    sent = 0
    last_beat = time.monotonic()
    unwanted = _unwanted(rows)
    # No transaction stays open while talking SMTP: on SQLite it would hold the write
    # lock (BEGIN IMMEDIATE) and keep the web server waiting for a slow mail server.
    db.session.commit()
    config = current_app.config
    try:
        with smtp_connection() as smtp:
            for index, row in enumerate(rows):
                if time.monotonic() - last_beat > config["OUTBOX_HEARTBEAT_EVERY"]:
                    beat()
                    last_beat = time.monotonic()
                rate = config["MAIL_RATE_PER_MINUTE"]
                if rate and not ratelimit.hit(f"{rate}/minute", "smtp"):
                    _release(rows[index:])  # the rest waits for the next minute
                    break
                if row.id in unwanted:
                    _finished(row, OutboxStatus.DROPPED)
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
                    _finished(row, OutboxStatus.SENT)
                    sent += 1
                # One commit per mail: after a crash, at most the mail on the wire is sent again.
                db.session.commit()
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        # The connection itself failed: what was not done yet is retried later.
        for row in rows:
            if row.status == OutboxStatus.SENDING:
                _record_failure(row, f"{type(error).__name__}: {error}", permanent=False)
        db.session.commit()
        current_app.logger.warning("SMTP delivery interrupted: %s", error)
    return sent


def drop_queued_list_mail(recipient_id: int) -> None:
    """List mail still queued for a recipient is not sent (they left the list)."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.subscriber_id == recipient_id, OutboxMessage.list_mail.is_(True),
               OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.DROPPED))


def drop_queued_about(meeting_id: int, kinds) -> None:
    """Mails of ``kinds`` about a meeting that are still queued are not sent."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.meeting_id == meeting_id, OutboxMessage.kind.in_(kinds),
               OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.DROPPED))


def recipients_about(meeting_id: int, kinds, *, delivered_only: bool = False,
                     created_before=None) -> sa.Select:
    """A query of the recipient IDs with a live (not dropped) mail of ``kinds`` about
    a meeting; with ``delivered_only``, only mails sent or being sent; with
    ``created_before``, only mails queued before then."""
    live = ((OutboxStatus.SENT, OutboxStatus.SENDING) if delivered_only
            else tuple(s for s in OutboxStatus if s != OutboxStatus.DROPPED))
    query = sa.select(OutboxMessage.subscriber_id).where(
        OutboxMessage.meeting_id == meeting_id, OutboxMessage.kind.in_(kinds),
        OutboxMessage.status.in_(live))
    if created_before is not None:
        query = query.where(OutboxMessage.created_at < created_before)
    return query


def last_errors(subscriber_ids) -> dict[int, tuple[str, object]]:
    """Per recipient: the SMTP answer of their latest failed mail, and when."""
    if not subscriber_ids:
        return {}
    latest = (sa.select(sa.func.max(OutboxMessage.id))
              .where(OutboxMessage.subscriber_id.in_(list(subscriber_ids)),
                     OutboxMessage.status == OutboxStatus.FAILED)
              .group_by(OutboxMessage.subscriber_id))
    return {subscriber_id: (error, at) for subscriber_id, error, at in db.session.execute(
        sa.select(OutboxMessage.subscriber_id, OutboxMessage.last_error,
                  OutboxMessage.created_at).where(OutboxMessage.id.in_(latest)))}


def history(subscriber_id: int, limit: int = 20) -> list[OutboxMessage]:
    """A recipient's latest mails, newest first."""
    return list(db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.subscriber_id == subscriber_id)
        .order_by(OutboxMessage.id.desc()).limit(limit)))


def first_queued_about(meeting_id: int, kinds):
    """When the first live (not dropped) mail of ``kinds`` about a meeting was queued."""
    return db.session.scalar(sa.select(sa.func.min(OutboxMessage.created_at)).where(
        OutboxMessage.meeting_id == meeting_id, OutboxMessage.kind.in_(kinds),
        OutboxMessage.status != OutboxStatus.DROPPED))


def bounced(codes) -> bool:
    """A bounce that came back later as mail (a DSN) for the mail with one of
    ``codes`` (its envelope tag or Message-ID): counts once as a hard bounce of its
    recipient. False when no sent mail matches."""
    codes = [code.strip("<>") for code in codes if code]
    if not codes:
        return False
    ids = [f"<{code}>" for code in codes if "@" in code]
    row = db.session.scalar(sa.select(OutboxMessage).where(
        sa.or_(OutboxMessage.message_id.in_(ids),
               OutboxMessage.message_id.in_([f"<{c}@{_domain()}>" for c in codes])))
        .where(OutboxMessage.status == OutboxStatus.SENT).limit(1))
    if row is None:
        return False
    row.status = OutboxStatus.FAILED
    row.last_error = "bounced (delivery status notification)"
    if row.subscriber_id is not None:
        recipients.hard_bounce(row.subscriber_id)
    return True


def forget(*, address: str | None = None, recipient_ids=None) -> int:
    """Delete every mail to ``address`` or to ``recipient_ids`` (erasure, purge)."""
    where = (OutboxMessage.recipient == address if address is not None
             else OutboxMessage.subscriber_id.in_(list(recipient_ids)))
    return db.session.execute(sa.delete(OutboxMessage).where(where)).rowcount


def pending() -> int:
    """How many mails are queued or being sent."""
    return db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING))))


def status() -> list[dict]:
    """Per send (kind, meeting, sequence): how many mails are in which state, and the
    SMTP answers of those that failed."""
    counts = db.session.execute(
        sa.select(OutboxMessage.kind, OutboxMessage.meeting_id, OutboxMessage.sequence,
                  OutboxMessage.status, sa.func.count(), sa.func.min(OutboxMessage.created_at))
        .group_by(OutboxMessage.kind, OutboxMessage.meeting_id, OutboxMessage.sequence,
                  OutboxMessage.status))
    sends = {}
    for kind, meeting_id, sequence, state, count, created in counts:
        send = sends.setdefault((kind, meeting_id, sequence), {
            "kind": kind, "meeting_id": meeting_id, "sequence": sequence, "created": created,
            **{s.value: 0 for s in OutboxStatus}, "failures": []})
        send[state.value] = count
        send["created"] = min(send["created"], created)
    for row in db.session.scalars(sa.select(OutboxMessage)
                                  .where(OutboxMessage.status == OutboxStatus.FAILED)
                                  .order_by(OutboxMessage.id)):
        sends[(row.kind, row.meeting_id, row.sequence)]["failures"].append(
            (row.recipient, row.last_error))
    return sorted(sends.values(), key=lambda send: send["created"], reverse=True)
