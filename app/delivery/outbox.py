"""The outbox: every mail is a row first, written in the caller's transaction, and
sent by a sender (``delivery.sender``) in the worker once that transaction has
committed. Web requests never talk SMTP: they queue, and the worker, woken at once
(PostgreSQL ``NOTIFY``) or within a short poll (SQLite), sends.

A mail to one person is stored rendered. A mail to many list members is a
*mailing* plus one narrow row per member, queued by one ``INSERT … SELECT``; each
row is rendered when it is sent by the renderer its domain registered for the
mailing's kind (``register_renderer``), the same way on every try.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..shared.database import utcnow
from . import recipients
from .compose import ListMail
from .mime import Mail
from .models import Mailing, OutboxMessage, OutboxStatus, WorkerHeartbeat

CHANNEL = "vernetzer_outbox"  # PostgreSQL's NOTIFY channel that wakes the senders
# A mailing of at least this many mails renews the outbox's statistics (PostgreSQL).
FRESH_STATISTICS_FROM = 1000


@dataclass(frozen=True)
class MailingInfo:
    """What a renderer learns of its mailing."""

    id: int
    kind: str
    meeting_id: int | None
    sequence: int | None
    reference: int | None
    created_at: datetime


# kind -> a function making the mailing's renderer (None: the mailing is void now).
_renderers: dict[str, Callable[[MailingInfo], ListMail | None]] = {}


def register_renderer(kinds, factory: Callable[[MailingInfo], ListMail | None]) -> None:
    """The domain that decides mailings of ``kinds`` renders them (at start-up)."""
    for kind in kinds:
        _renderers[kind] = factory


def renderer(mailing_id: int) -> ListMail | None:
    """The renderer of a mailing, as its domain builds it now."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        return None
    return _renderers[mailing.kind](MailingInfo(
        id=mailing.id, kind=mailing.kind, meeting_id=mailing.meeting_id,
        sequence=mailing.sequence, reference=mailing.reference,
        created_at=mailing.created_at))


def wake_senders() -> None:
    """On PostgreSQL, wake the senders when the caller's transaction commits."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text(f"NOTIFY {CHANNEL}"))


def enqueue(mail: Mail, *, key: str, kind: str, subscriber_id: int | None = None,
            list_mail: bool = False, meeting_id: int | None = None,
            sequence: int | None = None) -> bool:
    """Queue one rendered mail unless a mail with the same ``key`` is queued already;
    the worker sends it once the caller commits. False when the key was taken."""
    if db.session.scalar(
            sa.select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return False
    db.session.execute(sa.insert(OutboxMessage.__table__).values(
        key=key, kind=kind, subscriber_id=subscriber_id, list_mail=list_mail,
        meeting_id=meeting_id, sequence=sequence, recipient=mail.recipient, code=mail.code,
        message=mail.data, status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=utcnow(),
        created_at=utcnow()))
    wake_senders()
    return True


def _random_code():
    """A new code for each row of an ``INSERT … SELECT``, made by the database
    (as random as ``compose.new_code``: 128 bits from its secure generator)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.replace(sa.cast(sa.func.gen_random_uuid(), sa.String), "-", "")
    return sa.func.lower(sa.func.hex(sa.func.randomblob(16)))


def queue_mailing(kind: str, members: sa.Select, *, key: str, meeting_id: int | None = None,
                  sequence: int | None = None, reference: int | None = None) -> int:
    """One mail of a new mailing to each list member of ``members`` (a query of
    subscriber ID and address), in one statement. Each row's key is ``key`` with
    ``{id}`` replaced by the member's ID. Returns how many were queued."""
    mailing = Mailing(kind=kind, meeting_id=meeting_id, sequence=sequence,
                      reference=reference)
    db.session.add(mailing)
    db.session.flush()
    chosen = members.subquery()
    member, address = chosen.c
    before, _, after = key.partition("{id}")
    now = utcnow()
    columns = {
        "key": sa.literal(before) + sa.cast(member, sa.String) + sa.literal(after),
        "kind": sa.literal(kind), "subscriber_id": member, "list_mail": sa.true(),
        "meeting_id": sa.literal(meeting_id, sa.Integer),
        "sequence": sa.literal(sequence, sa.Integer),
        "mailing_id": sa.literal(mailing.id), "recipient": address, "code": _random_code(),
        "status": sa.literal(OutboxStatus.QUEUED.value),
        "attempts": sa.literal(0), "next_attempt_at": sa.literal(now, OutboxMessage.next_attempt_at.type),
        "created_at": sa.literal(now, OutboxMessage.created_at.type),
    }
    db.session.execute(sa.insert(OutboxMessage.__table__).from_select(
        list(columns), sa.select(*columns.values()).select_from(chosen)))
    # Counted afterwards: not every driver reports the rows of an INSERT … SELECT.
    count = db.session.scalar(sa.select(sa.func.count()).where(
        OutboxMessage.mailing_id == mailing.id))
    if count:
        wake_senders()
    if count >= FRESH_STATISTICS_FROM and db.session.get_bind().dialect.name == "postgresql":
        # The senders' claims are planned from the statistics: from those of before
        # this mailing, PostgreSQL would fetch and sort every queued row per claim.
        db.session.execute(sa.text("ANALYZE outbox"))
    return count


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
    codes = [code.strip("<>").partition("@")[0] for code in codes if code]
    if not codes:
        return False
    row = db.session.scalar(sa.select(OutboxMessage).where(
        OutboxMessage.code.in_(codes), OutboxMessage.status == OutboxStatus.SENT).limit(1))
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


def newest_heartbeat() -> datetime | None:
    """When a sender last said it was running (None: never)."""
    return db.session.scalar(sa.select(sa.func.max(WorkerHeartbeat.seen_at)))


def pending() -> int:
    """How many mails are queued or being sent."""
    return db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING))))


def status() -> list[dict]:
    """Per send (kind, meeting, sequence): how many mails are in which state, when
    it was queued and how long it took until its last mail went out, and the SMTP
    answers of those that failed."""
    counts = db.session.execute(
        sa.select(OutboxMessage.kind, OutboxMessage.meeting_id, OutboxMessage.sequence,
                  OutboxMessage.status, sa.func.count(), sa.func.min(OutboxMessage.created_at),
                  sa.func.max(OutboxMessage.sent_at))
        .group_by(OutboxMessage.kind, OutboxMessage.meeting_id, OutboxMessage.sequence,
                  OutboxMessage.status))
    sends = {}
    for kind, meeting_id, sequence, state, count, created, last_sent in counts:
        send = sends.setdefault((kind, meeting_id, sequence), {
            "kind": kind, "meeting_id": meeting_id, "sequence": sequence, "created": created,
            "last_sent": None, **{s.value: 0 for s in OutboxStatus}, "failures": []})
        send[state.value] = count
        send["created"] = min(send["created"], created)
        if last_sent is not None:
            send["last_sent"] = max(filter(None, (send["last_sent"], last_sent)))
    for send in sends.values():
        send["duration"] = (send["last_sent"] - send["created"]
                            if send["last_sent"] and send["created"] else None)
    for row in db.session.execute(
            sa.select(OutboxMessage.kind, OutboxMessage.meeting_id, OutboxMessage.sequence,
                      OutboxMessage.recipient, OutboxMessage.last_error)
            .where(OutboxMessage.status == OutboxStatus.FAILED).order_by(OutboxMessage.id)):
        sends[(row.kind, row.meeting_id, row.sequence)]["failures"].append(
            (row.recipient, row.last_error))
    return sorted(sends.values(), key=lambda send: send["created"], reverse=True)
