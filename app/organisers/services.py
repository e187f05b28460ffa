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


def _role(value: str) -> OrganiserRole:
    try:
        return OrganiserRole(value)
    except ValueError:
        raise UserError(_("The role must be organiser or admin.")) from None


def add(email: str, *, role: str, name: str | None = None, actor: str) -> Organiser:
    email = normalise_email(email)
    role = _role(role)
    if db.session.scalar(sa.select(Organiser.id).where(Organiser.email == email)):
        raise UserError(_("%(email)s is an organiser already.", email=email))
    organiser = Organiser(email=email, role=role, name=clean_text(name, 100, _("Name")))
    db.session.add(organiser)
    db.session.flush()
    audit.record(actor, "organiser.add", f"organiser {organiser.id}", email=email, role=role)
    return organiser


def request_signin(email: str, *, ip: str | None) -> None:
    """Mail a sign-in link if ``email`` belongs to an active organiser. The caller
    answers the same either way; invalid addresses and a reached limit raise
    ``UserError`` (for every address alike, counted before the lookup).

    The per-address limit counts every request for that address, from any client
    address: a flood from many addresses queues no more mail to the organiser.
    Nobody can lock an organiser out all the same: every link sent stays valid (they
    share the nonce until one is used or they expire), and the flood's links are in
    the organiser's own mailbox.

    Every address costs the same work, so that timing tells nothing either: one
    UPDATE (the active organiser's nonce, kept until a link is used), one mail
    composed and one outbox row; for an address that is no organiser's, the row is a
    placeholder that is never sent."""
    email = normalise_email(email)
    if not (ratelimit.allow("SIGNIN_MAILS_PER_ADDRESS", email)
            and (ip is None or ratelimit.allow("SIGNIN_MAILS_PER_IP", ip))):
        raise UserError(_("Too many sign-in links were asked for from here. Please use the "
                          "newest link in your mail, or try again in an hour."))
    new_nonce = secrets.token_hex(16)
    organiser = db.session.execute(
        sa.update(Organiser).where(Organiser.email == email, Organiser.active.is_(True))
        .values(signin_nonce=sa.func.coalesce(Organiser.signin_nonce, new_nonce))
        .returning(Organiser.id, Organiser.name, Organiser.signin_nonce)
        .execution_options(synchronize_session=False)).one_or_none()
    organiser_id, name, nonce = organiser or (0, None, new_nonce)
    message = compose(
        "signin", _l("Your sign-in link for vernetzer"),
        # In the language of the page the organiser asked on.
        address=email, name=name, language=str(get_locale()),
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        signin_url=external_url("organisers.signin_link",
                                token=make_token("signin", {"o": organiser_id, "n": nonce})),
        minutes=signin_minutes(),
    )
    outbox.enqueue(message, key=f"signin:{organiser_id}:{secrets.token_hex(8)}", kind="signin",
                   placeholder=organiser is None)


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
    """Use the link (once; every other link sent so far ends with it): the organiser
    it was made for. Their session carries ``session_version``."""
    organiser = _from_token(token)
    organiser.signin_nonce = None
    organiser.last_signin_at = utcnow()
    audit.record(organiser.email, "organiser.sign_in", f"organiser {organiser.id}")
    return organiser


def active(organiser_id, session_version) -> Organiser | None:
    """The organiser of a session: active, and the session not ended since."""
    organiser = db.session.get(Organiser, organiser_id) if organiser_id else None
    if organiser is None or not organiser.active \
            or organiser.session_version != session_version:
        return None
    return organiser


def _end_sessions(organiser: Organiser) -> None:
    organiser.session_version += 1
    organiser.signin_nonce = None


def sign_out(organiser: Organiser) -> None:
    """End every session of ``organiser`` (a copied cookie stops working too)."""
    _end_sessions(organiser)
    audit.record(organiser.email, "organiser.sign_out", f"organiser {organiser.id}")


def _by_email(email: str) -> Organiser:
    organiser = db.session.scalar(
        sa.select(Organiser).where(Organiser.email == normalise_email(email)))
    if organiser is None:
        raise UserError(_("%(email)s is not an organiser.", email=email.strip()))
    return organiser


def set_active(email: str, active_: bool, *, actor: str) -> Organiser:
    """Deactivate an organiser (their sessions and sign-in links end at once) or
    activate them again."""
    organiser = _by_email(email)
    if organiser.active == active_:
        raise UserError(_("%(email)s is active already.", email=organiser.email) if active_
                        else _("%(email)s is deactivated already.", email=organiser.email))
    organiser.active = active_
    _end_sessions(organiser)
    audit.record(actor, "organiser.activate" if active_ else "organiser.deactivate",
                 f"organiser {organiser.id}")
    return organiser


def set_role(email: str, role: str, *, actor: str) -> Organiser:
    """Give an organiser another role; their sessions end (they sign in again)."""
    organiser = _by_email(email)
    role = _role(role)
    if organiser.role == role:
        raise UserError(_("%(email)s has this role already.", email=organiser.email))
    organiser.role = role
    _end_sessions(organiser)
    audit.record(actor, "organiser.role", f"organiser {organiser.id}", role=role)
    return organiser


def addresses() -> list[str]:
    """The addresses of the active organisers (who moderate members' posts)."""
    return list(db.session.scalars(sa.select(Organiser.email).where(
        Organiser.active.is_(True)).order_by(Organiser.email)))


def listing() -> list[Organiser]:
    return list(db.session.scalars(sa.select(Organiser).order_by(Organiser.email)))
