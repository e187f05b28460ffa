"""Sending what the outbox holds: claims, results, heartbeats and the worker's
senders.

A sender claims due rows (``queued`` -> ``sending`` under its name, one
``UPDATE … RETURNING`` walking the queued rows' index, ``SKIP LOCKED`` on PostgreSQL)
and commits; renders and signs each mail just before it goes out; and records each
relay answer with one autocommitted UPDATE on a connection of its own (``results``:
on PostgreSQL sent ahead and collected before the next final dot). No transaction
stays open while talking SMTP.

Recovery. Any error while sending, of the database or of the relay, ends the batch:
rows not recorded go back to the queue (after a relay error with a backoff, as a
failed try). If the database itself is gone, they cannot be given back at once: a
sender takes back the rows claimed under its own name whenever it starts a run
after an error, and at every start. A sender that is making progress writes a
heartbeat; rows of a sender whose heartbeat has gone stale (dead, or stuck) are
queued again by the others, as procrastinate and pgqueuer recover stalled jobs.

Crash guarantee: a killed sender leaves at most one mail per open connection that
the relay accepted but that is not recorded as sent; it goes out again (see
``relay``). Nothing is lost. On PostgreSQL the results are committed without
waiting for the disk (``synchronous_commit = off``, for this connection only): a
killed sender loses none of them, as the server has them; a crash of the database
server itself (not a restart) may forget the results of its last fraction of a
second, and those mails go out once more.

The worker runs ``MAIL_CONNECTIONS`` senders in threads, each with its own SMTP
connection, kept open while there is work. ``MAIL_RATE_PER_MINUTE`` is counted in
the database (``mail_budget``), so it holds across all connections and workers.
"""

import logging
import os
import socket
import threading
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..shared import logs
from ..shared.database import utcnow
from . import outbox, recipients, results, signing
from .compose import envelope_sender, transport_address
from .models import MailBudget, OutboxMessage, OutboxStatus, WorkerHeartbeat
from .relay import Outgoing, Relay, RelayError

log = logging.getLogger(__name__)
OUTBOX = OutboxMessage.__table__
QUEUED, SENDING = OutboxStatus.QUEUED, OutboxStatus.SENDING
# A sender that sends without pause renders each mailing with what it loaded at
# most this long ago: a changed meeting reaches the mails still going out.
RENDERERS_KEPT_SECONDS = 10


def _in_state(status: OutboxStatus):
    """``status`` written into the statement, not bound: so that PostgreSQL's cached
    plan of it uses that state's partial index."""
    return sa.literal(status.value, literal_execute=True)


def sender_name(slot: str) -> str:
    """A sender's name in claims and heartbeats: host, process and ``slot``."""
    return f"{socket.gethostname()}:{os.getpid()}:{slot}"


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def recover_stalled() -> int:
    """Queue again what senders with a stale heartbeat left ``sending``."""
    stale_before = utcnow() - timedelta(seconds=current_app.config["OUTBOX_HEARTBEAT_TIMEOUT"])
    alive = sa.select(WorkerHeartbeat.worker).where(WorkerHeartbeat.seen_at >= stale_before)
    result = db.session.execute(
        sa.update(OUTBOX)
        .where(OUTBOX.c.status == _in_state(SENDING),
               sa.or_(OUTBOX.c.claimed_by.is_(None), OUTBOX.c.claimed_by.not_in(alive)))
        .values(status=QUEUED, claimed_by=None))
    db.session.execute(sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < stale_before))
    db.session.commit()
    return result.rowcount


