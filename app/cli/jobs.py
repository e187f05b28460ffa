"""``worker`` and ``jobs run-due``: the scheduled work."""

import signal

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker", help="Run the scheduled jobs (a separate process from the web server).")
@with_appcontext
def worker():
    from jobs.worker import build_scheduler

    scheduler = build_scheduler(current_app._get_current_object())
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    click.echo("worker started", err=True)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@click.group("jobs", help="Scheduled jobs.")
def group():
    pass


@group.command("run-due", help="Run every job that is due now, once, and exit.")
@with_appcontext
def run_due():
    import jobs

    for name, result in jobs.run_due().items():
        click.echo(f"{name}: {result}")
