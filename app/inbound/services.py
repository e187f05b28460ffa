"""One path for all mail that comes back to the service (the ORGANIZER address,
the List-Unsubscribe mailto, the envelope sender of every mail):

- a calendar app's REPLY (iMIP) becomes the member's answer (``meetings.rsvp``);
- a mail to the unsubscribe address with its signed code unsubscribes;
- a delivery status notification (RFC 3464) with a permanent failure counts as a
  hard bounce of the mail it names (by the envelope tag or its Message-ID);
- an auto-reply (RFC 3834) is ignored, and so is our own list mail come back;
- mail to the post address (``MAIL_POST_ADDRESS``) is a post to the list
  (``posts``: held for organisers unless its author is a trusted member);
- anything else, and every mail that cannot be acted on, is kept for organisers
  (and anything else forwarded to ``INBOUND_FORWARD_TO``): never guessed.

``receive`` writes in the caller's transaction; the caller commits, and only then
removes the mail from where it came (a crash before leaves it to be read again;
a mail read twice is recognised by its Message-ID and not acted on twice).
"""

import logging
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, HeaderParser
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import DataError, SQLAlchemyError

from ..delivery import outbox
from ..delivery.compose import forward
from ..extensions import db
from ..meetings import rsvp
from ..meetings import services as meetings
from ..posts import services as posts
from ..registrations import services as registrations
from ..shared import audit, logs, ratelimit
from ..shared.database import by_id
from ..shared.errors import UserError
from ..subscriptions import services as subscriptions
from .models import InboundKind, InboundMail, InboundStatus

log = logging.getLogger(__name__)
CALENDAR_TYPES = ("text/calendar", "application/ics")
# Mail with more parts or nesting than this is kept by its headers, unread.
MAX_PARTS, MAX_DEPTH = 100, 10
# Searched in the lower-cased mail (a literal prefix: C speed, unlike re.I).
_MULTIPART = re.compile(rb"\ncontent-type:[ \t]*multipart/")
# Only mail that names one of these has a body worth parsing (a calendar reply, a DSN),
# and only up to this size: theirs are a few kB (a DSN quotes one of our mails at most),
# while parsing 25 MB would take the worker a second of CPU and more.
_READ_BODY_OF = (b"text/calendar", b"application/ics", b"application/octet-stream",
                 b"begin:vcalendar", b"multipart/report")
_METHOD_REPLY = re.compile(rb"^METHOD:REPLY\s*$", re.I | re.M)
READ_BODY_MAX_BYTES = 2 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response",
                      "X-Auto-Response-Suppress")
# What responders that set none of those headers write in front of the subject.
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(abwesenheitsnotiz|automatische antwort|out of office|auto:|automatic reply|"
    r"autoreply|auto-reply|abwesend)", re.I)


def _parse(raw: bytes, *, headers_only: bool = False) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw, headersonly=headers_only)


