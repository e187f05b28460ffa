"""Inbound mail as the service saw it: what it did, or why it kept it for organisers."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..shared.database import UTCDateTime, enum_column, utcnow


class InboundKind(enum.StrEnum):
    CALENDAR_REPLY = "calendar_reply"  # iMIP REPLY: an answer from a calendar app
    UNSUBSCRIBE = "unsubscribe"  # mail to the List-Unsubscribe mailto
    BOUNCE = "bounce"  # delivery status notification (RFC 3464)
    AUTO_REPLY = "auto_reply"  # RFC 3834: out of office and the like, ignored
    LOOP = "loop"  # our own list mail came back (our List-Id or X-Loop): dropped
    POST = "post"  # a post to the list (``posts``): held for organisers or sent
    OTHER = "other"  # a person wrote: kept and forwarded


class InboundStatus(enum.StrEnum):
    HANDLED = "handled"  # the service acted on it (or ignored it on purpose)
    KEPT = "kept"  # waits for an organiser
    DONE = "done"  # an organiser dealt with it


class InboundMail(db.Model):
    """One mail received. Handled mail keeps no content; kept mail keeps it (up to
    ``INBOUND_MAX_BYTES``, else its headers) for organisers."""

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    message_id: Mapped[str | None] = mapped_column(sa.String(250), index=True)
    sender: Mapped[str] = mapped_column(sa.String(320), default="")
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    kind: Mapped[InboundKind] = mapped_column(enum_column(InboundKind))
    status: Mapped[InboundStatus] = mapped_column(enum_column(InboundStatus), index=True)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    size: Mapped[int] = mapped_column(default=0)
    raw: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
