"""Composing mails from a paired ``templates/email/NAME.txt`` / ``.html`` template in
the reader's language. Mail to list members carries the list headers of RFC 2369
and RFC 8058 with the member's personal links, which the caller supplies: delivery
knows no other domain. Nothing is sent here; the outbox sends.
"""

import secrets
from collections.abc import Callable
from email.utils import formatdate, make_msgid
from urllib.parse import quote

from email_validator import validate_email
from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import escape

from ..shared.urls import mail_domain
from . import mime
from .mime import Mail

# A list member's personal links: ``unsubscribe_token``, ``unsubscribe_url`` and
# ``preferences_url``, built from the unsubscribe and preferences tokens.
LinkBuilder = Callable[[str, str], dict[str, str]]


def transport_address(email: str) -> str:
    """The address as SMTP wants it: international domains in their ASCII form
    (a non-ASCII local part stays and is sent with SMTPUTF8). Stored addresses are
    normalised already, so an ASCII one is used as it is."""
    if email.isascii():
        return email
    result = validate_email(email, check_deliverability=False)
    return result.ascii_email or result.normalized


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


def compose(template: str, subject, *, address: str, name: str | None, language: str,
            sender: str, links: dict[str, str] | None = None,
            calendar: tuple[bytes, str] | None = None, **context) -> Mail:
    """Render ``template`` in ``language`` into a mail with a stable Message-ID. With
    ``links`` (a list member's), it carries the list headers; with ``calendar``
    (ics, METHOD), the meeting."""
    subject, text, html = _render(template, subject, language,
                                  {**context, **(links or {}), "recipient_name": name})
    return mime.build(
        sender=sender, recipient=transport_address(address), name=name, subject=subject,
        message_id=_message_id(), date=formatdate(usegmt=True),
        headers=_list_headers(links) if links else {}, text=text, html=html, calendar=calendar)


class ListMail:
    """One mail to many list members. The templates are rendered once per language
    (and with or without a name); each member's name and links are filled in
    afterwards, which is what makes a send to the whole list fast."""

    # Placeholders that pass Jinja, HTML escaping, URL building and gettext unchanged.
    NAME, UNSUBSCRIBE, PREFERENCES = "VZxNAMExVZ", "VZxUNSUBxVZ", "VZxPREFSxVZ"

    def __init__(self, template: str, subject, *, sender: str, links: LinkBuilder,
                 calendar: tuple[bytes, str] | None = None, **context):
        self.template, self.subject, self.sender = template, subject, sender
        self.calendar, self.context = calendar, context
        # The links with placeholders, built once; each member's tokens are filled in.
        self._links = links(self.UNSUBSCRIBE, self.PREFERENCES)
        self._rendered = {}

    def _variant(self, language: str, named: bool) -> tuple[str, str, mime.Template]:
        key = (language, named)
        if key not in self._rendered:
            subject, text, html = _render(self.template, self.subject, language, {
                **self.context, **self._links, "recipient_name": self.NAME if named else None})
            self._rendered[key] = (text, html, mime.Template(
                sender=self.sender, subject=subject, headers=_list_headers(),
                calendar=self.calendar))
        return self._rendered[key]

    def for_recipient(self, *, address: str, name: str | None, language: str,
                      tokens: tuple[str, str]) -> Mail:
        """The mail to one member; ``tokens`` are their unsubscribe and preferences
        tokens."""
        text, html, template = self._variant(language, bool(name))
        unsubscribe, preferences = tokens
        name = name or ""
        text = (text.replace(self.NAME, name).replace(self.UNSUBSCRIBE, unsubscribe)
                .replace(self.PREFERENCES, preferences))
        html = (html.replace(self.NAME, str(escape(name))).replace(self.UNSUBSCRIBE, unsubscribe)
                .replace(self.PREFERENCES, preferences))
        links = {key: value.replace(self.UNSUBSCRIBE, unsubscribe)
                 .replace(self.PREFERENCES, preferences) for key, value in self._links.items()}
        return template.fill(recipient=transport_address(address), name=name or None,
                             message_id=_message_id(), date=formatdate(usegmt=True),
                             list_unsubscribe=_list_unsubscribe(links), text=text, html=html)
