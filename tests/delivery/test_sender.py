"""The worker's senders when the database or the relay fails under them, and pages
that never wait for the relay. Real worker processes (``flask worker``), a real SMTP
server, a real database."""

import signal
import sqlite3
import subprocess
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from tests.conftest import (
    ROOT,
    csrf_token,
    free_port,
    output_of,
    process_env,
    start_flask,
    wait_for,
)
from tests.jobs.test_workers import fill_outbox, outbox_states, received_ids

pytestmark = pytest.mark.slow


def start_worker(env) -> subprocess.Popen:
    return start_flask(env, "worker", "--send-only")


def stop(worker) -> str:
    worker.send_signal(signal.SIGTERM)
    return output_of(worker, 60)


def test_a_sender_survives_postgresql_killing_its_connections(live_database, smtp_server,
                                                             mailbox):
    if not live_database.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    fill_outbox(live_database, 600)
    mailbox.delay = 0.003
    worker = start_worker(process_env(live_database, smtp_server.port, MAIL_CONNECTIONS=2))
    engine = sa.create_engine(live_database, isolation_level="AUTOCOMMIT")
    kills = 0
    try:
        for received in (60, 200, 350):
            wait_for(lambda n=received: len(mailbox.messages) >= n, 60, f"{received} mails")
            with engine.connect() as connection:
                kills += connection.execute(sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        assert kills >= 3
        wait_for(lambda: outbox_states(live_database) == Counter({"sent": 600}), 90,
                 "every row recorded as sent")
        assert worker.poll() is None  # the same process: no restart needed
    finally:
        output = stop(worker)
        engine.dispose()
    ids = received_ids(mailbox)
    assert len(ids) == 600, output
    # At most the one mail per connection whose answer was not yet recorded, per kill.
    assert sum(count - 1 for count in ids.values()) <= 3 * 2, output


def test_a_sender_survives_sqlite_locked_beyond_its_busy_timeout(live_database, smtp_server,
                                                                mailbox):
    if not live_database.startswith("sqlite"):
        pytest.skip("SQLite's lock")
    fill_outbox(live_database, 300)
    mailbox.delay = 0.003
    worker = start_worker(process_env(live_database, smtp_server.port, MAIL_CONNECTIONS=1,
                                      SQLITE_BUSY_TIMEOUT=0.2))
    path = sa.make_url(live_database).database
    try:
        for received in (50, 150):
            wait_for(lambda n=received: len(mailbox.messages) >= n, 60, f"{received} mails")
            lock = sqlite3.connect(path, isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")
            time.sleep(2)  # ten times the sender's busy timeout
            lock.execute("ROLLBACK")
            lock.close()
        wait_for(lambda: outbox_states(live_database) == Counter({"sent": 300}), 90,
                 "every row recorded as sent")
        assert worker.poll() is None
    finally:
        output = stop(worker)
    assert "database is locked" in output  # it did hit the lock, and carried on
    ids = received_ids(mailbox)
    assert len(ids) == 300 and sum(count - 1 for count in ids.values()) <= 2, output


def test_killed_senders_lose_nothing_and_repeat_at_most_one_each(
        live_database, smtp_server, mailbox):
    if not live_database.startswith("postgresql"):
        pytest.skip("two senders at once need PostgreSQL")
    fill_outbox(live_database, 2000)
    mailbox.delay = 0.001
    env = process_env(live_database, smtp_server.port, MAIL_CONNECTIONS=1,
                      OUTBOX_HEARTBEAT_TIMEOUT=2, OUTBOX_HEARTBEAT_EVERY=0.5)
    steady, victim = start_worker(env), start_worker(env)
    kills = 0
    try:
        for received in (300, 800, 1300):
            wait_for(lambda n=received: len(mailbox.messages) >= n, 120, f"{received} mails")
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills += 1
            victim = start_worker(env)
        wait_for(lambda: outbox_states(live_database) == Counter({"sent": 2000}), 120,
                 "every row recorded as sent")
    finally:
        outputs = [stop(steady), stop(victim)]
    ids = received_ids(mailbox)
    assert len(ids) == 2000, outputs
    assert sum(count - 1 for count in ids.values()) <= kills, outputs


def sign_up(client, email: str):
    token = csrf_token(client.get("/").text)
    return client.post("/", data={"csrf_token": token, "email": email, "name": ""})


@pytest.mark.parametrize("relay", ["down", "hanging"])
def test_sign_up_answers_at_once_while_the_relay_is_down_or_hangs(live_database, smtp_server,
                                                                  mailbox, relay):
    """The page only queues; the worker sends once the relay is back."""
    import socket

    from app import create_app
    from tests.conftest import base_config

    if relay == "down":
        port = free_port()  # nobody listens
        hang = None
    else:
        hang = socket.socket()
        hang.bind(("127.0.0.1", 0))
        hang.listen(16)  # accepts connections, never says a word
        port = hang.getsockname()[1]
    app = create_app({**base_config(live_database, port, ROOT / "build"),
                      "MAIL_TIMEOUT": 30, "WTF_CSRF_ENABLED": True})
    client = app.test_client()  # a plain browser: no worker behind it
    response = sign_up(client, f"eilig-{relay}@example.org")
    assert response.status_code == 200
    # The request did not try the relay: nobody knocked at the hanging one, and the
    # mail waits untried for the worker.
    if hang is not None:
        hang.setblocking(False)
        with pytest.raises(BlockingIOError):
            hang.accept()
        hang.close()
    engine = sa.create_engine(live_database)
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT status, attempts, last_error FROM outbox")).all() == [("queued", 0, None)]
    engine.dispose()
    # The relay is back: the worker sends it within about a second.
    worker = start_worker(process_env(live_database, smtp_server.port))
    try:
        wait_for(lambda: mailbox.to(f"eilig-{relay}@example.org"), 30, "the confirmation")
    finally:
        stop(worker)


def test_a_sender_carries_on_after_an_unexpected_error(live_database, smtp_server, mailbox,
                                                       monkeypatch, tmp_path):
    """A bug in one batch (here: the relay raises something no one expected) is
    logged; the sender takes its rows back and sends them, without a restart."""
    import threading

    from app import create_app
    from app.delivery import sender
    from app.delivery.relay import Relay
    from tests.conftest import base_config

    fill_outbox(live_database, 40)
    app = create_app({**base_config(live_database, smtp_server.port, tmp_path),
                      "MAIL_CONNECTIONS": 1})
    send, calls = Relay.send, []

    def flaky(self, *args):
        calls.append(len(calls))
        if len(calls) == 1:
            raise ValueError("a bug")
        return send(self, *args)

    monkeypatch.setattr(Relay, "send", flaky)
    halt = threading.Event()
    worker = threading.Thread(target=sender.serve, args=(app, halt))
    worker.start()
    try:
        wait_for(lambda: outbox_states(live_database) == Counter({"sent": 40}), 60,
                 "every row recorded as sent")
    finally:
        halt.set()
        worker.join(30)
    assert len(calls) >= 2 and not worker.is_alive()
    assert len(received_ids(mailbox)) == 40


def test_many_connections_to_a_slow_relay_share_the_database_pool(live_database, smtp_server,
                                                                  mailbox):
    """24 senders of one worker at once must not wait for the database pool (or fail
    on it)."""
    fill_outbox(live_database, 240)
    mailbox.delay = 0.05
    worker = start_worker(process_env(live_database, smtp_server.port, MAIL_CONNECTIONS=24,
                                      OUTBOX_BATCH=5))
    try:
        wait_for(lambda: outbox_states(live_database) == Counter({"sent": 240}), 60,
                 "every row recorded as sent")
    finally:
        output = stop(worker)
    assert "error" not in output, output
    assert len(received_ids(mailbox)) == 240
