"""``subscribers import|export|erase``: the list on the command line."""

import sys

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..models import ConsentSource
from ..services import InvalidInput, audit, outbox, subscriber_csv, subscribers
from . import fail


@click.group("subscribers", help="Manage the distribution list.")
def group():
    pass


@group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--apply", "do_apply", is_flag=True, help="Write the new people (default: only report).")
@click.option("--consent-note", help="How these people agreed to be on the list (needed to import them as active).")
@click.option("--confirm-by-mail", is_flag=True, help="Import as pending and send each a confirmation mail.")
@with_appcontext
def import_(file, do_apply, consent_note, confirm_by_mail):
    """Import FILE (CSV from a mail client or Excel). Without --apply nothing changes."""
    try:
        report = subscriber_csv.preview(file.read())
        for line, reason in report.invalid:
            click.echo(f"line {line}: invalid: {reason}")
        click.echo(f"new: {len(report.new)}, already known: {len(report.known)}, "
                   f"invalid: {len(report.invalid)}")
        if not do_apply:
            click.echo("Nothing changed (use --apply to import).")
            return
        added = subscriber_csv.apply(report, consent_note=consent_note,
                                     confirm_by_mail=confirm_by_mail)
    except InvalidInput as error:
        db.session.rollback()
        fail(error)
    outbox.commit_and_deliver()
    state = "pending, confirmation mail queued" if confirm_by_mail else "active"
    click.echo(f"imported: {added} ({state})")


@group.command("export")
@click.option("--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
@with_appcontext
def export(output):
    """Export every subscriber as CSV (Excel-readable: UTF-8 with BOM, semicolons)."""
    if output:
        with open(output, "w", encoding="utf-8", newline="") as stream:
            count = subscriber_csv.export(stream)
        click.echo(f"exported: {count} to {output}", err=True)
    else:
        subscriber_csv.export(sys.stdout)


@group.command("unsubscribe")
@click.argument("email")
@with_appcontext
def unsubscribe(email):
    """Take EMAIL off the list (for example when someone asks by phone)."""
    try:
        subscriber = subscribers.find_by_email(subscribers.normalise_email(email))
    except InvalidInput as error:
        fail(error)
    if subscriber is None:
        fail(f"unknown address: {email}")
    subscribers.unsubscribe(subscriber, ConsentSource.ORGANISER)
    audit.record("cli", "subscriber.unsubscribe", f"subscriber {subscriber.id}")
    db.session.commit()
    click.echo(f"unsubscribed: {subscriber.email}")


@group.command("unsubscribe-mail")
@click.argument("file", type=click.File("rb"), default="-")
@with_appcontext
def unsubscribe_mail(file):
    """Act on a mail to the List-Unsubscribe address, read from FILE or standard input
    (for a mail server's pipe, e.g. an alias "| vernetzer subscribers unsubscribe-mail")."""
    try:
        subscriber = subscribers.unsubscribe_by_mail(file.read(1_000_000))
    except InvalidInput as error:
        fail(error)
    db.session.commit()
    click.echo(f"unsubscribed: {subscriber.email}")


@group.command("erase")
@click.argument("email")
@with_appcontext
def erase(email):
    """Delete one person completely: subscription, consent history, queued and sent mails."""
    try:
        found = subscribers.erase(email)
    except InvalidInput as error:
        fail(error)
    if not found:
        fail(f"unknown address: {email}")
    db.session.commit()
    click.echo(f"erased: {email}")
