"""``organisers add|list|deactivate|activate|role``: organiser accounts on the
command line."""

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


@group.command("list")
def list_():
    """Every organiser: address, role, active or not."""
    for organiser in accounts.listing():
        state = "active" if organiser.active else "deactivated"
        click.echo(f"{organiser.email}\t{organiser.role.value}\t{state}")


@group.command("deactivate")
@click.argument("email")
def deactivate(email):
    """Deactivate an organiser: their sessions and sign-in links end at once."""
    organiser = accounts.set_active(email, False, actor=CLI)
    db.session.commit()
    click.echo(f"deactivated: {organiser.email}")


@group.command("activate")
@click.argument("email")
def activate(email):
    """Let a deactivated organiser sign in again."""
    organiser = accounts.set_active(email, True, actor=CLI)
    db.session.commit()
    click.echo(f"activated: {organiser.email}")


@group.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(["organiser", "admin"]))
def role(email, role):
    """Change an organiser's role; their sessions end, they sign in again."""
    organiser = accounts.set_role(email, role, actor=CLI)
    db.session.commit()
    click.echo(f"{organiser.email}: {organiser.role.value}")
