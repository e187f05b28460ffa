"""Column types and helpers every domain's models use."""

import enum
from datetime import UTC, datetime

import sqlalchemy as sa

from ..extensions import db


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


def render_migration_item(type_, obj, autogen_context):
    """Alembic autogenerate: write ``UTCDateTime`` as the plain type it stores, so
    that migrations never import the app's code (which may move)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def enum_column(cls: type[enum.Enum]) -> sa.Enum:
    """Store an enum by its value, as a plain string with a CHECK constraint."""
    return sa.Enum(
        cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        create_constraint=True,
        length=20,
        name=cls.__name__.lower(),
    )


def by_id(model, value):
    """The row of ``model`` with the ID a person gave (as text), or None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    # Beyond the database's integer range there is nothing (and PostgreSQL would fail).
    return db.session.get(model, number) if 0 < number < 2**31 else None
