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
def load(path: str | None) -> tuple[District, ...]:
    """The districts in the CSV at ``path`` (None: the shipped file); ``ValueError``
    says what is wrong with a file that cannot be used."""
    try:
        if path:
            with open(path, encoding="utf-8") as file:
                rows = list(csv.DictReader(file))
        else:
            text = resources.files("app").joinpath("data/districts.csv").read_text("utf-8")
            rows = list(csv.DictReader(text.splitlines()))
        districts = tuple(District(row["name"].strip(), row["kind"].strip()) for row in rows)
    except (OSError, UnicodeDecodeError, KeyError, AttributeError) as error:
        raise ValueError(f"cannot read the districts (a UTF-8 CSV with the columns name,kind): "
                         f"{error}") from None
    if not districts or any(d.kind not in ("inner", "outer") or not d.name for d in districts):
        raise ValueError("every district needs a name and the kind inner or outer")
    return districts


def all_districts() -> tuple[District, ...]:
    return load(current_app.config["DISTRICTS_FILE"])


def by_name(name: str) -> District | None:
    """Look a district up by name, ignoring case and surrounding space."""
    wanted = name.strip().casefold()
    return next((d for d in all_districts() if d.name.casefold() == wanted), None)
