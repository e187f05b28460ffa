"""Topics members want, and who showed interest in them."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..shared.database import UTCDateTime, enum_column, utcnow


class TopicStatus(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"  # a visitor's proposal, until the address is confirmed
    PROPOSED = "proposed"  # waits for organisers
    PUBLISHED = "published"  # on /themen, open for interest
    DECLINED = "declined"


class Topic(db.Model):
    """A Fachthema someone would like a meeting about. ``meeting_id``: the meeting
    it was chosen for ("geplant für …"; once that meeting has taken place,
    "besprochen am …")."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str | None] = mapped_column(sa.String(1000))
    can_tell: Mapped[bool] = mapped_column(default=False)  # "ich kann dazu etwas erzählen"
    proposer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriber.id", ondelete="SET NULL"), index=True)
    proposer_name: Mapped[str | None] = mapped_column(sa.String(100))
    # A visitor's address, for the confirmation only; deleted once confirmed.
    proposer_email: Mapped[str | None] = mapped_column(sa.String(254))
    confirm_nonce: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[TopicStatus] = mapped_column(enum_column(TopicStatus), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(sa.String(254))
    meeting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="SET NULL"), index=True)


class TopicVote(db.Model):
    """One member's interest in one topic ("Interessiert mich"); withdrawable."""

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topic.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriber.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (sa.UniqueConstraint("topic_id", "subscriber_id"),)
