"""Blueprints: one module per area. Views are thin: they read the request, call a
service, commit and render."""

from flask import request


def client_ip() -> str | None:
    """The visitor's address as the WSGI server saw it (behind a proxy: ProxyFix)."""
    return request.remote_addr


def user_agent() -> str | None:
    return request.headers.get("User-Agent")
