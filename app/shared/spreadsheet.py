"""CSV that spreadsheet programs with German settings open as they are: UTF-8 with a
byte order mark (else umlauts break), semicolons (else one column), local times, and
no cell that would run as a formula. Every export uses it."""

import csv
from datetime import datetime

from .timeutil import local_text

BOM = "\ufeff"


def writer(stream):
    """A CSV writer on ``stream``, after the byte order mark."""
    stream.write(BOM)
    return csv.writer(stream, delimiter=";")


def cell(value) -> str:
    """A value as a cell: a moment in local time (``2027-03-09 18:00``), an enum by
    its value, text that begins like a formula with a leading apostrophe."""
    if isinstance(value, datetime):
        return local_text(value)
    text = "" if value is None else str(getattr(value, "value", value))
    return "'" + text if text[:1] in {"=", "+", "-", "@"} else text


def row(values) -> list[str]:
    return [cell(value) for value in values]
