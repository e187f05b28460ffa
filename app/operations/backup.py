"""All data as one portable file, and back: from SQLite into PostgreSQL and the other
way round.

The file is JSON lines: a header (format, schema revision), then for each table (in
the order its foreign keys need) a line naming it and its columns, followed by one
line per row, a JSON array in that column order. Dates, times and bytes are tagged
objects (``{"$datetime": "…"}``); everything else is plain JSON. Written and read
as a stream: memory stays flat however large the list.

A restore goes into an empty database migrated to the backup's revision, in one
transaction: a bad file changes nothing.
"""

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from flask_babel import gettext as _

from ..extensions import db
from ..shared.database import utcnow
from ..shared.errors import UserError

FORMAT, VERSION = "vernetzer-backup", 1
BATCH = 1000
_TAGS = {"$datetime": datetime.fromisoformat, "$date": date.fromisoformat,
         "$time": time.fromisoformat, "$bytes": base64.b64decode, "$decimal": Decimal}


def _encode(value):
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"cannot back up a {type(value).__name__}")


def _decode(item: dict):
    if len(item) == 1:
        ((key, value),) = item.items()
        if key in _TAGS:
            return _TAGS[key](value)
    return item


def open_file(path: str, mode: str) -> IO[str]:
    """``path`` as text; gzip-compressed when its name ends in ``.gz``."""
    if path.endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def _revision(connection) -> str:
    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads))


def write(out: IO[str]) -> dict[str, int]:
    """Write every table to ``out``; returns the rows per table."""
    counts = {}
    connection = db.session.connection()
    out.write(json.dumps({"format": FORMAT, "version": VERSION,
                          "revision": _revision(connection),
                          "database": connection.dialect.name,
                          "written": utcnow().isoformat()}) + "\n")
    for table in db.metadata.sorted_tables:
        columns = [column.name for column in table.columns]
        out.write(json.dumps({"table": table.name, "columns": columns}) + "\n")
        rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns),
                                  execution_options={"yield_per": BATCH})
        counts[table.name] = 0
        for row in rows:
            out.write(json.dumps(list(row), default=_encode, ensure_ascii=False) + "\n")
            counts[table.name] += 1
    db.session.rollback()
    return counts


def _lines(source: IO[str]) -> Iterator[tuple[int, object]]:
    for number, line in enumerate(source, start=1):
        try:
            yield number, json.loads(line, object_hook=_decode)
        except ValueError:
            raise UserError(_("Line %(line)d of the backup is not readable.",
                              line=number)) from None


def _check_empty() -> None:
    for table in db.metadata.sorted_tables:
        if db.session.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            raise UserError(_("The database is not empty (table %(table)s has rows); "
                              "restore into a new, migrated database.", table=table.name))


def read(source: IO[str]) -> dict[str, int]:
    """Restore the backup in ``source`` (in the caller's transaction, which the
    caller commits); returns the rows per table. ``UserError`` for a file that is
    not a backup of this schema, or a database that is not empty."""
    lines = _lines(source)
    _number, header = next(lines, (0, None))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise UserError(_("This file is not a vernetzer backup."))
    if header.get("version") != VERSION:
        raise UserError(_("This backup was written in a format this version cannot read."))
    revision = _revision(db.session.connection())
    if header.get("revision") != revision:
        raise UserError(_("The backup is of schema revision %(backup)s, this database is at "
                          "%(here)s: migrate it to the backup's revision (flask db upgrade "
                          "%(backup)s) before restoring.", backup=header.get("revision"),
                          here=revision or "-"))
    _check_empty()
    tables = {table.name: table for table in db.metadata.sorted_tables}
    counts: dict[str, int] = {}
    table, columns, batch = None, [], []

    def flush():
        if batch:
            db.session.execute(table.insert(), batch)
            batch.clear()

    for number, item in lines:
        if isinstance(item, dict):
            flush()
            table = tables.get(item.get("table"))
            columns = item.get("columns") or []
            if table is None or not set(columns) <= set(table.columns.keys()):
                raise UserError(_("Line %(line)d names a table or column this version does "
                                  "not have.", line=number))
            counts[table.name] = 0
        elif isinstance(item, list) and table is not None and len(item) == len(columns):
            batch.append(dict(zip(columns, item, strict=True)))
            counts[table.name] += 1
            if len(batch) >= BATCH:
                flush()
        else:
            raise UserError(_("Line %(line)d of the backup is not a row of its table.",
                              line=number))
    flush()
    _continue_sequences(tables.values())
    return counts


def _continue_sequences(tables) -> None:
    """PostgreSQL: new rows get IDs after the restored ones."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) == 1 and key[0].autoincrement is not False and \
                isinstance(key[0].type, sa.Integer):
            db.session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key[0].name}'), "
                f"coalesce(max({key[0].name}), 0) + 1, false) FROM \"{table.name}\""))
