"""The tables. Times are stored in UTC and come back as aware datetimes."""

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class UTCDateTime(sa.TypeDecorator):
    """An aware UTC datetime on every engine (SQLite keeps no time zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[enum.Enum]) -> sa.Enum:
    """Store an enum by its value, as a plain string with a CHECK constraint."""
    return sa.Enum(
        cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        create_constraint=True,
        length=20,
        name=cls.__name__.lower(),
    )


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
    sector: Mapped[Sector | None] = mapped_column(_enum(Sector))
    language: Mapped[str] = mapped_column(sa.String(5), default="de")
    status: Mapped[SubscriberStatus] = mapped_column(
        _enum(SubscriberStatus), default=SubscriberStatus.PENDING, index=True
    )
    source: Mapped[ConsentSource] = mapped_column(_enum(ConsentSource))
    # Random value inside the confirmation link; cleared once used (single use).
    confirm_nonce: Mapped[str | None] = mapped_column(sa.String(32))
    hard_bounces: Mapped[int] = mapped_column(default=0)
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
    source: Mapped[ConsentSource] = mapped_column(_enum(ConsentSource))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(400))
    consent_version: Mapped[str | None] = mapped_column(sa.String(80))
    note: Mapped[str | None] = mapped_column(sa.String(500))

    subscriber: Mapped[Subscriber] = relationship(back_populates="consents")


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
        _enum(OutboxStatus), default=OutboxStatus.QUEUED
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


class SignupPurge(db.Model):
    """What remains of purged unconfirmed sign-ups: the count, nothing else."""

    id: Mapped[int] = mapped_column(primary_key=True)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    count: Mapped[int]


class Venue(db.Model):
    """A place where the network can meet, hosted by a local organisation."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(150))
    address: Mapped[str] = mapped_column(sa.String(300))
    district: Mapped[str] = mapped_column(sa.String(60), index=True)
    host_organisation: Mapped[str | None] = mapped_column(sa.String(150))
    contact: Mapped[str | None] = mapped_column(sa.String(300))
    step_free: Mapped[bool | None]
    transit_stop: Mapped[str | None] = mapped_column(sa.String(150))
    accessibility_notes: Mapped[str | None] = mapped_column(sa.Text)
    capacity: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeetingKind(enum.StrEnum):
    MEETING = "meeting"  # the quarterly network meeting
    WORKSHOP = "workshop"  # the annual NetzWerkStatt, with registration


class MeetingStatus(enum.StrEnum):
    DRAFT = "draft"
    ANNOUNCED = "announced"
    CANCELLED = "cancelled"
    HELD = "held"


class Meeting(db.Model):
    """One meeting. Times are stored in UTC and shown in Europe/Berlin.

    ``uid`` never changes; ``sequence`` rises with every change of time, place or
    status, so calendar clients replace their copy (RFC 5545/5546).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MeetingKind] = mapped_column(_enum(MeetingKind), default=MeetingKind.MEETING)
    status: Mapped[MeetingStatus] = mapped_column(
        _enum(MeetingStatus), default=MeetingStatus.DRAFT, index=True
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    district: Mapped[str] = mapped_column(sa.String(60), index=True)
    venue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("venue.id", ondelete="RESTRICT"), index=True
    )
    topic: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)  # Markdown
    organiser_notes: Mapped[str | None] = mapped_column(sa.Text)
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    uid: Mapped[str] = mapped_column(sa.String(200), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    # NetzWerkStatt only: places, and whether people may register.
    capacity: Mapped[int | None]
    registration_open: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    venue: Mapped[Venue | None] = relationship()


class RegistrationStatus(enum.StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Registration(db.Model):
    """A place at a workshop (NetzWerkStatt), or one on its waiting list."""

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(sa.String(254))
    name: Mapped[str] = mapped_column(sa.String(100))
    organisation: Mapped[str | None] = mapped_column(sa.String(150))
    status: Mapped[RegistrationStatus] = mapped_column(
        _enum(RegistrationStatus), default=RegistrationStatus.REGISTERED
    )
    childcare_needed: Mapped[bool] = mapped_column(default=False)
    childcare_details: Mapped[str | None] = mapped_column(sa.String(300))  # ages, how many
    accessibility_needs: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("meeting_id", "email"),)


class OrganiserRole(enum.StrEnum):
    ORGANISER = "organiser"
    ADMIN = "admin"


class Organiser(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(100))
    role: Mapped[OrganiserRole] = mapped_column(_enum(OrganiserRole))
    active: Mapped[bool] = mapped_column(default=True)
    # Random value inside the current sign-in link; replaced on use (single use).
    signin_nonce: Mapped[str | None] = mapped_column(sa.String(32))
    last_signin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == OrganiserRole.ADMIN


class AuditEntry(db.Model):
    """Who did what, when: every organiser action, from the web or the command line."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(254))  # organiser's address, or "cli"
    action: Mapped[str] = mapped_column(sa.String(60))
    subject: Mapped[str | None] = mapped_column(sa.String(100))  # e.g. "meeting 12"
    details: Mapped[str | None] = mapped_column(sa.Text)


class AnnouncementStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    CANCELLED = "cancelled"


class Announcement(db.Model):
    """A topic announcement for a meeting, sent to all active subscribers when due."""

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)  # Markdown
    status: Mapped[AnnouncementStatus] = mapped_column(
        _enum(AnnouncementStatus), default=AnnouncementStatus.SCHEDULED
    )
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship()
