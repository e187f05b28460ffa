"""The one exception for input a person has to correct."""


class UserError(ValueError):
    """Input a person has to correct; ``str()`` is a translated message for them.

    Services raise it before they change anything. Pages show it (``shared.web``),
    the command line prints it as one line and exits non-zero (``shared.cli``).
    """
