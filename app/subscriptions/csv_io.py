"""Import the existing list from the CSV a mail client or Excel writes, and export it.

Import is two steps: ``preview`` reads and checks every row and changes nothing;
``apply`` writes all new people in the caller's transaction, or none. Both stream
the file: rows are checked and written a thousand at a time, so a file of any
length takes the same memory (besides one entry per address, to find the same
address twice in the file).
"""

import codecs
import csv
import io
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from typing import BinaryIO, TextIO

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..shared import audit, spreadsheet
from ..shared.database import by_id, utcnow
from ..shared.errors import UserError
from ..shared.validation import clean_district, clean_text, normalise_email
from . import services
from .models import ConsentSource, PendingImport, Subscriber

# Header names as mail clients (Outlook, Thunderbird) and people write them, lower-cased.
COLUMNS = {
    "email": {"email", "e-mail", "mail", "e-mail-adresse", "e-mail adresse", "emailadresse",
              "email address", "e-mail address", "primäre e-mail-adresse", "e-mail 1",
              "primary email"},
    "name": {"name", "anzeigename", "display name", "vollständiger name", "full name"},
    "first_name": {"vorname", "first name", "given name"},
    "last_name": {"nachname", "last name", "surname", "family name"},
    "organisation": {"organisation", "organization", "organisation/firma", "firma",
                     "company", "einrichtung", "träger", "verein"},
    "district": {"stadtbezirk", "bezirk", "district"},
}
BATCH = 1000  # rows checked against the list, and written, at a time
INVALID_SHOWN = 1000  # invalid lines a report lists; the rest are counted
PENDING_FOR = timedelta(days=1)  # an upload waits this long for "import now"
EXPORT_COLUMNS = ["email", "name", "organisation", "district", "sector", "language", "status",
                  "source", "created_at", "confirmed_at", "unsubscribed_at"]


@dataclass
class ImportRow:
    line: int
    email: str
    name: str | None
    organisation: str | None
    district: str | None


@dataclass
class ImportReport:
    """What a file holds: counts, and the first ``INVALID_SHOWN`` invalid lines."""

    new: int = 0
    known: int = 0
    invalid: int = 0
    invalid_lines: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    def add_invalid(self, line: int, reason: str) -> None:
        self.invalid += 1
        if len(self.invalid_lines) < INVALID_SHOWN:
            self.invalid_lines.append((line, reason))


def seekable(stream: BinaryIO) -> BinaryIO:
    """``stream`` if it can be read twice, else a temporary file with its content
    (standard input)."""
    if stream.seekable():
        return stream
    copy = tempfile.TemporaryFile()  # noqa: SIM115 (the caller reads it, then it goes)
    shutil.copyfileobj(stream, copy)
    copy.seek(0)
    return copy


def _text(stream: BinaryIO) -> TextIO:
    """The file as text: UTF-8 (with or without BOM), else Windows-1252, else a clear
    error. The file is read once through to tell, a piece at a time."""
    for encoding in ("utf-8-sig", "cp1252"):
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for piece in iter(lambda: stream.read(1 << 16), b""):
                decoder.decode(piece)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        stream.seek(0)
        return io.TextIOWrapper(stream, encoding=encoding, newline="")
    raise UserError(
        _("The file is neither UTF-8 nor Windows-1252 text. Please save it as CSV (UTF-8).")
    )


def _header_map(header: list[str]) -> dict[str, int]:
    found = {}
    for index, title in enumerate(header):
        title = title.strip().strip('"').lower()
        for column, names in COLUMNS.items():
            if title in names and column not in found:
                found[column] = index
    if "email" not in found:
        raise UserError(
            _("The first row must name the columns, one of them the e-mail address "
              "(for example: email;name;organisation;district).")
        )
    return found


