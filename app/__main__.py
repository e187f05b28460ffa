"""The ``vernetzer`` command (and ``python -m app``): the same as ``flask --app app``.

Its own module, which the app factory never imports: ``serve`` (a command the
factory registers) must not import the factory back."""

from flask.cli import FlaskGroup

from . import create_app


def main() -> None:
    FlaskGroup(create_app=create_app, help="vernetzer: the Stadtteilvernetzer service.")(
        prog_name="vernetzer")


if __name__ == "__main__":
    main()
