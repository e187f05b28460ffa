"""The list's own mails (the double opt-in confirmation, the welcome) and each
member's personal links, which every mail to the list carries."""

import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..delivery import outbox
from ..delivery.compose import compose
from ..shared.tokens import address_fingerprint, make_token
from ..shared.urls import external_url, webcal
from .models import Subscriber


def personal_token(subscriber_id: int, address: str, *, meeting_id: int | None = None) -> str:
    """The member's one token for the links of a list mail: unsubscribing, their
    preferences and, in a mail about a meeting, answering (``rsvp``)."""
    payload = {"s": subscriber_id, "h": address_fingerprint(address)}
    if meeting_id is None:
        return make_token(("unsubscribe", "preferences"), payload)
    return make_token(("unsubscribe", "preferences", "rsvp"), {**payload, "m": meeting_id})


def list_links(token: str) -> dict[str, str]:
    """The personal links of a list mail, from the member's token."""
    return {
        "unsubscribe_token": token,
        "unsubscribe_url": external_url("subscriptions.unsubscribe", token=token),
        "preferences_url": external_url("subscriptions.preferences", token=token),
    }


def subscriber_links(subscriber: Subscriber) -> dict[str, str]:
    return list_links(personal_token(subscriber.id, subscriber.email))


def calendar_links() -> dict[str, str]:
    """The feed's https and webcal addresses, for subscribing in a calendar app."""
    feed = external_url("meetings.feed")
    return {"calendar_url": feed, "webcal_url": webcal(feed)}


def _personal_mail(template: str, subject, subscriber: Subscriber, *, named: bool = True,
                   **context):
    """A mail to one subscriber, in their language, with their personal links;
    ``named=False``: without their name (it may be a stranger's text)."""
    return compose(template, subject, address=subscriber.email,
                   name=subscriber.name if named else None,
                   language=subscriber.language,
                   sender=current_app.config["MAIL_DEFAULT_SENDER"],
                   links=subscriber_links(subscriber), **context)


def send_confirmation(subscriber: Subscriber, consent_version: str) -> None:
    """The double opt-in mail: strictly neutral, only the confirmation link. It
    carries nothing anyone typed (not even the name): whoever signs up can give
    any address."""
    token = make_token(
        "confirm", {"s": subscriber.id, "n": subscriber.confirm_nonce, "v": consent_version}
    )
    message = _personal_mail(
        "confirm", _l("Please confirm your subscription"), subscriber, named=False,
        confirm_url=external_url("subscriptions.confirm", token=token),
        valid_days=current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400,
    )
    outbox.enqueue(message, key=f"confirm:{subscriber.id}:{secrets.token_hex(8)}",
                   kind="confirm", subscriber_id=subscriber.id)


def send_welcome(subscriber: Subscriber) -> None:
    message = _personal_mail(
        "welcome", _l("Welcome to the Stadtteilvernetzer distribution list"), subscriber,
        **calendar_links(),
    )
    outbox.enqueue(message,
                   key=f"welcome:{subscriber.id}:{subscriber.confirmed_at:%Y%m%dT%H%M%S}",
                   kind="welcome", subscriber_id=subscriber.id)


def send_already_subscribed(subscriber: Subscriber) -> None:
    """To an active member who signed up again: nothing changed, here are your settings."""
    message = _personal_mail("already_subscribed", _l("You are on the list already"),
                             subscriber)
    outbox.enqueue(message, key=f"again:{subscriber.id}:{secrets.token_hex(8)}",
                   kind="again", subscriber_id=subscriber.id)
