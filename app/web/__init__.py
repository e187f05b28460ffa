"""Blueprints: one module per area. Views are thin: they read the request, call a
service, commit and render."""

from flask import request


def client_ip() -> str | None:
    """The visitor's address as the WSGI server saw it (behind a proxy: ProxyFix)."""
    return request.remote_addr


def user_agent() -> str | None:
    return request.headers.get("User-Agent")


def status_label(value) -> str:
    """A status (of a meeting or a subscriber) in words for people."""
    from flask_babel import gettext as _

    labels = {
        "draft": _("draft"), "announced": _("announced"), "cancelled": _("cancelled"),
        "held": _("held"), "pending": _("not confirmed yet"), "active": _("active"),
        "unsubscribed": _("unsubscribed"), "bounced": _("undeliverable"),
        "scheduled": _("scheduled"), "sent": _("sent"),
    }
    return labels.get(str(value), str(value))


def kind_label(kind: str) -> str:
    """A kind of mail in words for people."""
    from flask_babel import gettext as _

    labels = {
        "confirm": _("Confirmations"), "welcome": _("Welcome mails"),
        "signin": _("Sign-in links"), "invitation": _("Invitations"),
        "update": _("Updates"), "reminder": _("Reminders"),
        "cancellation": _("Cancellations"), "announcement": _("Topic announcements"),
    }
    return labels.get(kind, kind)
