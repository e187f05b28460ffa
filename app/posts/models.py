"""Posts to the list, their attachments, and the digests that carried them."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..shared.database import UTCDateTime, enum_column, utcnow


class PostStatus(enum.StrEnum):
    HELD = "held"  # waits for an organiser
    SENT = "sent"  # approved: gone to the list (and in the archive)
    REJECTED = "rejected"  # refused with a reason the author was told
    DISCARDED = "discarded"  # spam: dropped without a word


class PostSource(enum.StrEnum):
    MAIL = "mail"
    WEB = "web"


class Post(db.Model):
    """One post. ``author_id`` is the member who wrote it (None: someone not on the
    list, or a member erased since, whose name and address are then gone too)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    source: Mapped[PostSource] = mapped_column(enum_column(PostSource))
    message_id: Mapped[str | None] = mapped_column(sa.String(250), index=True)
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriber.id", ondelete="SET NULL"), index=True)
    author_name: Mapped[str | None] = mapped_column(sa.String(100))
    author_email: Mapped[str | None] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)  # Markdown from the web, plain text from mail
    html: Mapped[str | None] = mapped_column(sa.Text)  # a mail's HTML part, sanitised
    public: Mapped[bool] = mapped_column(default=False)  # the author allowed the public archive
    status: Mapped[PostStatus] = mapped_column(enum_column(PostStatus), default=PostStatus.HELD,
                                               index=True)
    removed_attachments: Mapped[str | None] = mapped_column(sa.String(500))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    decided_by: Mapped[str | None] = mapped_column(sa.String(254))
    reason: Mapped[str | None] = mapped_column(sa.String(1000))

    attachments: Mapped[list["PostAttachment"]] = relationship(
        back_populates="post", cascade="all, delete-orphan", passive_deletes=True,
        order_by="PostAttachment.id")


class PostAttachment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id", ondelete="CASCADE"),
                                         index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)

    post: Mapped[Post] = relationship(back_populates="attachments")


class Digest(db.Model):
    """A digest mailing: the posts sent after ``since`` up to ``until``, to the
    members of its ``cadence`` (weekly or monthly)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    cadence: Mapped[str] = mapped_column(sa.String(10))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    __table_args__ = (sa.UniqueConstraint("cadence", "until"),)
