"""Signed, expiring tokens for links, one salt per purpose.

A token made for one purpose (say, confirming) never passes as another
(say, unsubscribing). A list mail carries one token for all its links
(unsubscribe, preferences, answers): it is signed with a salt of its own and
names its purposes, and each link still checks that it is one of them. Old
secrets stay valid through ``SECRET_KEY_FALLBACKS``, so rotating the key does not
break links already sent.
"""

import hashlib
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PURPOSE_MAX_AGE = {
    "confirm": "CONFIRM_TOKEN_MAX_AGE",
    "unsubscribe": "SUBSCRIBER_LINK_MAX_AGE",
    "preferences": "SUBSCRIBER_LINK_MAX_AGE",
    "signin": "SIGNIN_LINK_MAX_AGE",
    "rsvp": "SUBSCRIBER_LINK_MAX_AGE",
    "registration-confirm": "CONFIRM_TOKEN_MAX_AGE",
    "registration": "SUBSCRIBER_LINK_MAX_AGE",  # the status page, with cancelling
    "member-registration": "SUBSCRIBER_LINK_MAX_AGE",  # a member registers without confirming
    "registration-offer": "SUBSCRIBER_LINK_MAX_AGE",  # the offer itself lapses sooner
    "member-post": "SUBSCRIBER_LINK_MAX_AGE",  # a member writes to the list
    "post-read": "SUBSCRIBER_LINK_MAX_AGE",  # a post that is not public, from its mail
    "post-withdraw": "SUBSCRIBER_LINK_MAX_AGE",  # its author takes it out of the archive
    "topic-confirm": "CONFIRM_TOKEN_MAX_AGE",  # a visitor confirms a topic proposal
    "inquiry-confirm": "CONFIRM_TOKEN_MAX_AGE",  # an asker confirms "Ich möchte das auch machen"
    "topic-member": "SUBSCRIBER_LINK_MAX_AGE",  # a member's own topics page (votes)
    "project-confirm": "CONFIRM_TOKEN_MAX_AGE",  # a visitor confirms a project proposal
    "adoption-confirm": "CONFIRM_TOKEN_MAX_AGE",  # … or an "übernommen in" entry
    "project-contact": "CONFIRM_TOKEN_MAX_AGE",  # a project's contact agrees to be shown
    "public-form": "PUBLIC_FORM_MAX_AGE",  # the CSRF token of a form strangers fill in
}


# A token for several purposes (a list mail's) is signed with this salt.
_SEVERAL = "several"
class TokenError(Exception):
    """A token that cannot be used. ``reason`` is "invalid", "expired" or "used";
    ``payload`` is set when the signature was genuine (expired or used tokens)."""

    def __init__(self, reason: str, payload=None):
        super().__init__(reason)
        self.reason = reason
        self.payload = payload


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and accepts all of them.
    return _cached_serializer(purpose, (*(config.get("SECRET_KEY_FALLBACKS") or []),
                                        config["SECRET_KEY"]))


@lru_cache(maxsize=32)
def _cached_serializer(purpose: str, keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    """Built once per purpose and set of keys: a send signs two links per recipient."""
    return URLSafeTimedSerializer(list(keys), salt=f"vernetzer.{purpose}")


def make_token(purpose: str | tuple[str, ...], payload: dict) -> str:
    """A token for ``purpose``, or for each of several purposes (a tuple)."""
    if isinstance(purpose, tuple):
        return _serializer(_SEVERAL).dumps({**payload, "p": list(purpose)})
    return _serializer(purpose).dumps(payload)


def _load(serializer: URLSafeTimedSerializer, token: str, max_age: int):
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired as error:
        # The signature is genuine, only too old: its payload can be trusted.
        raise TokenError("expired", serializer.load_payload(error.payload)) from None


def read_token(purpose: str, token: str):
    """Return the payload of a genuine, unexpired token made for ``purpose`` (alone
    or among others) or raise ``TokenError``."""
    max_age = current_app.config[PURPOSE_MAX_AGE[purpose]]
    try:
        return _load(_serializer(purpose), token, max_age)
    except BadSignature:
        pass
    try:
        payload = _load(_serializer(_SEVERAL), token, max_age)
    except BadSignature:
        raise TokenError("invalid") from None
    except TokenError as error:
        if purpose not in error.payload.get("p", ()):
            raise TokenError("invalid") from None
        raise
    if not isinstance(payload, dict) or purpose not in payload.get("p", ()):
        raise TokenError("invalid")
    return payload


def address_fingerprint(email: str) -> str:
    """Binds a link to an address without putting the address into the URL."""
    return hashlib.sha256(email.encode()).hexdigest()[:16]
