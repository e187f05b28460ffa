"""The outbox, its mailings and the senders' heartbeats."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..shared.database import UTCDateTime, enum_column, utcnow


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


class Mailing(db.Model):
    """One mail to many list members (an invitation to a meeting, an announcement):
    what its outbox rows are rendered from when they are sent. ``kind`` is one of the
    kinds the domains' renderer knows (``hooks.Hooks``); ``reference`` is that
    domain's own ID of what it is about (an announcement, say)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    meeting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int | None]
    reference: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """A mail to be sent, written in the same transaction as the decision to send it.

    A list mail is a narrow row (its mailing and recipient): it is rendered when it is
    sent, with the same Message-ID and Date on every try. A mail to one person is
    stored rendered (``message``) and goes before list mail. ``code`` is the left part
    of the Message-ID and the envelope sender's tag."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Identifies the mail (kind, subject of it, recipient, ...): the same mail is never queued twice.
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    subscriber_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriber.id", ondelete="CASCADE"), index=True
    )
    # List mail is only sent while its subscriber is still active.
    list_mail: Mapped[bool] = mapped_column(default=False)
    # Mail about a meeting: which one, and the calendar sequence it carries.
    meeting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int | None]
    mailing_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("mailing.id", ondelete="CASCADE"), index=True
    )
    # The sender that is sending it (status "sending"), for recovery if that sender fails.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(80))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    code: Mapped[str] = mapped_column(sa.String(32))
    message: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))

    # Claims walk the queued rows in order (mail to one person first); recovery finds
    # the rows being sent; the quota counts the mails sent lately.
    __table_args__ = (
        sa.Index("ix_outbox_queued", "id", postgresql_where=sa.text("status = 'queued'"),
                 sqlite_where=sa.text("status = 'queued'")),
        sa.Index("ix_outbox_queued_personal", "id",
                 postgresql_where=sa.text("status = 'queued' AND NOT list_mail"),
                 sqlite_where=sa.text("status = 'queued' AND NOT list_mail")),
        sa.Index("ix_outbox_sending", "id", postgresql_where=sa.text("status = 'sending'"),
                 sqlite_where=sa.text("status = 'sending'")),
        sa.Index("ix_outbox_sent_at", "sent_at"),
    )


class WorkerHeartbeat(db.Model):
    """A sender's sign of progress; rows it holds are taken over once this goes stale."""

    worker: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RelayPause(db.Model):
    """The one row (id 1) that says whether the relay has closed its door: after an
    answer that the account is throttled, no sender sends before ``until``. Claims
    lock this row while they count the quota, so that senders count one after the
    other."""

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Throttled answers in a row (each pause is longer); 0 once a mail went out again.
    strikes: Mapped[int] = mapped_column(default=0)
    answer: Mapped[str | None] = mapped_column(sa.String(500))
