"""``organisers add``: organiser accounts on the command line."""

import click

from ..extensions import db
from ..shared.audit import CLI
from ..shared.commands import Commands
from . import services as accounts

group = Commands("organisers", help="Manage organiser accounts.")


@group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["organiser", "admin"]), default="organiser",
              show_default=True)
@click.option("--name")
def add(email, role, name):
    """Add an organiser, who can then sign in with a link sent by mail."""
    organiser = accounts.add(email, role=role, name=name, actor=CLI)
    db.session.commit()
    click.echo(f"added: {organiser.email} ({organiser.role.value})")
