"""Organiser accounts and their sign-in by one-time link (volunteers forget passwords)."""

import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..delivery import outbox
from ..delivery.compose import compose
from ..extensions import db
from ..shared import audit, ratelimit
from ..shared.database import utcnow
from ..shared.errors import UserError
from ..shared.tokens import TokenError, make_token, read_token
from ..shared.urls import external_url
from ..shared.validation import clean_text, normalise_email
from .models import Organiser, OrganiserRole


def add(email: str, *, role: str, name: str | None = None, actor: str) -> Organiser:
    email = normalise_email(email)
    try:
        role = OrganiserRole(role)
    except ValueError:
        raise UserError(_("The role must be organiser or admin.")) from None
    if db.session.scalar(sa.select(Organiser.id).where(Organiser.email == email)):
        raise UserError(_("%(email)s is an organiser already.", email=email))
    organiser = Organiser(email=email, role=role, name=clean_text(name, 100, _("Name")))
    db.session.add(organiser)
    db.session.flush()
    audit.record(actor, "organiser.add", f"organiser {organiser.id}", email=email, role=role)
    return organiser


def request_signin(email: str, *, ip: str | None) -> None:
    """Mail a sign-in link if ``email`` belongs to an active organiser. The caller
    answers the same either way; invalid addresses raise ``UserError``."""
    email = normalise_email(email)
    if not ratelimit.allow("SIGNIN_MAILS_PER_ADDRESS", email):
        return
    if ip is not None and not ratelimit.allow("SIGNIN_MAILS_PER_IP", ip):
        return
    organiser = db.session.scalar(
        sa.select(Organiser).where(Organiser.email == email, Organiser.active.is_(True)))
    if organiser is None:
        return
    organiser.signin_nonce = secrets.token_hex(16)
    db.session.flush()
    _send_signin_link(organiser, make_token("signin", {"o": organiser.id,
                                                       "n": organiser.signin_nonce}))


def _send_signin_link(organiser: Organiser, token: str) -> None:
    """The organiser's one-time sign-in link (personal mail, no list headers)."""
    message = compose(
        "signin", _l("Your sign-in link for vernetzer"),
        # In the language of the page the organiser asked on.
        address=organiser.email, name=organiser.name, language=str(get_locale()),
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        signin_url=external_url("organisers.signin_link", token=token),
        minutes=signin_minutes(),
    )
    outbox.enqueue(message, key=f"signin:{organiser.id}:{secrets.token_hex(8)}", kind="signin")


def signin_minutes() -> int:
    """How long a sign-in link works, in minutes (``SIGNIN_LINK_MAX_AGE``)."""
    return current_app.config["SIGNIN_LINK_MAX_AGE"] // 60


def _from_token(token: str) -> Organiser:
    payload = read_token("signin", token)
    organiser = db.session.get(Organiser, payload.get("o"))
    if organiser is None or not organiser.active:
        raise TokenError("invalid")
    if organiser.signin_nonce is None or organiser.signin_nonce != payload.get("n"):
        raise TokenError("used")
    return organiser


def check_signin(token: str) -> None:
    """Raise ``TokenError`` unless the link would sign someone in; changes nothing."""
    _from_token(token)


def sign_in(token: str) -> Organiser:
    """Use the link (once): the organiser it was made for."""
    organiser = _from_token(token)
    organiser.signin_nonce = None
    organiser.last_signin_at = utcnow()
    audit.record(organiser.email, "organiser.sign_in", f"organiser {organiser.id}")
    return organiser


def active(organiser_id) -> Organiser | None:
    organiser = db.session.get(Organiser, organiser_id) if organiser_id else None
    return organiser if organiser is not None and organiser.active else None
