"""Meetings as iCalendar (RFC 5545), built with the icalendar library, for the feed,
each meeting's ``.ics`` and the meeting requests in mails (iMIP, RFC 6047).

Every object carries a rule-based Europe/Berlin VTIMEZONE (one RRULE per clock
change, as Thunderbird and Outlook write it): right in every reader for every year,
where a list of RDATEs is read by several readers as its first date only. UID never
changes; SEQUENCE is the meeting's, which rises with every change of time, place or
status; DTSTAMP and LAST-MODIFIED are the meeting's last change, so an unchanged
meeting is byte for byte the same object. docs/calendar.md explains the choices
and what each major client does with them.
"""

from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app
from icalendar import (
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vDuration,
    vRecur,
    vText,
)

from ..extensions import db
from ..shared.timeutil import local
from ..shared.urls import external_url
from .models import Meeting, MeetingStatus

TZID = "Europe/Berlin"
# How often subscribed calendars should look again (RFC 7986 and Outlook's name).
REFRESH = timedelta(hours=4)
# Part of the feed's ETag: a new version of how it is written invalidates every copy.
FORMAT = "2"

STATUS = {
    MeetingStatus.DRAFT: "TENTATIVE",
    MeetingStatus.ANNOUNCED: "CONFIRMED",
    MeetingStatus.HELD: "CONFIRMED",
    MeetingStatus.CANCELLED: "CANCELLED",
}
PUBLISHED = (MeetingStatus.ANNOUNCED, MeetingStatus.HELD, MeetingStatus.CANCELLED)


def meeting_url(meeting: Meeting) -> str:
    return external_url("meetings.meeting_page", meeting_id=meeting.id)


def file_url(meeting: Meeting) -> str:
    return external_url("meetings.meeting_file", meeting_id=meeting.id)


def summary(meeting: Meeting) -> str:
    title = "Stadtteilvernetzer-Treffen" if meeting.kind == "meeting" else "NetzWerkStatt"
    return f"{title}: {meeting.topic}" if meeting.topic else f"{title} in {meeting.district}"


def location(meeting: Meeting) -> str:
    if meeting.venue is None:
        return f"Stuttgart-{meeting.district}"
    return f"{meeting.venue.name}, {meeting.venue.address}"


def add_links(meeting: Meeting) -> dict[str, str]:
    """"Add to calendar" for Google Calendar and Outlook on the web (Android phones
    do not open an .ics): their public links, which need no account on our side and
    carry only what the public page shows."""
    details = meeting_url(meeting)
    google = urlencode({
        "action": "TEMPLATE", "text": summary(meeting), "details": details,
        "location": location(meeting),
        "dates": f"{meeting.start_at.astimezone(UTC):%Y%m%dT%H%M%SZ}/"
                 f"{meeting.end_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"})
    outlook = urlencode({
        "path": "/calendar/action/compose", "rru": "addevent", "subject": summary(meeting),
        "body": details, "location": location(meeting),
        "startdt": meeting.start_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "enddt": meeting.end_at.astimezone(UTC).isoformat().replace("+00:00", "Z")})
    return {"google_url": f"https://calendar.google.com/calendar/render?{google}",
            "outlook_url": f"https://outlook.live.com/calendar/0/deeplink/compose?{outlook}"}


def organizer_address() -> str:
    """The ORGANIZER: an address the service reads itself (replies become RSVPs)."""
    return parseaddr(current_app.config["MAIL_CALENDAR_ADDRESS"])[1]


def _transition(kind, start: datetime, month: int, offset_from: str, offset_to: str, name: str):
    part = kind()
    part.add("dtstart", start)
    part.add("tzoffsetfrom", timedelta(hours=int(offset_from)))
    part.add("tzoffsetto", timedelta(hours=int(offset_to)))
    part.add("tzname", name)
    part.add("rrule", vRecur(freq="YEARLY", bymonth=month, byday="-1SU"))
    return part


