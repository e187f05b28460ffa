"""Meetings as iCalendar (RFC 5545), built with the icalendar library.

Times carry TZID=Europe/Berlin with its VTIMEZONE; DTSTAMP is UTC; UID never
changes; SEQUENCE is the meeting's, which rises with every change of time, place
or status, so that calendar clients replace their copy.
"""

from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from ..extensions import db
from ..shared.database import utcnow
from ..shared.timeutil import local
from ..shared.urls import external_url
from .models import Meeting, MeetingStatus

STATUS = {
    MeetingStatus.DRAFT: "TENTATIVE",
    MeetingStatus.ANNOUNCED: "CONFIRMED",
    MeetingStatus.HELD: "CONFIRMED",
    MeetingStatus.CANCELLED: "CANCELLED",
}


def meeting_url(meeting: Meeting) -> str:
    return external_url("meetings.meeting_page", meeting_id=meeting.id)


def summary(meeting: Meeting) -> str:
    title = "Stadtteilvernetzer-Treffen" if meeting.kind == "meeting" else "NetzWerkStatt"
    return f"{title}: {meeting.topic}" if meeting.topic else f"{title} in {meeting.district}"


def location(meeting: Meeting) -> str:
    if meeting.venue is None:
        return f"Stuttgart-{meeting.district}"
    return f"{meeting.venue.name}, {meeting.venue.address}"


def event(meeting: Meeting) -> Event:
    item = Event()
    item.add("uid", meeting.uid)
    item.add("sequence", meeting.sequence)
    item.add("dtstamp", utcnow())
    item.add("dtstart", local(meeting.start_at))
    item.add("dtend", local(meeting.end_at))
    item.add("summary", summary(meeting))
    item.add("location", location(meeting))
    description = meeting.description or ""
    if meeting.status == MeetingStatus.CANCELLED and meeting.cancel_reason:
        description = f"Abgesagt: {meeting.cancel_reason}\n\n{description}"
    item.add("description", (description + "\n\n" + meeting_url(meeting)).strip())
    item.add("url", meeting_url(meeting))
    item.add("status", STATUS[meeting.status])
    name, address = parseaddr(current_app.config["MAIL_LIST_SENDER"])
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = vText(name or "Stadtteilvernetzer Stuttgart")
    item.add("organizer", organizer)
    return item


def calendar(meetings: list[Meeting], method: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Stadtteilvernetzer Stuttgart//vernetzer//DE")
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    cal.add("x-wr-calname", "Stadtteilvernetzer Stuttgart")
    cal.add("x-wr-timezone", "Europe/Berlin")
    for meeting in meetings:
        cal.add_component(event(meeting))
    cal.add_missing_timezones()
    return cal


def feed() -> bytes:
    """The public feed: every announced, held or cancelled meeting."""
    published = db.session.scalars(
        sa.select(Meeting).where(Meeting.status != MeetingStatus.DRAFT)
        .order_by(Meeting.start_at))
    return calendar(list(published), method="PUBLISH").to_ical()
