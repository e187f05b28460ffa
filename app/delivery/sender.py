"""Sending what the outbox holds: claims, results, heartbeats and the worker's
sender.

A sender claims due rows (``queued`` -> ``sending`` under its name, mail to one
person first, as many as the quota allows; ``SKIP LOCKED`` on PostgreSQL) and
commits; then, one mail at a time, renders it, signs it, hands it to the relay and
records the relay's answer with one UPDATE and a commit. No transaction stays open
while talking SMTP.

What the relay answers (``relay.classify``): accepted, the row is sent; a bounce of
the recipient fails the row and counts toward the member's bounce limit; a passing
hitch retries that row later (``OUTBOX_RETRY_BASE_SECONDS``, doubling, at most
``OUTBOX_MAX_ATTEMPTS`` tries); an answer that the account is throttled gives every
claimed row back untouched and pauses all senders (``quota.pause``): nothing is
ever marked failed because a quota held it back.

Recovery. A database error ends the batch; the rows claimed under the sender's
name are taken back when it starts its next run. A sender that is making progress
writes a heartbeat; rows of a sender whose heartbeat has gone stale (dead, or stuck)
are queued again by the others, as procrastinate and pgqueuer recover stalled jobs.

Crash guarantee: each answer is recorded before the next mail goes out, so a killed
sender leaves at most one mail that the relay accepted but that is not recorded as
sent; it goes out again (with the same Message-ID). Nothing is lost. On PostgreSQL a
result's transaction commits without waiting for the disk (``SET LOCAL
synchronous_commit``, that transaction only): a killed sender loses none, as the
server has them; a crash of the database server itself may forget the results of
its last fraction of a second, and those mails go out once more.
"""

import logging
import os
import socket
import threading
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..shared import logs
from ..shared.database import utcnow
from . import hooks, quota, signing
from .compose import envelope_sender, transport_address
from .models import Mailing, OutboxMessage, OutboxStatus, WorkerHeartbeat
from .relay import Relay, RelayError, Verdict, classify

log = logging.getLogger(__name__)
OUTBOX = OutboxMessage.__table__
QUEUED, SENDING = OutboxStatus.QUEUED, OutboxStatus.SENDING
# The partial indexes' own predicates, so that every plan of a claim can use them.
IS_QUEUED = sa.text("outbox.status = 'queued'")
IS_SENDING = sa.text("outbox.status = 'sending'")


def sender_name(slot: str) -> str:
    """A sender's name in claims and heartbeats: host, process and ``slot``."""
    return f"{socket.gethostname()}:{os.getpid()}:{slot}"


def recover_stalled() -> int:
    """Queue again what senders with a stale heartbeat left ``sending``."""
    stale_before = utcnow() - timedelta(seconds=current_app.config["OUTBOX_HEARTBEAT_TIMEOUT"])
    alive = sa.select(WorkerHeartbeat.worker).where(WorkerHeartbeat.seen_at >= stale_before)
    result = db.session.execute(
        sa.update(OUTBOX)
        .where(IS_SENDING, sa.or_(OUTBOX.c.claimed_by.is_(None),
                                  OUTBOX.c.claimed_by.not_in(alive)))
        .values(status=QUEUED, claimed_by=None))
    db.session.execute(sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < stale_before))
    db.session.commit()
    return result.rowcount


def check_kinds() -> None:
    """Every queued mailing is of a kind that a domain renders (``hooks.UnknownKind``)."""
    queued = sa.select(OUTBOX.c.mailing_id).where(IS_QUEUED)
    for kind in db.session.scalars(sa.select(Mailing.kind).distinct()
                                   .where(Mailing.id.in_(queued))):
        hooks.check_kind(kind)


