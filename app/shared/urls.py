"""Links that leave the service (mails, calendar files), built from the routes.

``external_url`` is ``url_for(..., _external=True)`` against the configured
``BASE_URL`` instead of the current request, so it works in the worker and on the
command line too, and renaming a route cannot break a link in a mail.
"""

from urllib.parse import urlsplit

from flask import current_app


def _adapter():
    adapter = current_app.extensions.get("vernetzer.url_adapter")
    if adapter is None:
        base = urlsplit(current_app.config["BASE_URL"])
        adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                           url_scheme=base.scheme)
        current_app.extensions["vernetzer.url_adapter"] = adapter
    return adapter


def external_url(endpoint: str, **values) -> str:
    """The absolute address of ``endpoint`` with ``values``, under ``BASE_URL``."""
    return _adapter().build(endpoint, values, force_external=True)


def mail_domain() -> str:
    """The service's own domain, for Message-IDs and calendar UIDs."""
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def webcal(url: str) -> str:
    """A feed's address as a ``webcal://`` link, which calendar apps subscribe to
    (where the https address would download a file to import once)."""
    return "webcal://" + url.split("://", 1)[1]
