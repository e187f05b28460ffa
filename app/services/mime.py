"""Turning a rendered mail into the bytes that go over SMTP.

Built with the email package's compat32 MIME classes: several times faster than
``EmailMessage`` for the thousands of personalised mails of one send. They do not
refuse line breaks in headers themselves, so ``build`` does (no header injection).
"""

import secrets
from dataclasses import dataclass
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, parseaddr

UTF8 = Charset("utf-8")
UTF8.body_encoding = QP  # readable source, lines under 78 characters
# Headers stay on one line (none comes near RFC 5322's 998); folding them costs more
# than everything else in a mail.
UNFOLDED = compat32.clone(max_line_length=0)


def _boundary() -> str:
    # Random, so it cannot occur in the (QP or base64 encoded) parts: the generator
    # need not search every part for it.
    return f"=_vernetzer_{secrets.token_hex(12)}"


@dataclass(frozen=True)
class Mail:
    """A rendered mail, ready for the outbox."""

    sender: str  # envelope sender (address only)
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


def _text(body: str, subtype: str) -> MIMEText:
    return MIMEText(body, subtype, UTF8)


def build(*, sender: str, recipient: str, name: str | None, subject: str, message_id: str,
          date: str, headers: dict[str, str], text: str, html: str,
          calendar: tuple[bytes, str] | None = None) -> Mail:
    """multipart/alternative (text, HTML); with ``calendar`` (ics, METHOD) the iMIP
    structure CalConnect recommends: multipart/mixed holding the alternative with a
    third part ``text/calendar; method=...``, plus the same file as ``treffen.ics``."""
    alternative = MIMEMultipart("alternative", boundary=_boundary(),
                                _subparts=[_text(text, "plain"), _text(html, "html")])
    if calendar:
        ics, method = calendar
        inline = _text(ics.decode("utf-8"), "calendar")
        inline.set_param("method", method)
        alternative.attach(inline)
        attachment = MIMEBase("text", "calendar", method=method, charset="UTF-8")
        attachment.set_payload(ics)
        encoders.encode_base64(attachment)
        attachment.add_header("Content-Disposition", "attachment", filename="treffen.ics")
        message = MIMEMultipart("mixed", boundary=_boundary(), _subparts=[alternative, attachment])
    else:
        message = alternative
    if name and recipient.isascii():
        to = formataddr((_single_line(name), recipient), charset="utf-8")
    else:
        to = recipient  # a non-ASCII local part goes out bare, with SMTPUTF8
    message["Subject"] = _header(subject)
    message["From"] = _header(sender)
    message["To"] = _header(to)
    message["Date"] = date
    message["Message-ID"] = message_id
    for key, value in headers.items():
        message[key] = _header(value)
    return Mail(sender=parseaddr(sender)[1], recipient=recipient, message_id=message_id,
                subject=subject, text=text, html=html,
                data=message.as_bytes(policy=UNFOLDED).replace(b"\n", b"\r\n"))

