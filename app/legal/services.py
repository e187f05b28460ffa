"""Reading the legal pages' Markdown (sanitised like every organiser's text)."""

from pathlib import Path

from flask import current_app
from markupsafe import Markup

from ..shared import markup

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "legal"
PAGES = {"imprint": ("LEGAL_IMPRINT_FILE", "impressum.md"),
         "privacy": ("LEGAL_PRIVACY_FILE", "datenschutz.md")}


def page(name: str) -> tuple[str, Markup]:
    """The page's title (its first ``#`` line) and its HTML. Read on each request,
    so an edited file shows without a restart."""
    setting, shipped = PAGES[name]
    path = Path(current_app.config[setting] or SHIPPED / shipped)
    text = path.read_text(encoding="utf-8")
    first, _newline, rest = text.partition("\n")
    if first.startswith("# "):
        return first[2:].strip(), markup.render(rest)
    return "", markup.render(text)
