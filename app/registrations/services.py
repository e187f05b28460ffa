"""NetzWerkStatt registration.

A place is one person; their children needing care take child-care places, which
have a capacity of their own. Registering (confirmed by mail, unless a member comes
through their own signed link) takes a free place, or joins the waiting list when none is free, when the
child care is full, or when others are waiting already (nobody jumps the line).
When places free up, the first people in line whose children fit get an offer that
holds the place for ``REGISTRATION_OFFER_HOURS``; an offer declined or lapsed goes
to the next. Every change of places takes the event's row lock first
(``meetings.lock``), so cancellations and acceptances at the same moment, in any
number of processes, are counted one after the other and nobody is lost or doubled.
"""

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..meetings import rsvp
from ..meetings import services as meetings
from ..shared import audit, ratelimit, spreadsheet
from ..shared.database import by_id, utcnow
from ..shared.errors import Problems, UserError
from ..shared.tokens import TokenError, address_fingerprint, make_token, read_token
from ..shared.validation import clean_text, normalise_email, person_name, required
from ..subscriptions import services as subscribers
from . import mails
from .mails import status_token  # noqa: F401 -- the pages' links
from .models import HOLDING, Registration, RegistrationStatus, RegistrationTally

MAX_CHILDREN = 10
ACTIVE = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITING, RegistrationStatus.OFFERED)


def find(registration_id) -> Registration | None:
    return by_id(Registration, registration_id)


def is_workshop(meeting) -> bool:
    return meeting is not None and meeting.kind == "workshop"


def closed_reason(meeting, now=None) -> str | None:
    """Why nobody can register for ``meeting``, or None: registration is possible for
    an announced NetzWerkStatt ahead whose registration is open."""
    if meeting.status != "announced" or meeting.start_at <= (now or utcnow()):
        return _("This NetzWerkStatt is over or cancelled; nobody can register for it "
                 "any more.")
    if not meeting.registration_open:
        return _("Registration for this NetzWerkStatt is closed.")
    return None


def check_open(meeting, now=None) -> None:
    if reason := closed_reason(meeting, now):
        raise UserError(reason)


def places(meeting) -> dict:
    """Places and child-care places: capacity, taken, free (None: no limit), waiting."""
    taken, children = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Registration.children), 0))
        .where(Registration.meeting_id == meeting.id, Registration.status.in_(HOLDING))).one()
    waiting = db.session.scalar(sa.select(sa.func.count()).where(
        Registration.meeting_id == meeting.id,
        Registration.status == RegistrationStatus.WAITING))
    childcare = meeting.childcare_capacity or 0
    return {"capacity": meeting.capacity, "taken": taken,
            "free": None if meeting.capacity is None else max(meeting.capacity - taken, 0),
            "childcare_capacity": childcare, "childcare_taken": children,
            "childcare_free": max(childcare - children, 0), "waiting": waiting}


def _children(value) -> int:
    try:
        number = int(str(value).strip() or 0) if value is not None else 0
    except ValueError:
        number = -1
    if not 0 <= number <= MAX_CHILDREN:
        raise UserError(_("Please give the number of children who need care: from 0 "
                          "to %(max)d.", max=MAX_CHILDREN))
    return number


def _details(problems: Problems, name, organisation, children, children_ages,
             access_needs) -> dict:
    """The form's fields checked; what is wrong goes to ``problems``."""
    children = problems.check("children", _children, children)
    ages = problems.check("children_ages", clean_text, children_ages, 100,
                          _("Ages of the children"))
    if children and not ages:
        problems.add("children_ages", _("Please give the children's ages, so that the child "
                                        "care can prepare."))
    return {"name": problems.check("name", lambda: required(person_name(name, 150), _("Name"))),
            "organisation": problems.check("organisation", clean_text, organisation, 150,
                                           _("Organisation")),
            "children": children, "children_ages": ages if children else None,
            "access_needs": problems.check("access_needs", clean_text, access_needs, 1000,
                                           _("Accessibility needs"))}


