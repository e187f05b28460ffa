"""Each district has its page: the meetings held there with their records, those
ahead, and the topics discussed there; the map of districts links to all of them."""

import re
from datetime import timedelta

from app.extensions import db
from app.knowledge import services as topics
from app.meetings import services as meetings
from app.shared.database import utcnow
from tests.conftest import announced_meeting, member


def test_the_map_links_every_district_by_name(client):
    page = client.get("/bezirke").text
    svg = page.split("<svg", 1)[1].split("</svg>")[0]
    tiles = re.findall(r'<a href="/bezirke/([a-z-]+)">\s*<rect[^>]*/>\s*<text[^>]*>([^<]+)</text>',
                       svg)
    assert len(tiles) == 23
    assert ("bad-cannstatt", "Bad Cannstatt") in tiles and ("sued", "Süd") in tiles
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # all drawn here
    for slug, _name in tiles:
        assert client.get(f"/bezirke/{slug}").status_code == 200
    assert client.get("/bezirke/atlantis").status_code == 404


def test_a_district_page_shows_what_happened_there(app, client):
    with app.test_request_context():
        start = utcnow().replace(second=0, microsecond=0) - timedelta(days=100)
        held = announced_meeting("Vaihingen", start=start, topic="Repair Cafés",
                                 now=start - timedelta(days=30))
        meetings.mark_held()
        meetings.write_record(held, "Das **Repair Café** läuft seit 2019.", actor="test")
        ahead = announced_meeting("Vaihingen", topic="Lesepaten")
        anna = member("anna@example.org")
        topic = topics.propose_as_member(anna, title="Repair Cafés", description=None,
                                         can_tell=True)
        topics.publish(topic, actor="test")
        topic.meeting_id = held.id
        db.session.commit()
        held_id, ahead_id = held.id, ahead.id
    page = client.get("/bezirke/vaihingen").text
    assert f"/treffen/{held_id}" in page and "Mit Bericht" in page
    assert f"/treffen/{ahead_id}" in page and "Lesepaten" in page
    assert "Repair Cafés · besprochen am" in page
    other = client.get("/bezirke/mitte").text
    assert "Repair Cafés" not in other and "Hier hat noch kein Treffen stattgefunden." in other
    assert "1 Treffen" in client.get("/bezirke").text
