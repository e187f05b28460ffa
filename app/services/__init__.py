"""Domain services: the rules of the network, called alike by views, CLI and jobs.

They know nothing of HTTP. They do not commit; the caller owns the transaction.
"""


class InvalidInput(ValueError):
    """Input a person has to correct; ``str()`` is a translated message for them."""
