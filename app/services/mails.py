"""The mails of the service: one helper that builds a message from a paired
``templates/email/NAME.txt`` / ``.html`` template, and one small function per mail.

Every mail goes through the outbox (``outbox.enqueue``); nothing is sent here.
"""

import secrets
from email.utils import formatdate, make_msgid
from urllib.parse import quote, urlsplit

from email_validator import validate_email
from flask import current_app, render_template
from flask_babel import force_locale, get_locale, lazy_gettext as _l
from markupsafe import escape

from ..models import Subscriber
from . import mime, outbox
from .mime import Mail
from .tokens import address_fingerprint, make_token


def external_url(path: str) -> str:
    """An absolute link for use outside the service (mails, calendar files)."""
    return current_app.config["BASE_URL"] + path


def mail_domain() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def transport_address(email: str) -> str:
    """The address as SMTP wants it: international domains in their ASCII form
    (a non-ASCII local part stays and is sent with SMTPUTF8). Stored addresses are
    normalised already, so an ASCII one is used as it is."""
    if email.isascii():
        return email
    result = validate_email(email, check_deliverability=False)
    return result.ascii_email or result.normalized


def _links(unsubscribe: str, preferences: str) -> dict[str, str]:
    return {
        "unsubscribe_token": unsubscribe,
        "unsubscribe_url": external_url(f"/abmelden/{unsubscribe}"),
        "preferences_url": external_url(f"/einstellungen/{preferences}"),
        "calendar_url": external_url("/kalender.ics"),
    }


def subscriber_links(subscriber: Subscriber) -> dict[str, str]:
    """The personal links that every mail to a subscriber carries."""
    payload = {"s": subscriber.id, "h": address_fingerprint(subscriber.email)}
    return _links(make_token("unsubscribe", payload), make_token("preferences", payload))


def _render(template: str, subject, language: str, context: dict) -> tuple[str, str, str]:
    """Subject, text and HTML of ``template`` in ``language``. ``subject`` may be a
    lazy string or a function: either is translated into that language."""
    with force_locale(language):
        subject = str(subject() if callable(subject) else subject)
        context = {**context, "subject": subject, "language": language}
        return (subject, render_template(f"email/{template}.txt", **context),
                render_template(f"email/{template}.html", **context))


def _list_unsubscribe(links: dict[str, str]) -> str:
    mailto = current_app.config["MAIL_UNSUBSCRIBE_ADDRESS"]
    return (f"<{links['unsubscribe_url']}>, "
            f"<mailto:{mailto}?subject={quote('unsubscribe ' + links['unsubscribe_token'])}>")


