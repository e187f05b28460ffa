"""Organiser accounts."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..shared.database import UTCDateTime, enum_column, utcnow


class OrganiserRole(enum.StrEnum):
    ORGANISER = "organiser"
    ADMIN = "admin"


class Organiser(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(100))
    role: Mapped[OrganiserRole] = mapped_column(enum_column(OrganiserRole))
    active: Mapped[bool] = mapped_column(default=True)
    # Random value inside the current sign-in link; replaced on use (single use).
    signin_nonce: Mapped[str | None] = mapped_column(sa.String(32))
    last_signin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session of this organiser: raised on sign-out, deactivation and a
    # change of role, which ends all their sessions at once.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == OrganiserRole.ADMIN