class Sender:
    """One sender: claims under its own name and sends over one SMTP connection."""

    def __init__(self, name: str):
        self.name = name
        self.relay: Relay | None = None
        self._beaten = 0.0

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
            sa.update(OUTBOX).where(IS_SENDING, OUTBOX.c.claimed_by == self.name)
            .values(status=QUEUED, claimed_by=None)).rowcount
        db.session.commit()
        return count

    def _claim_some(self, limit: int, *, personal: bool, now) -> list:
        if limit <= 0:
            return []
        due = (sa.select(OUTBOX.c.id)
               .where(IS_QUEUED, OUTBOX.c.next_attempt_at <= now)
               .order_by(OUTBOX.c.id).limit(limit))
        if personal:
            due = due.where(sa.not_(OUTBOX.c.list_mail))
        if db.session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        return db.session.execute(
            sa.update(OUTBOX).where(OUTBOX.c.id.in_(due.scalar_subquery()))
            .values(status=SENDING, claimed_by=self.name)
            .returning(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.mailing_id, OUTBOX.c.subscriber_id,
                       OUTBOX.c.list_mail, OUTBOX.c.recipient, OUTBOX.c.code,
                       OUTBOX.c.message, OUTBOX.c.attempts, OUTBOX.c.created_at)).all()

    def claim(self, limit: int) -> list:
        """Claim up to ``limit`` due rows, as many as the quota allows: mail to one
        person first, then list mail in the order it was queued. Commits."""
        now = utcnow()
        personal_allowed, list_allowed = quota.allowance(now)
        rows = self._claim_some(min(limit, personal_allowed), personal=True, now=now)
        rows += self._claim_some(min(limit - len(rows), list_allowed,
                                     personal_allowed - len(rows)), personal=False, now=now)
        db.session.commit()
        return sorted(rows, key=lambda row: (row.list_mail, row.id))

    def _record(self, row, status: OutboxStatus) -> None:
        if db.session.get_bind().dialect.name == "postgresql":
            # This transaction alone does not wait for the disk (see the module's
            # docstring): a killed sender loses no result, the server has it.
            db.session.execute(sa.text("SET LOCAL synchronous_commit TO off"))
        db.session.execute(sa.update(OUTBOX).where(OUTBOX.c.id == row.id).values(
            status=status, claimed_by=None,
            sent_at=utcnow() if status == OutboxStatus.SENT else None))
        db.session.commit()

    def _fail(self, row, error: str, *, permanent: bool) -> None:
        config = current_app.config
        attempts = row.attempts + 1
        values = {"attempts": attempts, "last_error": error[:500], "claimed_by": None}
        if permanent or attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
            values["status"] = OutboxStatus.FAILED
            if permanent and row.subscriber_id is not None:
                hooks.installed().hard_bounce(row.subscriber_id)
        else:
            values["status"] = QUEUED
            values["next_attempt_at"] = utcnow() + timedelta(
                seconds=config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1))
        db.session.execute(sa.update(OUTBOX).where(OUTBOX.c.id == row.id).values(**values))
        db.session.commit()
        logs.event("mail.failed", id=row.id, kind=row.kind, code=row.code,
                   status=str(values["status"]), error=error[:200])

    def _pause(self, rows, code: int, text: str) -> None:
        """The relay is throttled: the rows wait, their tries untouched, and every
        sender pauses (``quota.pause``)."""
        answer = f"{code} {text}"
        db.session.execute(sa.update(OUTBOX).where(OUTBOX.c.id.in_([row.id for row in rows]))
                           .values(status=QUEUED, claimed_by=None, last_error=answer[:500]))
        db.session.commit()
        until = quota.pause(answer, utcnow())
        log.warning("the relay is throttled (%s): sending paused until %s", answer, until)
        self.close(abort=True)

    def message_of(self, row, wanted, mailings) -> bytes | None:
        """The bytes of ``row``'s mail; None when it is not to be sent any more (the
        member left the list, the mailing is void). ``mailings`` keeps each mailing
        as its domain prepared it, for the rows of one batch."""
        person = wanted.get(row.subscriber_id)
        if row.list_mail and person is None:
            return None
        if row.message is not None:
            return row.message
        if row.mailing_id not in mailings:
            mailing = db.session.get(Mailing, row.mailing_id)
            mailings[row.mailing_id] = mailing and hooks.installed().prepare(hooks.MailingInfo(
                id=mailing.id, kind=mailing.kind, meeting_id=mailing.meeting_id,
                sequence=mailing.sequence, reference=mailing.reference))
        if mailings[row.mailing_id] is None:
            return None
        name, language = person
        return hooks.installed().render(mailings[row.mailing_id], hooks.Member(
            subscriber_id=row.subscriber_id, address=row.recipient, name=name,
            language=language, code=row.code, queued_at=row.created_at)).data

    def send(self, rows) -> int:
        """Send claimed ``rows``, one after the other; returns how many went out.
        Raises what the database raised, after trying to give back what is not done."""
        members = {row.subscriber_id for row in rows if row.list_mail}
        wanted = hooks.installed().wanted(members) if members else {}
        mailings: dict[int, object] = {}
        waiting, sent = list(rows), 0
        # What a renderer loaded (a meeting, say) stays loaded across each result's commit.
        session = db.session()
        keep, session.expire_on_commit = session.expire_on_commit, False
        try:
            while waiting:
                row = waiting[0]
                message = self.message_of(row, wanted, mailings)
                if message is None:
                    self._record(waiting.pop(0), OutboxStatus.DROPPED)
                    continue
                if db.session().in_transaction():  # no transaction open while talking SMTP
                    db.session.commit()
                if self.relay is None:
                    self.relay = Relay()
                code, text = self.relay.send(envelope_sender(row.code),
                                             transport_address(row.recipient),
                                             signing.sign(message))
                waiting.pop(0)
                verdict = classify(code, text)
                if verdict == Verdict.SENT:
                    self._record(row, OutboxStatus.SENT)
                    logs.event("mail.sent", id=row.id, kind=row.kind, code=row.code)
                    sent += 1
                    self.beat()
                elif verdict == Verdict.THROTTLED:
                    self._pause([row, *waiting], code, text)
                    waiting = []
                else:
                    self._fail(row, f"{code} {text}", permanent=verdict == Verdict.BOUNCE)
        except RelayError as error:
            self.close(abort=True)
            db.session.rollback()
            if error.answer and classify(*error.answer) == Verdict.THROTTLED:
                self._pause(waiting, *error.answer)
            else:
                for row in waiting:
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
        if sent:
            quota.resume()
        return sent

    def run_once(self, limit: int) -> tuple[int, int]:
        """Claim up to ``limit`` due rows and send them: (claimed, sent). The heartbeat
        comes first: rows claimed under a name without one would be taken over by
        the other senders at once."""
        self.beat()
        rows = self.claim(limit)
        if not rows:
            return 0, 0
        return len(rows), self.send(rows)

    def close(self, *, abort: bool = False) -> None:
        """Close the SMTP connection (``abort``: without a word)."""
        if self.relay is not None:
            self.relay.abort() if abort else self.relay.close()
            self.relay = None