def _take_budget(wanted: int) -> int:
    """Reserve up to ``wanted`` mails of this minute's ``MAIL_RATE_PER_MINUTE`` (all
    senders together); returns how many may go out now."""
    rate = current_app.config["MAIL_RATE_PER_MINUTE"]
    if not rate:
        return wanted
    minute = int(utcnow().timestamp() // 60)
    for _attempt in range(20):
        used = db.session.scalar(sa.select(MailBudget.used).where(MailBudget.minute == minute))
        if used is None:
            db.session.execute(sa.delete(MailBudget).where(MailBudget.minute < minute))
            try:
                with db.session.begin_nested():
                    db.session.add(MailBudget(minute=minute, used=0))
            except sa.exc.IntegrityError:
                pass  # another sender opened the minute
            db.session.commit()
            continue
        take = min(wanted, rate - used)
        if take <= 0:
            db.session.commit()
            return 0
        updated = db.session.execute(sa.update(MailBudget).where(
            MailBudget.minute == minute, MailBudget.used == used).values(used=used + take))
        db.session.commit()
        if updated.rowcount:
            return take
    return 0


def _return_budget(unused: int) -> None:
    if unused and current_app.config["MAIL_RATE_PER_MINUTE"]:
        minute = int(utcnow().timestamp() // 60)
        db.session.execute(sa.update(MailBudget).where(MailBudget.minute == minute)
                           .values(used=sa.case((MailBudget.used > unused,
                                                 MailBudget.used - unused), else_=0)))
        db.session.commit()


class Sender:
    """One sender: claims under its own name and sends over one SMTP connection."""

    def __init__(self, name: str):
        self.name = name
        self.relay: Relay | None = None
        self._beaten = 0.0
        self._renderers: dict[int, object] = {}
        self._renderers_made = 0.0
        self._results: results.Results | None = None

    # -- bookkeeping -------------------------------------------------------------

    def beat(self) -> None:
        """Tell the others this sender is making progress (commits; at most every
        ``OUTBOX_HEARTBEAT_EVERY`` seconds)."""
        now = utcnow()
        if now.timestamp() - self._beaten < current_app.config["OUTBOX_HEARTBEAT_EVERY"]:
            return
        row = db.session.get(WorkerHeartbeat, self.name)
        if row is None:
            db.session.add(WorkerHeartbeat(worker=self.name, seen_at=now))
        else:
            row.seen_at = now
        db.session.commit()
        self._beaten = now.timestamp()

    def take_back(self) -> int:
        """Queue again the rows still claimed under this sender's name (by an earlier
        run that failed); commits."""
        count = db.session.execute(
            sa.update(OUTBOX).where(OUTBOX.c.status == _in_state(SENDING),
                                    OUTBOX.c.claimed_by == self.name)
            .values(status=QUEUED, claimed_by=None)).rowcount
        db.session.commit()
        return count

    def _claim(self, limit: int, ids=None) -> list:
        due = (sa.select(OUTBOX.c.id)
               .where(OUTBOX.c.status == _in_state(QUEUED),
                      OUTBOX.c.next_attempt_at <= utcnow())
               .order_by(OUTBOX.c.id).limit(limit))
        if ids is not None:
            due = due.where(OUTBOX.c.id.in_(ids))
        if _postgresql():
            due = due.with_for_update(skip_locked=True)
        rows = db.session.execute(
            sa.update(OUTBOX).where(OUTBOX.c.id.in_(due.scalar_subquery()))
            .values(status=SENDING, claimed_by=self.name)
            .returning(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.mailing_id, OUTBOX.c.subscriber_id,
                       OUTBOX.c.list_mail, OUTBOX.c.recipient, OUTBOX.c.code,
                       OUTBOX.c.message, OUTBOX.c.attempts, OUTBOX.c.created_at)).all()
        db.session.commit()
        return sorted(rows, key=lambda row: row.id)

    def _finish(self, row_id: int, status: OutboxStatus) -> None:
        """Record a mail's end (sent, dropped); on PostgreSQL sent without waiting
        (``settle`` waits)."""
        if db.session().in_transaction():  # say, a renderer loaded something
            db.session.commit()  # on SQLite it holds the lock the results wait for
        if self._results is None:
            self._results = results.open_results(db.session.get_bind())
        self._results.write(row_id, status.value,
                            utcnow() if status == OutboxStatus.SENT else None)

    def _settle(self) -> None:
        if self._results is not None:
            self._results.settle()

    def _fail(self, row, error: str, permanent: bool) -> None:
        config = current_app.config
        attempts = row.attempts + 1
        values = {"attempts": attempts, "last_error": error[:500], "claimed_by": None}
        if permanent or attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
            values["status"] = OutboxStatus.FAILED
            if permanent and row.subscriber_id is not None:
                recipients.hard_bounce(row.subscriber_id)
        else:
            values["status"] = QUEUED
            values["next_attempt_at"] = utcnow() + timedelta(
                seconds=config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1))
        db.session.execute(sa.update(OUTBOX).where(OUTBOX.c.id == row.id).values(**values))
        db.session.commit()
        logs.event("mail.failed", id=row.id, kind=row.kind, code=row.code,
                   status=str(values["status"]), error=error[:200])

    # -- one batch ---------------------------------------------------------------

    def _renderer(self, mailing_id: int):
        if mailing_id not in self._renderers:
            self._renderers[mailing_id] = outbox.renderer(mailing_id)
        return self._renderers[mailing_id]

    def outgoing(self, row, people) -> Outgoing | None:
        """The mail of ``row``, to render when it goes out; None when it is not to be
        sent any more (the member left the list, the mailing is void)."""
        person = people.get(row.subscriber_id)
        if row.list_mail and person is None:
            return None
        if row.message is not None:
            render = lambda: signing.sign(row.message)  # noqa: E731
        else:
            mail = self._renderer(row.mailing_id)
            if mail is None:
                return None
            render = lambda: signing.sign(mail.render(  # noqa: E731
                code=row.code, subscriber_id=row.subscriber_id, address=row.recipient,
                name=person.name, language=person.language, created_at=row.created_at))
        return Outgoing(row_id=row.id, sender=envelope_sender(row.code),
                        recipient=transport_address(row.recipient), render=render)

    def send(self, rows) -> int:
        """Send claimed ``rows``; returns how many went out. Raises what the database
        raised, after trying to give back what is not done."""
        by_id = {row.id: row for row in rows}
        sent = 0
        if time.monotonic() - self._renderers_made > RENDERERS_KEPT_SECONDS:
            self._renderers, self._renderers_made = {}, time.monotonic()

        def record(mail: Outgoing, code: int, text: str) -> None:
            nonlocal sent
            row = by_id.pop(mail.row_id)
            if code < 300:
                self._finish(row.id, OutboxStatus.SENT)
                logs.event("mail.sent", id=row.id, kind=row.kind, code=row.code)
                sent += 1
                self.beat()
            else:
                self._fail(row, f"{code} {text}", permanent=code >= 500)

        # What a renderer loaded stays loaded across the commit of each result.
        session = db.session()
        keep, session.expire_on_commit = session.expire_on_commit, False
        try:
            members = {row.subscriber_id for row in rows if row.list_mail}
            wanted = recipients.wanted(members) if members else {}
            mails, dropped = [], []
            for row in rows:
                mail = self.outgoing(row, wanted)
                if mail is None:
                    dropped.append(by_id.pop(row.id).id)
                else:
                    mails.append(mail)
            # No transaction stays open while talking SMTP: on SQLite it would hold
            # the write lock and keep the web server waiting for a slow relay.
            db.session.commit()
            for row_id in dropped:
                self._finish(row_id, OutboxStatus.DROPPED)
            if mails:
                if self.relay is None:
                    self.relay = Relay()
                self.relay.transfer(mails, record, self._settle)
            self._settle()
        except RelayError as error:
            try:
                self._settle()  # what was recorded stays recorded
            finally:
                self.close(abort=True)
            db.session.rollback()
            for row in by_id.values():
                self._fail(row, str(error), permanent=False)
            log.warning("SMTP delivery interrupted: %s", error)
        except BaseException:
            self.close(abort=True)
            db.session.rollback()
            try:
                self.take_back()
            except SQLAlchemyError:
                db.session.rollback()  # the next run takes them back
            raise
        finally:
            session.expire_on_commit = keep
        return sent

    def run_once(self, limit: int, ids=None) -> tuple[int, int]:
        """Claim up to ``limit`` due rows and send them: (claimed, sent). The heartbeat
        comes first: rows claimed under a name without one would be taken over by
        the other senders at once."""
        self.beat()
        allowed = _take_budget(limit)
        rows = self._claim(allowed, ids) if allowed else []
        _return_budget(allowed - len(rows))
        if not rows:
            return 0, 0
        return len(rows), self.send(rows)

    def close(self, *, abort: bool = False) -> None:
        """Close the SMTP connection (``abort``: without a word) and the results'
        database connection; forget the renderers."""
        self._renderers = {}
        if self.relay is not None:
            self.relay.abort() if abort else self.relay.close()
            self.relay = None
        if self._results is not None:
            writer, self._results = self._results, None
            writer.close()


def drain(batch: int = 200, ids=None) -> int:
    """Send every due mail (only ``ids`` if given) in this process, batch after
    batch, and close the connection; returns how many were sent. A database error
    ends the run (logged); what this sender held is taken back on its next run."""
    sender = Sender(sender_name("drain"))
    total = 0
    try:
        sender.take_back()
        recover_stalled()
        while True:
            claimed, sent = sender.run_once(batch, ids)
            total += sent
            if claimed < batch:
                return total
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("sending stopped by a database error: %s", error)
        return total
    finally:
        sender.close()


def _connection_loop(app, slot: int, stop: threading.Event, wake: threading.Condition) -> None:
    """One sender of the worker: sends while there is work, then waits to be woken
    (or polls). Errors end the batch, never the loop."""
    with app.app_context():
        sender = Sender(sender_name(f"send{slot}"))
        config = current_app.config
        failures, last_recovery = 0, 0.0
        started = True
        while not stop.is_set():
            try:
                if started or failures:
                    sender.take_back()
                    started = False
                if utcnow().timestamp() - last_recovery > config["OUTBOX_HEARTBEAT_EVERY"]:
                    recover_stalled()
                    last_recovery = utcnow().timestamp()
                claimed, _sent = sender.run_once(config["OUTBOX_BATCH"])
                failures = 0
            except Exception as error:
                db.session.rollback()
                failures += 1
                if isinstance(error, SQLAlchemyError):
                    log.warning("sender %s: database error, retrying: %s", sender.name, error)
                else:  # a bug: logged in full, and the sender goes on
                    log.exception("sender %s: unexpected error, retrying", sender.name)
                stop.wait(min(30.0, 0.2 * 2 ** failures))
                continue
            if claimed < config["OUTBOX_BATCH"]:
                sender.close()
                with wake:
                    wake.wait(config["OUTBOX_POLL_SECONDS"])
        sender.close()


def _listen(app, stop: threading.Event, wake: threading.Condition) -> None:
    """PostgreSQL: wake the senders whenever a transaction that queued mail commits."""
    with app.app_context():
        engine = db.engine
    while not stop.is_set():
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(f"LISTEN {outbox.CHANNEL}")
                driver = connection.connection.driver_connection
                while not stop.is_set():
                    if any(True for _ in driver.notifies(timeout=1.0, stop_after=1)):
                        with wake:
                            wake.notify_all()
        except Exception as error:
            log.warning("outbox listener: %s", error)
            stop.wait(1.0)


def serve(app, stop: threading.Event) -> None:
    """Run ``MAIL_CONNECTIONS`` senders (and, on PostgreSQL, a listener that wakes
    them) until ``stop`` is set."""
    wake = threading.Condition()
    threads = [threading.Thread(target=_connection_loop, args=(app, slot, stop, wake),
                                name=f"sender-{slot}", daemon=True)
               for slot in range(app.config["MAIL_CONNECTIONS"])]
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            threads.append(threading.Thread(target=_listen, args=(app, stop, wake),
                                            name="outbox-listener", daemon=True))
    for thread in threads:
        thread.start()
    stop.wait()
    with wake:
        wake.notify_all()
    for thread in threads:
        thread.join(timeout=app.config["MAIL_TIMEOUT"] + 5)
