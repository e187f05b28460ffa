"""The distribution list: double opt-in, one-click unsubscribe, preferences, erasure."""

import re
import secrets
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from ..delivery import outbox
from ..extensions import db, page_cache
from ..shared import audit, database, ratelimit
from ..shared.database import utcnow
from ..shared.errors import UserError
from ..shared.tokens import TokenError, address_fingerprint, read_token
from ..shared.validation import clean_district, clean_text, normalise_email, person_name
from . import consent, mails
from .models import (
    ConsentEvent,
    ConsentSource,
    PostDelivery,
    Sector,
    SignupPurge,
    Subscriber,
    SubscriberStatus,
)

PAGE_SIZE = 100  # members on one page of the list


def search(text: str, status: str, district: str,
           page: int = 1) -> tuple[list[Subscriber], int]:
    """One page (``PAGE_SIZE``, by address) of the subscribers whose address, name or
    organisation contains ``text``, optionally of one status and district; and how
    many match in all. ``%`` and ``_`` are searched as themselves; the text is cut
    to an address's length (254)."""
    query = sa.select(Subscriber)
    text = text.lower()[:254]
    if text:
        query = query.where(sa.or_(*(
            column.contains(text, autoescape=True)
            for column in (Subscriber.email, sa.func.lower(Subscriber.name),
                           sa.func.lower(Subscriber.organisation)))))
    if status in {s.value for s in SubscriberStatus}:
        query = query.where(Subscriber.status == status)
    if district:
        query = query.where(Subscriber.district == district)
    offset = (max(page, 1) - 1) * PAGE_SIZE
    if query.whereclause is None:  # the whole list: the page by the address index
        found = db.session.scalars(query.order_by(Subscriber.email).offset(offset)
                                   .limit(PAGE_SIZE))
        return list(found), sum(counts().values())
    # A search scans the list once, for the page and the number of matches.
    rows = db.session.execute(query.add_columns(sa.func.count().over())
                              .order_by(Subscriber.email).offset(offset).limit(PAGE_SIZE)).all()
    if rows or not offset:
        return [row[0] for row in rows], rows[0][1] if rows else 0
    return [], db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


@page_cache.memoize()
def counts() -> dict[SubscriberStatus, int]:
    """How many subscribers there are of each status; kept as long as a public page
    (``PAGE_CACHE_SECONDS``, emptied by every commit of this process)."""
    return dict(db.session.execute(
        sa.select(Subscriber.status, sa.func.count()).group_by(Subscriber.status)).all())


def find_by_email(email: str) -> Subscriber | None:
    return db.session.scalar(sa.select(Subscriber).where(Subscriber.email == email))


def by_id(subscriber_id) -> Subscriber | None:
    return db.session.get(Subscriber, subscriber_id) if isinstance(subscriber_id, int) else None


def person(subscriber_id) -> Subscriber:
    """The subscriber with this ID (from a page's address), or a user error."""
    subscriber = database.by_id(Subscriber, subscriber_id)
    if subscriber is None:
        raise UserError(_("This person is not on the list (any more)."))
    return subscriber


def by_ids(ids) -> list[Subscriber]:
    return list(db.session.scalars(sa.select(Subscriber).where(Subscriber.id.in_(list(ids)))))


def is_active(subscriber: Subscriber) -> bool:
    return subscriber.status == SubscriberStatus.ACTIVE


def is_active_address(email: str) -> bool:
    """Whether ``email`` belongs to a confirmed member of the list."""
    subscriber = find_by_email(email)
    return subscriber is not None and is_active(subscriber)


def _record(subscriber: Subscriber, action: str, source: ConsentSource, *, ip=None,
            user_agent=None, version=None, note=None) -> None:
    # Added beside the subscriber, not appended to ``consents``: that would load
    # their whole history first (and make a known address slower than a new one).
    db.session.add(ConsentEvent(
        subscriber=subscriber, action=action, source=source, ip_address=ip,
        user_agent=(user_agent or "")[:400] or None, consent_version=version, note=note,
    ))


