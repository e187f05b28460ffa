"""Turning a rendered mail into the bytes that go over SMTP.

Built with the email package's compat32 MIME classes: several times faster than
``EmailMessage`` for the thousands of personalised mails of one send. They do not
refuse line breaks in headers themselves, so ``build`` does (no header injection).

A meeting request follows RFC 6047 and CalConnect's iMIP practices: the calendar
object is part of the multipart/alternative (``text/calendar; method=...``) and the
same object is attached as ``application/ics``; the MIME ``method`` is the body's
METHOD. docs/calendar.md explains why.
"""

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr

UTF8 = Charset("utf-8")
UTF8.body_encoding = QP  # readable source, lines under 78 characters
# The generator does not fold: folding every header costs more than everything else in
# a mail. The one header that can grow long, Subject, is folded once by ``_subject``.
UNFOLDED = compat32.clone(max_line_length=0)


def _boundary() -> str:
    # Random, so it cannot occur in the (QP or base64 encoded) parts: the generator
    # need not search every part for it.
    return f"=_vernetzer_{secrets.token_hex(12)}"


@dataclass(frozen=True)
class Mail:
    """A rendered mail, ready for the outbox."""

    sender: str  # envelope sender (address only): where bounces go
    recipient: str  # envelope recipient
    message_id: str
    subject: str
    text: str
    html: str
    data: bytes


def _single_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("line break in a mail header")
    return value


def _header(value: str) -> str | Header:
    value = _single_line(value)
    return value if value.isascii() else Header(value, "utf-8")


def _subject(value: str) -> str:
    """RFC 2047 encoded words of at most 75 characters on folded lines (RFC 5322)."""
    charset = "us-ascii" if _single_line(value).isascii() else "utf-8"
    return Header(value, charset, header_name="Subject").encode(linesep="\n", maxlinelen=75)


def _text(body: str, subtype: str) -> MIMEText:
    return MIMEText(body, subtype, UTF8)


def _calendar_parts(ics: bytes | str, method: str) -> tuple[MIMEBase, MIMEBase]:
    """The inline ``text/calendar`` part and the ``application/ics`` attachment, both
    base64 (``ics`` may be a mark that ``Template.fill`` replaces)."""
    inline = MIMEBase("text", "calendar", method=method, charset="UTF-8")
    attachment = MIMEBase("application", "ics", name="einladung.ics")
    attachment.add_header("Content-Disposition", "attachment", filename="einladung.ics")
    for part in (inline, attachment):
        if isinstance(ics, bytes):
            part.set_payload(ics)
            encoders.encode_base64(part)
        else:
            part.set_payload(ics)
            part["Content-Transfer-Encoding"] = "base64"
    return inline, attachment


def _to(recipient: str, name: str | None) -> str:
    if name and recipient.isascii():
        return formataddr((_single_line(name), recipient), charset="utf-8")
    return recipient  # a non-ASCII local part goes out bare, with SMTPUTF8


def _structure(*, sender: str, subject: str, to: str, message_id: str, date: str,
               headers: dict[str, str], text: str, html: str,
               calendar: tuple[bytes | str, str] | None) -> bytes:
    """The mail as the email package writes it (line ends LF).

    multipart/alternative (text, HTML); with ``calendar`` (ics, METHOD):
    multipart/mixed holding the alternative with a third part ``text/calendar;
    method=...``, and the same object attached as ``application/ics``."""
    alternative = MIMEMultipart("alternative", boundary=_boundary(),
                                _subparts=[_text(text, "plain"), _text(html, "html")])
    if calendar:
        inline, attachment = _calendar_parts(*calendar)
        alternative.attach(inline)
        message = MIMEMultipart("mixed", boundary=_boundary(), _subparts=[alternative, attachment])
    else:
        message = alternative
    message["Subject"] = _subject(subject)
    message["From"] = _header(sender)
    message["To"] = _header(to)
    message["Date"] = date
    message["Message-ID"] = message_id
    for key, value in headers.items():
        message[key] = _header(value)
    return message.as_bytes(policy=UNFOLDED)


def build(*, sender: str, envelope: str, recipient: str, name: str | None, subject: str,
          message_id: str, date: str, headers: dict[str, str], text: str, html: str,
          calendar: tuple[bytes, str] | None = None) -> Mail:
    """One mail to one recipient; ``envelope`` is the envelope sender."""
    data = _structure(sender=sender, subject=subject, to=_to(recipient, name),
                      message_id=message_id, date=date, headers=headers, text=text, html=html,
                      calendar=calendar)
    return Mail(sender=envelope, recipient=recipient, message_id=message_id,
                subject=subject, text=text, html=html, data=data.replace(b"\n", b"\r\n"))


# Where a Template's mails differ from each other.
_PERSONAL = ("TO", "ID", "DATE", "UNSUBSCRIBE", "TEXT", "HTML", "ICS")
_MARK = {name: f"VZx{name}xVZ" for name in _PERSONAL}
_SPLIT = re.compile(rb"(VZx(?:" + "|".join(_PERSONAL).encode() + rb")xVZ)")


class Template:
    """The same mail to many recipients: the email package builds its structure once,
    with marks where each recipient's values go (address, Message-ID, Date, the
    unsubscribe link, the personalised bodies); ``fill`` puts them in, the bodies
    quoted-printable encoded by ``binascii``, and the recipient's own calendar object,
    if ``method`` is given. Far cheaper than building each mail."""

    def __init__(self, *, sender: str, subject: str, headers: dict[str, str],
                 method: str | None = None):
        self.sender, self.subject = sender, subject
        skeleton = _structure(
            sender=sender, subject=subject, to=_MARK["TO"], message_id=_MARK["ID"],
            date=_MARK["DATE"], headers={**headers, "List-Unsubscribe": _MARK["UNSUBSCRIBE"]},
            text=_MARK["TEXT"], html=_MARK["HTML"],
            calendar=(_MARK["ICS"], method) if method else None)
        self._pieces = _SPLIT.split(skeleton)

    def fill(self, *, envelope: str, recipient: str, name: str | None, message_id: str,
             date: str, list_unsubscribe: str, text: str, html: str,
             ics: bytes = b"") -> Mail:
        values = {
            b"VZxTOxVZ": _to(recipient, name).encode(),
            b"VZxIDxVZ": message_id.encode(),
            b"VZxDATExVZ": date.encode(),
            b"VZxUNSUBSCRIBExVZ": _single_line(list_unsubscribe).encode(),
            b"VZxTEXTxVZ": binascii.b2a_qp(text.encode(), istext=True),
            b"VZxHTMLxVZ": binascii.b2a_qp(html.encode(), istext=True),
            b"VZxICSxVZ": base64.encodebytes(ics).rstrip(b"\n"),
        }
        data = b"".join(values.get(piece, piece) for piece in self._pieces)
        return Mail(sender=envelope, recipient=recipient,
                    message_id=message_id, subject=self.subject, text=text, html=html,
                    data=data.replace(b"\n", b"\r\n"))
