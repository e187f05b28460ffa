"""Fixtures: a real SMTP server, a migrated database per engine, an app per test.

The database is migrated to head once per engine (SQLite, and PostgreSQL when
``VERNETZER_TEST_POSTGRES_URL`` is set); every test runs inside a transaction that
is rolled back afterwards, each commit of the code under test being a SAVEPOINT.
"""

import asyncio
import http.cookiejar
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask.cli import FlaskGroup
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from itsdangerous import URLSafeTimedSerializer

from app import create_app
from app.delivery import sender
from app.extensions import db
from app.shared.database import utcnow

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("VERNETZER_TEST_POSTGRES_URL")
# The processes tests start get their settings from the test, never from a
# developer's .env (``dev.py serve`` writes one: it turns the mail catcher on).
os.environ["FLASK_SKIP_DOTENV"] = "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process, seconds: float) -> bool:
    """Wait until something listens on ``port``; False when ``process`` ended first or
    time ran out."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def required(reason: str):
    """Skip on a laptop without the tool or service; fail where CI asks for every tool
    (``VERNETZER_REQUIRE_TOOLS``)."""
    if os.environ.get("VERNETZER_REQUIRE_TOOLS"):
        pytest.fail(reason)
    pytest.skip(reason)


def wait_for(condition, seconds: float, what: str) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


class SMTPRecorder:
    """aiosmtpd handler that keeps what arrives; ``reply`` can refuse a message."""

    def __init__(self):
        self.messages = []
        self.reply = None  # callable(envelope) -> SMTP reply string or None
        self.delay = 0.0  # seconds to think before answering, like a slow server

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply and (answer := self.reply(envelope)):
            return answer
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message,
                              envelope.original_content))
        return "250 OK"

    def to(self, address):
        return [m for _, rcpts, m, _raw in self.messages if address in rcpts]


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on a free port for the whole session."""
    handler = SMTPRecorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            enable_SMTPUTF8=True)
    controller.start()
    controller.recorder = handler
    yield controller
    controller.stop()


LINK = re.compile(r"(?:https?|webcal)://[^\s<>]+")


def links_end_their_lines(message) -> list[str]:
    """The links of a mail's text part that run into the text after them (a mail
    program would link ``….icsDetails:``): each must end where its line ends, or at
    the ``>`` of ``<address>``."""
    text = message.get_body(("plain",))
    if text is None:
        return []
    content = text.get_content()
    return [found.group() for found in LINK.finditer(content)
            if content[found.end():found.end() + 1] not in ("", "\n", "\r", ">")]


@pytest.fixture
def mailbox(smtp_server):
    """What the SMTP server received during this test. Every mail kind that the
    suite sends passes here, so each is checked: no link runs into the next word."""
    recorder = smtp_server.recorder
    recorder.messages.clear()
    recorder.reply, recorder.delay = None, 0.0
    yield recorder
    recorder.reply, recorder.delay = None, 0.0
    run_together = {message["Subject"]: links_end_their_lines(message)
                    for _, _, message, _ in recorder.messages}
    assert not {subject: links for subject, links in run_together.items() if links}


def base_config(database_url: str, smtp_port: int, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_TIMEOUT": 5,
        "BASE_URL": "https://vernetzer.example",
        "MAIL_CALENDAR_ADDRESS": "einladung@vernetzer.example",
        "MAIL_CATCHER_DIR": str(tmp_path / "mailcatcher"),
        "SERVER_NAME": None,
    }


def create_database(engine_name: str, tmp_path_factory) -> tuple[str, callable]:
    """A new empty database; returns its URL and a function that drops it."""
    if engine_name == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        return f"sqlite:///{path}", lambda: None
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need VERNETZER_TEST_POSTGRES_URL "
                    "(for example postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    name = f"vernetzer_test_{uuid.uuid4().hex[:12]}"
    # Pre-ping: a dropped connection is replaced rather than failing a test.
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return sa.make_url(POSTGRES_URL).set(database=name).render_as_string(False), drop


