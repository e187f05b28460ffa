"""``outbox status|drain``: the mails waiting to be sent, and what became of them."""

import time

import click

from ..shared.commands import Commands
from . import outbox, sender

group = Commands("outbox", help="The mails waiting to be sent, and what became of them.")


@group.command("status", help="Per send: queued, sending, sent, failed (with the SMTP answer), and how long "
                                 "it took.")
def status():
    sends = outbox.status()
    if not sends:
        click.echo("the outbox is empty")
    for send in sends:
        about = f" meeting {send['meeting_id']}" if send["meeting_id"] else ""
        sequence = f" (sequence {send['sequence']})" if send["sequence"] is not None else ""
        took = (f", took {send['duration'].total_seconds():.1f} s" if send["duration"]
                is not None else "")
        click.echo(f"{send['kind']}{about}{sequence}: queued {send['queued']}, "
                   f"sending {send['sending']}, sent {send['sent']}, failed {send['failed']}, "
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