def vtimezone() -> Timezone:
    """Europe/Berlin as rules: summer time from the last Sunday of March, 02:00, to
    the last Sunday of October, 03:00 (the EU rule since 1996)."""
    zone = Timezone()
    zone.add("tzid", TZID)
    zone.add_component(_transition(TimezoneDaylight, datetime(1970, 3, 29, 2), 3, "1", "2", "CEST"))
    zone.add_component(_transition(TimezoneStandard, datetime(1970, 10, 25, 3), 10, "2", "1", "CET"))
    return zone


def event(meeting: Meeting, organizer: str | None = None) -> Event:
    """The meeting as a VEVENT; ``organizer``: the address replies go to (a member's
    own, in their meeting request), else ``organizer_address``."""
    item = Event()
    item.add("uid", meeting.uid)
    item.add("sequence", meeting.sequence)
    item.add("dtstamp", meeting.updated_at)
    item.add("last-modified", meeting.updated_at)
    item.add("created", meeting.created_at)
    item.add("dtstart", local(meeting.start_at))
    item.add("dtend", local(meeting.end_at))
    cancelled = meeting.status == MeetingStatus.CANCELLED
    item.add("summary", f"Abgesagt: {summary(meeting)}" if cancelled else summary(meeting))
    item.add("location", location(meeting))
    description = meeting.description or ""
    if cancelled and meeting.cancel_reason:
        description = f"Abgesagt: {meeting.cancel_reason}\n\n{description}"
    item.add("description", (description + "\n\n" + meeting_url(meeting)).strip())
    item.add("url", meeting_url(meeting))
    item.add("status", STATUS[meeting.status])
    item.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    organizer = vCalAddress(f"mailto:{organizer or organizer_address()}")
    organizer.params["cn"] = vText("Stadtteilvernetzer Stuttgart")
    item.add("organizer", organizer)
    return item


def _calendar(meetings, method: str, **properties) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Stadtteilvernetzer Stuttgart//vernetzer//DE")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    for name, value in properties.items():
        cal.add(name.replace("_", "-"), value)
    cal.add_component(vtimezone())  # always: a calendar is never empty
    for meeting in meetings:
        cal.add_component(event(meeting))
    return cal


def _published():
    return sa.select(Meeting).where(Meeting.status.in_(PUBLISHED))


def feed_version() -> tuple[str, datetime | None]:
    """The feed's ETag and Last-Modified, from one small query: they change exactly
    when a published meeting changes, appears or goes."""
    count, last_id, revisions, changed = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(Meeting.id), sa.func.sum(Meeting.revision),
                  sa.func.max(Meeting.updated_at))
        .where(Meeting.status.in_(PUBLISHED))).one()
    return f"{FORMAT}-{count}-{last_id}-{revisions}", changed


def feed() -> bytes:
    """The public feed: every announced, held or cancelled meeting."""
    name = "Stadtteilvernetzer Stuttgart"
    cal = _calendar(db.session.scalars(_published().order_by(Meeting.start_at)), "PUBLISH",
                    name=name, x_wr_calname=name, x_wr_timezone=TZID)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    return cal.to_ical()


def meeting_file(meeting: Meeting) -> bytes:
    """One meeting as a file to open or import."""
    return _calendar([meeting], "PUBLISH").to_ical()


def request(meeting: Meeting, method: str, address: str, name: str | None,
            organizer: str | None = None) -> bytes:
    """A meeting's calendar object for one recipient's mail: METHOD:REQUEST
    (invitation, update) or CANCEL, with the recipient alone as ATTENDEE and, where
    given, ``organizer`` as the address calendar apps send the reply to (a member's
    own reply address: docs/calendar.md, "Replies that prove their sender")."""
    cal = _calendar([], method)
    item = event(meeting, organizer)
    attendee = vCalAddress(f"mailto:{address}")
    attendee.params.update(ROLE="REQ-PARTICIPANT", CUTYPE="INDIVIDUAL")
    if method == "REQUEST":
        attendee.params.update(PARTSTAT="NEEDS-ACTION", RSVP="TRUE")
    if name:
        attendee.params["CN"] = vText(name)
    item.add("attendee", attendee)
    cal.add_component(item)
    return cal.to_ical()
