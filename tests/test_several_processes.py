"""A larger install: two web servers and two workers on one PostgreSQL database, with
rate limits in the database, through a meeting's life; a worker is killed and PostgreSQL
restarted in the middle. Nothing is lost, nothing doubled beyond the one mail on the
wire per kill, and the limits hold across both web servers."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import (
    Browser,
    csrf_token,
    free_port,
    output_of,
    process_env,
    required,
    start_flask,
    wait_for,
    wait_for_port,
)

pytestmark = pytest.mark.slow


class PrivateServer:
    """A PostgreSQL server of the test's own (Debian's binaries, run as the postgres
    user, on a free port, its data in a temporary folder), so that restarting it
    touches no other test running beside it. ``url`` is a migrated database on it."""

    def __init__(self):
        clusters = shutil.which("pg_lsclusters")
        if clusters is None or os.geteuid() != 0:
            required("a PostgreSQL server of the test's own needs Debian's PostgreSQL and root")
        version = subprocess.run([clusters, "-h"], capture_output=True, text=True,
                                 check=True).stdout.split()[0]
        self.bin = f"/usr/lib/postgresql/{version}/bin"
        self.data = tempfile.mkdtemp(prefix="vernetzer-pg-")
        shutil.chown(self.data, "postgres", "postgres")
        self.port = free_port()
        self._as_postgres("initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8")
        self._ctl("start")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/vernetzer"

    def _as_postgres(self, program: str, *args: str) -> None:
        # No pipes: the server pg_ctl starts would hold them open (its log is a file).
        subprocess.run(["runuser", "-u", "postgres", "--", f"{self.bin}/{program}", *args],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)

    def _ctl(self, action: str, mode: str = "fast") -> None:
        self._as_postgres("pg_ctl", "-D", self.data, "-w", "-m", mode,
                          "-l", f"{self.data}/server.log", "-o",
                          f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                          "-c fsync=off", action)

    def migrate(self, smtp_port: int, tmp_path) -> None:
        from flask_migrate import upgrade

        from app import create_app
        from app.extensions import db
        from tests.conftest import base_config

        admin = sa.create_engine(self.url.replace("/vernetzer", "/postgres"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE vernetzer")
        admin.dispose()
        app = create_app(base_config(self.url, smtp_port, tmp_path))
        with app.app_context():
            upgrade()
            db.engine.dispose()

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        self._ctl("stop", "immediate")
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture
def private_database(smtp_server, tmp_path):
    server = PrivateServer()
    try:
        server.migrate(smtp_server.port, tmp_path / "migrate")
        yield server
    finally:
        server.stop()


def link(message, path: str, port: int) -> str:
    """The link to ``path`` in a mail's text, pointed at the web server on ``port``."""
    text = message.get_body(("plain",)).get_content()
    url = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s>]*)", text)[1]
    return f"http://127.0.0.1:{port}{url}"


def mails(mailbox, subject: str) -> list:
    return [message for _, _, message, _ in mailbox.messages
            if message["Subject"].startswith(subject)]


def statuses(database: str, kind: str) -> Counter:
    engine = sa.create_engine(database)
    with engine.connect() as connection:
        result = Counter(dict(connection.execute(sa.text(
            "SELECT status, count(*) FROM outbox WHERE kind = :kind GROUP BY status"),
            {"kind": kind}).all()))
    engine.dispose()
    return result


def in_process(database: str, smtp_port: int, tmp_path, action):
    """What an organiser does (seeding the list, planning, cancelling), through the
    services, on the same database."""
    from app import create_app
    from app.extensions import db
    from tests.conftest import base_config

    app = create_app(base_config(database, smtp_port, tmp_path))
    with app.test_request_context():
        result = action()
        db.session.commit()
        db.engine.dispose()
    return result


