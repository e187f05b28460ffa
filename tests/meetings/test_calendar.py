"""Every calendar object (invitation, update, cancellation, the feed, a meeting's own
file) for a winter, a summer and a 2040 meeting, as five readers see it: icalendar,
vobject, recurring-ical-events, ``ical`` and ical.js. All must read 18:00 in Stuttgart,
which is 17:00 UTC in winter and 16:00 UTC in summer.

The VTIMEZONE that icalendar's ``add_missing_timezones`` wrote before (one RDATE
list per clock change) made ical.js and vobject read summer meetings an hour late;
the summer and 2040 cases here fail with it."""

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

import jobs
from app.extensions import db
from app.meetings import services as meetings
from tests.calendar_readers import read_everywhere
from tests.conftest import csrf_token, link_in, member, venue

# 18:00-20:00 in Stuttgart, as UTC.
MEETINGS = {
    "winter": (datetime(2027, 1, 12, 17, tzinfo=UTC), datetime(2027, 1, 12, 19, tzinfo=UTC)),
    "summer": (datetime(2027, 6, 15, 16, tzinfo=UTC), datetime(2027, 6, 15, 18, tzinfo=UTC)),
    "2040": (datetime(2040, 7, 10, 16, tzinfo=UTC), datetime(2040, 7, 10, 18, tzinfo=UTC)),
}


def calendar_objects(message) -> list[bytes]:
    """The inline part and the attachment of a meeting mail."""
    return [part.get_payload(decode=True) for part in message.walk()
            if part.get_content_type() in ("text/calendar", "application/ics")]


@pytest.fixture
def announced(app):
    """The three meetings announced, and a subscriber within the invitation window."""
    app.config["INVITE_BEFORE_DAYS"] = 20 * 365  # reach 2040
    with app.test_request_context():
        member("kalender@example.org", name="Kai Kalender")
        ids = {}
        for name, (start, end) in MEETINGS.items():
            meeting = meetings.create(actor="test", start=start, end=end, district="Mitte",
                                      topic=f"Treffen im {name}", venue_id=venue("Mitte").id)
            meetings.announce(meeting, actor="test")
            ids[name] = (meeting.id, meeting.uid)
        db.session.commit()
    return ids


def run_jobs(app):
    with app.test_request_context():
        jobs.run_due()


def expect(uid, name, status):
    start, end = MEETINGS[name]
    return [(uid, start.isoformat(), end.isoformat(), status)]


def test_requests_updates_and_cancellations_read_the_same_everywhere(app, mailbox, announced):
    app.config["MEETING_UPDATE_DELAY_MINUTES"] = 0  # each update at once
    run_jobs(app)
    invitations = mailbox.to("kalender@example.org")
    assert len(invitations) == 3
    for message in invitations:
        name = next(n for n in MEETINGS if f"Treffen im {n}" in message["Subject"])
        _id, uid = announced[name]
        for read in read_everywhere(*calendar_objects(message)):
            assert read == expect(uid, name, "CONFIRMED")

    # Moved by a week: the update is read at the new time everywhere.
    with app.test_request_context():
        for name, (meeting_id, _uid) in announced.items():
            start, end = MEETINGS[name]
            meetings.update(meetings.get(meeting_id), actor="test",
                            start=start + timedelta(days=7), end=end + timedelta(days=7))
        db.session.commit()
    run_jobs(app)
    updates = mailbox.to("kalender@example.org")[3:]
    assert [m["Subject"].split(":")[0] for m in updates] == ["Geändert"] * 3
    for message in updates:
        name = next(n for n in MEETINGS if f"Treffen im {n}" in message["Subject"])
        start, end = MEETINGS[name]
        for read in read_everywhere(*calendar_objects(message)):
            assert read == [(announced[name][1], (start + timedelta(days=7)).isoformat(),
                             (end + timedelta(days=7)).isoformat(), "CONFIRMED")]

    with app.test_request_context():
        for meeting_id, _uid in announced.values():
            meetings.cancel(meetings.get(meeting_id), actor="test", reason="Raum fehlt")
        db.session.commit()
    run_jobs(app)
    cancellations = mailbox.to("kalender@example.org")[6:]
    assert len(cancellations) == 3
    for message in cancellations:
        assert message.get_content_type() == "multipart/mixed"
        for read in read_everywhere(*calendar_objects(message)):
            assert read[0][3] == "CANCELLED"
        cal = icalendar.Calendar.from_ical(calendar_objects(message)[0])
        assert str(cal["METHOD"]) == "CANCEL"
        assert str(cal.walk("VEVENT")[0]["SUMMARY"]).startswith("Abgesagt: ")


