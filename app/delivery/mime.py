"""Turning a rendered mail into the bytes that go over SMTP.

Built with the email package's compat32 MIME classes: several times faster than
``EmailMessage`` for the thousands of personalised mails of one send. They do not
refuse line breaks in headers themselves, so ``build`` does (no header injection).
"""

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


def _to(recipient: str, name: str | None) -> str:
    if name and recipient.isascii():
        return formataddr((_single_line(name), recipient), charset="utf-8")
    return recipient  # a non-ASCII local part goes out bare, with SMTPUTF8


def _structure(*, sender: str, subject: str, to: str, message_id: str, date: str,
               headers: dict[str, str], text: str, html: str,
               calendar: tuple[bytes, str] | None) -> bytes:
    """The mail as the email package writes it (line ends LF).

    multipart/alternative (text, HTML); with ``calendar`` (ics, METHOD) the iMIP
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
    message["Subject"] = _header(subject)
    message["From"] = _header(sender)
    message["To"] = _header(to)
    message["Date"] = date
    message["Message-ID"] = message_id
    for key, value in headers.items():
        message[key] = _header(value)
    return message.as_bytes(policy=UNFOLDED)


def build(*, sender: str, recipient: str, name: str | None, subject: str, message_id: str,
          date: str, headers: dict[str, str], text: str, html: str,
          calendar: tuple[bytes, str] | None = None) -> Mail:
    """One mail to one recipient."""
    data = _structure(sender=sender, subject=subject, to=_to(recipient, name),
                      message_id=message_id, date=date, headers=headers, text=text, html=html,
                      calendar=calendar)
    return Mail(sender=parseaddr(sender)[1], recipient=recipient, message_id=message_id,
                subject=subject, text=text, html=html, data=data.replace(b"\n", b"\r\n"))


# Where a Template's mails differ from each other.
_PERSONAL = ("TO", "ID", "DATE", "UNSUBSCRIBE", "TEXT", "HTML")
_MARK = {name: f"VZx{name}xVZ" for name in _PERSONAL}
_SPLIT = re.compile(rb"(VZx(?:" + "|".join(_PERSONAL).encode() + rb")xVZ)")


class Template:
    """The same mail to many recipients: the email package builds its structure once,
    with marks where each recipient's values go (address, Message-ID, Date, the
    unsubscribe link, the personalised bodies); ``fill`` puts them in, the bodies
    quoted-printable encoded by ``binascii``. Far cheaper than building each mail."""

    def __init__(self, *, sender: str, subject: str, headers: dict[str, str],
                 calendar: tuple[bytes, str] | None = None):
        self.sender, self.subject = sender, subject
        skeleton = _structure(
            sender=sender, subject=subject, to=_MARK["TO"], message_id=_MARK["ID"],
            date=_MARK["DATE"], headers={**headers, "List-Unsubscribe": _MARK["UNSUBSCRIBE"]},
            text=_MARK["TEXT"], html=_MARK["HTML"], calendar=calendar)
        self._pieces = _SPLIT.split(skeleton)

    def fill(self, *, recipient: str, name: str | None, message_id: str, date: str,
             list_unsubscribe: str, text: str, html: str) -> Mail:
        values = {
            b"VZxTOxVZ": _to(recipient, name).encode(),
            b"VZxIDxVZ": message_id.encode(),
            b"VZxDATExVZ": date.encode(),
            b"VZxUNSUBSCRIBExVZ": _single_line(list_unsubscribe).encode(),
            b"VZxTEXTxVZ": binascii.b2a_qp(text.encode(), istext=True),
            b"VZxHTMLxVZ": binascii.b2a_qp(html.encode(), istext=True),
        }
        data = b"".join(values.get(piece, piece) for piece in self._pieces)
        return Mail(sender=parseaddr(self.sender)[1], recipient=recipient,
                    message_id=message_id, subject=self.subject, text=text, html=html,
                    data=data.replace(b"\n", b"\r\n"))
