"""``worker`` and ``jobs run-due``: the scheduled work on the command line.

Registered with Flask through the ``flask.commands`` entry points in
pyproject.toml, so that the ``app`` package never imports ``jobs``.
"""

import contextlib
import signal

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import run_due as run_every_job
from .worker import build_scheduler


@click.command("worker", help="Run the scheduled jobs (a separate process from the web server).")
@with_appcontext
def worker():
    scheduler = build_scheduler(current_app._get_current_object())
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    click.echo("worker started", err=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


group = AppGroup("jobs", help="Scheduled jobs.")


@group.command("run-due", help="Run every job that is due now, once, and exit.")
def run_due():
    for name, result in run_every_job().items():
        click.echo(f"{name}: {result}")
