"""``flask inbound``: one mail from standard input, for a mail server's pipe
(e.g. an alias ``einladung: "|/srv/vernetzer/.venv/bin/flask --app app inbound"``)."""

import sys

import click
from flask.cli import with_appcontext

from ..extensions import db
from . import services

EX_TEMPFAIL = 75  # sysexits.h: the mail server keeps the mail and tries again


@click.command("inbound")
@with_appcontext
def receive():
    """Handle one mail from standard input. Exit 0 once it is handled or kept for
    organisers; 75 (the mail server retries) when it could not be stored."""
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise click.UsageError("no mail on standard input")
    try:
        record = services.receive(raw)
        db.session.commit()
    except Exception as error:  # the mail server keeps the mail and retries
        db.session.rollback()
        click.echo(f"inbound: not stored, try again later ({type(error).__name__}: {error})",
                   err=True)
        sys.exit(EX_TEMPFAIL)
    if record is None:
        click.echo("already received")
    else:
        click.echo(f"{record.status.value} ({record.kind.value}): {record.note}")
