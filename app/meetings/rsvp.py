"""Answers to an invitation ("Ich komme"): from the signed links in every meeting
mail (a page shows the answer preselected; only its button records it, since mail
scanners open links) or from a calendar app's REPLY (iMIP, RFC 6047) that reached
the ORGANIZER address. A member may change the answer until the meeting starts.

A REPLY counts only when its ATTENDEE is a member who got this meeting's request
and the mail comes from that same address; anything else is a ``ReplyProblem``
and the mail is kept for organisers, never guessed.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from icalendar import Calendar

from ..delivery import outbox
from ..delivery.compose import compose
from ..extensions import db
from ..shared import audit, ratelimit, spreadsheet
from ..shared.database import utcnow
from ..shared.errors import UserError
from ..shared.tokens import TokenError, address_fingerprint, make_token, read_token
from ..shared.urls import external_url
from ..shared.validation import normalise_email
from ..subscriptions import services as subscriptions
from . import calendar
from .models import Answer, AnswerSource, Meeting, MeetingKind, MeetingStatus, Rsvp

PARTSTAT = {"ACCEPTED": Answer.YES, "TENTATIVE": Answer.MAYBE, "DECLINED": Answer.NO}
INVITED = ("invitation", "update")  # the mails that carry a meeting request


class ReplyProblem(Exception):
    """A calendar reply that cannot be recorded; the message says why (German)."""


def answer_label(answer) -> str:
    """An answer in words for people."""
    return {Answer.YES: _("I am coming"), Answer.MAYBE: _("Maybe"),
            Answer.NO: _("I am not coming")}.get(str(answer), str(answer))


def token(meeting_id: int, subscriber) -> str:
    return make_token("rsvp", {"m": meeting_id, "s": subscriber.id,
                               "h": address_fingerprint(subscriber.email)})


def links(meeting_id: int, rsvp_token: str) -> dict[str, str]:
    """The three answer links of a meeting mail."""
    return {f"rsvp_{answer}_url": external_url("meetings.rsvp_page", meeting_id=meeting_id,
                                               token=rsvp_token, antwort=answer.value)
            for answer in Answer}


def from_link(meeting_id: int, rsvp_token: str):
    """The meeting and member a link was made for; ``UserError`` (German) otherwise."""
    try:
        payload = read_token("rsvp", rsvp_token)
    except TokenError as error:
        if error.reason == "expired":
            raise UserError(_("This answer link has expired. Please use the link in "
                              "the latest mail about the meeting.")) from None
        raise UserError(_("This answer link is not valid. Please use the link from "
                          "the mail exactly as it is.")) from None
    subscriber = subscriptions.by_id(payload.get("s"))
    meeting = db.session.get(Meeting, meeting_id)
    if (payload.get("m") != meeting_id or meeting is None or subscriber is None
            or address_fingerprint(subscriber.email) != payload.get("h")):
        raise UserError(_("This answer link is not valid. Please use the link from "
                          "the mail exactly as it is."))
    if not subscriptions.is_active(subscriber):
        raise UserError(_("You are no longer on the distribution list, so answers "
                          "cannot be recorded for you. You can subscribe again on the "
                          "home page."))
    return meeting, subscriber


def closed_reason(meeting: Meeting, now=None) -> str | None:
    """Why answers are no longer taken for ``meeting``, or None: they are taken for an
    announced meeting that has not started."""
    if meeting.status == MeetingStatus.CANCELLED:
        return _("This meeting has been cancelled; no answer is needed.")
    if meeting.status != MeetingStatus.ANNOUNCED or meeting.start_at <= (now or utcnow()):
        return _("This meeting has already started; answers can no longer be changed.")
    return None


def check_open(meeting: Meeting, now=None) -> None:
    if reason := closed_reason(meeting, now):
        raise UserError(reason)


def request_link(meeting: Meeting, email: str, answer, *, ip: str | None) -> bool:
    """"Ich komme" on the public meeting page: a member of the list gets a mail with
    their personal answer links (``answer`` preselected in the one we point to).
    Nothing shows whether the address is on the list; False only when a limit held
    a mail back."""
    email = normalise_email(email)
    try:
        answer = Answer(answer)
    except ValueError:
        raise UserError(_("Please choose one of the answers.")) from None
    check_open(meeting)
    allowed = ratelimit.allow("CONFIRM_MAILS_PER_ADDRESS", "rsvp", email) and (
        ip is None or ratelimit.allow("CONFIRM_MAILS_PER_IP", "rsvp", ip))
    subscriber = subscriptions.find_by_email(email)
    if subscriber is None or not subscriptions.is_active(subscriber) or not allowed:
        return allowed
    answer_links = links(meeting.id, token(meeting.id, subscriber))
    message = compose(
        "rsvp_link", lambda: _("Your answer link: %(summary)s", summary=calendar.summary(meeting)),
        address=subscriber.email, name=subscriber.name, language=subscriber.language,
        sender=current_app.config["MAIL_DEFAULT_SENDER"], meeting=meeting, answers=True,
        chosen_url=answer_links[f"rsvp_{answer.value}_url"], chosen=answer_label(answer),
        meeting_url=calendar.meeting_url(meeting), ics_url=calendar.file_url(meeting),
        **answer_links)
    outbox.enqueue(message, key=f"rsvp-link:{meeting.id}:{subscriber.id}:{secrets.token_hex(8)}",
                   kind="rsvp-link", subscriber_id=subscriber.id, meeting_id=meeting.id)
    return True


def answer_of(meeting: Meeting, subscriber) -> Answer | None:
    return db.session.scalar(sa.select(Rsvp.answer).where(
        Rsvp.meeting_id == meeting.id, Rsvp.subscriber_id == subscriber.id))


def declined(meeting_id: int) -> sa.Select:
    """A query of the subscribers who said they will not come."""
    return sa.select(Rsvp.subscriber_id).where(Rsvp.meeting_id == meeting_id,
                                               Rsvp.answer == Answer.NO)


def coming(meeting_id: int) -> sa.Select:
    """A query of the subscribers who said they will come ("Ich komme")."""
    return sa.select(Rsvp.subscriber_id).where(Rsvp.meeting_id == meeting_id,
                                               Rsvp.answer == Answer.YES)


def record(meeting: Meeting, subscriber, answer, source: AnswerSource, now=None) -> Rsvp:
    """Record (or change) the member's answer; the same answer twice changes nothing."""
    try:
        answer = Answer(answer)
    except ValueError:
        raise UserError(_("Please choose one of the answers.")) from None
    check_open(meeting, now)
    row = db.session.scalar(sa.select(Rsvp).where(
        Rsvp.meeting_id == meeting.id, Rsvp.subscriber_id == subscriber.id))
    if row is None:
        row = Rsvp(meeting_id=meeting.id, subscriber_id=subscriber.id, answer=answer,
                   source=source, answered_at=now or utcnow())
        db.session.add(row)
    elif row.answer != answer:
        row.answer, row.source, row.answered_at = answer, source, now or utcnow()
    db.session.flush()
    return row


