"""The city's districts, read from a CSV shipped in the package (``name,kind`` and,
optionally, ``column,row``: where its tile sits on the schematic district map).

Another city replaces the file (or points ``DISTRICTS_FILE`` at its own); without
tile positions its map lays the districts out in rows, in the file's order.
"""

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from flask import current_app

_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
MAP_COLUMNS = 4  # tiles in a row where the file gives no positions


@dataclass(frozen=True)
class District:
    name: str
    kind: str  # "inner" or "outer"
    column: int = 0  # the tile on the district map
    row: int = 0

    @property
    def slug(self) -> str:
        """The district in a web address: "Bad Cannstatt" is ``bad-cannstatt``."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.casefold().translate(_SPELLED)).strip("-")


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
        placed = all((row.get("column") or "").strip().isdigit()
                     and (row.get("row") or "").strip().isdigit() for row in rows)
        districts = tuple(
            District(row["name"].strip(), row["kind"].strip(),
                     *((int(row["column"]), int(row["row"])) if placed
                       else divmod(index, MAP_COLUMNS)[::-1]))
            for index, row in enumerate(rows))
    except (OSError, UnicodeDecodeError, KeyError, AttributeError) as error:
        raise ValueError(f"cannot read the districts (a UTF-8 CSV with the columns name,kind): "
                         f"{error}") from None
    if not districts or any(d.kind not in ("inner", "outer") or not d.name for d in districts):
        raise ValueError("every district needs a name and the kind inner or outer")
    return districts


def all_districts() -> tuple[District, ...]:
    return load(current_app.config["DISTRICTS_FILE"])


def by_slug(slug: str) -> District | None:
    return next((d for d in all_districts() if d.slug == slug), None)


def by_name(name: str) -> District | None:
    """Look a district up by name, ignoring case and surrounding space."""
    wanted = name.strip().casefold()
    return next((d for d in all_districts() if d.name.casefold() == wanted), None)
