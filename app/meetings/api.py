"""The upcoming meetings as JSON for other sites (the blog): schema.org ``Event``
fields, so search engines and calendar tools read them too. The promised fields are
described in ``docs/treffen.schema.json``."""

import re

from ..shared.urls import external_url
from . import calendar
from .models import Meeting, MeetingStatus

SCHEMA = "https://schema.org/"


def _status(meeting: Meeting) -> str:
    if meeting.status == MeetingStatus.CANCELLED:
        return SCHEMA + "EventCancelled"
    if meeting.previous_start_at is not None:
        return SCHEMA + "EventRescheduled"
    return SCHEMA + "EventScheduled"


# "Marktplatz 1, 70173 Stuttgart": street, postcode, town, as venues are written.
_ADDRESS = re.compile(r"(?P<street>.+?),?\s+(?P<postcode>\d{5})\s+(?P<town>.+)")


def _place(meeting: Meeting) -> dict:
    place = {"@type": "Place", "name": meeting.venue.name if meeting.venue else meeting.district,
             "address": {"@type": "PostalAddress", "addressLocality": "Stuttgart",
                         "addressRegion": meeting.district, "addressCountry": "DE"}}
    if meeting.venue:
        address = place["address"]
        parts = _ADDRESS.fullmatch(meeting.venue.address)
        if parts:
            address.update(streetAddress=parts["street"], postalCode=parts["postcode"],
                           addressLocality=parts["town"])
        else:
            address["streetAddress"] = meeting.venue.address
    return place


def event(meeting: Meeting) -> dict:
    item = {
        "@context": "https://schema.org", "@type": "Event", "identifier": meeting.uid,
        "name": calendar.summary(meeting), "url": calendar.meeting_url(meeting),
        "startDate": meeting.start_at.isoformat(), "endDate": meeting.end_at.isoformat(),
        "eventStatus": _status(meeting),
        "eventAttendanceMode": SCHEMA + "OfflineEventAttendanceMode",
        "location": _place(meeting),
        "organizer": {"@type": "Organization", "name": "Stadtteilvernetzer Stuttgart",
                      "url": external_url("subscriptions.index")},
        "isAccessibleForFree": True,
        "inLanguage": "de",
        "about": meeting.topic,
        "district": meeting.district,
        "kind": meeting.kind.value,
        "ics": calendar.file_url(meeting),
    }
    if meeting.previous_start_at is not None:
        item["previousStartDate"] = meeting.previous_start_at.isoformat()
    if meeting.status == MeetingStatus.CANCELLED and meeting.cancel_reason:
        item["cancelReason"] = meeting.cancel_reason
    if meeting.host_organisation:
        item["sponsor"] = {"@type": "Organization", "name": meeting.host_organisation}
    return item


def upcoming_events(meetings: list[Meeting]) -> dict:
    """The document ``/api/treffen.json`` serves."""
    return {"name": "Stadtteilvernetzer Stuttgart", "calendar": external_url("meetings.feed"),
            "events": [event(meeting) for meeting in meetings]}