def drain(batch: int = 200) -> int:
    """Send every due mail in this process, batch after batch, and close the
    connection; returns how many were sent. A database error ends the run (logged);
    what this sender held is taken back on its next run."""
    sender = Sender(sender_name("drain"))
    total = 0
    try:
        sender.take_back()
        recover_stalled()
        while True:
            claimed, sent = sender.run_once(batch)
            total += sent
            if claimed < batch:
                return total
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("sending stopped by a database error: %s", error)
        return total
    finally:
        sender.close()


def _sender_loop(app, slot: int, stop: threading.Event) -> None:
    """One sender of the worker: sends while there is work, then looks again every
    ``OUTBOX_POLL_SECONDS``. Errors end the batch, never the loop."""
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
                stop.wait(config["OUTBOX_POLL_SECONDS"])
        sender.close()


def serve(app, stop: threading.Event) -> None:
    """Run ``MAIL_CONNECTIONS`` senders (one by default) until ``stop`` is set. A
    queued mailing of a kind no domain renders stops it at once
    (``hooks.UnknownKind``)."""
    with app.app_context():
        check_kinds()
    threads = [threading.Thread(target=_sender_loop, args=(app, slot, stop),
                                name=f"sender-{slot}", daemon=True)
               for slot in range(app.config["MAIL_CONNECTIONS"])]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=app.config["MAIL_TIMEOUT"] + 5)
