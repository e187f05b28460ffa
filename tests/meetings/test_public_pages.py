"""The public face over HTTP: the home page with the next and the following meetings,
/treffen with the archive searchable by word, district and topic, the meeting page
(access notes, map link, record, answering), the legal pages, and the widget and
JSON for the blog."""

import json
import re
from datetime import timedelta
from pathlib import Path

import jsonschema
import sqlalchemy as sa

from app.extensions import db
from app.meetings import calendar
from app.meetings import services as meetings
from app.meetings.models import Venue
from app.shared.database import utcnow
from tests.conftest import announced_meeting, csrf_token, link_in, member

ROOT = Path(__file__).resolve().parents[2]
SOON = utcnow().replace(second=0, microsecond=0) + timedelta(days=20)


def held(app, *, district, topic, record, days_ago=100) -> int:
    """A meeting that took place, with its record."""
    with app.app_context():
        start = utcnow().replace(second=0, microsecond=0) - timedelta(days=days_ago)
        meeting = announced_meeting(district, start=start, topic=topic,
                                    host_organisation="Stadtteilhaus e. V.",
                                    now=start - timedelta(days=30))
        meetings.mark_held()
        meetings.write_record(meeting, record, actor="test")
        db.session.commit()
        return meeting.id


def announced(app, *, district="Mitte", start=SOON, topic="Ehrenamt", **fields) -> int:
    with app.app_context():
        return announced_meeting(district, start=start, topic=topic, **fields).id


def test_home_shows_the_next_meeting_in_full_and_the_following_ones(app, client):
    first = announced(app, topic="Nachbarschaftshilfe")
    announced(app, district="Feuerbach", start=SOON + timedelta(days=7), topic="Spielplätze")
    with app.app_context():
        venue = meetings.find(first).venue
        venue.step_free, venue.transit_stop = True, "Rathaus (U1, U2)"
        venue.accessibility_notes = "Aufzug am Hintereingang"
        db.session.commit()
    home = client.get("/").text
    next_part = home.split('id="next-heading"')[1]
    assert "Nachbarschaftshilfe" in next_part and "Marktplatz 1, Mitte" in next_part
    assert "Stufenloser Zugang." in next_part and "Rathaus (U1, U2)" in next_part
    assert "Aufzug am Hintereingang" in next_part
    if SOON.year == (SOON + timedelta(days=7)).year:
        assert "Später in diesem Jahr" in home and "Spielplätze" in home
    assert 'href="/impressum"' in home and 'href="/datenschutz"' in home  # footer
    assert 'href="/kalender.ics"' in home


def page_of_topics(client) -> str:
    """The archive's topic filter."""
    return client.get("/treffen").text.split('name="thema"')[1].split("</select>")[0]


def found_in(page: str) -> str:
    """The archive's results (after its search form)."""
    return page.split('id="archive-heading"')[1].split("</form>")[1]


