"""Several sender processes, and one that dies: every mail arrives, none twice
(at most the one that was on the wire when a process was killed)."""

import signal
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.delivery.models import OutboxMessage, OutboxStatus
from tests.conftest import output_of, process_env, start_flask

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def fill_outbox(database_url: str, count: int) -> None:
    rows = []
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"] = "liste@example.org", f"p{n}@example.org"
        message["Subject"], message["Message-ID"] = f"Nr. {n}", f"<{n}@vernetzer.example>"
        message.set_content(f"Mail {n}")
        rows.append({"key": f"load:{n}", "kind": "load", "code": f"load{n}",
                     "recipient": f"p{n}@example.org",
                     "message": message.as_bytes(), "status": OutboxStatus.QUEUED,
                     "list_mail": False, "attempts": 0})
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.insert(OutboxMessage), rows)
    engine.dispose()


def outbox_states(database_url: str) -> Counter:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        states = Counter(dict(connection.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all()))
    engine.dispose()
    return states


def drain(env, *args):
    return start_flask(env, "outbox", "drain", *args)


def received_ids(mailbox) -> Counter:
    return Counter(message["Message-ID"] for _, _, message, _ in mailbox.messages)


def test_two_workers_send_every_row_exactly_once(live_database, smtp_server, mailbox):
    if not live_database.startswith("postgresql"):
        pytest.skip("several workers at once need PostgreSQL (SQLite: one worker)")
    fill_outbox(live_database, 2000)
    env = process_env(live_database, smtp_server.port)
    workers = [drain(env, "--until-empty"), drain(env, "--until-empty")]
    outputs = [output_of(worker, 300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    sent = [int(output.strip().splitlines()[-1].split()[-1]) for output in outputs]
    assert sum(sent) == 2000 and min(sent) > 0  # both took part
    ids = received_ids(mailbox)
    assert len(ids) == 2000 and set(ids.values()) == {1}
    assert outbox_states(live_database) == Counter({"sent": 2000})


def test_a_killed_worker_is_taken_over(live_database, smtp_server, mailbox):
    fill_outbox(live_database, 60)
    mailbox.delay = 0.05  # a slow server, so the kill lands in the middle of a batch
    env = process_env(live_database, smtp_server.port, OUTBOX_HEARTBEAT_TIMEOUT=2,
                      OUTBOX_HEARTBEAT_EVERY=0.5)
    victim = drain(env)
    deadline = time.monotonic() + 30
    while len(mailbox.messages) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    states = outbox_states(live_database)
    assert states["sending"] > 0  # it died holding claimed rows

    successor = drain(env, "--until-empty", "--timeout", "60")
    output = output_of(successor, 120)
    assert successor.returncode == 0, output
    ids = received_ids(mailbox)
    assert len(ids) == 60  # nobody is missed
    assert sum(count - 1 for count in ids.values()) <= 1  # at most the one on the wire
    assert outbox_states(live_database) == Counter({"sent": 60})


def test_the_worker_process_runs_the_jobs(live_database, smtp_server, mailbox):
    """``flask worker`` (APScheduler) drains the outbox on its own and stops on SIGTERM."""
    fill_outbox(live_database, 3)
    worker = start_flask(process_env(live_database, smtp_server.port), "worker")
    deadline = time.monotonic() + 60
    while len(mailbox.messages) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.send_signal(signal.SIGTERM)
    output = output_of(worker, 30)
    assert len(received_ids(mailbox)) == 3, output
    assert outbox_states(live_database) == Counter({"sent": 3})