def subscribe(email: str, name: str | None = None, *, ip: str | None, user_agent: str | None,
              language: str = "de") -> bool:
    """Start the double opt-in for ``email``; False when a limit held the mail back.

    The caller answers the same way whatever the address: whether it is new,
    pending, active or unsubscribed must not show. An active member stays as they
    are and gets a mail with their settings link instead. The per-address and
    per-IP limits are counted first, for every address alike; beyond them nothing
    is written and nothing queued (a flood of sign-ups makes no rows). A sign-up
    never changes an existing person's name: only a new pending row takes it.

    Every kind of address costs the same database work (so that timing tells nothing
    either): one look-up, one write of the subscriber row in a savepoint (an INSERT
    for a new address, else one UPDATE that gives a nonce to whoever is not active),
    the request in the consent log, and one queued mail.
    """
    email = normalise_email(email)
    name = person_name(name)
    if not _mail_allowed(email, ip):
        return False
    version = consent.version_label(language)
    subscriber = _pending(find_by_email(email), email, name, language)
    _record(subscriber, "signup", ConsentSource.FORM, ip=ip, user_agent=user_agent,
            version=version)
    if subscriber.status == SubscriberStatus.ACTIVE:
        mails.send_already_subscribed(subscriber)
    else:
        mails.send_confirmation(subscriber, version)
    return True


def _pending(subscriber: Subscriber | None, email: str, name: str | None,
             language: str) -> Subscriber:
    """The subscriber with a confirmation nonce unless active: a new pending row, or
    the existing one. When a sign-up of the same address won the race (a double click:
    PostgreSQL makes the second wait for the first), that one's."""
    try:
        with db.session.begin_nested():
            if subscriber is None:
                subscriber = Subscriber(email=email, name=name, language=language,
                                        status=SubscriberStatus.PENDING,
                                        source=ConsentSource.FORM,
                                        confirm_nonce=secrets.token_hex(16))
                db.session.add(subscriber)
            else:
                nonce = db.session.scalar(
                    sa.update(Subscriber).where(Subscriber.id == subscriber.id)
                    .values(confirm_nonce=sa.case(
                        (Subscriber.status == SubscriberStatus.ACTIVE, Subscriber.confirm_nonce),
                        else_=sa.func.coalesce(Subscriber.confirm_nonce, secrets.token_hex(16))))
                    .returning(Subscriber.confirm_nonce)
                    .execution_options(synchronize_session=False))
                set_committed_value(subscriber, "confirm_nonce", nonce)
        return subscriber
    except sa.exc.IntegrityError:
        return _pending(find_by_email(email), email, name, language)


def _mail_allowed(email: str, ip: str | None) -> bool:
    """Count a sign-up mail against the per-address and per-IP limits."""
    return ratelimit.allow("CONFIRM_MAILS_PER_ADDRESS", email) and (
        ip is None or ratelimit.allow("CONFIRM_MAILS_PER_IP", ip))


def _queue_confirmation(subscriber: Subscriber, version: str) -> None:
    subscriber.confirm_nonce = subscriber.confirm_nonce or secrets.token_hex(16)
    db.session.flush()
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
    if subscriber is None or subscriber.status != SubscriberStatus.PENDING:
        return  # confirmed, left or bounced since: no mail (the page says the same)
    if _mail_allowed(subscriber.email, ip):
        _queue_confirmation(subscriber, payload.get("v") or consent.version_label("de"))


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
    outbox.drop_queued_list_mail(subscriber.id)


def unsubscribe_for(email: str, *, actor: str) -> Subscriber:
    """An organiser takes ``email`` off the list (asked by phone, say)."""
    subscriber = find_by_email(normalise_email(email))
    if subscriber is None:
        raise UserError(_("%(email)s is not on the list.", email=email.strip()))
    return unsubscribe_person(subscriber, actor=actor)


def unsubscribe_person(subscriber: Subscriber, *, actor: str) -> Subscriber:
    if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
        raise UserError(_("%(email)s is unsubscribed already.", email=subscriber.email))
    unsubscribe(subscriber, ConsentSource.ORGANISER)
    audit.record(actor, "subscriber.unsubscribe", f"subscriber {subscriber.id}")
    return subscriber


def add_person(email: str, *, actor: str, name=None, organisation=None, district=None,
               consent_note=None, confirm_by_mail: bool = False) -> Subscriber:
    """An organiser adds one person: active on a note of how they consented (asked at
    a meeting, on the phone), or pending with a confirmation mail."""
    email = normalise_email(email)
    name = clean_text(name, 100, _("Name"))
    organisation = clean_text(organisation, 150, _("Organisation"))
    district = clean_district(district)
    note = clean_text(consent_note, 500, _("Note"))
    if not confirm_by_mail and not note:
        raise UserError(_("Adding someone as active needs a note on how they consented "
                          "(or let them confirm by mail)."))
    if find_by_email(email) is not None:
        raise UserError(_("%(email)s is on the list already.", email=email))
    subscriber = enter(email, source=ConsentSource.ORGANISER, action="add", note=note,
                       confirm_by_mail=confirm_by_mail, name=name, organisation=organisation,
                       district=district)
    audit.record(actor, "subscriber.add", f"subscriber {subscriber.id}",
                 confirm_by_mail=confirm_by_mail, note=note)
    return subscriber


