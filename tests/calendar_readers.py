"""Calendar objects as five independent readers see them: icalendar, vobject,
recurring-ical-events, ``ical`` and ical.js (Thunderbird's parser, run with node).

``read_everywhere`` returns, per reader, each event's UID, start and end in UTC and
STATUS; a test asserts that all five agree and that the times are the right ones.
"""

import json
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
import vobject
from ical.calendar_stream import IcsCalendarStream

JS = Path(__file__).parent / "js"
REQUIRED = os.environ.get("VERNETZER_REQUIRE_TOOLS") == "1"


def _utc(value: datetime) -> str:
    assert value.tzinfo is not None, f"{value!r} is floating: its time zone was not understood"
    return value.astimezone(UTC).isoformat()


def _icalendar(text: str):
    cal = icalendar.Calendar.from_ical(text)
    return [(str(e["UID"]), _utc(e.decoded("DTSTART")), _utc(e.decoded("DTEND")),
             str(e.get("STATUS", ""))) for e in cal.walk("VEVENT")]


def _vobject(text: str):
    cal = vobject.readOne(text)
    return [(e.uid.value, _utc(e.dtstart.value), _utc(e.dtend.value),
             e.status.value if hasattr(e, "status") else "")
            for e in cal.contents.get("vevent", [])]


def _recurring(text: str):
    cal = icalendar.Calendar.from_ical(text)
    return [(str(e["UID"]), _utc(e.decoded("DTSTART")), _utc(e.decoded("DTEND")),
             str(e.get("STATUS", "")))
            for e in recurring_ical_events.of(cal).between((1990, 1, 1), (2100, 1, 1))]


def _ical(text: str):
    cal = IcsCalendarStream.calendar_from_ics(text)
    return [(e.uid, _utc(e.dtstart), _utc(e.dtend), e.status.value if e.status else "")
            for e in cal.events]


def node_available() -> bool:
    return bool(shutil.which("node")) and (JS / "node_modules" / "ical.js").is_dir()


def _icaljs(texts: list[str]):
    if not node_available():
        if REQUIRED:
            pytest.fail("ical.js is required here: run npm ci --prefix tests/js")
        pytest.skip("ical.js is not installed (node and npm ci --prefix tests/js)")
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for number, text in enumerate(texts):
            path = Path(folder) / f"{number}.ics"
            path.write_text(text, encoding="utf-8", newline="")
            paths.append(str(path))
        output = subprocess.run(["node", str(JS / "read_ics.mjs"), *paths], check=True,
                                capture_output=True, text=True).stdout
    return [[(e["uid"], datetime.fromisoformat(e["start"].replace("Z", "+00:00")).isoformat(),
              datetime.fromisoformat(e["end"].replace("Z", "+00:00")).isoformat(),
              e["status"] or "") for e in item["events"]] for item in json.loads(output)]


PYTHON_READERS = {"icalendar": _icalendar, "vobject": _vobject,
                  "recurring-ical-events": _recurring, "ical": _ical}


def read_everywhere(*objects: bytes | str) -> list[list[tuple]]:
    """Each calendar object read by all five readers; fails unless they agree.
    Returns, per object, its events (UID, UTC start, UTC end, STATUS), sorted."""
    texts = [o.decode() if isinstance(o, bytes) else o for o in objects]
    javascript = _icaljs(texts)
    results = []
    for text, from_js in zip(texts, javascript, strict=True):
        seen = {name: sorted(read(text)) for name, read in PYTHON_READERS.items()}
        seen["ical.js"] = sorted(from_js)
        first = seen["icalendar"]
        disagreeing = {name: events for name, events in seen.items() if events != first}
        assert not disagreeing, f"readers disagree: icalendar {first}, others {disagreeing}"
        results.append(first)
    return results
