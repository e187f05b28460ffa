"""Public pages kept and answered ahead of Flask (``app/shared/public_pages.py``): a
visitor gets the same page, headers and all; a change shows at once; an organiser,
another language and plain http each get their own answer; the feed's 304 and the
request log hold for a kept page."""

import logging
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from app.meetings import services as meetings
from tests.meetings.test_public_pages import SOON, announced

MEETING_PAGES = ["/", "/treffen", "/kalender.ics", "/api/treffen.json",
                 "/widget/naechstes-treffen"]
PAGES = [*MEETING_PAGES, "/impressum", "/datenschutz"]
SECURITY_HEADERS = ["Content-Security-Policy", "Referrer-Policy", "X-Content-Type-Options"]


@pytest.fixture
def visitor(app):
    """A browser alone with the web process (the tests' usual client also runs the
    worker after each request, whose commits would empty the store)."""
    return FlaskClient(app)


@pytest.mark.parametrize("page", PAGES)
def test_a_visitor_gets_the_kept_page_with_its_headers(app, visitor, page):
    announced(app)
    first, again = visitor.get(page), visitor.get(page)
    assert first.status_code == again.status_code == 200 and again.data == first.data
    assert dict(again.headers) == dict(first.headers)
    assert all(again.headers.get(name) for name in SECURITY_HEADERS)
    assert "Set-Cookie" not in again.headers


def test_a_meeting_shows_on_every_public_page_as_soon_as_it_is_announced(app, visitor):
    announced(app, topic="Spielplätze", start=SOON + timedelta(days=14))
    before = {page: visitor.get(page).text for page in MEETING_PAGES}
    announced(app, district="Feuerbach", topic="Reparaturtreff")  # now the next one
    for page in MEETING_PAGES:
        assert "Reparaturtreff" not in before[page] and "Reparaturtreff" in visitor.get(page).text


def test_a_cancellation_shows_at_once_in_the_feed(app, visitor):
    meeting_id = announced(app, topic="Stadtteilfeste")
    assert "STATUS:CONFIRMED" in visitor.get("/kalender.ics").text
    with app.app_context():
        meetings.cancel(meetings.find(meeting_id), actor="test", reason="Krank")
        db.session.commit()
    assert "STATUS:CANCELLED" in visitor.get("/kalender.ics").text


def test_a_signed_in_organiser_never_gets_the_visitors_page(visitor, client, sign_in):
    assert "Abmelden" not in visitor.get("/").text
    sign_in()
    assert "Abmelden" in client.get("/").text
    assert "Abmelden" not in visitor.get("/").text


def test_each_language_gets_its_own_page(app, visitor):
    german = visitor.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"}).text
    english = visitor.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert 'lang="de"' in german and 'lang="en"' in english
    assert 'lang="de"' in visitor.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"}).text
    visitor.set_cookie("lang", "en")
    assert 'lang="en"' in visitor.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"}).text


def test_a_kept_feed_answers_a_conditional_get_with_304(app, visitor):
    announced(app)
    full = visitor.get("/kalender.ics")
    etag, changed = full.headers["ETag"], full.headers["Last-Modified"]
    for _ in range(2):  # the first from Flask's answer kept, the second from the store
        unchanged = visitor.get("/kalender.ics", headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.data == b""
        assert unchanged.headers["ETag"] == etag
        assert visitor.get("/kalender.ics",
                          headers={"If-Modified-Since": changed}).status_code == 304
    assert visitor.get("/kalender.ics", headers={"If-None-Match": '"old"'}).data == full.data


def test_plain_http_is_sent_to_https_even_when_the_page_is_kept(app):
    strict = create_app({**app.config, "FORCE_HTTPS": True})
    visitor = FlaskClient(strict)
    assert visitor.get("/impressum", base_url="https://vernetzer.example").status_code == 200
    assert visitor.get("/impressum", base_url="https://vernetzer.example").status_code == 200
    plain = visitor.get("/impressum", base_url="http://vernetzer.example")
    assert plain.status_code in (301, 302)
    assert plain.headers["Location"].startswith("https://")


def test_every_answer_from_the_store_is_logged(app, visitor, caplog):
    access = logging.getLogger("vernetzer.access")
    access.addHandler(caplog.handler)
    try:
        visitor.get("/impressum")
        visitor.get("/impressum")
        visitor.get("/impressum")
    finally:
        access.removeHandler(caplog.handler)
    lines = [record.getMessage() for record in {*caplog.records} if record.name == access.name]
    assert len(lines) == 3 and all('"GET /impressum HTTP/1.1" 200' in line for line in lines)
    assert len({line.rsplit(" ", 1)[1] for line in lines}) == 1  # the same size each time
