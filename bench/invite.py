#!/usr/bin/env python3
"""Benchmark: invite N subscribers through the whole pipeline, against bare smtplib.

    .venv/bin/python bench/invite.py [--count 10000] [--postgres URL] [--dkim [--ed25519]]
    .venv/bin/python bench/invite.py --latency [--postgres URL]

Both sides send into Postfix's smtp-sink (a C SMTP server that is not the
bottleneck). Each pipeline run creates a fresh database with the subscribers and an
announced meeting, starts its worker processes together and times them until every
mail is sent: the invitation job queues one mailing (one ``INSERT … SELECT``), then
the worker's sender renders, signs (``--dkim``: RSA; ``--ed25519``: also Ed25519) and
sends each row over its SMTP connection and records each result. The clock stops
when a worker sees nothing queued or being sent any more (it looks every 50 ms), not
when the worker processes have exited. The limit sends
the very same message bytes, rendered beforehand, with bare smtplib over one
connection. Printed: mails per second of both and their ratio, the workers' CPU time
per mail, each worker's peak memory, and the bytes the outbox adds per 1,000 mails.

``--latency``: the sink (aiosmtpd) takes 20 ms per message, like a real relay; the
pipeline uses ``--connections`` (default 1) connections, bare smtplib one.
"""

import argparse
import json
import os
import resource
import secrets
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"


