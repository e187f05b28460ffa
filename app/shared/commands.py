"""What every domain's commands share: one way to report a user error.

Each domain's command group is a ``Commands`` group: its commands run in an app
context, and a ``UserError`` anywhere in them rolls the transaction back and ends
the command with one line and exit status 1.
"""

import click
from flask.cli import AppGroup

from .errors import UserError


class Commands(AppGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as error:
            # The app context has ended by now, and with it the session: rolled back.
            raise click.ClickException(str(error)) from None
