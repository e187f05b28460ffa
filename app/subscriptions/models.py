"""The distribution list: subscribers, their consent history, purged sign-ups."""

import enum
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..shared.database import UTCDateTime, enum_column, utcnow


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class Sector(enum.StrEnum):
    NONPROFIT = "nonprofit"
    MUNICIPAL = "municipal"
    CIVIC = "civic"
    BUSINESS = "business"


class PostDelivery(enum.StrEnum):
    """How a member gets the posts members write to the list."""

    EACH = "each"  # each post as it is approved
    WEEKLY = "weekly"  # one digest a week
    MONTHLY = "monthly"  # one digest a month
    NONE = "none"  # meeting mail only


def _default_post_delivery() -> str:
    return current_app.config["POST_DEFAULT_DELIVERY"]


class ConsentSource(enum.StrEnum):
    FORM = "form"
    IMPORT = "import"
    ORGANISER = "organiser"
    MAIL = "mail"


class Subscriber(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalised and lower-cased, so that uniqueness ignores case.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(100))
    organisation: Mapped[str | None] = mapped_column(sa.String(150))
    district: Mapped[str | None] = mapped_column(sa.String(60))
    sector: Mapped[Sector | None] = mapped_column(enum_column(Sector))
    language: Mapped[str] = mapped_column(sa.String(5), default="de")
    status: Mapped[SubscriberStatus] = mapped_column(
        enum_column(SubscriberStatus), default=SubscriberStatus.PENDING, index=True
    )
    source: Mapped[ConsentSource] = mapped_column(enum_column(ConsentSource))
    # Random value inside the confirmation link; cleared once used (single use).
    confirm_nonce: Mapped[str | None] = mapped_column(sa.String(32))
    hard_bounces: Mapped[int] = mapped_column(default=0)
    post_delivery: Mapped[PostDelivery] = mapped_column(
        enum_column(PostDelivery), default=_default_post_delivery, server_default="each")
    # A trusted member's posts go to the list without waiting for an organiser.
    trusted_poster: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # After a meeting they said they would come to: one mail with its record.
    follow_up_mail: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consents: Mapped[list["ConsentEvent"]] = relationship(
        back_populates="subscriber",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ConsentEvent.id",
    )

    def __repr__(self) -> str:
        return f"<Subscriber {self.id} {self.status}>"


class ConsentEvent(db.Model):
    """One proof of consent (or of its withdrawal), as German courts ask for it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriber.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(20))  # signup, confirm, import, unsubscribe
    source: Mapped[ConsentSource] = mapped_column(enum_column(ConsentSource))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(400))
    consent_version: Mapped[str | None] = mapped_column(sa.String(80))
    note: Mapped[str | None] = mapped_column(sa.String(500))

    subscriber: Mapped[Subscriber] = relationship(back_populates="consents")


class SignupPurge(db.Model):
    """What remains of purged unconfirmed sign-ups: the count, nothing else."""

    id: Mapped[int] = mapped_column(primary_key=True)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    count: Mapped[int]


class PendingImport(db.Model):
    """An uploaded list kept between its check and its import (one upload for both);
    dropped when imported or after a day."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