def _list_headers(links: dict[str, str] | None = None) -> dict[str, str]:
    """RFC 2369 and RFC 8058: the list, and unsubscribing in one click (``links``
    left out: the caller adds its personal List-Unsubscribe)."""
    headers = {"List-Id": current_app.config["MAIL_LIST_ID"],
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    if links:
        headers["List-Unsubscribe"] = _list_unsubscribe(links)
    return headers


def _message_id() -> str:
    return make_msgid(idstring=secrets.token_hex(4), domain=mail_domain())


def _finish(subject: str, text: str, html: str, *, address: str, name: str | None,
            sender: str, links: dict[str, str] | None, calendar) -> Mail:
    return mime.build(
        sender=sender, recipient=transport_address(address), name=name, subject=subject,
        message_id=_message_id(), date=formatdate(usegmt=True),
        headers=_list_headers(links) if links else {}, text=text, html=html, calendar=calendar)


def compose(template: str, subject, *, address: str, name: str | None, language: str,
            sender: str, links: dict[str, str] | None = None,
            calendar: tuple[bytes, str] | None = None, **context) -> Mail:
    """Render ``template`` (``.txt`` + ``.html``) in ``language`` into a mail with a
    stable Message-ID. With ``links`` (a subscriber's), it carries the list headers
    of RFC 2369 and RFC 8058; with ``calendar`` (ics, METHOD), the meeting."""
    rendered = _render(template, subject, language,
                       {**context, **(links or {}), "recipient_name": name})
    return _finish(*rendered, address=address, name=name, sender=sender, links=links,
                   calendar=calendar)


class ListMail:
    """One mail to many subscribers. The templates are rendered once per language
    (and with or without a name); each subscriber's name and links are filled in
    afterwards, which is what makes a send to the whole list fast."""

    # Placeholders that pass Jinja, HTML escaping and gettext unchanged.
    NAME, UNSUBSCRIBE, PREFERENCES = "VZxNAMExVZ", "VZxUNSUBxVZ", "VZxPREFSxVZ"

    def __init__(self, template: str, subject, *, sender: str,
                 calendar: tuple[bytes, str] | None = None, **context):
        self.template, self.subject, self.sender = template, subject, sender
        self.calendar, self.context = calendar, context
        self._rendered = {}

    def _variant(self, language: str, named: bool) -> tuple[str, str, mime.Template]:
        key = (language, named)
        if key not in self._rendered:
            placeholder = Subscriber(name=self.NAME if named else None, language=language)
            links = _links(self.UNSUBSCRIBE, self.PREFERENCES)
            subject, text, html = _render(self.template, self.subject, language, {
                **self.context, **links, "subscriber": placeholder,
                "recipient_name": placeholder.name})
            self._rendered[key] = (text, html, mime.Template(
                sender=self.sender, subject=subject, headers=_list_headers(),
                calendar=self.calendar))
        return self._rendered[key]

    def for_subscriber(self, subscriber: Subscriber) -> Mail:
        text, html, template = self._variant(subscriber.language, bool(subscriber.name))
        links = subscriber_links(subscriber)
        unsubscribe = links["unsubscribe_token"]
        preferences = links["preferences_url"].rsplit("/", 1)[1]
        name = subscriber.name or ""
        text = (text.replace(self.NAME, name).replace(self.UNSUBSCRIBE, unsubscribe)
                .replace(self.PREFERENCES, preferences))
        html = (html.replace(self.NAME, str(escape(name))).replace(self.UNSUBSCRIBE, unsubscribe)
                .replace(self.PREFERENCES, preferences))
        return template.fill(recipient=transport_address(subscriber.email), name=subscriber.name,
                             message_id=_message_id(), date=formatdate(usegmt=True),
                             list_unsubscribe=_list_unsubscribe(links), text=text, html=html)


def build_message(template: str, subject, subscriber: Subscriber, *, sender: str,
                  **context) -> Mail:
    """A mail to one subscriber, in their language, with their personal links."""
    return compose(template, subject, address=subscriber.email, name=subscriber.name,
                   language=subscriber.language, sender=sender,
                   links=subscriber_links(subscriber), subscriber=subscriber, **context)


def send_confirmation(subscriber: Subscriber, consent_version: str) -> None:
    """The double opt-in mail: strictly neutral, only the confirmation link."""
    token = make_token(
        "confirm", {"s": subscriber.id, "n": subscriber.confirm_nonce, "v": consent_version}
    )
    message = build_message(
        "confirm",
        _l("Please confirm your subscription"),
        subscriber,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        confirm_url=external_url(f"/bestaetigen/{token}"),
        valid_days=current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400,
    )
    outbox.enqueue(
        message,
        key=f"confirm:{subscriber.id}:{secrets.token_hex(8)}",
        kind="confirm",
        subscriber_id=subscriber.id,
    )


def send_welcome(subscriber: Subscriber) -> None:
    message = build_message(
        "welcome",
        _l("Welcome to the Stadtteilvernetzer distribution list"),
        subscriber,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
    outbox.enqueue(
        message,
        key=f"welcome:{subscriber.id}:{subscriber.confirmed_at:%Y%m%dT%H%M%S}",
        kind="welcome",
        subscriber_id=subscriber.id,
    )


def send_signin_link(organiser, token: str) -> None:
    """The organiser's one-time sign-in link (personal mail, no list headers)."""
    message = compose(
        "signin", _l("Your sign-in link for vernetzer"),
        # In the language of the page the organiser asked on.
        address=organiser.email, name=organiser.name, language=str(get_locale()),
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        signin_url=external_url(f"/organisation/anmelden/{token}"),
        minutes=current_app.config["SIGNIN_LINK_MAX_AGE"] // 60,
    )
    outbox.enqueue(message, key=f"signin:{organiser.id}:{secrets.token_hex(8)}", kind="signin")
