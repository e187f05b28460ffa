"""``backup`` and ``restore``: a meeting's whole life goes from SQLite into PostgreSQL
and back, every row the same; a bad file or a used database changes nothing."""

import gzip
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.cli import FlaskGroup
from flask.testing import FlaskCliRunner
from flask_migrate import upgrade

import jobs
from app import create_app
from app.extensions import db
from app.meetings import rsvp
from app.meetings import services as meetings
from app.meetings.models import Answer, AnswerSource
from app.shared.database import utcnow
from app.subscriptions import services as subscriptions
from tests.conftest import announced_meeting, base_config, create_database

pytestmark = pytest.mark.slow


def installation(engine, tmp_path_factory, smtp_server):
    url, drop = create_database(engine, tmp_path_factory)
    app = create_app(base_config(url, smtp_server.port, tmp_path_factory.mktemp("app")))
    with app.app_context():
        upgrade()
    return app, drop


def meeting_life(app) -> None:
    """Members, a meeting announced, invitations sent, answers, a cancellation, a
    record: a little of every table."""
    with app.test_request_context():
        for number in range(5):
            subscriptions.add_person(f"person{number}@example.org", actor="test",
                                     name=f"Person Ä{number}", consent_note="Telefon")
        db.session.commit()
        start = utcnow().replace(microsecond=0) + timedelta(days=10)
        meeting = announced_meeting("Mitte", start=start, topic="Nachbarschaft")
        other = announced_meeting("Ost", start=start + timedelta(days=30))
        meeting_id, other_id = meeting.id, other.id
    with app.app_context():
        jobs.run_due()
        db.session.commit()
    with app.test_request_context():
        meeting = meetings.get(meeting_id)
        person = subscriptions.find_by_email("person1@example.org")
        rsvp.record(meeting, person, Answer.YES, AnswerSource.LINK)
        meetings.cancel(meetings.get(other_id), actor="test", reason="Krank")
        db.session.commit()


def flask(app, *args):
    """A command on ``app``, and nothing after it (no worker run that would write its
    heartbeat into the database being compared)."""
    return FlaskCliRunner(app).invoke(FlaskGroup(create_app=lambda: app), list(args))


def everything(app) -> dict[str, list]:
    """Every row of every table, ordered by key; times as UTC instants."""
    with app.app_context():
        return {table.name: [tuple(row) for row in db.session.execute(
            sa.select(table).order_by(*table.primary_key.columns))]
            for table in db.metadata.sorted_tables}


def test_sqlite_to_postgresql_and_back_keeps_every_row(tmp_path_factory, smtp_server, mailbox,
                                                       tmp_path):
    source, drop_source = installation("sqlite", tmp_path_factory, smtp_server)
    target, drop_target = installation("postgresql", tmp_path_factory, smtp_server)
    back, drop_back = installation("sqlite", tmp_path_factory, smtp_server)
    try:
        meeting_life(source)
        original = everything(source)
        assert len(original["outbox"]) >= 5 and original["mailing"] and original["rsvp"] and original["audit_log"]

        dump = tmp_path / "vernetzer.jsonl.gz"
        result = flask(source, "backup", str(dump))
        assert result.exit_code == 0, result.output
        total = sum(len(rows) for rows in original.values())
        assert f"backup: {total} rows" in result.output

        restored = flask(target, "restore", str(dump))
        assert restored.exit_code == 0, restored.output
        assert everything(target) == original

        # New rows in PostgreSQL get new IDs (the sequences continue).
        with target.test_request_context():
            added = subscriptions.add_person("neu@example.org", actor="test",
                                             consent_note="Telefon")
            db.session.commit()
            assert added.id == max(row[0] for row in original["subscriber"]) + 1

        again = tmp_path / "from-postgresql.jsonl"
        assert flask(target, "backup", str(again)).exit_code == 0
        assert flask(back, "restore", str(again)).exit_code == 0
        assert everything(back) == everything(target)
    finally:
        for drop in (drop_source, drop_target, drop_back):
            drop()


def test_a_bad_backup_or_a_used_database_changes_nothing(app, runner, tmp_path, database_url):
    good = tmp_path / "good.jsonl"
    assert runner.invoke(args=["backup", str(good)]).exit_code == 0
    lines = good.read_text().splitlines()

    broken = tmp_path / "broken.jsonl"
    table_line = next(n for n, line in enumerate(lines) if '"table": "subscriber"' in line)
    broken.write_text("\n".join([*lines[:table_line + 1], '["nur", "zwei"]']) + "\n")
    cases = {
        broken: "Zeile",
        tmp_path / "other.jsonl": "keine vernetzer-Sicherung",
        tmp_path / "old.jsonl": "Schema-Stand",
        tmp_path / "bad.jsonl.gz": "cannot read",
    }
    (tmp_path / "other.jsonl").write_text('{"hello": 1}\n')
    header = json.loads(lines[0])
    (tmp_path / "old.jsonl").write_text(json.dumps({**header, "revision": "ae378fe9477b"}) + "\n")
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip")
    for path, words in cases.items():
        result = runner.invoke(args=["restore", str(path)])
        assert result.exit_code == 1, (path, result.output)
        assert len(result.output.strip().splitlines()) == 1 and words in result.output, (
            path, result.output)

    with app.test_request_context():
        subscriptions.add_person("da@example.org", actor="test", consent_note="Telefon")
        db.session.commit()
    used = runner.invoke(args=["restore", str(good)])
    assert used.exit_code == 1 and "nicht leer" in used.output


def test_the_backup_file_is_gzip_when_its_name_says_so(runner, tmp_path):
    path = tmp_path / "b.jsonl.gz"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    with gzip.open(path, "rt") as backup:
        assert json.loads(backup.readline())["format"] == "vernetzer-backup"
