"""German is the first language: every user-facing string has a German translation."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def test_every_message_is_translated_to_german(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract",
                    "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with open(pot, "rb") as file:
        wanted = {message.id for message in read_po(file) if message.id}
    assert "Please confirm your subscription" in wanted  # the extraction did find the texts
    with open(ROOT / "app/translations/de/LC_MESSAGES/messages.po", "rb") as file:
        german = {message.id: message for message in read_po(file) if message.id}
    missing = sorted(str(id) for id in wanted
                     if id not in german or not german[id].string or german[id].fuzzy)
    assert missing == []
