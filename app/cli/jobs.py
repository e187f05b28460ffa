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


@click.group("outbox", help="The mails waiting to be sent, and what became of them.")
def outbox_group():
    pass


@outbox_group.command("status", help="Per send: queued, sending, sent, failed (with the SMTP answer).")
@with_appcontext
def status():
    from ..services import outbox

    sends = outbox.status()
    if not sends:
        click.echo("the outbox is empty")
    for send in sends:
        about = f" meeting {send['meeting_id']}" if send["meeting_id"] else ""
        sequence = f" (sequence {send['sequence']})" if send["sequence"] is not None else ""
        click.echo(f"{send['kind']}{about}{sequence}: queued {send['queued']}, "
                   f"sending {send['sending']}, sent {send['sent']}, failed {send['failed']}, "
                   f"dropped {send['dropped']}")
        for recipient, error in send["failures"]:
            click.echo(f"  failed: {recipient}: {error}")


@outbox_group.command("drain", help="Send everything that is due now, then exit.")
@click.option("--until-empty", is_flag=True,
              help="Keep going until nothing is queued or being sent (waits for retries).")
@click.option("--timeout", default=600, show_default=True, type=click.IntRange(1),
              help="With --until-empty: give up after this many seconds.")
@with_appcontext
def drain(until_empty, timeout):
    import time

    from jobs.delivery import drain_outbox

    from ..services import outbox

    deadline = time.monotonic() + timeout
    total = drain_outbox()
    while until_empty and outbox.pending() and time.monotonic() < deadline:
        time.sleep(0.5)
        total += drain_outbox()
    click.echo(f"sent: {total}")
    if until_empty and outbox.pending():
        raise click.ClickException(f"still pending after {timeout} s: {outbox.pending()}")
