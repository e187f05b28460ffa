"""The distribution list: double opt-in, one-click unsubscribe, preferences, erasure."""

import re
import secrets
import unicodedata
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from ..districts import by_name as district_by_name
from ..extensions import db
from ..models import (
    ConsentEvent,
    ConsentSource,
    OutboxMessage,
    OutboxStatus,
    Sector,
    SignupPurge,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from . import InvalidInput, consent, mails, ratelimit
from .tokens import TokenError, address_fingerprint, read_token


def normalise_email(raw: str | None) -> str:
    """Validate an address (international domains allowed) and return its stored form."""
    raw = (raw or "").strip()
    if not raw:
        raise InvalidInput(_("Please enter your e-mail address."))
    if len(raw) > 254:
        raise InvalidInput(_("This e-mail address is too long."))
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(_("This does not look like a valid e-mail address.")) from None
    return result.normalized.lower()


def clean_text(value: str | None, max_length: int, label: str) -> str | None:
    """Trim a free-text field; refuse control characters (header injection) and
    overlong values. Empty becomes None."""
    value = (value or "").strip()
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise InvalidInput(_("%(field)s must be a single line of plain text.", field=label))
    if len(value) > max_length:
        raise InvalidInput(
            _("%(field)s is too long (at most %(max)d characters).", field=label, max=max_length)
        )
    return value or None


def clean_district(value: str | None) -> str | None:
    if not (value or "").strip():
        return None
    district = district_by_name(value)
    if district is None:
        raise InvalidInput(_("There is no district called %(name)s.", name=value.strip()))
    return district.name


def find_by_email(email: str) -> Subscriber | None:
    return db.session.scalar(sa.select(Subscriber).where(Subscriber.email == email))


def _record(subscriber: Subscriber, action: str, source: ConsentSource, *, ip=None,
            user_agent=None, version=None, note=None) -> None:
    subscriber.consents.append(ConsentEvent(
        action=action, source=source, ip_address=ip,
        user_agent=(user_agent or "")[:400] or None, consent_version=version, note=note,
    ))


def subscribe(email: str, name: str | None = None, *, ip: str | None, user_agent: str | None,
              language: str = "de") -> None:
    """Start the double opt-in for ``email``.

    The caller answers the same way whatever happens here: whether the address is
    new, pending, active or unsubscribed must not show. Active subscribers stay
    as they are. Beyond the per-address and per-IP limits no mail is queued.
    """
    email = normalise_email(email)
    name = clean_text(name, 100, _("Name"))
    version = consent.version_label(language)
    subscriber = find_by_email(email)
    if subscriber is None:
        subscriber = Subscriber(email=email, name=name, language=language,
                                status=SubscriberStatus.PENDING, source=ConsentSource.FORM)
        db.session.add(subscriber)
    elif subscriber.status == SubscriberStatus.ACTIVE:
        return
    elif name and not subscriber.name:
        subscriber.name = name
    _record(subscriber, "signup", ConsentSource.FORM, ip=ip, user_agent=user_agent,
            version=version)
    _send_confirmation(subscriber, version, ip)


def _send_confirmation(subscriber: Subscriber, version: str, ip: str | None) -> None:
    """Queue a confirmation link, unless the per-address or per-IP limit is reached."""
    subscriber.confirm_nonce = subscriber.confirm_nonce or secrets.token_hex(16)
    db.session.flush()
    if ratelimit.allow("CONFIRM_MAILS_PER_ADDRESS", subscriber.email) and (
        ip is None or ratelimit.allow("CONFIRM_MAILS_PER_IP", ip)
    ):
        mails.send_confirmation(subscriber, version)


def _subscriber_from_confirm_token(token: str) -> tuple[Subscriber, dict]:
    payload = read_token("confirm", token)
    subscriber = db.session.get(Subscriber, payload.get("s"))
    if subscriber is None:
        raise TokenError("invalid")
    if subscriber.confirm_nonce is None or subscriber.confirm_nonce != payload.get("n"):
        raise TokenError("used", payload)
    return subscriber, payload


def check_confirm_token(token: str) -> None:
    """Raise ``TokenError`` unless ``token`` would confirm a subscription (changes nothing)."""
    _subscriber_from_confirm_token(token)


def confirm(token: str, *, ip: str | None, user_agent: str | None) -> Subscriber:
    """Activate the subscription the token was made for; the token is single-use."""
    subscriber, payload = _subscriber_from_confirm_token(token)
    subscriber.status = SubscriberStatus.ACTIVE
    subscriber.confirm_nonce = None
    subscriber.confirmed_at = utcnow()
    subscriber.unsubscribed_at = None
    _record(subscriber, "confirm", ConsentSource.FORM, ip=ip, user_agent=user_agent,
            version=payload.get("v"))
    mails.send_welcome(subscriber)
    return subscriber


def resend_confirmation(token: str, *, ip: str | None) -> None:
    """Send a fresh confirmation link for an expired (but genuine) confirm token."""
    try:
        read_token("confirm", token)
        return  # still valid: nothing to renew
    except TokenError as error:
        if error.payload is None:
            return
        payload = error.payload
    subscriber = db.session.get(Subscriber, payload.get("s"))
    if subscriber is None or subscriber.status == SubscriberStatus.ACTIVE:
        return
    _send_confirmation(subscriber, payload.get("v") or consent.version_label("de"), ip)


def from_link(purpose: str, token: str, *, allow_expired: bool = False) -> Subscriber:
    """The subscriber a personal link (unsubscribe, preferences) was made for."""
    try:
        payload = read_token(purpose, token)
    except TokenError as error:
        if not (allow_expired and error.reason == "expired"):
            raise
        payload = error.payload
    subscriber = db.session.get(Subscriber, payload.get("s"))
    if subscriber is None or address_fingerprint(subscriber.email) != payload.get("h"):
        raise TokenError("invalid")
    return subscriber


def unsubscribe(subscriber: Subscriber, source: ConsentSource = ConsentSource.FORM, *,
                ip: str | None = None, user_agent: str | None = None) -> None:
    """Take the subscriber off the list at once; idempotent. List mail still queued
    for them is dropped, so the next send already leaves them out."""
    if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
        return
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.unsubscribed_at = utcnow()
    subscriber.confirm_nonce = None
    _record(subscriber, "unsubscribe", source, ip=ip, user_agent=user_agent)
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.subscriber_id == subscriber.id,
               OutboxMessage.list_mail.is_(True),
               OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.DROPPED)
    )


