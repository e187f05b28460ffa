"""The city's districts, read from a CSV shipped in the package (``name,kind``).

Another city replaces the file (or points ``DISTRICTS_FILE`` at its own).
"""

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from flask import current_app


@dataclass(frozen=True)
class District:
    name: str
    kind: str  # "inner" or "outer"


@cache
def _load(path: str | None) -> tuple[District, ...]:
    if path:
        with open(path, encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    else:
        text = resources.files("app").joinpath("data/districts.csv").read_text("utf-8")
        rows = list(csv.DictReader(text.splitlines()))
    return tuple(District(row["name"].strip(), row["kind"].strip()) for row in rows)


def all_districts() -> tuple[District, ...]:
    return _load(current_app.config["DISTRICTS_FILE"])


def by_name(name: str) -> District | None:
    """Look a district up by name, ignoring case and surrounding space."""
    wanted = name.strip().casefold()
    return next((d for d in all_districts() if d.name.casefold() == wanted), None)
