"""The outbox and the senders' heartbeats."""

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


class OutboxMessage(db.Model):
    """A mail to be sent, written in the same transaction as the decision to send it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Identifies the mail (kind, subject of it, recipient, ...): the same mail is never queued twice.
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(30), index=True)
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
    # The worker that is sending it (status "sending"), for recovery if that worker dies.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(80))
    sender: Mapped[str] = mapped_column(sa.String(254))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    message_id: Mapped[str] = mapped_column(sa.String(250))
    message: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)


class WorkerHeartbeat(db.Model):
    """A worker's sign of life; rows it holds are taken over once this goes stale."""

    worker: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