UNSUBSCRIBE_SUBJECT = re.compile(r"unsubscribe\s+([A-Za-z0-9_\-.]+)", re.IGNORECASE)


def unsubscribe_by_mail(raw: bytes) -> Subscriber:
    """Act on a mail sent to the List-Unsubscribe ``mailto:`` address (piped in by the
    mail server): its subject carries the same signed token as the link. The sender's
    address alone is not trusted, since anyone can forge it."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    match = UNSUBSCRIBE_SUBJECT.search(str(message.get("Subject", "")))
    if match is None:
        raise InvalidInput(_("The mail has no unsubscribe code in its subject."))
    try:
        subscriber = from_link("unsubscribe", match.group(1), allow_expired=True)
    except TokenError:
        raise InvalidInput(_("The unsubscribe code in the mail is not valid.")) from None
    unsubscribe(subscriber, ConsentSource.MAIL)
    return subscriber


def update_preferences(subscriber: Subscriber, *, name=None, organisation=None, district=None,
                       sector=None, language=None) -> None:
    """Validate everything first, then change: bad input changes nothing."""
    name = clean_text(name, 100, _("Name"))
    organisation = clean_text(organisation, 150, _("Organisation"))
    district = clean_district(district)
    if sector:
        try:
            sector = Sector(sector)
        except ValueError:
            raise InvalidInput(_("Please choose one of the listed sectors.")) from None
    if language not in current_app.config["LANGUAGES"]:
        raise InvalidInput(_("Please choose one of the listed languages."))
    subscriber.name, subscriber.organisation, subscriber.district = name, organisation, district
    subscriber.sector = sector or None
    subscriber.language = language


def personal_data(subscriber: Subscriber) -> dict:
    """Everything stored about one person (GDPR Art. 15/20), JSON-ready."""

    def when(value):
        return value.isoformat() if value else None

    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "organisation": subscriber.organisation,
        "district": subscriber.district,
        "sector": subscriber.sector.value if subscriber.sector else None,
        "language": subscriber.language,
        "status": subscriber.status.value,
        "source": subscriber.source.value,
        "created_at": when(subscriber.created_at),
        "confirmed_at": when(subscriber.confirmed_at),
        "unsubscribed_at": when(subscriber.unsubscribed_at),
        "consent_history": [
            {
                "action": event.action,
                "source": event.source.value,
                "at": when(event.occurred_at),
                "ip_address": event.ip_address,
                "user_agent": event.user_agent,
                "consent_version": event.consent_version,
                "consent_text": consent.text_for(event.consent_version),
                "note": event.note,
            }
            for event in subscriber.consents
        ],
    }


def erase(email: str) -> bool:
    """Delete a person completely: the subscriber, their consent history and every
    mail to them in the outbox. Returns False if the address is unknown."""
    email = normalise_email(email)
    subscriber = find_by_email(email)
    deleted = db.session.execute(
        sa.delete(OutboxMessage).where(OutboxMessage.recipient == email)
    ).rowcount
    if subscriber is None:
        return bool(deleted)
    db.session.delete(subscriber)
    return True


def purge_unconfirmed(now=None) -> int:
    """Delete sign-ups never confirmed within the retention period; keep only the count."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["UNCONFIRMED_RETENTION_DAYS"])
    stale = sa.select(Subscriber.id).where(
        Subscriber.status == SubscriberStatus.PENDING, Subscriber.created_at < cutoff
    )
    ids = list(db.session.scalars(stale))
    if not ids:
        return 0
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.subscriber_id.in_(ids)))
    db.session.execute(sa.delete(ConsentEvent).where(ConsentEvent.subscriber_id.in_(ids)))
    db.session.execute(sa.delete(Subscriber).where(Subscriber.id.in_(ids)))
    db.session.add(SignupPurge(purged_at=now, count=len(ids)))
    return len(ids)
