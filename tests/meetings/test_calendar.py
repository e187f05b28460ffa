"""The public calendar feed, read back by a real iCalendar parser."""

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import icalendar

YEAR = date.today().year + 1


def test_feed_lists_published_meetings_in_berlin_time(client, runner):
    venue = runner.invoke(args=["venues", "add", "--name", "Treffpunkt Ost", "--district", "Ost",
                                "--address", "Schönbühlstraße 90, 70188 Stuttgart"])
    venue_id = venue.output.strip().splitlines()[-1]
    draft = runner.invoke(args=["meetings", "create", "--district", "Mitte",
                                "--start", f"{YEAR}-02-16 18:00", "--end", f"{YEAR}-02-16 20:00"])
    summer = runner.invoke(args=["meetings", "create", "--venue", venue_id, "--topic", "Ehrenamt",
                                 "--start", f"{YEAR}-07-06 18:00", "--end", f"{YEAR}-07-06 20:00"])
    summer_id = summer.output.strip().splitlines()[-1]
    runner.invoke(args=["meetings", "announce", summer_id])
    assert draft.exit_code == 0 and summer.exit_code == 0

    response = client.get("/kalender.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    [event] = calendar.walk("VEVENT")  # the draft is not published
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert event.decoded("dtstart") == datetime(YEAR, 7, 6, 18, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("dtstamp").tzinfo is not None
    assert str(event["SUMMARY"]) == "Stadtteilvernetzer-Treffen: Ehrenamt"
    assert str(event["LOCATION"]) == "Treffpunkt Ost, Schönbühlstraße 90, 70188 Stuttgart"
    assert str(event["URL"]) == f"https://vernetzer.example/treffen/{summer_id}"
    [listed] = [m for m in json.loads(runner.invoke(args=["meetings", "list", "--json"]).output)
                if str(m["id"]) == summer_id]
    assert str(event["UID"]) == listed["uid"] and event["SEQUENCE"] == listed["sequence"] == 1

    assert client.get(f"/treffen/{summer_id}").status_code == 200
    home = client.get("/").text  # the home page shows the next date
    assert "Nächstes Treffen" in home and f"/treffen/{summer_id}" in home and "Ehrenamt" in home
    draft_id = draft.output.strip().splitlines()[-1]
    assert client.get(f"/treffen/{draft_id}").status_code == 404


def test_unknown_and_huge_meeting_ids_are_not_found(client):
    assert client.get("/treffen/7").status_code == 404
    assert client.get("/treffen/99999999999999999999").status_code == 404
