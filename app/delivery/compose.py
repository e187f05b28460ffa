"""Composing mails from a paired ``templates/email/NAME.txt`` / ``.html`` template in
the reader's language. Mail to list members carries the list headers of RFC 2369
and RFC 8058 with the member's personal links, which the caller supplies: delivery
knows no other domain. Nothing is sent here; the outbox sends.

Every mail is marked ``Auto-Submitted: auto-generated`` (RFC 3834: no auto-replies,
please) and goes out with the envelope sender ``MAIL_CALENDAR_ADDRESS`` tagged with
the mail's own code (``einladung+<code>@…``, VERP): a bounce names the mail it is
about, and the code, random like the Message-ID it is part of, cannot be guessed.
"""

import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP, compat32
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from urllib.parse import quote

from email_validator import validate_email
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

from ..shared.tokens import issued_at
from ..shared.urls import mail_domain
from . import mime
from .mime import Mail

# A list member's personal links by name, built from their one token.
LinkBuilder = Callable[[str], dict[str, str]]
# A list member's one token for all the links of a mail: (subscriber ID, address) -> token.
TokenMaker = Callable[[int, str], str]
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
            calendar: tuple[bytes, str] | None = None, **context) -> Mail:
    """Render ``template`` in ``language`` into a mail with a Message-ID of its own.
    With ``links`` (a list member's), it carries the list headers; with ``calendar``
    (ics, METHOD), the meeting."""
    subject, text, html = _render(template, subject, language,
                                  {**context, **(links or {}), "recipient_name": name})
    code = new_code()
    headers = {**_list_headers(), "List-Unsubscribe": _list_unsubscribe(links)} if links \
        else AUTOMATIC
    return mime.build(
        sender=sender, envelope=envelope_sender(code), recipient=transport_address(address),
        name=name, subject=subject, message_id=message_id(code), date=date_field(),
        headers=headers, text=text, html=html, code=code, calendar=calendar)


class _Slots:
    """Rendered text with slots for each recipient's values. The slots are marked by
    random words made for this one mailing, so no organiser's or member's text can
    hit one; the text is cut at them once and joined with each recipient's values."""

    def __init__(self, text: str, marks: dict[str, str]):
        pattern = re.compile("|".join(re.escape(mark) for mark in marks.values()))
        slot_of = {mark: name for name, mark in marks.items()}
        self._pieces: list[tuple[bool, str]] = []
        position = 0
        for match in pattern.finditer(text):
            self._pieces += [(False, text[position:match.start()]), (True, slot_of[match[0]])]
            position = match.end()
        self._pieces.append((False, text[position:]))

    def fill(self, values: dict[str, str]) -> str:
        return "".join(values[piece] if slot else piece for slot, piece in self._pieces)


class _Body:
    """A rendered body with slots, encoded quoted-printable line by line: the lines
    without a slot once, the lines with one for each recipient."""

    def __init__(self, text: str, marks: dict[str, str]):
        pattern = re.compile("|".join(re.escape(mark) for mark in marks.values()))
        *lines, last = mime.lines_with_lf(text).split("\n")
        self._lines = [_Slots(line, marks) if pattern.search(line) else mime.quoted_printable(line)
                       for line in [line + "\n" for line in lines] + [last]]

    def fill(self, values: dict[str, str]) -> bytes:
        """The encoded body with ``values`` in its slots."""
        return b"".join(line if isinstance(line, bytes)
                        else mime.quoted_printable(line.fill(values)) for line in self._lines)


class ListMail:
    """One mail to many list members, personalised when each is sent. The templates
    are rendered once per language (and with or without a name) with slots for the
    member's name and their one personal token; the message is put together from
    its parts (``mime.Layout``). The same row renders the same message every time:
    the code, date and token's time come from the row.

    ``token(subscriber_id, address)`` makes the member's token (dated by the row:
    ``tokens.issued_at``); ``links(token)`` builds the personal links from it, and
    they must include ``unsubscribe_url`` and ``unsubscribe_token`` for
    List-Unsubscribe. ``calendar``: each recipient's calendar object (address, name)
    and its METHOD."""

    def __init__(self, template: str, subject, *, sender: str, token: TokenMaker,
                 links: LinkBuilder, calendar: tuple[CalendarBuilder, str] | None = None,
                 **context):
        self.template, self.subject, self.sender = template, subject, sender
        self.calendar, self.context, self.token = calendar, context, token
        self._marks = {"name": f"vz{secrets.token_hex(12)}n",
                       "token": f"vz{secrets.token_hex(12)}t"}
        self._links = links(self._marks["token"])
        self._unsubscribe = _Slots(_list_unsubscribe(self._links), self._marks)
        self._variants = {}

    def _variant(self, language: str, named: bool):
        key = (language, named)
        if key not in self._variants:
            subject, text, html = _render(self.template, self.subject, language, {
                **self.context, **self._links,
                "recipient_name": self._marks["name"] if named else None})
            self._variants[key] = (_Body(text, self._marks), _Body(html, self._marks),
                                   mime.Layout(sender=self.sender, subject=subject,
                                               headers=_list_headers(),
                                               method=self.calendar[1] if self.calendar
                                               else None))
        return self._variants[key]

    def render(self, *, code: str, subscriber_id: int, address: str, name: str | None,
               language: str, created_at: datetime) -> bytes:
        """The message to one member, as queued at ``created_at``."""
        text, html, layout = self._variant(language, bool(name))
        recipient = transport_address(address)
        with issued_at(created_at):
            values = {"name": name or "", "token": self.token(subscriber_id, address)}
        return layout.message(
            to=mime.address_field("To", recipient, name), message_id=message_id(code),
            date=date_field(created_at), text=text.fill(values),
            html=html.fill({**values, "name": str(escape(name or ""))}), boundary=code,
            ics=self.calendar[0](recipient, name) if self.calendar else None,
            extra=mime.field("List-Unsubscribe", self._unsubscribe.fill(values)))


def forward(original: bytes, *, to: str, subject: str, note: str) -> Mail:
    """A mail the service cannot handle, forwarded to a person: a short note and the
    original attached as it came (``message/rfc822``)."""
    code = new_code()
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage(policy=SMTP)
    message["Subject"] = _("Forwarded: %(subject)s", subject=subject)[:200]
    message["From"] = sender
    message["To"] = to
    message["Date"] = date_field()
    message["Message-ID"] = message_id(code)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(note + "\n\n" + _("The original mail is attached.") + "\n")
    message.add_attachment(BytesParser(policy=compat32).parsebytes(original))
    return Mail(sender=envelope_sender(code), recipient=transport_address(parseaddr(to)[1]),
                message_id=message_id(code), subject=str(message["Subject"]), text=note,
                html="", data=message.as_bytes(), code=code)
