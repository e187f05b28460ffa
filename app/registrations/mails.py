"""The registration's mails: the confirmation link (double opt-in), the status
(place, waiting position, cancelled, lapsed; with the meeting request or its
cancellation), the offer of a freed place, and the reminder before the day. Each
carries the person's status link, from which they can cancel."""

import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..delivery import outbox
from ..delivery.compose import compose, envelope_sender, new_code
from ..meetings import calendar
from ..shared.timeutil import spoken
from ..shared.tokens import address_fingerprint, make_token
from ..shared.urls import external_url


def status_token(registration) -> str:
    """The token of the person's status page (where they can cancel)."""
    return make_token("registration", {"r": registration.id,
                                       "h": address_fingerprint(registration.email)})


def status_url(registration) -> str:
    return external_url("registrations.status", token=status_token(registration))


def _send(template: str, subject, registration, meeting, *, kind: str,
          calendar_method: str | None = None, named: bool = True, **context) -> None:
    # The calendar's replies go to this mail's own reply address: a decline there
    # proves its sender and releases the place (docs/calendar.md).
    code, ics = new_code(), None
    if calendar_method:
        ics = (calendar.request(meeting, calendar_method, registration.email, registration.name,
                                organizer=envelope_sender(code)), calendar_method)
    message = compose(
        template, subject, address=registration.email, code=code,
        name=registration.name if named else None,
        language=registration.language, sender=current_app.config["MAIL_DEFAULT_SENDER"],
        calendar=ics, meeting=meeting, registration=registration,
        meeting_url=calendar.meeting_url(meeting), status_url=status_url(registration),
        **context)
    outbox.enqueue(message, key=f"{kind}:{registration.id}:{secrets.token_hex(8)}",
                   kind=kind, meeting_id=meeting.id)


def confirm(registration, meeting) -> None:
    """The double opt-in link, without anything typed into the form (``named=False``):
    whoever registers can give any address."""
    token = make_token("registration-confirm", {"r": registration.id, "n": registration.nonce})
    _send("registration_confirm", _l("Please confirm your registration for the NetzWerkStatt"),
          registration, meeting, kind="registration", named=False,
          confirm_url=external_url("registrations.confirm", token=token),
          valid_days=current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400)


STATUS_SUBJECTS = {
    "registered": _l("Your place at the NetzWerkStatt"),
    "waiting": _l("You are on the waiting list for the NetzWerkStatt"),
    "cancelled": _l("Your registration for the NetzWerkStatt is cancelled"),
    "lapsed": _l("Your offer for the NetzWerkStatt has lapsed"),
}


def status(registration, meeting, *, position: int | None, again: bool = False,
           withdraw_calendar: bool = False, childcare_full: bool = False) -> None:
    """Where the registration stands now (``position``: in the waiting line); a place
    comes with the meeting request, a place given up with its cancellation."""
    method = "REQUEST" if registration.status == "registered" and not again else (
        "CANCEL" if withdraw_calendar else None)
    _send("registration_status", STATUS_SUBJECTS.get(registration.status.value,
                                                     STATUS_SUBJECTS["waiting"]),
          registration, meeting, kind="registration", calendar_method=method, again=again,
          position=position, childcare_full=childcare_full)


def offer(registration, meeting) -> None:
    token = make_token("registration-offer", {"r": registration.id, "o": registration.offer_round})
    _send("registration_offer", _l("A place at the NetzWerkStatt is free for you"),
          registration, meeting, kind="registration-offer",
          offer_url=external_url("registrations.offer", registration_id=registration.id,
                                 token=token),
          until=spoken(registration.offer_expires_at))


def reminder(registration, meeting) -> None:
    _send("registration_reminder", _l("Soon: the NetzWerkStatt"), registration, meeting,
          kind="registration-reminder",
          accessibility=meeting.venue.accessibility_notes if meeting.venue else None)