def _reply_event(ics: bytes):
    try:
        cal = Calendar.from_ical(ics)
    except (ValueError, IndexError, KeyError) as error:
        raise ReplyProblem(_("The calendar object cannot be read (%(error)s).",
                             error=str(error)[:200])) from None
    if str(cal.get("method", "")).upper() != "REPLY":
        raise ReplyProblem(_("The calendar object is not a reply (METHOD:REPLY)."))
    events = cal.walk("VEVENT")
    if len(events) != 1:
        raise ReplyProblem(_("The reply does not contain exactly one event."))
    return events[0]


def _attendees(item) -> list:
    found = item.get("attendee")
    return found if isinstance(found, list) else [found] if found else []


def _mailto(attendee) -> str | None:
    """The address of an ATTENDEE (``mailto:`` in any case), or None."""
    value = str(attendee)
    return value[7:] if value.lower().startswith("mailto:") else None


def reply_attendee(ics: bytes) -> tuple[str, str | None]:
    """The UID and the replying ATTENDEE's address of a REPLY (for organisers)."""
    item = _reply_event(ics)
    attendees = _attendees(item)
    return str(item.get("uid", "")), _mailto(attendees[0]) if attendees else None


def _version(item) -> tuple[int, datetime | None]:
    """A REPLY's SEQUENCE and DTSTAMP (UTC): which version of the event it answers,
    and when the answer was made."""
    try:
        sequence = int(item.get("sequence", 0))
    except (TypeError, ValueError):
        sequence = 0
    try:
        stamp = item.decoded("dtstamp")
    except (KeyError, ValueError):
        return sequence, None
    if not isinstance(stamp, datetime):
        return sequence, None
    return sequence, (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(UTC)


def _parse_reply(ics: bytes):
    """Meeting, ATTENDEE address, answer and version (SEQUENCE, DTSTAMP) of a REPLY;
    ``ReplyProblem`` otherwise."""
    item = _reply_event(ics)
    uid = str(item.get("uid", ""))
    meeting = None if "\x00" in uid else db.session.scalar(  # no column holds a NUL
        sa.select(Meeting).where(Meeting.uid == uid))
    if meeting is None:
        raise ReplyProblem(_("The reply is about an event this service does not know."))
    attendees = _attendees(item)
    if len(attendees) != 1:
        raise ReplyProblem(_("The reply does not name exactly one participant."))
    [attendee] = attendees
    address = _mailto(attendee)
    if address is None:
        raise ReplyProblem(_("The participant has no e-mail address."))
    answer = PARTSTAT.get(str(attendee.params.get("PARTSTAT", "")).upper())
    if answer is None:
        raise ReplyProblem(_("The reply gives no answer (PARTSTAT)."))
    try:
        address = normalise_email(address)
    except UserError:
        raise ReplyProblem(_("The participant's address is not valid.")) from None
    return meeting, address, answer, _version(item)


@dataclass(frozen=True)
class Reply:
    """A calendar app's REPLY that proved its sender (``read_reply``)."""

    meeting: Meeting
    address: str  # the ATTENDEE, who is the sender and the invited person
    answer: Answer
    sequence: int
    stamp: datetime | None

    @property
    def declines(self) -> bool:
        return self.answer == Answer.NO


def read_reply(ics: bytes, sender: str, *, sent_to: tuple[str, int | None] | None,
               dmarc_failed: bool = False) -> Reply:
    """A calendar app's REPLY, when it proves its sender: it came to the reply
    address that one person's meeting request carried (``sent_to``: the address and
    meeting of that mail, which the inbound path found by the tag it was sent to),
    its ATTENDEE is that person, the From address is theirs too and the receiving
    server did not find the From domain's DMARC failing. A From header proves
    nothing; the reply address, which no public calendar file carries, does.
    ``ReplyProblem`` otherwise."""
    meeting, address, answer, (sequence, stamp) = _parse_reply(ics)
    if dmarc_failed:
        raise ReplyProblem(_("The receiving server found the sender's domain failing DMARC: "
                             "the reply may be forged."))
    if sent_to is None:
        raise ReplyProblem(_("The reply did not come to a member's own reply address (say, "
                             "it answers the public calendar file)."))
    try:
        invited = normalise_email(sent_to[0])
        sender = normalise_email(parseaddr(sender)[1])
    except UserError:
        invited = sender = ""
    if meeting.kind == MeetingKind.MEETING and not subscriptions.is_active_address(address):
        # (A NetzWerkStatt's registrants need not be on the list.)
        raise ReplyProblem(_("The reply comes from an address that is not on the list."))
    if sender != address:
        raise ReplyProblem(_("The reply was sent from another address than the one it "
                             "answers for."))
    if invited != address or sent_to[1] != meeting.id:
        raise ReplyProblem(_("The reply came to another member's reply address, or about "
                             "another meeting."))
    return Reply(meeting, address, answer, sequence, stamp)


def record_reply(reply: Reply) -> Rsvp:
    """A member's answer from their calendar app (``read_reply``). A reply older
    than the answer recorded is stale (RFC 5546, 2.1.5: a lower SEQUENCE, or the
    same one with an earlier DTSTAMP; against an answer given on the web, a DTSTAMP
    before it) and kept for organisers: mail may arrive late."""
    subscriber = subscriptions.find_by_email(reply.address)
    recorded = db.session.scalar(sa.select(Rsvp).where(
        Rsvp.meeting_id == reply.meeting.id, Rsvp.subscriber_id == subscriber.id))
    if recorded is not None and _stale(recorded, reply.sequence, reply.stamp):
        raise ReplyProblem(_("An older reply than the answer recorded (%(answer)s): it "
                             "changes nothing.", answer=answer_label(recorded.answer)))
    try:
        row = record(reply.meeting, subscriber, reply.answer, AnswerSource.CALENDAR)
    except UserError as error:
        raise ReplyProblem(str(error)) from None
    row.reply_sequence, row.reply_stamp = reply.sequence, reply.stamp
    return row


def _stale(recorded: Rsvp, sequence: int, stamp: datetime | None) -> bool:
    if recorded.source == AnswerSource.CALENDAR and recorded.reply_sequence is not None:
        if sequence != recorded.reply_sequence:
            return sequence < recorded.reply_sequence
        return stamp is not None and recorded.reply_stamp is not None \
            and stamp < recorded.reply_stamp
    return stamp is not None and stamp < recorded.answered_at


def assign(meeting: Meeting, email: str, answer, *, actor: str) -> Rsvp:
    """An organiser records a reply that came from an unknown address for a member."""
    subscriber = subscriptions.find_by_email(normalise_email(email))
    if subscriber is None or not subscriptions.is_active(subscriber):
        raise UserError(_("There is no active subscriber with this address."))
    row = record(meeting, subscriber, answer, AnswerSource.ORGANISER)
    audit.record(actor, "rsvp.assign", f"meeting {meeting.id}", subscriber=subscriber.id,
                 answer=row.answer.value)
    return row


def answers(meeting: Meeting) -> list[tuple[Rsvp, object]]:
    """Each answer with its member, yes first, then by name."""
    rows = db.session.scalars(sa.select(Rsvp).where(Rsvp.meeting_id == meeting.id)).all()
    people = {s.id: s for s in subscriptions.by_ids(r.subscriber_id for r in rows)}
    order = {Answer.YES: 0, Answer.MAYBE: 1, Answer.NO: 2}
    return sorted(((r, people[r.subscriber_id]) for r in rows),
                  key=lambda pair: (order[pair[0].answer], (pair[1].name or pair[1].email).lower()))


def counts(meeting: Meeting) -> dict[Answer, int]:
    found = dict(db.session.execute(sa.select(Rsvp.answer, sa.func.count())
                                    .where(Rsvp.meeting_id == meeting.id)
                                    .group_by(Rsvp.answer)).all())
    return {answer: found.get(answer, 0) for answer in Answer}


def export(meeting: Meeting, stream) -> None:
    """The answers as CSV for the host: answer, name, organisation, e-mail, when."""
    writer = spreadsheet.writer(stream)
    writer.writerow(["antwort", "name", "organisation", "email", "beantwortet"])
    labels = {Answer.YES: "ja", Answer.MAYBE: "vielleicht", Answer.NO: "nein"}
    for row, person in answers(meeting):
        writer.writerow(spreadsheet.row([labels[row.answer], person.name, person.organisation,
                                         person.email, row.answered_at]))


def queue_headcounts(now=None) -> int:
    """Two days before (``REMIND_BEFORE_DAYS``), the host contact of each announced
    meeting gets the headcount, once."""
    now = now or utcnow()
    horizon = now + timedelta(days=current_app.config["REMIND_BEFORE_DAYS"])
    count = 0
    for meeting in db.session.scalars(sa.select(Meeting).where(
            Meeting.status == MeetingStatus.ANNOUNCED, Meeting.start_at > now,
            Meeting.start_at <= horizon, Meeting.venue_id.is_not(None))):
        contact = _contact_address(meeting.venue.contact)
        if contact is None:
            continue
        mail = compose("headcount", _("Headcount: %(summary)s", summary=calendar.summary(meeting)),
                       address=contact, name=None, language="de",
                       sender=current_app.config["MAIL_DEFAULT_SENDER"], meeting=meeting,
                       counts=counts(meeting), meeting_url=calendar.meeting_url(meeting))
        if outbox.enqueue(mail, key=f"headcount:{meeting.id}", kind="headcount",
                          meeting_id=meeting.id):
            count += 1
    return count


def _contact_address(contact: str | None) -> str | None:
    """The e-mail address in a venue's contact text (``Name <a@b.de>``, ``a@b.de``, …)."""
    for word in (contact or "").replace(",", " ").replace(";", " ").split():
        try:
            return normalise_email(parseaddr(word)[1] or word)
        except UserError:
            continue
    return None