def enter(email: str, *, source: ConsentSource, action: str, note: str | None,
          confirm_by_mail: bool, **details) -> Subscriber:
    """Put a checked, new address on the list on an organiser's word (added by hand,
    imported): active on their ``note`` of how the person consented, or pending with
    a confirmation mail."""
    subscriber = Subscriber(email=email, source=source, **details,
                            status=(SubscriberStatus.PENDING if confirm_by_mail
                                    else SubscriberStatus.ACTIVE))
    db.session.add(subscriber)
    _record(subscriber, action, source, note=note)
    if confirm_by_mail:
        subscriber.confirm_nonce = secrets.token_hex(16)
        db.session.flush()
        mails.send_confirmation(subscriber, consent.version_label(subscriber.language))
    else:
        subscriber.confirmed_at = utcnow()
    db.session.flush()
    return subscriber


def enter_many(people: list[dict], *, source: ConsentSource, action: str, note: str | None,
               confirm_by_mail: bool) -> int:
    """Put checked, new addresses on the list at once (an import), as ``enter`` does
    one by one: a few statements for the whole batch, nothing kept in the session.
    ``people``: the details of each (email, name, organisation, district)."""
    now = utcnow()
    rows = [{**person, "source": source,
             "status": SubscriberStatus.PENDING if confirm_by_mail else SubscriberStatus.ACTIVE,
             "confirmed_at": None if confirm_by_mail else now,
             "confirm_nonce": secrets.token_hex(16) if confirm_by_mail else None}
            for person in people]
    if not rows:
        return 0
    ids = [row.id for row in db.session.execute(
        sa.insert(Subscriber).returning(Subscriber.id), rows)]
    db.session.execute(sa.insert(ConsentEvent), [
        {"subscriber_id": subscriber_id, "action": action, "source": source, "note": note,
         "occurred_at": now} for subscriber_id in ids])
    if confirm_by_mail:
        for subscriber in db.session.scalars(sa.select(Subscriber).where(Subscriber.id.in_(ids))):
            mails.send_confirmation(subscriber, consent.version_label(subscriber.language))
        db.session.flush()
    return len(ids)


def correct(subscriber: Subscriber, *, actor: str, name=None, organisation=None,
            district=None) -> Subscriber:
    """An organiser corrects name, organisation and district."""
    values = {"name": clean_text(name, 100, _("Name")),
              "organisation": clean_text(organisation, 150, _("Organisation")),
              "district": clean_district(district)}
    before = {key: getattr(subscriber, key) for key in values}
    for key, value in values.items():
        setattr(subscriber, key, value)
    audit.record(actor, "subscriber.correct", f"subscriber {subscriber.id}", before=before,
                 after=values)
    return subscriber


def resend_confirmation_for(subscriber: Subscriber, *, actor: str) -> None:
    """An organiser sends a pending person their confirmation link again."""
    if subscriber.status != SubscriberStatus.PENDING:
        raise UserError(_("Only a sign-up that is not confirmed yet gets a confirmation "
                          "link."))
    subscriber.confirm_nonce = subscriber.confirm_nonce or secrets.token_hex(16)
    db.session.flush()
    mails.send_confirmation(subscriber, consent.version_label(subscriber.language))
    audit.record(actor, "subscriber.resend_confirmation", f"subscriber {subscriber.id}")


def reactivate(subscriber: Subscriber, *, actor: str) -> None:
    """An undeliverable address works again (the mailbox was full, say)."""
    if subscriber.status != SubscriberStatus.BOUNCED:
        raise UserError(_("Only an undeliverable address can be reactivated."))
    subscriber.status = SubscriberStatus.ACTIVE
    subscriber.hard_bounces = 0
    audit.record(actor, "subscriber.reactivate", f"subscriber {subscriber.id}")


UNSUBSCRIBE_SUBJECT = re.compile(r"unsubscribe\s+([A-Za-z0-9_\-.]+)", re.IGNORECASE)