def _mail_allowed(email: str, ip: str | None) -> bool:
    """Registration mails count against the sign-up limits, apart from sign-ups."""
    return ratelimit.allow("CONFIRM_MAILS_PER_ADDRESS", "registration", email) and (
        ip is None or ratelimit.allow("CONFIRM_MAILS_PER_IP", "registration", ip))


def _by_address(meeting, email: str) -> Registration | None:
    return db.session.scalar(sa.select(Registration).where(
        Registration.meeting_id == meeting.id, Registration.email == email))


def member_token(member: subscribers.Subscriber) -> str:
    """The member's own link to register without confirming (on their settings page,
    which every list mail links to)."""
    return make_token("member-registration",
                      {"s": member.id, "h": address_fingerprint(member.email)})


def member_from_link(token: str) -> subscribers.Subscriber:
    """The active member behind ``member_token`` (TokenError otherwise)."""
    member = subscribers.from_link("member-registration", token)
    if not subscribers.is_active(member):
        raise TokenError("invalid")
    return member


def register(meeting, *, email, name, organisation=None, children=0,
             children_ages=None, access_needs=None, consent=False, language="de",
             ip=None, member: subscribers.Subscriber | None = None,
             now=None) -> Registration | None:
    """A registration; None when a limit held its mail back.

    From the public form the answer is the same for every address: a confirmation
    link by mail first (for members of the list too: anyone can type a member's
    address), and only the confirmation takes a place or a waiting position. A
    ``member`` who came through their own signed link (``member_from_link``) has
    proved the address and takes it at once. Someone registered already gets their
    status again; nothing is recorded twice.
    """
    now = now or utcnow()
    problems = Problems()  # every field's error at once
    details = _details(problems, name, organisation, children, children_ages, access_needs)
    email = member.email if member is not None else problems.check("email", normalise_email,
                                                                   email)
    if details["children"] and not meeting.childcare_capacity:
        problems.add("children", _("This NetzWerkStatt offers no child care, sorry."))
    if not consent:
        problems.add("consent", _("Please agree that we process your details for this "
                                  "registration."))
    problems.done()
    check_open(meeting, now)
    meeting = meetings.lock(meeting)
    registration = _by_address(meeting, email)
    # Counted before anything is written: a flood makes no rows. (A member's own
    # link confirms nothing by mail; its status mails go to that member only.)
    if member is None and not _mail_allowed(email, ip):
        return None
    if registration is not None and registration.status in ACTIVE:
        _tell(registration, meeting, again=True)
        return registration
    if registration is None:
        registration = Registration(meeting_id=meeting.id, email=email)
        db.session.add(registration)
    for field, value in details.items():
        setattr(registration, field, value)
    registration.language, registration.consent_ip = language, ip
    registration.status, registration.nonce = RegistrationStatus.UNCONFIRMED, secrets.token_hex(16)
    registration.queued_at = registration.offer_expires_at = None
    registration.confirmed_at = registration.reminded_at = None
    db.session.flush()
    if member is not None:
        _take_place_or_wait(registration, meeting, now)
    else:
        mails.confirm(registration, meeting)
    return registration


def _take_place_or_wait(registration: Registration, meeting, now) -> None:
    """A confirmed registration: a free place, else the end of the waiting list.
    Nobody jumps the line, but a place that nobody waiting can take (they all wait
    for child care that is full) goes to the newcomer whose children fit."""
    free = places(meeting)
    fits = (free["free"] is None or free["free"] >= 1) and \
        registration.children <= free["childcare_free"]
    ahead_fits = db.session.scalar(sa.select(sa.func.count()).where(
        Registration.meeting_id == meeting.id, Registration.status == RegistrationStatus.WAITING,
        Registration.children <= free["childcare_free"]))
    registration.confirmed_at = registration.confirmed_at or now
    registration.queued_at = now
    registration.status = (RegistrationStatus.REGISTERED if fits and not ahead_fits
                           else RegistrationStatus.WAITING)
    db.session.flush()
    _tell(registration, meeting)