def smtp_sink() -> tuple[str, dict]:
    """Path of smtp-sink and the environment it needs; fetched once into bench/.cache."""
    found = shutil.which("smtp-sink")
    if found:
        return found, {}
    binary = CACHE / "postfix" / "usr" / "sbin" / "smtp-sink"
    if not binary.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", "postfix"], cwd=CACHE, check=True,
                       capture_output=True)
        package = next(CACHE.glob("postfix_*.deb"))
        subprocess.run(["dpkg", "-x", str(package), str(CACHE / "postfix")], check=True)
    return str(binary), {"LD_LIBRARY_PATH": str(CACHE / "postfix" / "usr" / "lib" / "postfix")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(process: subprocess.Popen, port: int, name: str) -> subprocess.Popen:
    """``process`` once it accepts connections on ``port``."""
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{name} did not start")


def start_sink(port: int) -> subprocess.Popen:
    binary, env = smtp_sink()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([binary, *user, "-c", f"127.0.0.1:{port}", "1024"],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return listening(sink, port, "smtp-sink")


def setup(count: int, database: str) -> None:
    """A fresh database with ``count`` active subscribers and one announced meeting."""
    from datetime import timedelta

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app.extensions import db
    from app.meetings import services as meetings
    from app.meetings import venues
    from app.shared.database import utcnow
    from app.subscriptions.models import Subscriber, SubscriberStatus

    with make_app(database, 25).app_context():  # sends nothing
        upgrade()
        db.session.execute(sa.insert(Subscriber), [
            {"email": f"person{n}@example.org", "name": f"Person {n}", "language": "de",
             "status": SubscriberStatus.ACTIVE, "source": "import", "hard_bounces": 0}
            for n in range(count)])
        start = utcnow() + timedelta(days=10)
        venue = venues.add_venue(actor="bench", name="Bürgerhaus Mitte",
                                 address="Marktplatz 1, Mitte", district="Mitte")
        meeting = meetings.create(actor="bench", start=start, end=start + timedelta(hours=2),
                                  district="Mitte", topic="Nachbarschaft", venue_id=venue.id,
                                  description="Wir sprechen über **Nachbarschaft**.")
        meetings.announce(meeting, actor="bench")
        db.session.commit()


def dkim_key(kind: str) -> str:
    """A key for the DKIM runs ("rsa": 2048 bits, or "ed25519"), made once."""
    path = ROOT / "bench" / ".cache" / f"dkim-{kind}.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

        key = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
               if kind == "rsa" else ed25519.Ed25519PrivateKey.generate())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path.read_text()


def make_app(database: str, port: int, *, dkim: bool = False, ed25519: bool = False,
             connections: int = 1):
    from app import create_app

    settings = {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database,
                "MAIL_PORT": port, "BASE_URL": "https://vernetzer.example",
                "MAIL_CONNECTIONS": connections, "MAIL_TIMEOUT": 60}
    if dkim:
        settings.update(DKIM_SELECTOR="bench", DKIM_DOMAIN="vernetzer.example",
                        DKIM_PRIVATE_KEY=dkim_key("rsa"))
    if dkim and ed25519:
        settings.update(DKIM_ED25519_SELECTOR="bench-ed", DKIM_ED25519_PRIVATE_KEY=dkim_key(
            "ed25519"))
    return create_app(settings)


def outbox_bytes(database: str) -> int:
    """What the outbox (table, indexes, mailings) takes in the database."""
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            size = connection.scalar(sa.text(
                "SELECT pg_total_relation_size('outbox') + pg_total_relation_size('mailing')"))
        else:
            size = connection.scalar(sa.text(
                "SELECT sum(pgsize) FROM dbstat WHERE name IN (SELECT name FROM "
                "sqlite_master WHERE tbl_name IN ('outbox', 'mailing'))"))
    engine.dispose()
    return int(size or 0)


def work(database: str, port: int, dkim: bool, ed25519: bool, connections: int) -> dict:
    """One worker process: the invitation job, then the senders until the outbox is
    empty. Waits for "go" on standard input, so that all start together."""
    import threading

    from app.delivery import sender
    from app.extensions import db
    from jobs.delivery import queue_meeting_mails

    app = make_app(database, port, dkim=dkim, ed25519=ed25519, connections=connections)
    with app.app_context():
        db.session.execute(db.text("SELECT 1"))  # connect before the clock starts
        db.session.rollback()
        print("ready", flush=True)
        sys.stdin.readline()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_before = usage.ru_utime + usage.ru_stime
        began = time.perf_counter()
        queued = queue_meeting_mails()
        queue_seconds = time.perf_counter() - began
        stop, done = threading.Event(), []

        def watch():
            deadline = time.monotonic() + 900
            with app.app_context():
                while time.monotonic() < deadline and unfinished():
                    time.sleep(0.05)
            done.append(time.time())
            stop.set()

        def unfinished() -> bool:
            """Anything queued or being sent, or nothing queued yet (the other worker
            queues). Asked as EXISTS, one status at a time, so that each walks its own
            partial index and stops at the first row: counting, or one EXISTS with
            ``status IN (…)``, scanned the whole outbox every 50 ms (at 100,000 a core
            of the database, or a third of the SQLite worker's CPU). The transaction
            ends at once: on SQLite it holds the lock."""
            try:
                return bool(db.session.scalar(db.text(
                    "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'queued')"
                    " OR EXISTS (SELECT 1 FROM outbox WHERE status = 'sending')"
                    " OR NOT EXISTS (SELECT 1 FROM outbox)")))
            finally:
                db.session.rollback()

        threading.Thread(target=watch, daemon=True).start()
        sender.serve(app, stop)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"queued": queued, "queue_seconds": queue_seconds, "done_at": done[0],
            "peak_mib": usage.ru_maxrss / 1024,
            "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_before}


def run_pipeline(count: int, workers: int, database: str, port: int, *, dkim: bool = False,
                 ed25519: bool = False, connections: int = 1) -> dict:
    """Set up, then time ``workers`` worker processes from "go" until all is sent."""
    subprocess.run([sys.executable, __file__, "--setup", str(count), "--database", database],
                   cwd=ROOT, check=True, capture_output=True)
    before = outbox_bytes(database)
    command = [sys.executable, __file__, "--work", "--database", database, "--port", str(port),
               "--connections", str(connections)] + (["--dkim"] if dkim else []) + (
                   ["--ed25519"] if ed25519 else [])
    processes = [subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
                 for _ in range(workers)]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    began = time.time()  # the workers' clock too: they say when all was sent
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [json.loads(process.communicate()[0].strip().splitlines()[-1])
               for process in processes]
    seconds = max(r["done_at"] for r in results) - began
    sent = sent_count(database)
    if sent != count:
        raise SystemExit(f"{sent} of {count} mails sent")
    return {"count": count, "workers": workers, "seconds": seconds, "sent": sent,
            "queue_seconds": max(r["queue_seconds"] for r in results),
            "peak_mib": [round(r["peak_mib"]) for r in results],
            "cpu_us_per_mail": sum(r["cpu_seconds"] for r in results) / count * 1e6,
            "bytes_per_1000": (outbox_bytes(database) - before) / count * 1000}


def sent_count(database: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    with engine.connect() as connection:
        sent = connection.scalar(sa.text("SELECT count(*) FROM outbox WHERE status = 'sent'"))
    engine.dispose()
    return sent


@contextmanager
def fresh_postgres(url: str):
    import sqlalchemy as sa

    name = f"vernetzer_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(url).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def rendered(database: str, port: int, limit: int | None = None) -> list:
    """Every outbox row's message, rendered and signed as its sender does it."""
    import sqlalchemy as sa

    from app.delivery import hooks, sender, signing
    from app.delivery.compose import envelope_sender, transport_address
    from app.delivery.models import OutboxMessage
    from app.extensions import db

    table = OutboxMessage.__table__
    with make_app(database, port).app_context():
        rows = db.session.execute(sa.select(table).order_by(table.c.id).limit(limit)).all()
        wanted = hooks.installed().wanted({row.subscriber_id for row in rows})
        machine, mailings = sender.Sender("bench"), {}
        return [(envelope_sender(row.code), transport_address(row.recipient),
                 signing.sign(machine.message_of(row, wanted, mailings))) for row in rows]


def bare_smtplib(messages: list, port: int) -> dict:
    """The limit: the same message bytes, sent with nothing but smtplib."""
    began = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, recipient, message in messages:
            smtp.sendmail(sender, [recipient], message)
    return {"count": len(messages), "seconds": time.perf_counter() - began}


def slow_sink(port: int, delay: float) -> subprocess.Popen:
    """An aiosmtpd sink that takes ``delay`` seconds per message."""
    code = f"""
import asyncio, time
from aiosmtpd.controller import Controller
class Slow:
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep({delay})
        return "250 OK"
controller = Controller(Slow(), hostname="127.0.0.1", port={port}, enable_SMTPUTF8=True)
controller.start()
while True:
    time.sleep(3600)
"""
    process = subprocess.Popen([sys.executable, "-c", code])
    return listening(process, port, "the slow sink")


def latency(args) -> None:
    """Pipeline (MAIL_CONNECTIONS connections) against one-connection smtplib, with a
    sink that takes 20 ms per message."""
    port = free_port()
    sink = slow_sink(port, 0.02)
    count = args.count if args.count != 10_000 else 3_000
    try:
        with tempfile.TemporaryDirectory() as workdir:
            database = f"sqlite:///{Path(workdir) / 'slow'}.sqlite3"
            if args.postgres:
                with fresh_postgres(args.postgres) as url:
                    run = run_pipeline(count, 1, url, port, connections=args.connections)
                    messages = rendered(url, port, 500)
            else:
                run = run_pipeline(count, 1, database, port, connections=args.connections)
                messages = rendered(database, port, 500)
            limit = bare_smtplib(messages, port)
    finally:
        sink.terminate()
        sink.wait()
    limit_rate, rate = limit["count"] / limit["seconds"], run["sent"] / run["seconds"]
    print(f"sink: 20 ms per message; pipeline {args.connections} connections, 1 worker, "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"bare smtplib, one connection: {limit_rate:6.1f} mails/s ({limit['count']} mails "
          f"in {limit['seconds']:.1f} s)")
    print(f"pipeline:                     {rate:6.1f} mails/s ({run['sent']} mails in "
          f"{run['seconds']:.1f} s)  ratio {rate / limit_rate:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL with one and two workers; a fresh database "
                             "is created and dropped there "
                             "(e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    parser.add_argument("--dkim", action="store_true", help="also run every case with DKIM")
    parser.add_argument("--ed25519", action="store_true",
                        help="with --dkim: an Ed25519 signature beside the RSA one")
    parser.add_argument("--latency", action="store_true",
                        help="a sink taking 20 ms per message; many connections")
    parser.add_argument("--connections", type=int, default=None,
                        help="SMTP connections per worker (default 1)")
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.connections is None:
        args.connections = 1
    if args.setup:
        setup(args.setup, args.database)
        return
    if args.work:
        print(json.dumps(work(args.database, args.port, args.dkim, args.ed25519,
                              args.connections)))
        return
    if args.latency:
        latency(args)
        return

    port = free_port()
    sink = start_sink(port)
    runs = []
    try:
        with tempfile.TemporaryDirectory() as workdir:
            def database(name):
                return f"sqlite:///{Path(workdir) / name}.sqlite3"

            for dkim in (False, True) if args.dkim else (False,):
                signed = (", DKIM" + " RSA+Ed25519" * args.ed25519) if dkim else ""
                runs.append((f"SQLite, 1 worker{signed}", run_pipeline(
                    args.count, 1, database(f"one{dkim}"), port, dkim=dkim,
                    ed25519=args.ed25519, connections=args.connections)))
                if args.postgres:
                    for workers in (1, 2):
                        with fresh_postgres(args.postgres) as url:
                            runs.append((f"PostgreSQL, {workers} worker"
                                         f"{'s' * (workers > 1)}{signed}",
                                         run_pipeline(args.count, workers, url, port, dkim=dkim,
                                                      ed25519=args.ed25519,
                                                      connections=args.connections)))
            limit = bare_smtplib(rendered(database("oneFalse"), port), port)
    finally:
        sink.terminate()
        sink.wait()
    limit_rate = limit["count"] / limit["seconds"]
    print(f"mails per run: {limit['count']}")
    print(f"{'bare smtplib (the limit)':<50} {limit_rate:6.0f} mails/s  "
          f"({limit['seconds']:.1f} s)")
    for name, run in runs:
        rate = run["sent"] / run["seconds"]
        print(f"{'pipeline, ' + name:<50} {rate:6.0f} mails/s  ({run['seconds']:.1f} s, of "
              f"which queueing {run['queue_seconds']:.2f} s)  ratio {rate / limit_rate:.2f}  "
              f"CPU {run['cpu_us_per_mail']:.0f} µs/mail  "
              f"peak {run['peak_mib']} MiB  outbox {run['bytes_per_1000'] / 1024:.0f} KiB "
              f"per 1,000 mails")


if __name__ == "__main__":
    main()
