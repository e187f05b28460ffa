"""Venues, meetings and their topic announcements. Times are stored in UTC."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..shared.database import UTCDateTime, enum_column, utcnow


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
    kind: Mapped[MeetingKind] = mapped_column(enum_column(MeetingKind), default=MeetingKind.MEETING)
    status: Mapped[MeetingStatus] = mapped_column(
        enum_column(MeetingStatus), default=MeetingStatus.DRAFT, index=True
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
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))  # shown publicly
    # "Was wir mitgenommen haben": organisers' Markdown record once it has taken place.
    record: Mapped[str | None] = mapped_column(sa.Text)
    # The start it had when it was announced, if it has moved since (shown publicly).
    previous_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who hosts this meeting: the organisation and its contact person (organisers only).
    host_organisation: Mapped[str | None] = mapped_column(sa.String(150))
    host_contact: Mapped[str | None] = mapped_column(sa.String(300))
    uid: Mapped[str] = mapped_column(sa.String(200), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    # Time or place changed: the update to those invited goes out then (changes until
    # then go out with it).
    update_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # NetzWerkStatt only: places, child-care places, and whether people may register.
    capacity: Mapped[int | None]
    childcare_capacity: Mapped[int | None]
    registration_open: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Rises with every change of the row (in the UPDATE itself): the feed's ETag.
    revision: Mapped[int] = mapped_column(default=0, server_default="0",
                                          onupdate=sa.literal_column("revision + 1"))

    venue: Mapped[Venue | None] = relationship()


class AnnouncementStatus(enum.StrEnum):
    DRAFT = "draft"  # written and previewed, not confirmed: never sent
    SCHEDULED = "scheduled"  # confirmed: goes out at ``send_at``
    SENT = "sent"
    CANCELLED = "cancelled"  # withdrawn before it went out


class Announcement(db.Model):
    """A topic announcement for a meeting, sent to all active subscribers when due.

    Only a confirmed (scheduled) announcement of an announced meeting is ever sent;
    a change puts it back to a draft that must be confirmed again.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)  # Markdown
    status: Mapped[AnnouncementStatus] = mapped_column(
        enum_column(AnnouncementStatus), default=AnnouncementStatus.DRAFT
    )
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The organiser chose to send it within an hour of the meeting's invitation.
    same_hour_ok: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship()


class Answer(enum.StrEnum):
    """A member's answer to an invitation, and its iCalendar PARTSTAT."""

    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


class AnswerSource(enum.StrEnum):
    LINK = "link"  # the page behind a link in a meeting mail
    CALENDAR = "calendar"  # a calendar app's REPLY (iMIP)
    ORGANISER = "organiser"  # an organiser assigned a reply from an unknown address


class Rsvp(db.Model):
    """Whether a member comes to a meeting; their latest answer counts."""

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriber.id", ondelete="CASCADE"), index=True
    )
    answer: Mapped[Answer] = mapped_column(enum_column(Answer))
    source: Mapped[AnswerSource] = mapped_column(enum_column(AnswerSource))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A calendar reply's SEQUENCE and DTSTAMP: a later one with older values is stale.
    reply_sequence: Mapped[int | None] = mapped_column(sa.Integer)
    reply_stamp: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("meeting_id", "subscriber_id"),)