def _locked(registration: Registration) -> tuple:
    """The event's lock, then the registration read afresh under it."""
    meeting = meetings.lock(meetings.find(registration.meeting_id))
    db.session.refresh(registration)
    return registration, meeting


def check_confirm_token(token: str) -> Registration:
    payload = read_token("registration-confirm", token)
    registration = find(payload.get("r")) if isinstance(payload, dict) else None
    if registration is None or registration.nonce != payload.get("n"):
        raise TokenError("invalid")
    if registration.status != RegistrationStatus.UNCONFIRMED:
        raise TokenError("used")
    return registration


def confirm(token: str, now=None) -> Registration:
    """The double opt-in: the registration takes a place or joins the waiting list."""
    now = now or utcnow()
    registration, meeting = _locked(check_confirm_token(token))
    if registration.status != RegistrationStatus.UNCONFIRMED:
        raise TokenError("used")
    if meeting.status != "announced" or meeting.start_at <= now:
        raise UserError(_("This NetzWerkStatt is over or cancelled; nobody can register "
                          "for it any more."))
    _take_place_or_wait(registration, meeting, now)
    return registration


def from_status_link(token: str) -> Registration:
    """The registration behind a personal status link (TokenError if none)."""
    payload = read_token("registration", token)
    registration = find(payload.get("r")) if isinstance(payload, dict) else None
    if registration is None or address_fingerprint(registration.email) != payload.get("h"):
        raise TokenError("invalid")
    return registration


def position(registration: Registration) -> int | None:
    """Their place in the waiting line (1 is next), or None when not waiting."""
    if registration.status != RegistrationStatus.WAITING:
        return None
    ahead = db.session.scalar(sa.select(sa.func.count()).where(
        Registration.meeting_id == registration.meeting_id,
        Registration.status == RegistrationStatus.WAITING,
        sa.or_(Registration.queued_at < registration.queued_at,
               sa.and_(Registration.queued_at == registration.queued_at,
                       Registration.id < registration.id))))
    return ahead + 1


def waits_for_childcare(registration: Registration, meeting) -> bool:
    """Waiting because the child care is full, while places are free."""
    free = places(meeting)
    return (registration.status == RegistrationStatus.WAITING
            and (free["free"] is None or free["free"] >= 1)
            and registration.children > free["childcare_free"])


def _tell(registration: Registration, meeting, **options) -> None:
    """The status mail, with the waiting position and what is full."""
    mails.status(registration, meeting, position=position(registration),
                 childcare_full=waits_for_childcare(registration, meeting), **options)


def _move_up(meeting, now) -> int:
    """Offer freed places to the first people in line whose children fit; returns
    how many offers were made. Caller holds the event's lock."""
    if meeting.status != "announced" or meeting.start_at <= now:
        return 0
    free = places(meeting)
    seats, childcare, offered = free["free"], free["childcare_free"], 0
    hours = current_app.config["REGISTRATION_OFFER_HOURS"]
    line = db.session.scalars(sa.select(Registration).where(
        Registration.meeting_id == meeting.id, Registration.status == RegistrationStatus.WAITING)
        .order_by(Registration.queued_at, Registration.id))
    for registration in line:
        if seats is not None and seats < 1:
            break
        if registration.children > childcare:
            continue
        registration.status = RegistrationStatus.OFFERED
        registration.offer_round += 1
        registration.offer_expires_at = now + timedelta(hours=hours)
        seats = None if seats is None else seats - 1
        childcare -= registration.children
        offered += 1
        db.session.flush()
        mails.offer(registration, meeting)
    return offered


def from_calendar_reply(reply: rsvp.Reply, now=None) -> str:
    """A registrant's calendar app answered the meeting request of their place
    (``rsvp.read_reply`` proved the sender). A decline releases the place as
    cancelling on the status page does (the reply from their own reply address is
    the confirmation that page asks for) and the next in line gets the offer; an
    acceptance changes nothing. Returns what was done, for organisers."""
    registration = _by_address(reply.meeting, reply.address)
    if registration is None or registration.status not in ACTIVE:
        raise rsvp.ReplyProblem(_("The reply is about a NetzWerkStatt this address holds no "
                                  "registration for."))
    if not reply.declines:
        return _("The registrant keeps their registration: nothing to change.")
    cancel(registration, now=now)
    return _("Declined in the calendar app: the registration is cancelled and its place "
             "offered to the next in line.")


