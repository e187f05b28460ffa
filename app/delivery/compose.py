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
from datetime import UTC, datetime
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from urllib.parse import quote

from email_validator import validate_email
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..shared.urls import mail_domain
from . import mime
from .mime import Mail


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


def _list_headers() -> dict[str, str]:
    """RFC 2369 and RFC 8058: the list, and unsubscribing in one click (the caller
    adds the member's own List-Unsubscribe); Reply-To if set."""
    headers = {**AUTOMATIC, "List-Id": current_app.config["MAIL_LIST_ID"],
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    if current_app.config["MAIL_REPLY_TO"]:
        headers["Reply-To"] = current_app.config["MAIL_REPLY_TO"]
    return headers


def new_code() -> str:
    """A mail's own code: the left part of its Message-ID and its envelope tag."""
    return secrets.token_hex(16)


def message_id(code: str) -> str:
    return f"<{code}@{mail_domain()}>"


def envelope_sender(code: str) -> str:
    local, domain = _local_and_domain(current_app.config["MAIL_CALENDAR_ADDRESS"])
    return f"{local}+{code}@{domain}"


@lru_cache(maxsize=4)
def _local_and_domain(address: str) -> tuple[str, str]:
    local, _at, domain = parseaddr(address)[1].rpartition("@")
    return local, domain


def date_field(moment: datetime | None = None) -> str:
    """``Date`` in UTC, written ``+0000`` (RFC 5322; "GMT" is obsolete)."""
    return format_datetime((moment or datetime.now(UTC)).astimezone(UTC))


def compose(template: str, subject, *, address: str, name: str | None, language: str,
            sender: str, links: dict[str, str] | None = None,
            calendar: tuple[bytes, str] | None = None, code: str | None = None,
            date: datetime | None = None, headers: dict[str, str] | None = None,
            attachments: tuple[tuple[str, str, bytes], ...] = (), **context) -> Mail:
    """Render ``template`` in ``language`` into a mail. With ``links`` (a list
    member's), it carries the list headers; with ``calendar`` (ics, METHOD), the
    meeting. ``code`` and ``date`` (a list mail's row gives them, so that every try
    is the same mail) are new ones otherwise. ``headers`` add to (or replace) the
    list's; ``attachments`` are files (name, type, bytes)."""
    subject, text, html = _render(template, subject, language,
                                  {**context, **(links or {}), "recipient_name": name})
    code = code or new_code()
    fields = {**_list_headers(), "List-Unsubscribe": _list_unsubscribe(links)} if links \
        else AUTOMATIC
    return mime.build(
        sender=sender, envelope=envelope_sender(code), recipient=transport_address(address),
        name=name, subject=subject, message_id=message_id(code), date=date_field(date),
        headers={**fields, **(headers or {})}, text=text, html=html, code=code,
        calendar=calendar, attachments=attachments)


def forward(original: bytes, *, to: str, subject: str, note: str) -> Mail:
    """A mail the service cannot handle, forwarded to a person: a short note and the
    original attached as it came (``message/rfc822``)."""
    code = new_code()
    display, address = parseaddr(to)
    subject = _("Forwarded: %(subject)s", subject=subject)[:200]
    text = note + "\n\n" + _("The original mail is attached.") + "\n"
    data = mime.forward(sender=current_app.config["MAIL_DEFAULT_SENDER"],
                        to=mime.address_field("To", address, display or None), subject=subject,
                        message_id=message_id(code), date=date_field(), note=text,
                        original=original, boundary=code)
    return Mail(sender=envelope_sender(code), recipient=transport_address(address),
                message_id=message_id(code), subject=subject, text=text, html="", data=data,
                code=code)
