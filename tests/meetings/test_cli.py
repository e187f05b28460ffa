"""``meetings``, ``venues`` and ``organisers`` on the command line."""

import json
from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.meetings.models import Meeting
from app.shared.audit import AuditEntry
from app.shared.timeutil import local

YEAR = date.today().year + 1  # always in the future


def run(runner, *args):
    return runner.invoke(args=list(args))


def add_venue(runner, district="Vaihingen", name="Bürgerhaus Rohr"):
    result = run(runner, "venues", "add", "--name", name, "--district", district,
                 "--address", "Osterbronnstraße 1, 70565 Stuttgart", "--step-free",
                 "--transit-stop", "Rohr (S1, S2, S3)")
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def create(runner, *extra):
    return run(runner, "meetings", "create", "--start", f"{YEAR}-03-09 18:00",
               "--end", f"{YEAR}-03-09 20:00", *extra)


def test_create_list_update_announce_cancel(app, runner):
    venue = add_venue(runner)
    created = create(runner, "--district", "Vaihingen", "--venue", venue, "--topic",
                     "Nachbarschaftshilfe")
    assert created.exit_code == 0, created.output
    meeting_id = int(created.output.strip().splitlines()[-1])

    [row] = json.loads(run(runner, "meetings", "list", "--json").output)
    assert row["id"] == meeting_id and row["status"] == "draft"
    assert row["start"] == f"{YEAR}-03-09T18:00:00+01:00"
    assert row["uid"].endswith("@vernetzer.example")

    assert run(runner, "meetings", "announce", str(meeting_id)).exit_code == 0
    moved = run(runner, "meetings", "update", str(meeting_id), "--start", f"{YEAR}-03-10 18:00",
                "--end", f"{YEAR}-03-10 20:00")
    assert moved.exit_code == 0, moved.output
    topic_only = run(runner, "meetings", "update", str(meeting_id), "--topic", "Neu")
    [row] = json.loads(run(runner, "meetings", "list", "--json").output)
    assert row["sequence"] == 2  # announce + move; a topic change does not count
    assert topic_only.exit_code == 0 and row["topic"] == "Neu"

    cancelled = run(runner, "meetings", "cancel", str(meeting_id), "--reason", "Krankheit")
    assert cancelled.exit_code == 0
    edit = run(runner, "meetings", "update", str(meeting_id), "--topic", "Zu spät")
    assert edit.exit_code == 1
    assert edit.output.strip() == "Error: Ein abgesagtes Treffen kann nicht mehr geändert werden."
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).topic == "Neu"
        actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["venue.add", "meeting.create", "meeting.announce", "meeting.update",
                       "meeting.update", "meeting.cancel"]


WHEN = ["--start", f"{YEAR}-03-09 18:00", "--end", f"{YEAR}-03-09 20:00"]


@pytest.mark.parametrize(("args", "message"), [
    (["--district", "Mitte", "--start", f"{YEAR}-03-09 20:00", "--end", f"{YEAR}-03-09 18:00"],
     "muss nach seinem Beginn enden"),
    (["--district", "Atlantis", *WHEN], "Atlantis"),
    (["--district", "Mitte", "--start", "2020-03-10 18:00", "--end", "2020-03-10 20:00"],
     "Vergangenheit"),
    (["--district", "Mitte", "--venue", "{venue}", *WHEN], "liegt in Vaihingen, nicht in Mitte"),
    (["--district", "Mitte", "--start", "9.3.2027 18 Uhr", "--end", f"{YEAR}-03-09 20:00"],
     "JJJJ-MM-TT HH:MM"),
    (["--district", "Mitte", "--start", "2030-03-31 02:30", "--end", "2030-03-31 04:00"],
     "Sommerzeit"),
    (["--district", "Mitte", "--start", "2030-10-27 01:00", "--end", "2030-10-27 02:30"],
     "zweimal"),
    (["--district", "Mitte", "--venue", "999", *WHEN], "Einen Ort 999 gibt es nicht"),
], ids=["end before start", "unknown district", "past", "venue elsewhere", "bad format",
        "time that does not exist", "time that happens twice", "unknown venue"])
def test_bad_input_one_line_and_nothing_changed(app, runner, args, message):
    venue = add_venue(runner, "Vaihingen")
    result = run(runner, "meetings", "create", *[arg.format(venue=venue) for arg in args])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_announcing_an_unknown_meeting_fails(runner):
    result = run(runner, "meetings", "announce", "42")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1


def test_plan_proposes_and_applies_only_with_apply(app, runner):
    add_venue(runner, "Botnang", "Jugendhaus Botnang")
    result = run(runner, "meetings", "plan", str(YEAR))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line[:1] == "Q" and line[1].isdigit()]
    assert [line[:2] for line in lines] == ["Q1", "Q2", "Q3", "Q4"]
    assert "noch nie besucht" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    applied = run(runner, "meetings", "plan", str(YEAR), "--apply")
    assert applied.exit_code == 0 and "als Entwürfe gespeichert" in applied.output
    rows = json.loads(run(runner, "meetings", "list", "--json").output)
    assert len(rows) == 4 and {row["status"] for row in rows} == {"draft"}
    # Planning the next year continues the rotation: none of this year's districts again.
    following = run(runner, "meetings", "plan", str(YEAR + 1)).output
    for row in rows:
        assert f" {row['district']} " not in following
    assert run(runner, "meetings", "plan", "99").exit_code == 1


def test_organisers_add(app, runner):
    assert run(runner, "organisers", "add", "Chefin@Example.org", "--role", "admin").exit_code == 0
    again = run(runner, "organisers", "add", "chefin@example.org")
    assert again.exit_code == 1 and "schon" in again.output
    assert run(runner, "organisers", "add", "x", "--role", "king").exit_code == 2


def test_a_date_typed_the_german_way_is_taken(app, runner):
    result = run(runner, "meetings", "create", "--district", "Mitte",
                 "--start", f"09.03.{YEAR} 18:00", "--end", f"{YEAR}-03-09 20:00")
    assert result.exit_code == 0, result.output
    with app.app_context():
        meeting = db.session.scalars(sa.select(Meeting)).one()
        assert local(meeting.start_at).strftime("%Y-%m-%d %H:%M") == f"{YEAR}-03-09 18:00"