def test_the_feed_and_each_meetings_file_read_the_same_everywhere(app, client, announced):
    feed = client.get("/kalender.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    [events] = read_everywhere(feed.data)
    assert events == sorted(expect(uid, name, "CONFIRMED")[0]
                            for name, (_id, uid) in announced.items())
    for name, (meeting_id, uid) in announced.items():
        response = client.get(f"/treffen/{meeting_id}.ics")
        assert response.status_code == 200 and response.mimetype == "text/calendar"
        assert read_everywhere(response.data) == [expect(uid, name, "CONFIRMED")]


def test_the_time_zone_is_a_rule_for_every_year(app, client, announced):
    cal = icalendar.Calendar.from_ical(client.get("/kalender.ics").data)
    [zone] = cal.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/Berlin"
    for part in zone.subcomponents:
        assert "RDATE" not in part
        assert part["RRULE"]["FREQ"] == ["YEARLY"] and part["RRULE"]["BYDAY"] == ["-1SU"]
    # Every clock change from 1996 to 2100 lands where the tz database has it.
    from zoneinfo import ZoneInfo
    berlin = ZoneInfo("Europe/Berlin")
    for year in range(1997, 2101):
        for month, hour in ((1, 18), (4, 18), (7, 18), (10, 1), (10, 4), (12, 18)):
            local = datetime(year, month, 28, hour)
            assert zone.to_tz().utcoffset(local) == local.replace(tzinfo=berlin).utcoffset(), local


def test_drafts_stay_out_of_the_feed_and_have_no_file(app, client):
    with app.test_request_context():
        draft = meetings.create(actor="test", start=MEETINGS["summer"][0],
                                end=MEETINGS["summer"][1], district="Ost")
        db.session.commit()
        draft_id, uid = draft.id, draft.uid
    feed = client.get("/kalender.ics").data
    assert uid.encode() not in feed
    assert b"BEGIN:VTIMEZONE" in feed  # never an empty calendar
    assert read_everywhere(feed) == [[]]
    assert client.get(f"/treffen/{draft_id}.ics").status_code == 404
    assert client.get("/treffen/999999.ics").status_code == 404


def test_conditional_get_answers_304_until_a_meeting_changes(app, client, announced):
    first = client.get("/kalender.ics")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT4H" in first.data
    assert b"X-PUBLISHED-TTL:PT4H" in first.data

    again = client.get("/kalender.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get("/kalender.ics", headers={"If-Modified-Since": modified}).status_code == 304
    unchanged = client.get("/kalender.ics")
    assert unchanged.headers["ETag"] == etag and unchanged.data == first.data  # stable DTSTAMP

    with app.test_request_context():
        meeting_id = announced["summer"][0]
        meetings.update(meetings.get(meeting_id), actor="test", topic="Neues Thema")
        db.session.commit()
    changed = client.get("/kalender.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"Neues Thema" in changed.data

    # A cancelled meeting stays in the feed, marked as such.
    with app.test_request_context():
        meetings.cancel(meetings.get(meeting_id), actor="test", reason="Hitze")
        db.session.commit()
    cal = icalendar.Calendar.from_ical(client.get("/kalender.ics").data)
    cancelled = [e for e in cal.walk("VEVENT") if e["UID"] == announced["summer"][1]]
    assert str(cancelled[0]["STATUS"]) == "CANCELLED"
    assert str(cancelled[0]["SUMMARY"]).startswith("Abgesagt: ")


def test_the_home_page_offers_the_subscription_even_without_a_meeting(client):
    page = client.get("/").text
    assert 'href="webcal://vernetzer.example/kalender.ics"' in page
    assert "https://vernetzer.example/kalender.ics" in page
    assert "Google" in page and "Outlook" in page and "Apple" in page


def test_the_welcome_mail_carries_the_subscription_links(app, client, mailbox):
    client.post("/", data={"csrf_token": csrf_token(client.get("/").text),
                           "email": "neu@example.org"})
    path = link_in(mailbox.to("neu@example.org")[0], "/bestaetigen/")
    client.post(path, data={"csrf_token": csrf_token(client.get(path).text)})
    welcome = mailbox.to("neu@example.org")[-1]
    text = welcome.get_body(("plain",)).get_content()
    assert "webcal://vernetzer.example/kalender.ics" in text
    assert "https://vernetzer.example/kalender.ics" in text