def test_two_web_servers_and_two_workers_through_a_meeting_with_a_kill_and_a_restart(
        private_database, smtp_server, mailbox, tmp_path):
    live_database = private_database.url
    ports = [free_port(), free_port()]
    web_env = process_env(live_database, smtp_server.port,
                          CONFIRM_MAILS_PER_IP="6/hour", PAGE_CACHE_SECONDS=0,
                          BASE_URL=f"http://127.0.0.1:{ports[0]}")
    worker_env = process_env(live_database, smtp_server.port, MAIL_CONNECTIONS=2,
                             OUTBOX_BATCH=20, OUTBOX_HEARTBEAT_TIMEOUT=3,
                             OUTBOX_HEARTBEAT_EVERY=0.5,
                             BASE_URL=f"http://127.0.0.1:{ports[0]}")
    webs = [start_flask(web_env, "serve", "--no-worker", "--port", str(port)) for port in ports]
    workers = [start_flask(worker_env, "worker", "--send-only") for _ in range(2)]
    outputs = []
    try:
        for web, port in zip(webs, ports, strict=True):
            assert wait_for_port(port, web, 60), output_of(web)

        # Twelve sign-ups from one address, taking turns at the two web servers: the
        # limit of six per address and hour holds for both together (counted in the database).
        for number in range(12):
            visitor, port = Browser(), ports[number % 2]
            page = visitor.get(f"http://127.0.0.1:{port}/")
            status, _ = visitor.post(f"http://127.0.0.1:{port}/", email=f"neu{number}@example.org",
                                     name="", csrf_token=csrf_token(page))
            assert status == 200
        wait_for(lambda: len(mails(mailbox, "Bitte bestätigen")) >= 6, 30, "six confirmations")
        time.sleep(1)
        confirmations = mails(mailbox, "Bitte bestätigen")
        assert len(confirmations) == 6
        for number, message in enumerate(confirmations):
            visitor = Browser()
            url = link(message, "/bestaetigen/", ports[number % 2])
            status, page = visitor.post(url, csrf_token=csrf_token(visitor.get(url)))
            assert status == 200, page

        # Three hundred more members, a meeting in ten days, announced; the due jobs
        # queue an invitation to each of the 306.
        def plan():
            from app.extensions import db
            from app.meetings import services as meetings
            from app.meetings import venues
            from app.shared.database import utcnow
            from app.subscriptions.models import Subscriber

            db.session.execute(sa.insert(Subscriber), [
                {"email": f"person{n}@example.org", "name": f"Person {n}", "language": "de",
                 "status": "active", "source": "import", "hard_bounces": 0} for n in range(300)])
            venue = venues.add_venue(actor="test", name="Bürgerhaus", address="Markt 1",
                                     district="Mitte")
            start = utcnow() + timedelta(days=10)
            meeting = meetings.create(actor="test", start=start, end=start + timedelta(hours=2),
                                      district="Mitte", topic="Nachbarschaft", venue_id=venue.id)
            meetings.announce(meeting, actor="test")
            return meeting.id

        meeting_id = in_process(live_database, smtp_server.port, tmp_path, plan)
        mailbox.delay = 0.02  # a relay that takes its time
        run_due = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "jobs", "run-due"],
                                 env=worker_env, capture_output=True, text=True, timeout=120)
        assert run_due.returncode == 0, run_due.stderr
        assert sum(statuses(live_database, "invitation").values()) == 306

        # A worker dies mid-send; then PostgreSQL restarts under everyone.
        wait_for(lambda: len(mails(mailbox, "Einladung")) >= 80, 60, "80 invitations")
        workers[0].send_signal(signal.SIGKILL)
        outputs.append(output_of(workers[0], 10))
        workers[0] = start_flask(worker_env, "worker", "--send-only")
        wait_for(lambda: len(mails(mailbox, "Einladung")) >= 160, 60, "160 invitations")
        private_database.restart()
        wait_for(lambda: statuses(live_database, "invitation") == Counter({"sent": 306}), 120,
                 "every invitation recorded as sent")
        invitations = Counter(message["To"] for message in mails(mailbox, "Einladung"))
        assert len(invitations) == 306
        assert sum(invitations.values()) - 306 <= 1 * 2  # one kill, two connections

        # After the restart both web servers answer, and a member says "Ich komme"
        # through the second one.
        for port in ports:
            assert "Stadtteilvernetzer" in Browser().get(f"http://127.0.0.1:{port}/treffen")
        invitation = next(message for message in mails(mailbox, "Einladung")
                          if "neu" in message["To"])
        answer = link(invitation, f"/treffen/{meeting_id}/antwort/", ports[1])
        visitor = Browser()
        status, _ = visitor.post(answer, answer="yes", csrf_token=csrf_token(visitor.get(answer)))
        assert status == 200
        engine = sa.create_engine(live_database)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT answer FROM rsvp")).scalars().all() == [
                "yes"]
        engine.dispose()

        # The meeting is cancelled: everyone invited hears of it, once.
        def cancel():
            from app.meetings import services as meetings

            meetings.cancel(meetings.find(meeting_id), actor="test", reason="Krankheit")

        in_process(live_database, smtp_server.port, tmp_path, cancel)
        wait_for(lambda: statuses(live_database, "cancellation") == Counter({"sent": 306}), 120,
                 "every cancellation recorded as sent")
        assert len(Counter(message["To"] for message in mails(mailbox, "Abgesagt"))) == 306
    finally:
        for process in webs + workers:
            if process.poll() is None:
                process.terminate()
            outputs.append(output_of(process, 30))
    assert not any("Traceback" in output for output in outputs), outputs
