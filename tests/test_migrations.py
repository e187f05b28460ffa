"""The models and the migrations never drift apart, on SQLite and PostgreSQL."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db


def test_migrations_match_models(app):
    with app.app_context():
        context = MigrationContext.configure(db.session.connection(),
                                             opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_and_upgrade_again(database_url, tmp_path, smtp_server):
    """Every migration can be undone: the chain runs down to base and up again."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from tests.conftest import base_config

    app = create_app(base_config(database_url, smtp_server.port, tmp_path))
    with app.app_context():
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()


def _revisions() -> list[str]:
    """Every revision but the newest, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).resolve().parent.parent / "migrations"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))][:-1]


# Tables whose rows a migration drops by design (the first registration table went,
# with its rows, until registrations returned with their rules), by that migration.
DROPPED_BY = {"registration": "dbc8dd295d4c"}
# "status IN ('a', 'b')" (SQLite) or "(status)::text = ANY (ARRAY['a'::…, …])" (PostgreSQL)
_IN_LIST = re.compile(r"(\w+)\s+IN\s*\(([^)]*)\)|\(?(\w+)\)?::text\s*=\s*ANY\s*\(+ARRAY\[([^\]]*)\]",
                      re.IGNORECASE)


def _allowed_values(inspector, table: str) -> dict[str, str]:
    """Column -> a value its CHECK constraint allows (enums are stored as checked text)."""
    allowed = {}
    for check in inspector.get_check_constraints(table):
        for found in _IN_LIST.findall(check["sqltext"]):
            column, values = (found[0], found[1]) if found[0] else (found[2], found[3])
            allowed[column.strip('"')] = re.findall(r"'([^']*)'", values)[0]
    return allowed


def _sample(column, number: int, allowed: dict[str, str]):
    """A value of the column's type, distinct per row where it must be unique."""
    kind = column.type
    if column.name in allowed:
        return allowed[column.name]
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 3, number + 1, 18, tzinfo=UTC)
    if isinstance(kind, sa.Date):
        return date(2026, 3, number + 1)
    if isinstance(kind, sa.Integer):
        return number + 1
    if isinstance(kind, sa.LargeBinary):
        return b"From: a@example.org\r\n\r\nx"
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.String | sa.Text):
        text = f"{column.name}{number}@example.org" if "mail" in column.name or \
            "address" in column.name else f"{column.name[:6]}-{number}"
        return text[:kind.length] if getattr(kind, "length", None) else text
    raise AssertionError(f"no sample for {column.table.name}.{column.name}: {kind!r}")


def _fill(connection) -> dict[str, int]:
    """Two rows in every table, the n-th child row pointing at the n-th parent row."""
    meta = sa.MetaData()
    meta.reflect(connection)
    inspector = sa.inspect(connection)
    counts = {}
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        allowed = _allowed_values(inspector, table.name)
        rows = [{column.name: _sample(column, number, allowed) for column in table.columns
                 if not (column.foreign_keys and column.nullable)}
                for number in range(2)]
        for number, row in enumerate(rows):
            for column in table.columns:
                if column.foreign_keys and not column.nullable:
                    row[column.name] = number + 1
        connection.execute(table.insert(), rows)
        counts[table.name] = len(rows)
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("revision", _revisions())
def test_a_filled_database_of_every_earlier_revision_migrates_to_head(
        revision, live_database, smtp_server, tmp_path):
    """The upgrade path: a database at ``revision`` with rows in every table moves to
    the newest schema, keeps its rows and reads through the models."""
    from flask_migrate import upgrade

    from app import create_app
    from tests.conftest import base_config

    app = create_app(base_config(live_database, smtp_server.port, tmp_path))
    with app.app_context():
        from flask_migrate import downgrade

        downgrade(revision="base")
        upgrade(revision=revision)
        with db.engine.begin() as connection:
            before = _fill(connection)
        upgrade()
        with db.engine.connect() as connection:
            after = {name: connection.scalar(sa.text(f'SELECT count(*) FROM "{name}"'))
                     for name in before if sa.inspect(connection).has_table(name)}
        revisions = _revisions()
        expected = {name: 0 if name in DROPPED_BY and revisions.index(revision)
                    < revisions.index(DROPPED_BY[name]) else count
                    for name, count in before.items() if name in after}
        assert after == expected
        for mapper in db.Model.registry.mappers:
            db.session.scalars(sa.select(mapper.class_)).all()  # every row reads
        db.session.rollback()
        db.engine.dispose()
