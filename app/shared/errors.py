"""The one exception for input a person has to correct."""


class UserError(ValueError):
    """Input a person has to correct; ``str()`` is a translated message for them.

    Services raise it before they change anything. Pages show it (``shared.web``),
    the command line prints it as one line and exits non-zero (``shared.commands``).
    ``fields`` holds one message per form field when several are wrong at once
    (``Problems``): pages show each next to its field, the command line all in its
    one line.
    """

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None):
        self.fields = dict(fields or {})
        super().__init__(message or " ".join(self.fields.values()))


class Problems:
    """Every field's error of one input, reported together: ``check`` runs one
    validation and keeps its error under the field's name (returning None then);
    ``done`` raises them all as one ``UserError``."""

    def __init__(self):
        self.fields: dict[str, str] = {}

    def check(self, name: str, validate, *args, **kwargs):
        try:
            return validate(*args, **kwargs)
        except UserError as error:
            self.add(name, str(error))
            return None

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def done(self) -> None:
        if self.fields:
            raise UserError(fields=self.fields)
