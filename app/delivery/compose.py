"""Composing mails from a paired ``templates/email/NAME.txt`` / ``.html`` template in
the reader's language. Mail to list members carries the list headers of RFC 2369
and RFC 8058 with the member's personal links, which the caller supplies: delivery
knows no other domain. Nothing is sent here; the outbox sends.

Every mail is marked ``Auto-Submitted: auto-generated`` (RFC 3834: no auto-replies,
please) and goes out with the envelope sender ``MAIL_CALENDAR_ADDRESS`` tagged with
the mail's own code (``einladung+<code>@…``, VERP): a bounce names the mail it is
about, and the code, random like the Message-ID it is part of, cannot be guessed.
"""

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP, compat32
from email.utils import format_datetime, parseaddr
from urllib.parse import quote

from email_validator import validate_email
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

from ..shared.urls import mail_domain
from . import mime
from .mime import Mail

# A list member's personal links by name, built from their tokens.
LinkBuilder = Callable[..., dict[str, str]]
# A recipient's calendar object: (address, name) -> the iCalendar bytes.
CalendarBuilder = Callable[[str, str | None], bytes]


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


AUTOMATIC = {"Auto-Submitted": "auto-generated"}


def _list_headers(links: dict[str, str] | None = None) -> dict[str, str]:
    """RFC 2369 and RFC 8058: the list, and unsubscribing in one click (``links``
    left out: the caller adds its personal List-Unsubscribe); Reply-To if set."""
    headers = {**AUTOMATIC, "List-Id": current_app.config["MAIL_LIST_ID"],
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    if current_app.config["MAIL_REPLY_TO"]:
        headers["Reply-To"] = current_app.config["MAIL_REPLY_TO"]
    if links:
        headers["List-Unsubscribe"] = _list_unsubscribe(links)
    return headers


def _code() -> str:
    """A mail's own code: the left part of its Message-ID and its envelope tag."""
    return secrets.token_hex(10)


def _message_id(code: str) -> str:
    return f"<{code}@{mail_domain()}>"


def envelope_sender(code: str) -> str:
    local, _at, domain = parseaddr(current_app.config["MAIL_CALENDAR_ADDRESS"])[1].rpartition("@")
    return f"{local}+{code}@{domain}"


def _date() -> str:
    """``Date`` in UTC, written ``+0000`` (RFC 5322; "GMT" is obsolete)."""
    return format_datetime(datetime.now(UTC))


def compose(template: str, subject, *, address: str, name: str | None, language: str,
            sender: str, links: dict[str, str] | None = None,
            calendar: tuple[bytes, str] | None = None, **context) -> Mail:
    """Render ``template`` in ``language`` into a mail with a stable Message-ID. With
    ``links`` (a list member's), it carries the list headers; with ``calendar``
    (ics, METHOD), the meeting."""
    subject, text, html = _render(template, subject, language,
                                  {**context, **(links or {}), "recipient_name": name})
    code = _code()
    return mime.build(
        sender=sender, envelope=envelope_sender(code), recipient=transport_address(address),
        name=name, subject=subject, message_id=_message_id(code), date=_date(),
        headers=_list_headers(links) if links else AUTOMATIC, text=text, html=html,
        calendar=calendar)


class ListMail:
    """One mail to many list members. The templates are rendered once per language
    (and with or without a name); each member's name and links are filled in
    afterwards, which is what makes a send to the whole list fast.

    ``links`` builds the personal links from the member's ``tokens`` (given in that
    order, by name); they must include ``unsubscribe_url`` and ``unsubscribe_token``
    for List-Unsubscribe."""

    NAME = "VZxNAMExVZ"  # placeholders pass Jinja, HTML escaping, URLs and gettext unchanged

    def __init__(self, template: str, subject, *, sender: str, links: LinkBuilder,
                 tokens: tuple[str, ...], calendar: tuple[CalendarBuilder, str] | None = None,
                 **context):
        """``calendar``: each recipient's calendar object and its METHOD."""
        self.template, self.subject, self.sender = template, subject, sender
        self.calendar, self.context, self.tokens = calendar, context, tokens
        self._marks = {name: f"VZx{name.upper()}xVZ" for name in tokens}
        # The links with placeholders, built once; each member's tokens are filled in.
        self._links = links(*self._marks.values())
        self._rendered = {}

    def _variant(self, language: str, named: bool) -> tuple[str, str, mime.Template]:
        key = (language, named)
        if key not in self._rendered:
            subject, text, html = _render(self.template, self.subject, language, {
                **self.context, **self._links, "recipient_name": self.NAME if named else None})
            self._rendered[key] = (text, html, mime.Template(
                sender=self.sender, subject=subject, headers=_list_headers(),
                method=self.calendar[1] if self.calendar else None))
        return self._rendered[key]

    def _fill(self, value: str, tokens: dict[str, str]) -> str:
        for name, mark in self._marks.items():
            value = value.replace(mark, tokens[name])
        return value

    def for_recipient(self, *, address: str, name: str | None, language: str,
                      tokens: dict[str, str]) -> Mail:
        """The mail to one member; ``tokens`` are theirs, by the names given."""
        text, html, template = self._variant(language, bool(name))
        name = name or ""
        text = self._fill(text.replace(self.NAME, name), tokens)
        html = self._fill(html.replace(self.NAME, str(escape(name))), tokens)
        links = {key: self._fill(value, tokens) for key, value in self._links.items()}
        code, recipient = _code(), transport_address(address)
        return template.fill(
            envelope=envelope_sender(code), recipient=recipient, name=name or None,
            message_id=_message_id(code), date=_date(),
            list_unsubscribe=_list_unsubscribe(links), text=text, html=html,
            ics=self.calendar[0](recipient, name or None) if self.calendar else b"")


def forward(original: bytes, *, to: str, subject: str, note: str) -> Mail:
    """A mail the service cannot handle, forwarded to a person: a short note and the
    original attached as it came (``message/rfc822``)."""
    code = _code()
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage(policy=SMTP)
    message["Subject"] = _("Forwarded: %(subject)s", subject=subject)[:200]
    message["From"] = sender
    message["To"] = to
    message["Date"] = _date()
    message["Message-ID"] = _message_id(code)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(note + "\n\n" + _("The original mail is attached.") + "\n")
    message.add_attachment(BytesParser(policy=compat32).parsebytes(original))
    return Mail(sender=envelope_sender(code), recipient=transport_address(parseaddr(to)[1]),
                message_id=_message_id(code), subject=str(message["Subject"]), text=note,
                html="", data=message.as_bytes())