def cancel(registration: Registration, *, actor: str | None = None, now=None) -> Registration:
    """Cancel (from the person's mail, or by an organiser: audited); the freed place
    is offered to the next in line."""
    now = now or utcnow()
    registration, meeting = _locked(registration)
    if registration.status not in (*ACTIVE, RegistrationStatus.UNCONFIRMED):
        raise UserError(_("This registration is cancelled already."))
    had_place = registration.status in HOLDING
    registration.status = RegistrationStatus.CANCELLED
    registration.offer_expires_at = None
    db.session.flush()
    _tell(registration, meeting, withdraw_calendar=had_place)
    _move_up(meeting, now)
    if actor:
        audit.record(actor, "registration.cancel", f"meeting {meeting.id}",
                     person=registration.email)
    return registration


def offer_of(registration_id, token: str) -> Registration:
    """The registration an offer link was made for (TokenError if not this one)."""
    payload = read_token("registration-offer", token)
    registration = find(registration_id)
    if registration is None or not isinstance(payload, dict) or payload.get("r") != \
            registration.id:
        raise TokenError("invalid")
    return registration


def answer_offer(registration_id, token: str, *, accept: bool, now=None) -> Registration:
    """"Platz annehmen" or "Nicht mehr interessiert" from an offer mail's link."""
    now = now or utcnow()
    payload = read_token("registration-offer", token)
    registration, meeting = _locked(offer_of(registration_id, token))
    current = registration.offer_round == payload.get("o")
    if current and registration.status == RegistrationStatus.REGISTERED:
        raise UserError(_("You have accepted this place already. See you there!"))
    if current and registration.status == RegistrationStatus.LAPSED or (
            registration.status == RegistrationStatus.OFFERED
            and registration.offer_expires_at <= now):
        raise UserError(_("This offer has lapsed; the place has gone to the next person on "
                          "the waiting list."))
    if not current or registration.status != RegistrationStatus.OFFERED:
        raise UserError(_("This offer is no longer valid."))
    registration.offer_expires_at = None
    if accept:
        registration.status = RegistrationStatus.REGISTERED
        db.session.flush()
        _tell(registration, meeting)
    else:
        registration.status = RegistrationStatus.CANCELLED
        db.session.flush()
        _move_up(meeting, now)
    return registration


def lapse_offers(now=None) -> int:
    """Offers not taken in time lapse; each place goes to the next in line."""
    now = now or utcnow()
    lapsed = 0
    for registration in list(db.session.scalars(sa.select(Registration).where(
            Registration.status == RegistrationStatus.OFFERED,
            Registration.offer_expires_at <= now))):
        registration, meeting = _locked(registration)
        if registration.status != RegistrationStatus.OFFERED or \
                registration.offer_expires_at > now:
            continue  # answered in the meantime
        registration.status, registration.offer_expires_at = RegistrationStatus.LAPSED, None
        db.session.flush()
        _tell(registration, meeting)
        _move_up(meeting, now)
        lapsed += 1
    return lapsed


def configure(meeting, *, actor: str, open_: bool, capacity, childcare_capacity,
              now=None):
    """Organisers open or close registration and set capacities; more places move
    the waiting list up."""
    meeting = meetings.lock(meeting)
    meetings.set_registration(meeting, actor=actor, open_=open_, capacity=capacity,
                              childcare_capacity=childcare_capacity)
    _move_up(meeting, now or utcnow())
    return meeting


MOVES = ("platz", "warteliste", "absagen")


