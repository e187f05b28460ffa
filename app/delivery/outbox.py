"""The outbox: every mail is a row first, written in the caller's transaction, and
sent by a sender (``delivery.sender``) in the worker once that transaction has
committed. Web requests never talk SMTP: they queue, and the worker, which looks
every ``OUTBOX_POLL_SECONDS``, sends.

A mail to one person is stored rendered. A mail to many list members is a
*mailing* plus one narrow row per member, queued by one ``INSERT … SELECT``; each
row is rendered when it is sent (``hooks.Hooks.render``), the same way on every try.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..shared.database import utcnow
from . import hooks, quota
from .mime import Mail
from .models import Mailing, OutboxMessage, OutboxStatus, WorkerHeartbeat


def enqueue(mail: Mail, *, key: str, kind: str, subscriber_id: int | None = None,
            list_mail: bool = False, meeting_id: int | None = None,
            sequence: int | None = None, placeholder: bool = False) -> bool:
    """Queue one rendered mail unless a mail with the same ``key`` is queued already;
    the worker sends it once the caller commits. False when the key was taken.

    A ``placeholder`` is the same work for an answer that must not show whether an
    address is known: the row is written dropped, without the address or the mail,
    and never sent."""
    if db.session.scalar(
            sa.select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return False
    db.session.execute(sa.insert(OutboxMessage.__table__).values(
        key=key, kind=kind, subscriber_id=subscriber_id, list_mail=list_mail,
        meeting_id=meeting_id, sequence=sequence, recipient="" if placeholder else mail.recipient,
        code=mail.code, message=b"" if placeholder else mail.data,
        status=OutboxStatus.DROPPED if placeholder else OutboxStatus.QUEUED, attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow()))
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
    ``{id}`` replaced by the member's ID. Returns how many were queued; a mailing
    that reaches nobody leaves no trace."""
    hooks.check_kind(kind)
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
    if not count:
        db.session.delete(mailing)
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


def sent_with(codes) -> tuple[str, int | None] | None:
    """The address and meeting of the sent mail with one of ``codes`` (its envelope
    tag, a reply address only that mail carried); None when there is none."""
    codes = [code for code in codes if code]
    if not codes:
        return None
    row = db.session.execute(sa.select(OutboxMessage.recipient, OutboxMessage.meeting_id).where(
        OutboxMessage.code.in_(codes), OutboxMessage.status == OutboxStatus.SENT).limit(1)).first()
    return None if row is None else (row.recipient, row.meeting_id)


def bounced(codes, recipients: set[str]) -> bool:
    """A bounce that came back later as mail (a DSN) for the mail with one of
    ``codes`` (its envelope tag or Message-ID): counts once as a hard bounce of its
    recipient, when that recipient is one of the ``recipients`` the report says
    failed. False when no sent mail matches."""
    codes = [code.strip("<>").partition("@")[0] for code in codes if code]
    if not codes:
        return False
    row = db.session.scalar(sa.select(OutboxMessage).where(
        OutboxMessage.code.in_(codes), OutboxMessage.status == OutboxStatus.SENT).limit(1))
    if row is None or row.recipient.lower() not in recipients:
        return False
    row.status = OutboxStatus.FAILED
    row.last_error = "bounced (delivery status notification)"
    if row.subscriber_id is not None:
        hooks.installed().hard_bounce(row.subscriber_id)
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


def status(now: datetime | None = None) -> list[dict]:
    """Per send (a mailing, or the mails of one kind to one person each): how many
    are sent, waiting (for the quota, or for their turn), retrying after a passing
    failure, being sent, failed (with the relay's answers) and dropped; when it was
    queued, when its last mail went out, and (while list mail waits) when its last
    mail is expected to go out. Newest first."""
    now = now or utcnow()
    retrying = sa.and_(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.attempts > 0)
    state = sa.case((retrying, "retrying"), else_=OutboxMessage.status)
    counts = db.session.execute(
        sa.select(OutboxMessage.mailing_id, OutboxMessage.kind, OutboxMessage.meeting_id,
                  OutboxMessage.sequence, state, sa.func.count(),
                  sa.func.min(OutboxMessage.created_at), sa.func.max(OutboxMessage.sent_at),
                  sa.func.max(OutboxMessage.id))
        .group_by(OutboxMessage.mailing_id, OutboxMessage.kind, OutboxMessage.meeting_id,
                  OutboxMessage.sequence, state))
    sends = {}
    for mailing_id, kind, meeting_id, sequence, name, count, created, last_sent, last_id in counts:
        key = mailing_id or (kind, meeting_id, sequence)
        send = sends.setdefault(key, {
            "kind": kind, "meeting_id": meeting_id, "sequence": sequence, "created": created,
            "last_sent": None, "last_id": 0, "retrying": 0, "expected_end": None,
            "failures": [], "list_mail": mailing_id is not None,
            **{s.value: 0 for s in OutboxStatus}})
        send[str(name)] = count
        send["created"] = min(send["created"], created)
        send["last_id"] = max(send["last_id"], last_id)
        if last_sent is not None:
            send["last_sent"] = max(filter(None, (send["last_sent"], last_sent)))
    for send in sends.values():
        send["waiting"] = send["queued"] + send["retrying"] + send["sending"]
        if send["list_mail"] and send["waiting"]:
            ahead = db.session.scalar(sa.select(sa.func.count()).where(
                OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)),
                OutboxMessage.list_mail.is_(True), OutboxMessage.id <= send["last_id"]))
            send["expected_end"] = quota.finish_time(ahead, now)
    for row in db.session.execute(
            sa.select(OutboxMessage.mailing_id, OutboxMessage.kind, OutboxMessage.meeting_id,
                      OutboxMessage.sequence, OutboxMessage.recipient, OutboxMessage.last_error)
            .where(OutboxMessage.status == OutboxStatus.FAILED).order_by(OutboxMessage.id)):
        sends[row.mailing_id or (row.kind, row.meeting_id, row.sequence)]["failures"].append(
            (row.recipient, row.last_error))
    return sorted(sends.values(), key=lambda send: send["created"], reverse=True)


def paused_until(now: datetime | None = None) -> datetime | None:
    """When the relay's pause ends, while it is paused."""
    return quota.paused_until(now or utcnow())


def list_mail_finish(mails: int, now: datetime | None = None) -> datetime:
    """When ``mails`` list mails queued now, behind those waiting, will have gone out."""
    now = now or utcnow()
    waiting = db.session.scalar(sa.select(sa.func.count()).where(
        OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)),
        OutboxMessage.list_mail.is_(True)))
    return quota.finish_time(waiting + mails, now)


def list_mail_duration(mails: int) -> timedelta:
    """How long ``mails`` list mails take under the quota when nothing else waits."""
    return quota.duration(mails)


def quota_in_words() -> str | None:
    return quota.in_words()