@contextmanager
def migrated_database(engine_name: str, tmp_path_factory, smtp_port: int):
    """A new database of ``engine_name``, migrated to head; dropped afterwards."""
    url, drop = create_database(engine_name, tmp_path_factory)
    app = create_app(base_config(url, smtp_port, tmp_path_factory.mktemp("m")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory, smtp_server):
    """A database migrated to head, once per engine and session."""
    with migrated_database(request.param, tmp_path_factory, smtp_server.port) as url:
        yield url


@pytest.fixture
def app(database_url, smtp_server, tmp_path):
    """The app, its database work rolled back after the test.

    No app context stays pushed during the test (each request gets its own, as in
    production); tests that look into the database open one: ``with app.app_context()``.
    """
    app = create_app(base_config(database_url, smtp_server.port, tmp_path))
    app.test_client_class = Visitor
    with app.app_context():
        engine = db.engine
        connection = engine.connect()
        transaction = connection.begin()
        # Route every session of this app to the one connection; their commits
        # become SAVEPOINT releases inside the outer transaction.
        db.engines[None] = connection
        db.session.configure(join_transaction_mode="create_savepoint")
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            transaction.rollback()
            connection.close()
            db.engines[None] = engine
            engine.dispose()


def worker_sends(app) -> int:
    """What the worker's senders do within a second of a commit: send what is due.
    (The worker itself runs in tests/delivery/test_sender.py and the end-to-end tests.)"""
    with app.app_context():
        return sender.drain()


class Visitor(FlaskClient):
    """A browser; after each of its requests the worker sends what the request queued
    (web requests never send mail themselves)."""

    def open(self, *args, **kwargs):
        # A browser reads every answer to its end (a streamed one, too).
        kwargs.setdefault("buffered", True)
        response = super().open(*args, **kwargs)
        worker_sends(self.application)
        return response


@pytest.fixture
def client(app):
    return app.test_client()


class CommandLine(FlaskCliRunner):
    """Runs commands as ``flask --app app`` does: with the plugin commands (worker,
    jobs) that Flask loads from the ``flask.commands`` entry points. The worker then
    sends what the command queued."""

    def invoke(self, cli=None, args=None, **kwargs):
        result = super().invoke(cli or FlaskGroup(create_app=lambda: self.app), args, **kwargs)
        worker_sends(self.app)
        return result


@pytest.fixture
def runner(app):
    return CommandLine(app)


class Browser:
    """A visitor with cookies, over real HTTP."""

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, url: str) -> str:
        with self.opener.open(url, timeout=30) as response:
            return response.read().decode()

    def post(self, url: str, **fields) -> tuple[int, str]:
        data = urllib.parse.urlencode(fields).encode()
        try:
            with self.opener.open(url, data=data, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def csrf_token(html: str, name: str = "csrf_token") -> str:
    """The CSRF token of the page's form (``name``: of a form with a prefix)."""
    match = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def form_token(client) -> str:
    """A CSRF token bound to ``client``'s session, as every form of the organiser area
    and behind a personal link carries it (Flask-WTF's: a random value in the session,
    signed). The public pages' forms carry tokens bound to no session."""
    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", secrets.token_hex(20))
    return URLSafeTimedSerializer(client.application.secret_key,
                                  salt="wtf-csrf-token").dumps(raw)


def links_in(message) -> list[str]:
    """Every https link in the text part of a mail."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.findall(r"https://\S+", text)


def path_of(url: str) -> str:
    return url.removeprefix("https://vernetzer.example")


@pytest.fixture(params=["sqlite", "postgresql"])
def live_database(request, tmp_path_factory, smtp_server):
    """A database of its own, migrated, for tests whose work spans several processes
    (nothing is rolled back: the processes commit for real). Yields its URL."""
    with migrated_database(request.param, tmp_path_factory, smtp_server.port) as url:
        yield url


def process_env(database_url: str, smtp_port: int, **settings) -> dict:
    """The environment for a ``flask --app app ...`` process on this database."""
    env = {**os.environ, "FLASK_SECRET_KEY": "test-secret",
           "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
           "FLASK_MAIL_SERVER": "127.0.0.1", "FLASK_MAIL_PORT": str(smtp_port),
           "FLASK_BASE_URL": "https://vernetzer.example"}
    env.update({f"FLASK_{key}": str(value) for key, value in settings.items()})
    return env


def start_flask(env: dict, *args: str) -> subprocess.Popen:
    """``flask --app app ARGS`` as a process of its own. Its output goes to a file, not
    a pipe: a pipe nobody reads fills up with its log and stops it."""
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - output_of reads and closes it
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               text=True)
    process.log = log
    return process


def output_of(process: subprocess.Popen, timeout: float = 60) -> str:
    """What ``start_flask``'s process wrote, once it has ended."""
    process.wait(timeout=timeout)
    with process.log:
        process.log.seek(0)
        return process.log.read()


def request_link(client, email):
    page = client.get("/organisation/anmelden")
    return client.post("/organisation/anmelden",
                       data={"csrf_token": csrf_token(page.text), "email": email})


def signin_link(mailbox, email):
    return next(path_of(link) for link in links_in(mailbox.to(email)[-1])
                if "/organisation/anmelden/" in link)


def list_member_mail(person, subject, *, sender):
    """A mail to ``person`` with their personal list links, as the list sends it."""
    from app.delivery.compose import compose
    from app.subscriptions.mails import subscriber_links

    return compose("welcome", subject, address=person.email, name=person.name,
                   language=person.language, sender=sender, links=subscriber_links(person),
                   calendar_url="https://vernetzer.example/kalender.ics",
                   webcal_url="webcal://vernetzer.example/kalender.ics")


def link_in(message, fragment: str) -> str:
    """The path of the first link in ``message`` that contains ``fragment``."""
    return next(path_of(link) for link in links_in(message) if fragment in link)


def organiser(runner, email="orga@example.org", role="organiser") -> None:
    """An organiser, added as an admin would: through ``flask organisers add``."""
    assert runner.invoke(args=["organisers", "add", email, "--role", role]).exit_code == 0


@pytest.fixture
def sign_in(client, runner, mailbox):
    """``sign_in(email, role)``: add an organiser and sign ``client`` in as them, by
    the link in the mail; returns the (now used) link."""
    def sign_in_as(email="orga@example.org", role="organiser"):
        organiser(runner, email, role)
        request_link(client, email)
        link = signin_link(mailbox, email)
        client.post(link, data={"csrf_token": csrf_token(client.get(link).text)})
        return link

    return sign_in_as


# Factories for what many tests need in the database. They work inside the caller's
# app context (``with app.app_context():`` or ``app.test_request_context()``), go
# through the services where there is one, and commit.

def member(email="mitglied@example.org", *, status=None, language="de", **fields):
    """A person on the list: active, imported, German unless told otherwise."""
    from app.subscriptions.models import Subscriber, SubscriberStatus

    person = Subscriber(email=email, status=status or SubscriberStatus.ACTIVE, source="import",
                        language=language, **fields)
    db.session.add(person)
    db.session.commit()
    return person


def venue(district: str = "Mitte"):
    """A venue in ``district`` (made once: every later call gets the same one)."""
    from app.meetings import venues
    from app.meetings.models import Venue

    found = db.session.scalar(sa.select(Venue).where(Venue.district == district))
    return found or venues.add_venue(actor="test", name=f"Bürgerhaus {district}",
                                     address=f"Marktplatz 1, {district}", district=district)


def announced_meeting(district="Mitte", *, start=None, hours=2, now=None, **fields):
    """A meeting in ``district`` at a venue there, ten days ahead unless ``start`` says
    otherwise, announced by the services as an organiser would; ``fields`` go to
    ``meetings.create`` (topic, kind, host_organisation, ...)."""
    from app.meetings import services as meetings

    start = start or utcnow().replace(second=0, microsecond=0) + timedelta(days=10)
    fields.setdefault("venue_id", venue(district).id)
    fields.setdefault("allow_same_evening", True)
    meeting = meetings.create(actor="test", start=start, end=start + timedelta(hours=hours),
                              district=district, now=now, **fields)
    meetings.announce(meeting, actor="test", now=now)
    db.session.commit()
    return meeting
