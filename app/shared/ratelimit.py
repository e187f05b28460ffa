"""Limits on anything that sends mail, counted in the database.

Every process of an installation (web processes, the worker, each ``flask inbound``
run) shares the database, so a limit holds once for all of them with nothing more
to set up or watch. The notation is the ``limits`` library's ("3/day", "10 per
hour"); the window slides. A hit is part of the caller's transaction: it counts
exactly when what it allowed (a queued mail) is committed.

Each counted key is one row holding the times of its hits inside the window. The row
is locked while it is read and written (PostgreSQL: ``FOR UPDATE``; SQLite takes the
write lock with every transaction), so concurrent requests take turns.
"""

import hashlib
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app
from limits import parse
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .database import UTCDateTime, utcnow


class RateLimit(db.Model):
    __tablename__ = "rate_limit"

    # A hash of the limit and its keys: no address or IP is stored in the clear.
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    hits: Mapped[list[float]] = mapped_column(sa.JSON)  # Unix times inside the window
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def allow(setting: str, *keys: str) -> bool:
    """Count one hit against the limit named by config ``setting``; False once exceeded."""
    return hit(current_app.config[setting], setting, *keys)


def hit(limit: str, *keys: str) -> bool:
    """Count one hit against ``limit`` (such as "30/minute"); False once exceeded."""
    item = parse(limit)
    window = item.get_expiry()
    key = hashlib.sha256(item.key_for(*keys).encode()).hexdigest()
    now = time.time()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.session.execute(insert(RateLimit).values(key=key, hits=[], expires_at=utcnow())
                       .on_conflict_do_nothing())
    hits = db.session.scalar(sa.select(RateLimit.hits).where(RateLimit.key == key)
                             .with_for_update())
    recent = [at for at in hits if at > now - window]
    if len(recent) >= item.amount:
        return False
    db.session.execute(sa.update(RateLimit).where(RateLimit.key == key).values(
        hits=[*recent, now], expires_at=datetime.fromtimestamp(now + window, UTC)))
    return True


def forget_expired() -> int:
    """Delete the rows whose every hit has left its window; how many."""
    return db.session.execute(
        sa.delete(RateLimit).where(RateLimit.expires_at < datetime.now(UTC))).rowcount
