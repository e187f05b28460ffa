"""``outbox status|drain``: the mails waiting to be sent, and what became of them."""

import time

import click
from flask_babel import format_datetime

from ..shared.commands import Commands
from . import outbox, sender

group = Commands("outbox", help="The mails waiting to be sent, and what became of them.")


@group.command("status", help="One line per send: sent, queued, retrying, sending, failed (with the "
                                 "SMTP answer), dropped; how long it took or when it should end.")
def status():
    until = outbox.paused_until()
    if until is not None:
        click.echo(f"sending paused until {format_datetime(until, 'short')}: the relay said "
                   "it has had enough for now")
    sends = outbox.status()
    if not sends:
        click.echo("the outbox is empty")
    for send in sends:
        about = f" meeting {send['meeting_id']}" if send["meeting_id"] else ""
        sequence = f" (sequence {send['sequence']})" if send["sequence"] is not None else ""
        took = ""
        if send["expected_end"] is not None:
            took = f", expected end {format_datetime(send['expected_end'], 'short')}"
        elif send["last_sent"] is not None and not send["waiting"]:
            took = f", took {(send['last_sent'] - send['created']).total_seconds():.1f} s"
        click.echo(f"{send['kind']}{about}{sequence}: sent {send['sent']}, "
                   f"queued {send['queued']}, retrying {send['retrying']}, "
                   f"sending {send['sending']}, failed {send['failed']}, "
                   f"dropped {send['dropped']}{took}")
        for recipient, error in send["failures"]:
            click.echo(f"  failed: {recipient}: {error}")


@group.command("drain", help="Send everything that is due now, then exit.")
@click.option("--until-empty", is_flag=True,
              help="Keep going until nothing is queued or being sent (waits for retries).")
@click.option("--timeout", default=600, show_default=True, type=click.IntRange(1),
              help="With --until-empty: give up after this many seconds.")
def drain(until_empty, timeout):
    deadline = time.monotonic() + timeout
    total = sender.drain()
    while until_empty and outbox.pending() and time.monotonic() < deadline:
        time.sleep(0.5)
        total += sender.drain()
    click.echo(f"sent: {total}")
    if until_empty and outbox.pending():
        raise click.ClickException(f"still pending after {timeout} s: {outbox.pending()}")
