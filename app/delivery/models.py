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
    what its outbox rows are rendered from when they are sent. ``kind`` names the
    renderer (registered by the domain that decided the mailing); ``reference`` is
    that domain's own ID of what it is about (an announcement, say)."""

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
    sent, the same way on every try. Any other mail is stored rendered (``message``).
    ``code`` is the left part of the Message-ID and the envelope sender's tag."""

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

    # Claims walk the queued rows in order; recovery finds the rows being sent. Each
    # index holds only the rows in its state (a mail sent leaves both), so that a
    # claim never walks past sent rows, whatever the database's statistics say.
    __table_args__ = (
        sa.Index("ix_outbox_queued", "id", postgresql_where=sa.text("status = 'queued'"),
                 sqlite_where=sa.text("status = 'queued'")),
        sa.Index("ix_outbox_sending", "id", postgresql_where=sa.text("status = 'sending'"),
                 sqlite_where=sa.text("status = 'sending'")),
    )


class WorkerHeartbeat(db.Model):
    """A sender's sign of progress; rows it holds are taken over once this goes stale."""

    worker: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailBudget(db.Model):
    """Mails sent (or about to be) in one minute, by all senders together: what
    ``MAIL_RATE_PER_MINUTE`` is counted against."""

    minute: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    used: Mapped[int] = mapped_column(default=0)
