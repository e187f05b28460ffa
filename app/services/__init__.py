"""Domain services: the rules of the network, called alike by views, CLI and jobs.

They know nothing of HTTP. They do not commit; the caller owns the transaction.
"""


class InvalidInput(ValueError):
    """Input a person has to correct; ``str()`` is a translated message for them."""


def by_id(model, value):
    """The row of ``model`` with the ID a person gave (as text), or None."""
    from ..extensions import db

    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    # Beyond the database's integer range there is nothing (and PostgreSQL would fail).
    return db.session.get(model, number) if 0 < number < 2**31 else None