def _cell(row: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    value = row[index].strip() if index is not None and index < len(row) else ""
    # Undo the formula guard that ``export`` adds.
    return value[1:] if value[:2] in {"'=", "'+", "'-", "'@"} else value


def _entries(stream: BinaryIO) -> Iterator[ImportRow | tuple[int, str]]:
    """Each row of the file, checked: an entry, or (line, reason) when invalid."""
    text = _text(stream)
    try:
        yield from _checked(text)
    finally:
        text.detach()  # the file stays open for the caller


def _checked(text: TextIO) -> Iterator[ImportRow | tuple[int, str]]:
    """The rows of ``text`` (after the header naming the columns), checked."""
    first_line = text.readline()
    text.seek(0)
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise UserError(_("The file is empty.")) from None
    except csv.Error as error:
        raise UserError(_("The file is not readable as CSV: %(error)s", error=error)) from None
    columns = _header_map(header)
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            try:
                name = _cell(row, columns, "name") or " ".join(
                    part for part in (_cell(row, columns, "first_name"),
                                      _cell(row, columns, "last_name")) if part)
                yield ImportRow(
                    line=line,
                    email=normalise_email(_cell(row, columns, "email")),
                    name=clean_text(name, 100, _("Name")),
                    organisation=clean_text(_cell(row, columns, "organisation"), 150,
                                            _("Organisation")),
                    district=clean_district(_cell(row, columns, "district")),
                )
            except UserError as error:
                yield line, str(error)
    except csv.Error as error:
        raise UserError(
            _("Line %(line)d is not readable as CSV: %(error)s", line=reader.line_num,
              error=error)
        ) from None


def _sorted(stream: BinaryIO, report: ImportReport) -> Iterator[list[ImportRow]]:
    """The new people of the file, a batch at a time; counts the known and invalid
    rows into ``report``. An address is new when it is neither on the list (as the
    list is when its batch is looked at) nor earlier in the file."""
    seen: set[str] = set()
    entries_of_file = _entries(stream)
    while batch := list(islice(entries_of_file, BATCH)):
        entries = []
        for entry in batch:
            if isinstance(entry, ImportRow):
                entries.append(entry)
            else:
                report.add_invalid(*entry)
        listed = set(db.session.scalars(sa.select(Subscriber.email).where(
            Subscriber.email.in_({entry.email for entry in entries}))))
        new = []
        for entry in entries:
            if entry.email in listed or entry.email in seen:
                report.known += 1
            else:
                seen.add(entry.email)
                new.append(entry)
        report.new += len(new)
        yield new


def preview(stream: BinaryIO) -> ImportReport:
    """Read and check the CSV; changes nothing."""
    report = ImportReport()
    for _new in _sorted(stream, report):
        pass
    return report


def keep(data: bytes, *, actor: str) -> tuple[PendingImport, ImportReport]:
    """Check an upload (``preview``) and keep it for ``apply_kept``: one upload for
    both steps. Uploads older than ``PENDING_FOR`` are dropped here."""
    report = preview(io.BytesIO(data))
    db.session.execute(sa.delete(PendingImport).where(
        PendingImport.created_at < utcnow() - PENDING_FOR))
    pending = PendingImport(data=data, created_by=actor)
    db.session.add(pending)
    db.session.flush()
    return pending, report


def _kept(pending_id) -> PendingImport | None:
    pending = by_id(PendingImport, pending_id)
    return None if pending is None or pending.created_at < utcnow() - PENDING_FOR else pending


def kept_report(pending_id) -> ImportReport | None:
    """The check of a kept upload again (to show it after a refused import)."""
    pending = _kept(pending_id)
    return preview(io.BytesIO(pending.data)) if pending is not None else None


def apply_kept(pending_id, *, consent_note: str | None, confirm_by_mail: bool,
               actor: str) -> int:
    """Import a kept upload, checked afresh (people added meanwhile count as known)."""
    pending = _kept(pending_id)
    if pending is None:
        raise UserError(_("This upload is no longer kept. Please upload the file again."))
    added = apply(io.BytesIO(pending.data), consent_note=consent_note,
                  confirm_by_mail=confirm_by_mail, actor=actor)
    db.session.delete(pending)
    return added


def apply(stream: BinaryIO, *, consent_note: str | None, confirm_by_mail: bool,
          actor: str) -> int:
    """Add the file's new people: active on the organiser's note of prior consent,
    or pending with a confirmation mail each. Returns how many were added."""
    if not confirm_by_mail and not (consent_note or "").strip():
        raise UserError(
            _("Importing people as active needs a note on how they consented "
              "(or let them confirm by mail).")
        )
    note = clean_text(consent_note, 500, _("Note")) if consent_note else None
    added = 0
    for new in _sorted(stream, ImportReport()):
        added += services.enter_many(
            [{"email": entry.email, "name": entry.name, "organisation": entry.organisation,
              "district": entry.district} for entry in new],
            source=ConsentSource.IMPORT, action="import", note=note,
            confirm_by_mail=confirm_by_mail)
    audit.record(actor, "subscribers.import", None, added=added, confirm_by_mail=confirm_by_mail)
    return added


def record_export(*, actor: str) -> int:
    """Audit an export (with how many rows it has); returns that number."""
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber))
    audit.record(actor, "subscribers.export", None, rows=count)
    return count


def csv_chunks() -> Iterator[str]:
    """Every subscriber as CSV that Excel opens as it is (BOM, semicolons), in chunks
    of about 64 KiB, streamed from the database a thousand rows at a time: memory
    stays flat however long the list."""
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    rows = db.session.execute(
        sa.select(*(getattr(Subscriber, column) for column in EXPORT_COLUMNS))
        .order_by(Subscriber.email), execution_options={"yield_per": 1000})
    for row in rows:
        writer.writerow(spreadsheet.row(row))
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export(stream, *, actor: str) -> int:
    """Write every subscriber to ``stream`` (``csv_chunks``); returns how many."""
    count = record_export(actor=actor)
    for chunk in csv_chunks():
        stream.write(chunk)
    return count
