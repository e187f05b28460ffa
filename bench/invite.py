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
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
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


def pipeline(count: int, database: str, port: int) -> dict:
    """Run in a child process: set up, then time invitation job and drain."""
    from datetime import timedelta

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import OutboxMessage, Subscriber, SubscriberStatus, utcnow
    from app.services import meetings
    from jobs.delivery import drain_outbox, queue_meeting_mails

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database,
                      "MAIL_PORT": port, "BASE_URL": "https://vernetzer.example"})
    with app.app_context():
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

        began = time.perf_counter()
        queued = queue_meeting_mails()
        queued_at = time.perf_counter()
        sent = drain_outbox()
        finished = time.perf_counter()
        sample = db.session.scalar(sa.select(sa.func.avg(sa.func.length(OutboxMessage.message))))
    return {"count": count, "queued": queued, "sent": sent,
            "queue_seconds": queued_at - began, "send_seconds": finished - queued_at,
            "seconds": finished - began, "avg_bytes": float(sample),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_pipeline(count: int, database: str | None, port: int, workdir: Path) -> dict:
    database = database or f"sqlite:///{workdir / f'bench-{count}.sqlite3'}"
    result = subprocess.run([sys.executable, __file__, "--child", str(count), "--database",
                             database, "--port", str(port)], cwd=ROOT, check=True,
                            capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


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
    parser.add_argument("--database", help="default: a fresh SQLite file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(pipeline(args.child, args.database, args.port)))
        return
    if args.database and not args.database.startswith("sqlite"):
        raise SystemExit("--database: pass a fresh, empty database URL")

    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            small = run_pipeline(max(args.count // 5, 1), None, port, Path(workdir))
            full = run_pipeline(args.count, args.database, port, Path(workdir))
            database = args.database or f"sqlite:///{Path(workdir) / f'bench-{args.count}.sqlite3'}"
            limit = bare_smtplib(database, port)
    finally:
        sink.terminate()
        sink.wait()
    pipeline_rate = full["sent"] / full["seconds"]
    limit_rate = limit["count"] / limit["seconds"]
    print(f"mails: {full['sent']} (average {full['avg_bytes'] / 1024:.1f} KiB each)")
    print(f"pipeline:     {pipeline_rate:8.0f} mails/s  ({full['seconds']:.1f} s: queue "
          f"{full['queue_seconds']:.1f} s, send {full['send_seconds']:.1f} s)")
    print(f"bare smtplib: {limit_rate:8.0f} mails/s  ({limit['seconds']:.1f} s)")
    print(f"ratio:        {pipeline_rate / limit_rate:8.2f}")
    print(f"peak memory of the pipeline: {small['peak_mib']:.0f} MiB for {small['count']} "
          f"subscribers, {full['peak_mib']:.0f} MiB for {full['count']}")


if __name__ == "__main__":
    main()
