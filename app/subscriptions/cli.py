"""``subscribers import|export|unsubscribe|erase``: the list on the
command line. Every change is recorded in the audit log with the actor "cli"."""

import sys

import click

from ..extensions import db
from ..shared.audit import CLI
from ..shared.commands import Commands
from . import csv_io
from . import services as subscribers

group = Commands("subscribers", help="Manage the distribution list.")


@group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--apply", "do_apply", is_flag=True, help="Write the new people (default: only report).")
@click.option("--consent-note", help="How these people agreed to be on the list (needed to import them as active).")
@click.option("--confirm-by-mail", is_flag=True, help="Import as pending and send each a confirmation mail.")
def import_(file, do_apply, consent_note, confirm_by_mail):
    """Import FILE (CSV from a mail client or Excel). Without --apply nothing changes."""
    file = csv_io.seekable(file)
    report = csv_io.preview(file)
    for line, reason in report.invalid_lines:
        click.echo(f"line {line}: invalid: {reason}")
    if report.invalid > len(report.invalid_lines):
        click.echo(f"... and {report.invalid - len(report.invalid_lines)} more invalid lines")
    click.echo(f"new: {report.new}, already known: {report.known}, invalid: {report.invalid}")
    if not do_apply:
        click.echo("Nothing changed (use --apply to import).")
        return
    added = csv_io.apply(file, consent_note=consent_note, confirm_by_mail=confirm_by_mail,
                         actor=CLI)
    db.session.commit()
    state = "pending, confirmation mail queued" if confirm_by_mail else "active"
    click.echo(f"imported: {added} ({state})")


@group.command("export")
@click.option("--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
def export(output):
    """Export every subscriber as CSV (Excel-readable: UTF-8 with BOM, semicolons)."""
    if output:
        with open(output, "w", encoding="utf-8", newline="") as stream:
            count = csv_io.export(stream, actor=CLI)
        click.echo(f"exported: {count} to {output}", err=True)
    else:
        csv_io.export(sys.stdout, actor=CLI)
    db.session.commit()


@group.command("unsubscribe")
@click.argument("email")
def unsubscribe(email):
    """Take EMAIL off the list (for example when someone asks by phone)."""
    subscriber = subscribers.unsubscribe_for(email, actor=CLI)
    db.session.commit()
    click.echo(f"unsubscribed: {subscriber.email}")


@group.command("erase")
@click.argument("email")
def erase(email):
    """Delete one person completely: subscription, consent history, queued and sent mails."""
    subscribers.erase(email, actor=CLI)
    db.session.commit()
    click.echo(f"erased: {email}")
