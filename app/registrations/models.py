"""Registrations for a NetzWerkStatt (a meeting of kind ``workshop``)."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..shared.database import UTCDateTime, enum_column, utcnow


class RegistrationStatus(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"  # waits for the double opt-in; holds no place
    REGISTERED = "registered"  # has a place
    WAITING = "waiting"  # on the waiting list, in the order of ``queued_at``
    OFFERED = "offered"  # a freed place is held for them until ``offer_expires_at``
    CANCELLED = "cancelled"  # cancelled by themselves or an organiser, or declined
    LAPSED = "lapsed"  # let an offer lapse


# The statuses that hold a place (and their children's child-care places).
HOLDING = (RegistrationStatus.REGISTERED, RegistrationStatus.OFFERED)


class Registration(db.Model):
    """One person's registration. One per address and event: registering again
    reuses the row."""

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"),
                                            index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    name: Mapped[str] = mapped_column(sa.String(150))
    organisation: Mapped[str | None] = mapped_column(sa.String(150))
    children: Mapped[int] = mapped_column(default=0)  # needing child care
    children_ages: Mapped[str | None] = mapped_column(sa.String(100))
    access_needs: Mapped[str | None] = mapped_column(sa.String(1000))
    language: Mapped[str] = mapped_column(sa.String(5), default="de")
    status: Mapped[RegistrationStatus] = mapped_column(
        enum_column(RegistrationStatus), default=RegistrationStatus.UNCONFIRMED)
    nonce: Mapped[str] = mapped_column(sa.String(32))  # voids older confirmation links
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # place in the line
    offer_round: Mapped[int] = mapped_column(default=0)  # voids older offer links
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_ip: Mapped[str | None] = mapped_column(sa.String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.UniqueConstraint("meeting_id", "email"),)


class RegistrationTally(db.Model):
    """What remains of an event's registrations once the people are forgotten."""

    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    registered: Mapped[int]
    children: Mapped[int]
    waiting: Mapped[int]  # still waiting on the day
    cancelled: Mapped[int]
    forgotten_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