def test_the_archive_finds_a_past_meeting_by_a_word_of_its_record(app, client):
    found = held(app, district="Zuffenhausen", topic="Repair-Café",
                 record="Das **Reparatur-Café** im Bürgerhaus: Kontakt über "
                        "[die Website](https://example.org/repair). <script>alert(1)</script>")
    held(app, district="Degerloch", topic="Seniorentreff", record="Kaffee und Kuchen",
         days_ago=400)
    page = client.get("/treffen").text
    assert "Zuffenhausen" in page and "Degerloch" in page and "Archiv" in page
    result = client.get("/treffen", query_string={"q": "reparatur"}).text
    archive = found_in(result)
    assert "Repair-Café" in archive and "Seniorentreff" not in archive
    assert "Seniorentreff" in found_in(client.get("/treffen", query_string={
        "bezirk": "Degerloch"}).text)
    by_topic = client.get("/treffen", query_string={"thema": "Repair-Café"}).text
    assert "Seniorentreff" not in found_in(by_topic)
    # The topic filter offers what took place: not a future or a cancelled topic.
    announced(app, district="Feuerbach", topic="Spielplätze")
    with app.app_context():
        cancelled = meetings.find(announced(app, district="Vaihingen", topic="Abgesagtes Thema",
                                            start=SOON + timedelta(days=3)))
        meetings.cancel(cancelled, actor="test", reason="Krank")
        db.session.commit()
    offered = re.findall(r"<option(?: selected)?>([^<]*)</option>", page_of_topics(client))
    assert "Repair-Café" in offered and "Seniorentreff" in offered
    assert "Spielplätze" not in offered and "Abgesagtes Thema" not in offered
    nothing = client.get("/treffen", query_string={"q": "%_\\ nichts"})
    assert nothing.status_code == 200 and "Kein vergangenes Treffen passt" in nothing.text
    assert client.get("/treffen", query_string={"q": "\x00"}).status_code == 400

    meeting_page = client.get(f"/treffen/{found}").text
    assert "Was wir mitgenommen haben" in meeting_page
    assert "<strong>Reparatur-Café</strong>" in meeting_page
    assert 'href="https://example.org/repair"' in meeting_page
    assert "<script>alert" not in meeting_page  # sanitised
    assert "https://www.openstreetmap.org/search?query=" in meeting_page
    assert "<iframe" not in meeting_page  # no embedded third-party content


def test_answering_from_the_meeting_page_mails_members_their_link(app, client, mailbox):
    meeting_id = announced(app)
    with app.app_context():
        member("rita@example.org")
        db.session.commit()
    page = client.get(f"/treffen/{meeting_id}").text
    assert "Kommen Sie?" in page and f'href="/treffen/{meeting_id}.ics"' in page
    answers = []
    for email in ("rita@example.org", "fremd@example.org"):
        answers.append(client.post(f"/treffen/{meeting_id}/antwort", data={
            "csrf_token": csrf_token(page), "email": email, "answer": "yes"}))
    assert answers[0].status_code == answers[1].status_code == 200
    assert answers[0].text == answers[1].text  # nothing tells whether one is on the list
    assert mailbox.to("fremd@example.org") == []
    link = link_in(mailbox.to("rita@example.org")[-1], "antwort=yes")
    confirm = client.get(link)
    saved = client.post(link, data={"csrf_token": csrf_token(confirm.text), "answer": "yes"},
                        follow_redirects=True)
    assert "Danke, Ihre Antwort ist gespeichert" in saved.text
    bad = client.post(f"/treffen/{meeting_id}/antwort", data={
        "csrf_token": csrf_token(page), "email": "keine adresse", "answer": "yes"})
    assert bad.status_code == 400 and "E-Mail-Adresse" in bad.text


def test_legal_pages_come_from_markdown_files(app, client, tmp_path):
    imprint = client.get("/impressum")
    assert imprint.status_code == 200 and "<h1>Impressum</h1>" in imprint.text
    assert "Bitte vervollständigen" in imprint.text  # the shipped template says so
    privacy = client.get("/datenschutz").text
    assert "Datenschutzerklärung" in privacy and "90 Tage" in privacy
    assert 'href="/datenschutz"' in client.get("/").text.split('class="consent"')[1]
    own = tmp_path / "impressum.md"
    own.write_text("# Impressum\n\nVerein Beispiel e. V.\n", encoding="utf-8")
    app.config["LEGAL_IMPRINT_FILE"] = str(own)
    assert "Verein Beispiel e. V." in client.get("/impressum").text


def test_the_widget_may_be_framed_only_by_the_blog(app, client):
    announced(app, topic="Klimaschutz")
    moved = announced(app, district="Wangen", start=SOON + timedelta(days=3), topic="Feste")
    with app.app_context():
        meeting = meetings.find(moved)
        meetings.update(meeting, actor="test", start=meeting.start_at + timedelta(days=1),
                        end=meeting.end_at + timedelta(days=1))
        db.session.commit()
    app.config["WIDGET_FRAME_ANCESTORS"] = "https://blog.example.org"
    widget = client.get("/widget/naechstes-treffen")
    policy = widget.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://blog.example.org" in policy
    assert "X-Frame-Options" not in widget.headers
    assert "Klimaschutz" in widget.text and "verschoben" in widget.text
    home = client.get("/")
    assert home.headers["X-Frame-Options"] == "DENY"  # the rest of the site: no frames


