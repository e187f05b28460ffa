"""Limits on anything that sends mail, backed by the ``limits`` library.

The storage is ``RATELIMIT_STORAGE_URI``: ``memory://`` for one process,
``redis://...`` when several web processes must share the counts.
"""

from flask import current_app
from limits import parse, storage, strategies


def _limiter() -> strategies.RateLimiter:
    extension = current_app.extensions.get("vernetzer.ratelimit")
    if extension is None:
        backend = storage.storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        extension = strategies.MovingWindowRateLimiter(backend)
        current_app.extensions["vernetzer.ratelimit"] = extension
    return extension


def allow(setting: str, *keys: str) -> bool:
    """Count one hit against the limit named by config ``setting``; False once exceeded."""
    return hit(current_app.config[setting], setting, *keys)


def hit(limit: str, *keys: str) -> bool:
    """Count one hit against ``limit`` (such as "30/minute"); False once exceeded."""
    return _limiter().hit(parse(limit), *keys)
