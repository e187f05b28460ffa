"""``doctor``: is this installation ready for production? ``backup`` and
``restore``: all data as one portable file."""

import gzip

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..shared.errors import UserError
from . import backup, health


@click.command("doctor", help="Check settings, database, mail, DKIM, rate limits and worker.")
@with_appcontext
def doctor():
    """One line per check with what to do; exit status 1 when any check fails."""
    checks = health.doctor()
    for check in checks:
        click.echo(check.line())
    failed = [check.name for check in checks if check.state == health.FAIL]
    if failed:
        raise click.ClickException(f"{len(failed)} checks failed: {', '.join(failed)}")


@click.command("backup", help="Write all data to FILE (JSON lines; gzip for a .gz name).")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(file):
    try:
        with backup.open_file(file, "w") as out:
            counts = backup.write(out)
    except OSError as error:
        raise click.ClickException(f"cannot write {file}: {error.strerror}") from None
    click.echo(f"backup: {sum(counts.values())} rows of {len(counts)} tables in {file}")


@click.command("restore", help="Read a backup FILE into this (empty, migrated) database.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(file):
    try:
        with backup.open_file(file, "r") as source:
            counts = backup.read(source)
        db.session.commit()
    except (UserError, OSError, EOFError, gzip.BadGzipFile) as error:
        db.session.rollback()
        message = str(error) if isinstance(error, UserError) else \
            f"cannot read {file}: {getattr(error, 'strerror', None) or error}"
        raise click.ClickException(message) from None
    click.echo(f"restored: {sum(counts.values())} rows of {len(counts)} tables from {file}")
