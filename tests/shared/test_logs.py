"""The log an operator reads: JSON lines when asked, one per organiser action, inbound
mail handled, mail sent and request; nothing for what was rolled back."""

import json
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import (
    ROOT,
    free_port,
    output_of,
    process_env,
    start_flask,
    wait_for_port,
)

pytestmark = pytest.mark.slow


def flask(env, *args, stdin: bytes = b""):
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                            env=env, input=stdin, capture_output=True, timeout=120)
    return result


def events(stderr: bytes) -> list[dict]:
    return [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]


def test_json_lines_for_actions_inbound_mail_and_sends(live_database, smtp_server, mailbox):
    env = process_env(live_database, smtp_server.port, LOG_FORMAT="json")
    added = flask(env, "organisers", "add", "anna@example.org", "--role", "admin")
    assert added.returncode == 0, added.stderr
    [action] = [e for e in events(added.stderr) if e["event"] == "organiser.add"]
    assert action["actor"] == "cli" and action["subject"] == "organiser 1"
    assert action["level"] == "INFO" and "time" in action

    refused = flask(env, "organisers", "add", "anna@example.org")  # already there: rolled back
    assert refused.returncode == 1
    assert not [e for e in events(refused.stderr) if e.get("event") == "organiser.add"]

    mail = b"From: someone@example.org\r\nMessage-ID: <q1@example.org>\r\nSubject: Frage\r\n\r\nHallo\r\n"
    handled = flask(env, "inbound", stdin=mail)
    assert handled.returncode == 0, handled.stderr
    [inbound] = [e for e in events(handled.stderr) if e["event"] == "inbound.handled"]
    assert inbound["kind"] == "other" and inbound["message_id"] == "<q1@example.org>"

    asked = subprocess.run(
        [sys.executable, "-c", "from app import create_app\n"
         "app = create_app()\nclient = app.test_client()\n"
         "page = client.get('/organisation/anmelden')\n"],
        cwd=ROOT, env=env, capture_output=True, timeout=120)
    [request] = [line for line in events(asked.stderr) if line["name"] == "vernetzer.access"]
    assert '"GET /organisation/anmelden HTTP/1.1" 200' in request["message"]

    flask(env, "jobs", "run-due")  # nothing due; the sign-in mail is what goes out next
    signin = subprocess.run(
        [sys.executable, "-c", "from app import create_app\n"
         "from app.organisers import services\nfrom app.extensions import db\n"
         "app = create_app()\n"
         "with app.test_request_context():\n"
         "    services.request_signin('anna@example.org', ip=None)\n"
         "    db.session.commit()\n"],
        cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert signin.returncode == 0, signin.stderr
    drained = flask(env, "outbox", "drain")
    [sent] = [e for e in events(drained.stderr) if e["event"] == "mail.sent"]
    assert sent["kind"] == "signin" and len(sent["code"]) == 32
    assert mailbox.to("anna@example.org")


def test_text_logs_read_as_lines_for_people(live_database, smtp_server):
    env = process_env(live_database, smtp_server.port)
    added = flask(env, "organisers", "add", "ben@example.org")
    line = next(line for line in added.stderr.decode().splitlines() if "organiser.add" in line)
    assert "INFO vernetzer: organiser.add" in line and "subject='organiser 1'" in line


def test_flask_serve_logs_each_request_after_migrating(live_database, smtp_server):
    """``flask serve`` migrates first, in its own process: the request log still works."""
    port = free_port()
    env = process_env(live_database, smtp_server.port, LOG_FORMAT="json")
    server = start_flask(env, "serve", "--no-worker", "--port", str(port))
    try:
        assert wait_for_port(port, server, 60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/treffen", timeout=10) as answer:
            assert answer.status == 200
    finally:
        server.terminate()
    output = output_of(server, 30)
    [line] = [e for e in events(output.encode()) if e["name"] == "vernetzer.access"]
    assert '"GET /treffen HTTP/1.1" 200' in line["message"]
