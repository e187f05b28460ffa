#!/usr/bin/env python3
"""Benchmark: vernetzer's pages under gunicorn against a minimal Flask "hello" app.

    .venv/bin/python bench/web.py [--postgres URL] [--seconds 10] [--connections 16]

Both run with deploy/gunicorn.conf.py (WEB_CONCURRENCY=2 here, this machine has two
cores) and are loaded in the same run by wrk (Debian's ``wrk``) over loopback. The
database (SQLite, or a fresh PostgreSQL database with ``--postgres``) has 8 published
meetings and 1,000 members. Hello is loaded before and after every page (this machine's
speed drifts within a run); printed per page: requests per second, p99 latency, and the
ratio to the mean of the hello runs beside it. The subscribe POST sends a new address each time (limits raised for
the run), so that each request writes a pending member and queues a mail.
"""

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.invite import free_port, fresh_postgres  # noqa: E402

POST_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local body = "csrf_token=%s&email=bench" .. counter .. "-" .. math.random(1, 1000000000) ..
               "%%40example.org&name="
  return wrk.format("POST", "/", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"""


def environment(database: str, port: int) -> dict:
    return {**os.environ, "FLASK_SECRET_KEY": secrets.token_hex(32),
            "FLASK_SQLALCHEMY_DATABASE_URI": database, "FLASK_BASE_URL": "https://bench.example",
            "FLASK_LOG_REQUESTS": "false", "FLASK_CONFIRM_MAILS_PER_IP": "100000000/hour",
            "FLASK_CONFIRM_MAILS_PER_ADDRESS": "100000000/hour",
            "VERNETZER_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"}


def setup(env: dict) -> None:
    code = """
from datetime import timedelta
import sqlalchemy as sa
from flask_migrate import upgrade
from app import create_app
from app.extensions import db
from app.meetings import services as meetings, venues
from app.shared.database import utcnow
from app.subscriptions.models import Subscriber
app = create_app()
with app.test_request_context():
    upgrade()
    db.session.execute(sa.insert(Subscriber), [
        {"email": f"person{n}@example.org", "name": f"Person {n}", "language": "de",
         "status": "active", "source": "import", "hard_bounces": 0} for n in range(1000)])
    for number, district in enumerate(["Mitte", "Nord", "Ost", "Süd", "West", "Vaihingen",
                                       "Feuerbach", "Möhringen"]):
        venue = venues.add_venue(actor="bench", name=f"Haus {district}",
                                 address=f"Weg {number}", district=district)
        start = utcnow() + timedelta(days=30 + 90 * number)
        meeting = meetings.create(actor="bench", start=start, end=start + timedelta(hours=2),
                                  district=district, venue_id=venue.id, topic=f"Thema {number}",
                                  description="Wir sprechen über **Nachbarschaft**.")
        meetings.announce(meeting, actor="bench")
    db.session.commit()
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                   capture_output=True)


def serve(env: dict, port: int, app: str | None = None) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "gunicorn"), "-c",
               str(ROOT / "deploy" / "gunicorn.conf.py")] + ([app] if app else [])
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")


def wrk(url: str, seconds: int, connections: int, *args: str) -> tuple[float, float]:
    """Requests per second and p99 latency in milliseconds."""
    output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                             *args, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    if re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise SystemExit(f"{url}: some answers were errors\n{output}")
    return rate, p99


def pages(base: str, workdir: Path) -> dict[str, tuple[str, list[str]]]:
    """Name -> (URL, extra wrk arguments) of each page measured."""
    page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    etag = urllib.request.urlopen(base + "/kalender.ics", timeout=5).headers["ETag"]
    script = workdir / "post.lua"
    script.write_text(POST_SCRIPT % token)
    return {"home page /": (base + "/", []), "/treffen": (base + "/treffen", []),
            "feed, full": (base + "/kalender.ics", []),
            "feed, 304": (base + "/kalender.ics", ["-H", f"If-None-Match: {etag}"]),
            "widget JSON": (base + "/api/treffen.json", []),
            "subscribe POST": (base + "/", ["-s", str(script)])}


def measure(hello: str, base: str, args, workdir: Path) -> tuple[list, dict]:
    """hello, page, hello, page, …, hello: each page against the mean of the hello
    runs just before and after it (this machine's speed drifts within a run)."""
    hellos = [wrk(hello, args.seconds, args.connections)]
    results = {}
    for name, (url, extra) in pages(base, workdir).items():
        rate, p99 = wrk(url, args.seconds, args.connections, *extra)
        hellos.append(wrk(hello, args.seconds, args.connections))
        anchor = (hellos[-2][0] + hellos[-1][0]) / 2
        results[name] = (rate, p99, anchor)
    return hellos, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        workdir = Path(workdir)
        if args.postgres:
            context = fresh_postgres(args.postgres)
        else:
            from contextlib import nullcontext
            context = nullcontext(f"sqlite:///{workdir / 'bench.sqlite3'}")
        with context as database:
            hello_port, port = free_port(), free_port()
            env = environment(database, port)
            setup(env)
            servers = [serve(environment(database, hello_port), hello_port, "bench.hello:app"),
                       serve(env, port)]
            try:
                hellos, results = measure(f"http://127.0.0.1:{hello_port}/",
                                          f"http://127.0.0.1:{port}", args, workdir)
            finally:
                for server in servers:
                    server.terminate()
                    server.wait()
    print(f"gunicorn, 2 workers x 2 threads; wrk 2 threads, {args.connections} connections, "
          f"{args.seconds} s each; {'PostgreSQL' if args.postgres else 'SQLite'}")
    rates = [rate for rate, _p99 in hellos]
    print(f"{'hello (the baseline)':<22} {min(rates):.0f}-{max(rates):.0f} req/s over "
          f"{len(rates)} runs, p99 up to {max(p99 for _rate, p99 in hellos):.1f} ms")
    for name, (rate, p99, anchor) in results.items():
        print(f"{name:<22} {rate:8.0f} req/s  p99 {p99:7.1f} ms  hello beside it "
              f"{anchor:6.0f} req/s  ratio {rate / anchor:.2f}")


if __name__ == "__main__":
    main()
