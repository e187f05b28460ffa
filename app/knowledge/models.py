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


# The eight phases of building a network, as the NetzWerkStatt's Werkzeugkoffer names them.
PHASES = ("start", "konzeption", "ergebnisse", "kooperation", "unterstuetzung", "inklusion",
          "stolpersteine", "netzwerk")


class EntryStatus(enum.StrEnum):
    """A project or an "übernommen in" entry on its way to the public atlas."""

    UNCONFIRMED = "unconfirmed"  # until the proposer's address is confirmed
    PROPOSED = "proposed"  # waits for organisers
    PUBLISHED = "published"
    DECLINED = "declined"


class Project(db.Model):
    """A project of one district that others may take up. Its contact is shown only
    once that person confirmed by mail (``contact_confirmed``); until then, and
    without one, "über das Orga-Team"."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    name: Mapped[str] = mapped_column(sa.String(120))
    district: Mapped[str] = mapped_column(sa.String(60), index=True)
    description: Mapped[str] = mapped_column(sa.String(2000))
    phases: Mapped[str] = mapped_column(sa.String(200), default="")  # PHASES, comma-separated
    contact_name: Mapped[str | None] = mapped_column(sa.String(100))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    contact_confirmed: Mapped[bool] = mapped_column(default=False)
    # The proposer's address, for the confirmation only; deleted once confirmed.
    proposer_email: Mapped[str | None] = mapped_column(sa.String(254))
    nonce: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[EntryStatus] = mapped_column(enum_column(EntryStatus), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(sa.String(254))


class Adoption(db.Model):
    """"Übernommen in": a district that took the project up, in a year, and how."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id", ondelete="CASCADE"),
                                            index=True)
    district: Mapped[str] = mapped_column(sa.String(60), index=True)
    year: Mapped[int]
    how: Mapped[str] = mapped_column(sa.String(300))
    proposer_email: Mapped[str | None] = mapped_column(sa.String(254))
    nonce: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[EntryStatus] = mapped_column(enum_column(EntryStatus), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(sa.String(254))


class Presentation(db.Model):
    """A meeting where a project was presented."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id", ondelete="CASCADE"),
                                            index=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"))
    __table_args__ = (sa.UniqueConstraint("project_id", "meeting_id"),)