def unsubscribe_by_mail(raw: bytes) -> Subscriber:
    """Act on a mail sent to the List-Unsubscribe ``mailto:`` address (piped in by the
    mail server): its subject carries the same signed token as the link. The sender's
    address alone is not trusted, since anyone can forge it."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    match = UNSUBSCRIBE_SUBJECT.search(str(message.get("Subject", "")))
    if match is None:
        raise UserError(_("The mail has no unsubscribe code in its subject."))
    try:
        subscriber = from_link("unsubscribe", match.group(1), allow_expired=True)
    except TokenError:
        raise UserError(_("The unsubscribe code in the mail is not valid.")) from None
    unsubscribe(subscriber, ConsentSource.MAIL)
    return subscriber


def update_preferences(subscriber: Subscriber, *, name=None, organisation=None, district=None,
                       sector=None, language=None, post_delivery=None,
                       follow_up_mail: bool | None = None) -> None:
    """Validate everything first, then change: bad input changes nothing."""
    try:
        post_delivery = PostDelivery(post_delivery or subscriber.post_delivery)
    except ValueError:
        raise UserError(_("Please choose how you want to get posts.")) from None
    name = person_name(name)
    organisation = clean_text(organisation, 150, _("Organisation"))
    district = clean_district(district)
    if sector:
        try:
            sector = Sector(sector)
        except ValueError:
            raise UserError(_("Please choose one of the listed sectors.")) from None
    if language not in current_app.config["LANGUAGES"]:
        raise UserError(_("Please choose one of the listed languages."))
    subscriber.name, subscriber.organisation, subscriber.district = name, organisation, district
    subscriber.sector = sector or None
    subscriber.language = language
    subscriber.post_delivery = post_delivery
    if follow_up_mail is not None:
        subscriber.follow_up_mail = follow_up_mail


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
        "post_delivery": subscriber.post_delivery.value,
        "follow_up_mail": subscriber.follow_up_mail,
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


def erase(email: str, *, actor: str) -> None:
    """Delete a person completely: the subscriber, their consent history and every
    mail to them in the outbox. The audit entry names no one."""
    email = normalise_email(email)
    subscriber = find_by_email(email)
    deleted = outbox.forget(address=email)
    if subscriber is None and not deleted:
        raise UserError(_("%(email)s is not on the list.", email=email))
    if subscriber is not None:
        db.session.delete(subscriber)
    audit.record(actor, "subscriber.erase", None, mails_deleted=deleted)


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
    outbox.forget(recipient_ids=ids)
    db.session.execute(sa.delete(ConsentEvent).where(ConsentEvent.subscriber_id.in_(ids)))
    db.session.execute(sa.delete(Subscriber).where(Subscriber.id.in_(ids)))
    db.session.add(SignupPurge(purged_at=now, count=len(ids)))
    return len(ids)


def wanting_list_mail(ids: set[int]) -> dict[int, tuple[str | None, str]]:
    """Of the subscribers ``ids``, those still on the list: ID -> (name, language)."""
    # Looked up by ID alone and the status checked here: so the database always
    # takes the primary key, even with statistics from before a large import
    # (PostgreSQL then scanned every active member for each batch).
    return {id_: (name, language)
            for id_, name, language, status in db.session.execute(
                sa.select(Subscriber.id, Subscriber.name, Subscriber.language,
                          Subscriber.status).where(Subscriber.id.in_(ids)))
            if status == SubscriberStatus.ACTIVE}


def count_hard_bounce(subscriber_id: int) -> None:
    """A permanent delivery failure; at ``BOUNCE_LIMIT`` the subscriber is bounced."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return
    subscriber.hard_bounces += 1
    if (subscriber.hard_bounces >= current_app.config["BOUNCE_LIMIT"]
            and subscriber.status == SubscriberStatus.ACTIVE):
        subscriber.status = SubscriberStatus.BOUNCED


def taking_posts(delivery: str) -> sa.Select:
    """A query of the IDs of members who take members' posts so (``each``, ``weekly``,
    ``monthly``)."""
    return sa.select(Subscriber.id).where(Subscriber.post_delivery == PostDelivery(delivery))


def declining_follow_ups() -> sa.Select:
    """A query of the IDs of members who want no mail after a meeting they came to."""
    return sa.select(Subscriber.id).where(Subscriber.follow_up_mail.is_(False))


def trust_poster(subscriber_id: int) -> None:
    """This member's posts go to the list without waiting for an organiser."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is not None:
        subscriber.trusted_poster = True


def active_count() -> int:
    """How many are on the list now (what a mailing to everyone reaches)."""
    return db.session.scalar(sa.select(sa.func.count()).where(
        Subscriber.status == SubscriberStatus.ACTIVE))


def active_ids(*, among=None, excluding=None, with_address: bool = False) -> sa.Select:
    """A query of the active subscribers' IDs (``with_address``: and addresses) in
    order: only those ``among`` and none of those ``excluding`` (queries of IDs)
    where given."""
    columns = (Subscriber.id, Subscriber.email) if with_address else (Subscriber.id,)
    query = (sa.select(*columns).where(Subscriber.status == SubscriberStatus.ACTIVE)
             .order_by(Subscriber.id))
    if among is not None:
        query = query.where(Subscriber.id.in_(among))
    if excluding is not None:
        query = query.where(Subscriber.id.not_in(excluding))
    return query
