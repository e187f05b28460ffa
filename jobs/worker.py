"""The worker process: APScheduler runs the jobs of ``SCHEDULE`` on their intervals
in the background, and the outbox's senders send in the foreground until stopped."""

import threading
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from app.delivery import sender

from . import SCHEDULE


def _in_app_context(app, function):
    """Each run gets an app context (and so a database session) of its own. A failing
    run is logged by APScheduler, rolled back, and the job runs again on its next turn."""
    def run():
        with app.app_context():
            return function()

    run.__name__ = function.__name__
    return run


def build_scheduler(app) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="Europe/Berlin")
    for name, (function, seconds) in SCHEDULE.items():
        # coalesce + max_instances=1: a slow run is never doubled up within this process.
        scheduler.add_job(_in_app_context(app, function), "interval", seconds=seconds, id=name,
                          coalesce=True, max_instances=1, next_run_time=datetime.now(UTC))
    return scheduler


def run(app, stop: threading.Event, *, jobs: bool = True) -> None:
    """The scheduled jobs (unless ``jobs`` is off) and the senders, until ``stop``."""
    scheduler = build_scheduler(app) if jobs else None
    if scheduler is not None:
        scheduler.start()
    try:
        sender.serve(app, stop)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