def move(registration: Registration, to: str, *, actor: str, now=None) -> Registration:
    """An organiser moves a person: give a place (even beyond capacity), put back at
    the end of the waiting list, or cancel. Audited."""
    now = now or utcnow()
    if to == "absagen":
        return cancel(registration, actor=actor, now=now)
    if to not in MOVES:
        raise UserError(_("Unknown action."))
    registration, meeting = _locked(registration)
    if to == "platz":
        if registration.status not in (RegistrationStatus.WAITING, RegistrationStatus.OFFERED,
                                       RegistrationStatus.UNCONFIRMED):
            raise UserError(_("This person cannot be given a place from here."))
        registration.status, registration.offer_expires_at = RegistrationStatus.REGISTERED, None
        registration.confirmed_at = registration.confirmed_at or now
        registration.queued_at = registration.queued_at or now
        db.session.flush()
        _tell(registration, meeting)
    else:
        if registration.status not in HOLDING:
            raise UserError(_("Only a person with a place can be put on the waiting list."))
        registration.status, registration.offer_expires_at = RegistrationStatus.WAITING, None
        registration.queued_at = now
        db.session.flush()
        _tell(registration, meeting, withdraw_calendar=True)
        _move_up(meeting, now)
    audit.record(actor, "registration.move", f"meeting {meeting.id}",
                 person=registration.email, to=registration.status.value)
    return registration


def lists(meeting) -> dict[RegistrationStatus, list[Registration]]:
    """Everyone by status, in the order of the line."""
    result = {status: [] for status in RegistrationStatus}
    for registration in db.session.scalars(sa.select(Registration).where(
            Registration.meeting_id == meeting.id)
            .order_by(Registration.queued_at.is_(None), Registration.queued_at,
                      Registration.id)):
        result[registration.status].append(registration)
    return result


def export(meeting, stream) -> None:
    """The host's list: everyone with a place, their child care and access needs,
    and the totals."""
    writer = spreadsheet.writer(stream)
    writer.writerow([_("Name"), _("Organisation"), _("E-mail"), _("Children needing care"),
                     _("Ages of the children"), _("Accessibility needs")])
    holders = lists(meeting)[RegistrationStatus.REGISTERED]
    for r in holders:
        writer.writerow(spreadsheet.row([r.name, r.organisation, r.email, r.children,
                                         r.children_ages, r.access_needs]))
    writer.writerow([])
    writer.writerow([_("Participants"), len(holders)])
    writer.writerow([_("Children in child care"), sum(r.children for r in holders)])
    writer.writerow([_("With accessibility needs"), sum(1 for r in holders if r.access_needs)])


def queue_reminders(now=None) -> int:
    """The practical details, once, to everyone with a place, before the day."""
    now = now or utcnow()
    days = current_app.config["REMIND_BEFORE_DAYS"]
    sent = 0
    for meeting in meetings.workshops_between(now, now + timedelta(days=days)):
        for registration in db.session.scalars(sa.select(Registration).where(
                Registration.meeting_id == meeting.id,
                Registration.status == RegistrationStatus.REGISTERED,
                Registration.reminded_at.is_(None))):
            registration.reminded_at = now
            mails.reminder(registration, meeting)
            sent += 1
    return sent


def forget_past(now=None) -> int:
    """``REGISTRATION_RETENTION_DAYS`` after a NetzWerkStatt, its registrations are
    deleted; only the counts remain (``RegistrationTally``). Returns how many."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["REGISTRATION_RETENTION_DAYS"])
    forgotten = 0
    for meeting in meetings.workshops_ended_before(cutoff):
        people = lists(meeting)
        count = sum(len(rows) for rows in people.values())
        if not count:
            continue
        holders = people[RegistrationStatus.REGISTERED]
        db.session.merge(RegistrationTally(
            meeting_id=meeting.id, registered=len(holders),
            children=sum(r.children for r in holders),
            waiting=len(people[RegistrationStatus.WAITING]),
            cancelled=len(people[RegistrationStatus.CANCELLED])
            + len(people[RegistrationStatus.LAPSED]), forgotten_at=now))
        db.session.execute(sa.delete(Registration).where(Registration.meeting_id == meeting.id))
        forgotten += count
    return forgotten


def tally(meeting) -> RegistrationTally | None:
    return db.session.get(RegistrationTally, meeting.id)
