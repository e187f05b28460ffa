"""``worker`` and ``jobs run-due``: the scheduled work on the command line.

Registered with Flask through the ``flask.commands`` entry points in
pyproject.toml, so that the ``app`` package never imports ``jobs``.
"""

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import run_due as run_every_job
from .worker import run


@click.command("worker", help="Send mail and run the scheduled jobs "
                              "(a separate process from the web server).")
@click.option("--send-only", is_flag=True, help="Only send mail; no scheduled jobs.")
@with_appcontext
def worker(send_only):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo("worker started", err=True)
    run(current_app._get_current_object(), stop, jobs=not send_only)


group = AppGroup("jobs", help="Scheduled jobs.")


@group.command("run-due", help="Run every job that is due now, once, and exit.")
def run_due():
    for name, result in run_every_job().items():
        click.echo(f"{name}: {result}")
