"""Turning a rendered mail into the bytes that go over SMTP.

Every message is put together from its parts: header fields, each encoded on its
own (RFC 2047 encoded words, folded to lines of at most 78 characters), and body
parts, each encoded on its own (quoted-printable text, base64 calendar objects).
No text from an organiser or a subscriber is ever searched for or split on, so none
can turn into structure: a header value is one header value whatever it contains
(line breaks in names and subjects become spaces; anywhere else they are refused).

Every mail kind goes through ``message``, one recipient at a time. (Python's
``email.message.EmailMessage`` does the same in about 3 ms a mail; this in a tenth
of that: bench/invite.py.)

A meeting request follows RFC 6047 and CalConnect's iMIP practices: the calendar
object is part of the multipart/alternative (``text/calendar; method=...``) and the
same object is attached as ``application/ics``; the MIME ``method`` is the body's
METHOD. docs/calendar.md explains why.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, parseaddr
from urllib.parse import quote

CRLF = b"\r\n"
_CR = re.compile(r"\r\n?")
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
# ASCII text needs encoding where a word would not fit on a folded line, or where
# it looks like an encoded word itself (a reader would decode it).
_NEEDS_ENCODING = re.compile(r"\S{70,}|=\?")


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
    code: str  # the Message-ID's left part and the envelope tag


def one_line(value: str) -> str:
    """Display text (a name, a subject) as one line: line breaks become spaces."""
    return _LINE_BREAKS.sub(" ", value).strip()


def _structural(value: str) -> str:
    """An address, URL or ID: a line break in it is a bug, never repaired."""
    if _LINE_BREAKS.search(value):
        raise ValueError("line break in a mail header")
    return value


def _plain(value: str) -> bool:
    return value.isascii() and not _NEEDS_ENCODING.search(value)


def folded(name: bytes, value: bytes) -> bytes:
    """``name: value`` CRLF-terminated, folded before 78 characters where it can be:
    after the ``;`` or ``,`` that separate parameters and list items (RFC 5322, 2.2.3;
    a single item longer than a line, such as a long URL, stays whole)."""
    items = re.split(rb"(?<=[;,]) ", value)
    lines, line = [], name + b": " + items[0]
    for item in items[1:]:
        if len(line) + 1 + len(item) > 78:
            lines.append(line)
            line = b" " + item
        else:
            line += b" " + item
    return CRLF.join([*lines, line]) + CRLF


def field(name: str, value: str, *, text: bool = False) -> bytes:
    """One header field, CRLF-terminated and folded. ``text``: free text (subject,
    a name), encoded as RFC 2047 words where it is not plain short-worded ASCII."""
    if not text:
        return folded(name.encode(), _structural(value).encode())
    value = one_line(value)
    charset = "us-ascii" if _plain(value) else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(linesep="\r\n", maxlinelen=76)
    return f"{name}: {encoded}".encode() + CRLF


def address_field(name: str, address: str, display: str | None) -> bytes:
    """``name: "Display" <address>``; a non-ASCII local part goes out bare (SMTPUTF8)."""
    address = _structural(address)
    display = one_line(display or "")
    if not display or not address.isascii():
        return field(name, address)
    if _plain(display) and len(display) < 60:
        return field(name, formataddr((display, address)))
    words = Header(display, "utf-8", header_name=name).encode(linesep="\r\n", maxlinelen=76)
    return f"{name}: {words}\r\n <{address}>".encode() + CRLF


def quoted_printable(text: str) -> bytes:
    """``text`` as a quoted-printable body with CRLF line ends (a CR alone counts as
    a line end: SMTP allows no other). Each line is encoded on its own (RFC 2045,
    6.7)."""
    text = _CR.sub("\n", text)
    return binascii.b2a_qp(text.encode(), istext=True).replace(b"\n", CRLF)


def _base64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", CRLF)


def _part(content_type: bytes, encoding: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return (folded(b"Content-Type", content_type) + extra
            + b"Content-Transfer-Encoding: " + encoding + CRLF + CRLF + body)


def _multipart(subtype: bytes, boundary: bytes, parts: list[bytes]) -> tuple[bytes, bytes]:
    """The Content-Type field and the body of a multipart."""
    delimiter = b"--" + boundary
    body = b"".join(delimiter + CRLF + part + CRLF for part in parts) + delimiter + b"--" + CRLF
    return b"multipart/" + subtype + b'; boundary="' + boundary + b'"', body


def _attachment(filename: str, content_type: str, data: bytes) -> bytes:
    """A file attached: its name plain where it is short ASCII, else by RFC 2231."""
    name = one_line(filename).replace('"', "'").replace("\\", "_")
    if name.isascii() and len(name) < 60:
        disposition = f'attachment; filename="{name}"'.encode()
    else:
        disposition = b"attachment; filename*=utf-8''" + quote(name, safe="").encode()
    return _part(_structural(content_type).encode(), b"base64", _base64(data),
                 folded(b"Content-Disposition", disposition))


def message(*, sender: str, to: bytes, subject: str, headers: dict[str, str],
            message_id: str, date: str, text: str, html: str, boundary: str,
            calendar: tuple[bytes, str] | None = None,
            attachments: tuple[tuple[str, str, bytes], ...] = ()) -> bytes:
    """One recipient's message. ``to`` is their encoded To field (``address_field``),
    ``headers`` further fields (list headers, Reply-To, Auto-Submitted); ``boundary`` a
    string that cannot occur in the encoded parts (the mail's random code);
    ``calendar`` (ics, METHOD) makes it a meeting request; ``attachments`` are files
    (name, type, bytes) after the text."""
    parts = [_part(b'text/plain; charset="utf-8"', b"quoted-printable", quoted_printable(text)),
             _part(b'text/html; charset="utf-8"', b"quoted-printable", quoted_printable(html))]
    mark = f"=_vernetzer_{boundary}_".encode()
    if calendar is not None:
        ics, method = calendar
        encoded = _base64(ics)
        parts.append(_part(b"text/calendar; method=" + method.encode() + b'; charset="UTF-8"',
                           b"base64", encoded))
        inner_type, inner = _multipart(b"alternative", mark + b"a", parts)
        attachment = _part(b'application/ics; name="einladung.ics"', b"base64", encoded,
                           b'Content-Disposition: attachment; filename="einladung.ics"' + CRLF)
        content_type, body = _multipart(
            b"mixed", mark + b"m", [folded(b"Content-Type", inner_type) + CRLF + inner,
                                    attachment])
    elif attachments:
        inner_type, inner = _multipart(b"alternative", mark + b"a", parts)
        content_type, body = _multipart(
            b"mixed", mark + b"m", [folded(b"Content-Type", inner_type) + CRLF + inner,
                                    *(_attachment(*file) for file in attachments)])
    else:
        content_type, body = _multipart(b"alternative", mark + b"a", parts)
    head = (field("Subject", subject, text=True) + _sender_field(sender) + to
            + b"".join(field(key, value) for key, value in headers.items())
            + field("Date", date) + field("Message-ID", message_id))
    return head + b"MIME-Version: 1.0\r\n" + folded(b"Content-Type", content_type) + CRLF + body


def forward(*, sender: str, to: bytes, subject: str, message_id: str, date: str, note: str,
            original: bytes, boundary: str) -> bytes:
    """A note with ``original`` attached as it came (``message/rfc822``), its bytes
    untouched but for line ends (CRLF, as SMTP carries them): never parsed or
    rebuilt, so a 25 MB mail costs a copy, not a parse."""
    original = original.replace(CRLF, b"\n").replace(b"\n", CRLF)
    if not original.endswith(CRLF):
        original += CRLF
    encoding = b"7bit" if original.isascii() else b"8bit"
    content_type, body = _multipart(b"mixed", f"=_vernetzer_{boundary}_f".encode(), [
        _part(b'text/plain; charset="utf-8"', b"quoted-printable", quoted_printable(note)),
        b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n"
        b"Content-Transfer-Encoding: " + encoding + CRLF + CRLF + original])
    head = (field("Subject", subject, text=True) + _sender_field(sender) + to
            + field("Auto-Submitted", "auto-generated") + field("Date", date)
            + field("Message-ID", message_id))
    return head + b"MIME-Version: 1.0\r\n" + folded(b"Content-Type", content_type) + CRLF + body


def _sender_field(sender: str) -> bytes:
    """From, as configured ("Name <address>" or an address)."""
    display, address = parseaddr(one_line(sender))
    return address_field("From", address or sender, display or None)


def build(*, sender: str, envelope: str, recipient: str, name: str | None, subject: str,
          message_id: str, date: str, headers: dict[str, str], text: str, html: str,
          code: str, calendar: tuple[bytes, str] | None = None,
          attachments: tuple[tuple[str, str, bytes], ...] = ()) -> Mail:
    """One mail to one recipient; ``envelope`` is the envelope sender."""
    data = message(sender=sender, to=address_field("To", recipient, name), subject=subject,
                   headers=headers, message_id=message_id, date=date, text=text, html=html,
                   boundary=code, calendar=calendar, attachments=attachments)
    return Mail(sender=envelope, recipient=recipient, message_id=message_id,
                subject=one_line(subject), text=text, html=html, data=data, code=code)
