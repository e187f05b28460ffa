#!/usr/bin/env python3
"""Benchmark: a mailing through a rationed mailbox, with sign-ups arriving meanwhile.

    .venv/bin/python bench/quota.py [--mails 1000] [--amount 100] [--window 36]
                                    [--signup-every 6] [--postgres URL] [--quota-off] [--share 10]

The relay (``bench/quota_relay.py``) takes ``--amount`` mails per window and answers
``450 4.7.0 … limit exceeded`` beyond, until the window turns. Time is compressed:
a window of ``--window`` seconds stands for an hour. A real worker process sends an
invitation to ``--mails`` members with ``FLASK_MAIL_QUOTA`` set to the relay's
ration (``--quota-off``: not set, as a volunteer might leave it), while a person
signs up every ``--signup-every`` seconds. Printed: the share of the ration used in
the windows between the first and the last mail (used against offered), how long
each confirmation waited (real seconds, and in the simulated hour's seconds), rows
failed, bounces counted, the relay's refusals.
"""

import argparse
import math
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.invite import free_port, fresh_postgres, make_app, setup  # noqa: E402
from bench.quota_relay import QuotaRelay, start  # noqa: E402


def worker(database: str, port: int, quota: str | None, share: int):
    import os
    import subprocess

    env = {**os.environ, "FLASK_SECRET_KEY": "bench", "FLASK_SQLALCHEMY_DATABASE_URI": database,
           "FLASK_MAIL_PORT": str(port), "FLASK_BASE_URL": "https://vernetzer.example",
           "FLASK_OUTBOX_POLL_SECONDS": "0.05", "FLASK_OUTBOX_RETRY_BASE_SECONDS": "1",
           "FLASK_SKIP_DOTENV": "1", "FLASK_LOG_REQUESTS": "false",
           "FLASK_MAIL_QUOTA_PERSONAL_SHARE": str(share)}
    if quota:
        env["FLASK_MAIL_QUOTA"] = quota
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker",
                             "--send-only"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def run(args, database: str) -> None:
    import sqlalchemy as sa

    from app.delivery.models import OutboxMessage
    from app.extensions import db
    from app.meetings import invitations
    from app.subscriptions import services as subscriptions
    from app.subscriptions.models import Subscriber

    setup(args.mails, database)
    handler = QuotaRelay(args.amount, args.window)
    port = free_port()
    relay = start(handler, port)
    app = make_app(database, port)
    with app.test_request_context():
        invitations.queue_invitations()
        db.session.commit()
    quota = None if args.quota_off else f"{args.amount} per {args.window} seconds"
    process = worker(database, port, quota, args.share)
    signups: dict[str, float] = {}
    began = time.time()
    try:
        with app.test_request_context():
            while True:
                arrived = Counter(address.startswith("person") for _t, address, _m
                                  in handler.received)
                if arrived[True] >= args.mails and len(signups) == arrived[False]:
                    break
                if time.time() - began > args.timeout:
                    raise SystemExit("not all sent in time")
                # Sign-ups from the first invitation on (the worker process has started).
                if 0 < arrived[True] < args.mails and time.time() - began >= len(signups) * \
                        args.signup_every:
                    address = f"neu{len(signups)}@example.org"
                    subscriptions.subscribe(address, ip=None, user_agent=None)
                    db.session.commit()
                    signups[address] = time.time()
                time.sleep(0.02)
            failed = db.session.scalar(sa.select(sa.func.count()).where(
                OutboxMessage.status == "failed"))
            bounces = db.session.scalar(sa.select(sa.func.sum(Subscriber.hard_bounces)))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        relay.stop()
        with app.app_context():
            db.engine.dispose()
    times = [at for at, _address, _m in handler.received]
    windows = Counter(int(at // args.window) for at in times)
    full = sorted(windows)[1:-1]  # the first and the last window are partly used
    used = sum(windows[w] for w in full)
    offered = args.amount * len(full)
    waits = sorted(at - signups[address] for at, address, _m in handler.received
                   if address in signups)
    hour = 3600 / args.window
    p99 = waits[min(len(waits) - 1, math.ceil(0.99 * len(waits)) - 1)]
    print(f"relay: {args.amount} per {args.window} s (one simulated hour); "
          f"quota {'not set' if args.quota_off else 'set to it'}, personal share "
          f"{args.share} %; "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"list mails {args.mails}, sign-ups {len(signups)}, relay refusals {handler.refused}, "
          f"took {times[-1] - times[0]:.0f} s")
    print(f"share of the ration used in {len(full)} full windows: {used} / {offered} = "
          f"{used / offered:.3f}" if offered else "fewer than three windows: no share")
    print(f"confirmation wait: p50 {statistics.median(waits):.2f} s, p99 {p99:.2f} s, "
          f"max {waits[-1]:.2f} s (simulated: p50 {statistics.median(waits) * hour:.0f} s, "
          f"p99 {p99 * hour:.0f} s)")
    print(f"rows failed: {failed}, bounces counted: {bounces or 0}")
    slowest = sorted(((at - signups[address], signups[address] % args.window)
                      for at, address, _m in handler.received if address in signups),
                     reverse=True)[:3]
    print("slowest confirmations (wait, seconds into the relay's window when signed up): "
          + ", ".join(f"{wait:.2f} s at {phase:.1f} s" for wait, phase in slowest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--amount", type=int, default=100)
    parser.add_argument("--window", type=int, default=36)
    parser.add_argument("--signup-every", type=float, default=6.0)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--quota-off", action="store_true")
    parser.add_argument("--share", type=int, default=10,
                        help="FLASK_MAIL_QUOTA_PERSONAL_SHARE, per cent")
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    if args.postgres:
        with fresh_postgres(args.postgres) as url:
            run(args, url)
    else:
        with tempfile.TemporaryDirectory() as workdir:
            run(args, f"sqlite:///{Path(workdir) / 'quota'}.sqlite3")


if __name__ == "__main__":
    main()
