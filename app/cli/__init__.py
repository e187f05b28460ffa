"""Command line: ``flask --app app COMMAND`` or ``vernetzer COMMAND``.

Every command validates its input first and fails with one line and exit code 1.
"""

import click
from flask.cli import FlaskGroup


def register_commands(app) -> None:
    from . import jobs, meetings, serve, subscribers

    app.cli.add_command(subscribers.group)
    app.cli.add_command(meetings.meetings)
    app.cli.add_command(meetings.venues)
    app.cli.add_command(meetings.organisers)
    app.cli.add_command(jobs.group)
    app.cli.add_command(jobs.worker)
    app.cli.add_command(jobs.outbox_group)
    app.cli.add_command(serve.serve)


def main() -> None:
    from .. import create_app

    FlaskGroup(create_app=create_app, help="vernetzer: the Stadtteilvernetzer service.")(
        prog_name="vernetzer"
    )


def fail(message: str) -> None:
    """Stop a command with one clear line and a non-zero exit."""
    raise click.ClickException(str(message))
