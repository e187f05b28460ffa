#!/usr/bin/env python3
"""Benchmark: invite N subscribers through the whole pipeline, against bare smtplib.

    .venv/bin/python bench/invite.py [--count 10000] [--database URL]

Both sides send into Postfix's smtp-sink (a C SMTP server that is not the
bottleneck; taken from Debian's postfix package with ``dpkg -x``, no mail daemon is
installed). The pipeline side runs in its own process: it creates the subscribers and
an announced meeting, then times the invitation job (render, personalise, queue in the
outbox) and the drain (send over one SMTP connection, record each result), and
reports its peak memory. The limit side sends the very same message bytes with bare
smtplib over one connection. Printed: mails per second of both, their ratio, and the
pipeline's peak memory for a smaller and the full list (it must not grow with it).
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


def start_sink(port: int) -> subprocess.Popen:
    binary, env = smtp_sink()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([binary, *user, "-c", f"127.0.0.1:{port}", "1024"],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sink
        except OSError:
            time.sleep(0.05)
    raise SystemExit("smtp-sink did not start")


def setup(count: int, database: str) -> None:
    """A fresh database with ``count`` active subscribers and one announced meeting."""
    from datetime import timedelta

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app.extensions import db
    from app.meetings import services as meetings
    from app.shared.database import utcnow
    from app.subscriptions.models import Subscriber, SubscriberStatus

    with make_app(database, 25).app_context():  # sends nothing
        upgrade()
        db.session.execute(sa.insert(Subscriber), [
            {"email": f"person{n}@example.org", "name": f"Person {n}", "language": "de",
             "status": SubscriberStatus.ACTIVE, "source": "import", "hard_bounces": 0}
            for n in range(count)])
        start = utcnow() + timedelta(days=10)
        meeting = meetings.create(actor="bench", start=start, end=start + timedelta(hours=2),
                                  district="Mitte", topic="Nachbarschaft",
                                  description="Wir sprechen über **Nachbarschaft**.")
        meetings.announce(meeting, actor="bench")
        db.session.commit()


def make_app(database: str, port: int):
    from app import create_app

    return create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database,
                       "MAIL_PORT": port, "BASE_URL": "https://vernetzer.example"})


def work(database: str, port: int) -> dict:
    """One worker, as the scheduler runs it: queue what is due, then send until the
    outbox is empty. Waits for "go" on standard input, so that all start together."""
    from app.delivery import outbox
    from app.extensions import db
    from jobs.delivery import drain_outbox, queue_meeting_mails

    app = make_app(database, port)
    with app.app_context():
        db.session.execute(db.text("SELECT 1"))  # connect before the clock starts
        db.session.rollback()
        print("ready", flush=True)
        sys.stdin.readline()
        began = time.perf_counter()
        queued = queue_meeting_mails()
        queue_seconds = time.perf_counter() - began
        sent = drain_outbox()
        deadline = time.monotonic() + 300
        while outbox.pending():  # what the other worker still holds, or retries
            if time.monotonic() > deadline:
                raise SystemExit("the outbox did not empty within 300 s")
            time.sleep(0.05)
            sent += drain_outbox()
    return {"queued": queued, "sent": sent, "queue_seconds": queue_seconds,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_pipeline(count: int, workers: int, database: str, port: int) -> dict:
    """Set up, then time ``workers`` worker processes from "go" until all is sent."""
    subprocess.run([sys.executable, __file__, "--setup", str(count), "--database", database],
                   cwd=ROOT, check=True, capture_output=True)
    processes = [subprocess.Popen([sys.executable, __file__, "--work", "--database", database,
                                   "--port", str(port)], cwd=ROOT, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
                 for _ in range(workers)]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    began = time.perf_counter()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [json.loads(process.communicate()[0].strip().splitlines()[-1])
               for process in processes]
    seconds = time.perf_counter() - began
    return {"count": count, "workers": workers, "seconds": seconds,
            "queue_seconds": max(r["queue_seconds"] for r in results),
            "sent": sum(r["sent"] for r in results),
            "peak_mib": max(r["peak_mib"] for r in results)}


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


def bare_smtplib(database: str, port: int) -> dict:
    """The limit: the same message bytes, sent with nothing but smtplib."""
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    with engine.connect() as connection:
        messages = connection.execute(sa.text(
            "SELECT sender, recipient, message FROM outbox ORDER BY id")).all()
    engine.dispose()
    began = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, recipient, message in messages:
            smtp.sendmail(sender, [recipient], bytes(message))
    return {"count": len(messages), "seconds": time.perf_counter() - began}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--postgres", metavar="URL",
                        help="also run two workers on PostgreSQL; a fresh database is created "
                             "and dropped there (e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        setup(args.setup, args.database)
        return
    if args.work:
        print(json.dumps(work(args.database, args.port)))
        return

    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            def database(name):
                return f"sqlite:///{Path(workdir) / name}.sqlite3"

            small = run_pipeline(max(args.count // 5, 1), 1, database("small"), port)
            runs = [("SQLite, 1 worker", run_pipeline(args.count, 1, database("one"), port))]
            if args.postgres:
                for workers in (1, 2):
                    with fresh_postgres(args.postgres) as url:
                        runs.append((f"PostgreSQL, {workers} worker{'s' * (workers > 1)}",
                                     run_pipeline(args.count, workers, url, port)))
            limit = bare_smtplib(database("one"), port)
    finally:
        sink.terminate()
        sink.wait()
    limit_rate = limit["count"] / limit["seconds"]
    print(f"mails per run: {limit['count']}")
    print(f"{'bare smtplib (the limit)':<28} {limit_rate:6.0f} mails/s  ({limit['seconds']:.1f} s)")
    for name, run in runs:
        rate = run["sent"] / run["seconds"]
        print(f"{'pipeline, ' + name:<28} {rate:6.0f} mails/s  ({run['seconds']:.1f} s, of "
              f"which queueing {run['queue_seconds']:.1f} s)  ratio {rate / limit_rate:.2f}")
    print(f"peak memory of a worker: {small['peak_mib']:.0f} MiB for {small['count']} "
          f"subscribers, {runs[0][1]['peak_mib']:.0f} MiB for {args.count}")


if __name__ == "__main__":
    main()