def _header(message, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except (ValueError, IndexError, TypeError):  # a header the parser cannot make out
        return ""


def _tag_pattern() -> re.Pattern:
    local, _at, domain = parseaddr(current_app.config["MAIL_CALENDAR_ADDRESS"])[1].rpartition("@")
    return re.compile(rf"{re.escape(local)}\+([0-9a-f]{{32}})@{re.escape(domain)}", re.I)


def _calendar_parts(message) -> list[bytes]:
    """Every calendar object in the mail: parts of a calendar type, and any other
    part whose content is one (several mail programs send the .ics as
    application/octet-stream). A REPLY comes first: some programs quote the original
    REQUEST before their answer."""
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_content_type() in CALENDAR_TYPES or \
                payload.lstrip()[:15].upper() == b"BEGIN:VCALENDAR":
            parts.append(payload)
    return sorted(parts, key=lambda payload: not _METHOD_REPLY.search(payload))


def _is_auto_reply(message) -> bool:
    submitted = _header(message, "Auto-Submitted").strip().lower()
    precedence = _header(message, "Precedence").strip().lower()
    return ((submitted and submitted != "no")
            or precedence in ("auto_reply", "junk", "bulk", "list")
            or any(message.get(name) for name in AUTO_REPLY_HEADERS)
            or bool(AUTO_REPLY_SUBJECT.match(_header(message, "Subject"))))


def _is_dsn(message) -> bool:
    return (message.get_content_type() == "multipart/report"
            and str(message.get_param("report-type", "")).lower() == "delivery-status")


def _reported_address(field) -> str:
    """``rfc822; anna@example.org`` (RFC 3464) as the address alone, lower-cased."""
    return str(field).partition(";")[2].strip().strip("<>").lower()


def _handle_dsn(message) -> tuple[InboundStatus, str]:
    """A permanent failure (Action: failed, Status 5.x.x) counts as a hard bounce of
    the mail it names, when the recipient it reports is the one that mail went to
    (anyone holding a forwarded mail's Message-ID could otherwise push its member
    toward "bounced"); a delay is only noted."""
    permanent = False
    codes, failed = [], set()
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in part.get_payload():
                action = str(block.get("Action", "")).strip().lower()
                status = str(block.get("Status", "")).strip()
                if action == "failed" and status.startswith("5"):
                    permanent = True
                    failed |= {_reported_address(block.get(name)) for name in
                               ("Final-Recipient", "Original-Recipient") if block.get(name)}
        elif kind == "message/rfc822":
            original = part.get_payload()[0]
            codes.append(_header(original, "Message-ID"))
        elif kind == "text/rfc822-headers":
            headers = HeaderParser().parsestr(part.get_content())
            codes.append(str(headers.get("Message-ID", "")))
    if not permanent:
        return InboundStatus.HANDLED, _("Delivery delayed or reported as done; nothing to do.")
    if outbox.bounced(codes + _tags(message), failed):
        return InboundStatus.HANDLED, _("Undeliverable: counted as a hard bounce.")
    return InboundStatus.KEPT, _("A bounce for a mail this service cannot find.")


def _tags(message) -> list[str]:
    """The codes of the tagged addresses (``einladung+<code>@…``) the mail came to."""
    tag = _tag_pattern()
    return [match.group(1).lower() for name in ("Delivered-To", "X-Original-To", "Envelope-To",
                                                "To")
            for match in tag.finditer(_header(message, name))]


def _dmarc_failed(message) -> bool:
    """The receiving server's ``Authentication-Results`` say DMARC failed for the
    From domain."""
    domain = parseaddr(_header(message, "From"))[1].rpartition("@")[2].lower()
    for result in message.get_all("Authentication-Results") or []:
        for verdict in re.finditer(r"dmarc=(\w+)(?:[^;]*?header\.from=([^\s;]+))?", str(result),
                                   re.I):
            if verdict.group(1).lower() == "fail" and (
                    verdict.group(2) is None or verdict.group(2).lower() == domain):
                return True
    return False


def _handle_reply(message, parts: list[bytes]) -> tuple[InboundStatus, str]:
    try:
        reply = rsvp.read_reply(parts[0], _header(message, "From"),
                                sent_to=outbox.sent_with(_tags(message)),
                                dmarc_failed=_dmarc_failed(message))
        if registrations.is_workshop(reply.meeting):
            return InboundStatus.HANDLED, registrations.from_calendar_reply(reply)
        row = rsvp.record_reply(reply)
    except rsvp.ReplyProblem as problem:
        return InboundStatus.KEPT, str(problem)
    return InboundStatus.HANDLED, _("Answer recorded: %(answer)s.", answer=rsvp.answer_label(row.answer))


def _handle_unsubscribe(raw: bytes) -> tuple[InboundStatus, str]:
    try:
        subscriptions.unsubscribe_by_mail(raw)
    except UserError as error:
        return InboundStatus.KEPT, str(error)
    return InboundStatus.HANDLED, _("Unsubscribed.")


def _addressed_to(message, address: str) -> bool:
    """Whether ``address`` is among the mail's recipients as its headers name them."""
    return any(address.lower() in _header(message, name).lower()
               for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"))


def _own_list_mail(message) -> bool:
    """Our own list mail came back (a member's forward, a loop): it carries our
    List-Id or our X-Loop."""
    list_id = parseaddr(current_app.config["MAIL_LIST_ID"])[1].lower()
    return (bool(list_id) and list_id in _header(message, "List-Id").lower()) or (
        current_app.config["MAIL_POST_ADDRESS"].lower() in _header(message, "X-Loop").lower())


def _classify(message, raw: bytes) -> tuple[InboundKind, InboundStatus, str]:
    if _is_dsn(message):
        return InboundKind.BOUNCE, *_handle_dsn(message)
    parts = _calendar_parts(message)
    if parts:
        return InboundKind.CALENDAR_REPLY, *_handle_reply(message, parts)
    if _is_auto_reply(message):
        return InboundKind.AUTO_REPLY, InboundStatus.HANDLED, _("Automatic reply, ignored.")
    if _own_list_mail(message):
        return InboundKind.LOOP, InboundStatus.HANDLED, _("Our own list mail came back: dropped.")
    unsubscribe = current_app.config["MAIL_UNSUBSCRIBE_ADDRESS"].lower()
    if (subscriptions.UNSUBSCRIBE_SUBJECT.search(_header(message, "Subject"))
            or unsubscribe in _header(message, "To").lower()):
        return InboundKind.UNSUBSCRIBE, *_handle_unsubscribe(raw)
    if _addressed_to(message, current_app.config["MAIL_POST_ADDRESS"]):
        return InboundKind.POST, InboundStatus.HANDLED, posts.receive_mail(message)
    return InboundKind.OTHER, InboundStatus.KEPT, _("Written by a person: for organisers.")


def _seen(message_id: str | None) -> bool:
    return bool(message_id) and db.session.scalar(
        sa.select(sa.func.count()).select_from(InboundMail)
        .where(InboundMail.message_id == message_id)) > 0


def _clean(text: str) -> str:
    """A header value as it may be stored: one line, no NUL or other control characters."""
    return _CONTROL.sub(" ", text).strip()


def _look(raw: bytes) -> tuple[bool, bool]:
    """A cheap look before parsing (a few passes over the bytes at C speed): whether
    the mail has more MIME parts than ``MAX_PARTS`` or more nested multiparts than
    ``MAX_DEPTH`` (their count bounds the depth); and whether its body is worth
    parsing at all (only a calendar reply's or a DSN's is read; a person's mail with
    25 MB of photos is classified by its headers, and forwarded as it came)."""
    lowered = b"\n" + raw.lower()
    too_complex = (lowered.count(b"\ncontent-type:") > MAX_PARTS
                   or len(_MULTIPART.findall(lowered)) > MAX_DEPTH)
    return too_complex, (len(raw) <= READ_BODY_MAX_BYTES
                         and any(name in lowered for name in _READ_BODY_OF))


def _read(raw: bytes, *, whole: bool) -> EmailMessage:
    """The mail parsed, ``whole`` or by its headers; a post (mail to the post address)
    always whole: its text and attachments are what it is about."""
    message = _parse(raw, headers_only=not whole)
    if not whole and _addressed_to(message, current_app.config["MAIL_POST_ADDRESS"]):
        message = _parse(raw)
    return message


def receive(raw: bytes, *, complete: bool = True) -> InboundMail | None:
    """Act on one inbound mail (the message as bytes; ``complete`` False when only
    its headers were read, since it is too large). Returns its record, or None for a
    mail already received (same Message-ID).

    Every mail ends here, handled or kept with its reason: whatever it contains,
    nothing but a database error leaves this function (the caller then keeps the
    mail to try again). A mail too large, or with too many parts or too deep a
    nesting to be read quickly, is kept by its headers alone."""
    limit, size = current_app.config["INBOUND_MAX_BYTES"], len(raw)
    readable = complete and size <= limit
    too_complex, read_body = _look(raw) if readable else (False, False)
    reason = None
    if not readable:
        reason = _("Too large to read; only its headers are kept.")
    elif too_complex:
        reason = _("More than %(parts)d parts or %(depth)d nested levels: only its headers are "
                   "kept.", parts=MAX_PARTS, depth=MAX_DEPTH)
    if reason:
        raw = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:limit]
    message = _read(raw, whole=read_body)
    message_id = _clean(_header(message, "Message-ID"))[:250] or None
    if _seen(message_id):
        return None
    if reason:
        kind, status, note = InboundKind.OTHER, InboundStatus.KEPT, reason
    else:
        try:
            with db.session.begin_nested():
                kind, status, note = _classify(message, raw)
        except SQLAlchemyError as error:
            if not isinstance(error, DataError):  # the database, not the mail: retry
                raise
            kind, status, note = (InboundKind.OTHER, InboundStatus.KEPT,
                                  _("The mail cannot be read (%(error)s).",
                                    error=type(error.orig).__name__))
        except Exception as error:  # built so oddly that reading it fails: keep it
            kind, status, note = (InboundKind.OTHER, InboundStatus.KEPT,
                                  _("The mail cannot be read (%(error)s).",
                                    error=f"{type(error).__name__}: {error}"[:200]))
    record = InboundMail(message_id=message_id, sender=_clean(_header(message, "From"))[:320],
                         subject=_clean(_header(message, "Subject"))[:300], kind=kind,
                         status=status, note=_clean(note)[:500], size=size,
                         raw=raw if status == InboundStatus.KEPT else None)
    db.session.add(record)
    db.session.flush()
    logs.after_commit(db.session(), "inbound.handled", id=record.id, kind=kind.value,
                      status=status.value, message_id=message_id)
    if kind == InboundKind.OTHER and current_app.config["INBOUND_FORWARD_TO"] and \
            ratelimit.allow("INBOUND_FORWARDS_PER_SENDER",
                            parseaddr(record.sender)[1].lower() or "unknown"):
        # At most so many forwards per sender, whatever their mail looks like: a
        # responder that marks nothing cannot start a loop with the forward's reader.
        try:
            forwarded = forward(raw, to=current_app.config["INBOUND_FORWARD_TO"],
                                subject=record.subject, note=record.note)
        except Exception:  # the mail stays kept for organisers all the same
            log.exception("inbound mail %s kept but not forwarded", record.id)
        else:
            outbox.enqueue(forwarded, key=f"forward:{record.id}", kind="forward")
    return record


def kept() -> list[InboundMail]:
    return list(db.session.scalars(sa.select(InboundMail).where(
        InboundMail.status == InboundStatus.KEPT).order_by(InboundMail.received_at.desc())))


def find(mail_id) -> InboundMail | None:
    return by_id(InboundMail, mail_id)


def reply_details(mail: InboundMail) -> dict | None:
    """For a kept calendar reply: the meeting it is about and the address that
    answered, so that an organiser can assign it."""
    if mail.kind != InboundKind.CALENDAR_REPLY or not mail.raw:
        return None
    parts = _calendar_parts(_parse(mail.raw))
    try:
        uid, address = rsvp.reply_attendee(parts[0])
    except (rsvp.ReplyProblem, IndexError):
        return None
    return {"meeting": meetings.by_uid(uid), "address": address}


def assign(mail: InboundMail, *, meeting_id, email: str, answer: str, actor: str) -> None:
    """An organiser records a kept calendar reply as the answer of a member."""
    meeting = meetings.find(meeting_id)
    if meeting is None:
        raise UserError(_("Please choose the meeting."))
    rsvp.assign(meeting, email, answer, actor=actor)
    done(mail, actor=actor)


def done(mail: InboundMail, *, actor: str) -> None:
    """An organiser has dealt with a kept mail; its content is no longer kept."""
    mail.status = InboundStatus.DONE
    mail.raw = None
    audit.record(actor, "inbound.done", f"inbound {mail.id}")
    mail.note = (mail.note + " " + _("Dealt with by %(actor)s.", actor=actor))[:500]
