"""Topics members want, and who showed interest in them."""

import enum
from datetime import date, datetime

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


class CloseOut(db.Model):
    """What came out of a meeting, noted by organisers after it: how many came (the
    "Ich komme" answers, corrected, plus walk-ins). ``follow_up_queued_at``: when the
    mail with the record went to those who said they would come (once)."""

    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    attendance: Mapped[int]  # members who came (of those who answered, corrected)
    walk_ins: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by: Mapped[str] = mapped_column(sa.String(254))
    follow_up_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUp(db.Model):
    """Something to do after a meeting: what, who, by when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"),
                                            index=True)
    task: Mapped[str] = mapped_column(sa.String(300))
    person: Mapped[str] = mapped_column(sa.String(100))
    due: Mapped[date]


class Insight(db.Model):
    """One insight of a meeting's record (or a NetzWerkStatt's results), tagged with
    one of the eight phases: the Werkzeugkoffer gathers them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"),
                                            index=True)
    phase: Mapped[str] = mapped_column(sa.String(20), index=True)  # one of PHASES
    text: Mapped[str] = mapped_column(sa.String(1000))


class PhaseIntro(db.Model):
    """Organisers' short introduction to one phase of the Werkzeugkoffer."""

    phase: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(2000))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(sa.String(254))


class Inquiry(db.Model):
    """"Ich möchte das auch machen": someone asks the people behind a project (or a
    topic) to tell them how. Kept until the asker confirmed their address by mail,
    then sent once (``sent_at``) and deleted a few days later."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("project.id", ondelete="CASCADE"), index=True)
    topic_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("topic.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254))
    message: Mapped[str] = mapped_column(sa.String(2000))
    nonce: Mapped[str] = mapped_column(sa.String(32))
    __table_args__ = (sa.CheckConstraint("(project_id IS NULL) != (topic_id IS NULL)",
                                         name="one_subject"),)