def test_the_json_keeps_its_promises_and_is_readable_from_any_site(app, client):
    announced(app, topic="Klimaschutz", host_organisation="Jugendhaus")
    cancelled = announced(app, district="Wangen", start=SOON + timedelta(days=3))
    with app.app_context():
        meetings.cancel(meetings.find(cancelled), actor="test", reason="Krankheit")
        db.session.commit()
    answer = client.get("/api/treffen.json", headers={"Origin": "https://blog.example.org"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    document = answer.get_json()
    schema = json.loads((ROOT / "docs/treffen.schema.json").read_text())
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    statuses = {event["eventStatus"].rsplit("/", 1)[1] for event in document["events"]}
    assert statuses == {"EventScheduled", "EventCancelled"}
    assert any(event.get("cancelReason") == "Krankheit" for event in document["events"])


def test_a_pasted_address_is_tidied_and_the_json_names_its_parts(app, client, sign_in):
    """Spaces pasted along with an address are made single on input; the JSON gives
    street, postcode and town in their own schema.org fields."""
    sign_in()
    venues_page = "/organisation/orte"
    client.post(venues_page, data={
        "csrf_token": csrf_token(client.get(venues_page).text), "name": "  Bürgerhaus   West ",
        "address": "Hauptstr.  88,   70188   Stuttgart", "district": "West"})
    with app.app_context():
        venue = db.session.scalars(sa.select(Venue).where(Venue.district == "West")).one()
        assert (venue.name, venue.address) == ("Bürgerhaus West", "Hauptstr. 88, 70188 Stuttgart")
        announced_meeting("West", start=SOON)  # at the venue just imported
        db.session.commit()
    [event] = client.get("/api/treffen.json").get_json()["events"]
    assert event["location"]["address"] == {
        "@type": "PostalAddress", "streetAddress": "Hauptstr. 88", "postalCode": "70188",
        "addressLocality": "Stuttgart", "addressRegion": "West", "addressCountry": "DE"}


def test_a_bad_widget_setting_stops_the_start_with_one_line():
    import pytest

    from app import create_app
    from app.config import SettingsError

    with pytest.raises(SettingsError, match="FLASK_WIDGET_FRAME_ANCESTORS"):
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "WIDGET_FRAME_ANCESTORS": "https://ok.example.org; script-src *"})


def test_add_to_calendar_links_for_phones_that_open_no_ics(app, client):
    """Google Calendar and Outlook on the web, beside the .ics: the meeting's time in
    UTC, its title and place, and its page; nothing personal."""
    from urllib.parse import parse_qs, urlsplit

    meeting_id = announced(app, topic="Nachbarschaftshilfe")
    with app.app_context():
        meeting = meetings.find(meeting_id)
        start, end = meeting.start_at, meeting.end_at
        place = calendar.location(meeting)
    page = client.get(f"/treffen/{meeting_id}").text
    google = re.search(r'href="(https://calendar\.google\.com/calendar/render\?[^"]+)"', page)
    outlook = re.search(r'href="(https://outlook\.live\.com/calendar/0/deeplink/compose\?[^"]+)"',
                        page)
    assert google and outlook
    found = parse_qs(urlsplit(google[1].replace("&amp;", "&")).query)
    assert found["dates"] == [f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"]
    assert found["text"] == ["Stadtteilvernetzer-Treffen: Nachbarschaftshilfe"]
    assert found["location"] == [place]
    assert found["details"] == [f"https://vernetzer.example/treffen/{meeting_id}"]
    found = parse_qs(urlsplit(outlook[1].replace("&amp;", "&")).query)
    assert found["startdt"] == [f"{start:%Y-%m-%dT%H:%M:%S}Z"]
    assert found["rru"] == ["addevent"]
