"""The worker process: APScheduler runs the jobs of ``SCHEDULE`` on their intervals."""

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from . import SCHEDULE

log = logging.getLogger(__name__)


def _in_app_context(app, function):
    def run():
        with app.app_context():
            try:
                return function()
            except Exception:
                log.exception("job %s failed; it runs again on its next turn", function.__name__)
                raise

    run.__name__ = function.__name__
    return run


def build_scheduler(app) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="Europe/Berlin")
    for name, (function, seconds) in SCHEDULE.items():
        # coalesce + max_instances=1: a slow run is never doubled up within this process.
        scheduler.add_job(_in_app_context(app, function), "interval", seconds=seconds, id=name,
                          coalesce=True, max_instances=1, next_run_time=datetime.now(UTC))
    return scheduler

