"""What every page shares: bad input gets a German answer and never a 500, personal
pages are never stored by a cache, the security headers hold, and an organiser who
is no admin sees no subscriber's address."""

import pytest
import sqlalchemy as sa

from app.delivery import outbox
from app.delivery.compose import compose
from app.extensions import db
from app.meetings.models import Meeting
from app.subscriptions.models import Subscriber
from tests.conftest import csrf_token, link_in, member
from tests.subscriptions.test_views import confirm_link, subscribe


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("email, name", [("a\x00b@example.org", "Anna"),
                                         ("nul@example.org", "An\x00na")])
def test_a_nul_character_in_a_form_is_refused_in_german(app, client, mailbox, email, name):
    assert subscribe(client, "ok@example.org", "Anna").status_code == 200
    refused = subscribe(client, email, name)
    assert refused.status_code == 400 and "nicht erlaubt" in refused.text
    assert count(app, Subscriber) == 1


@pytest.mark.parametrize("url", ["/treffen?wort=%00", "/treffen?bezirk=Mitte%00",
                                 "/kalender.ics?x=%00"])
def test_a_nul_character_in_a_query_is_refused_in_german(client, url):
    answer = client.get(url)
    assert answer.status_code == 400 and "nicht erlaubt" in answer.text


@pytest.mark.parametrize("start", ["0001-01-01T00:00", "9999-12-31T23:59", "1899-03-01T18:00"])
def test_a_meeting_in_year_one_or_far_away_is_refused_not_a_500(app, client, sign_in, start):
    sign_in()
    page = client.get("/organisation/treffen/neu")
    answer = client.post("/organisation/treffen/neu", data={
        "csrf_token": csrf_token(page.text), "start": start, "end": start, "district": "West",
        "venue_id": "", "topic": "Zeitreise"})
    assert answer.status_code == 400 and "zwischen den Jahren 2000 und 2100" in answer.text
    assert count(app, Meeting) == 0


def test_a_very_long_admin_search_answers(client, sign_in):
    sign_in("admin@example.org", "admin")
    for query in ("x" * 60_000, "%_" * 30_000, "a%"):
        answer = client.get("/organisation/verteiler", query_string={"q": query})
        assert answer.status_code == 200


def test_wildcards_in_the_admin_search_are_taken_literally(app, client, sign_in):
    sign_in("admin@example.org", "admin")
    with app.app_context():
        for local in ("anna", "a_b"):
            member(f"{local}@example.org")
    found = client.get("/organisation/verteiler", query_string={"q": "a_"}).text
    assert "a_b@example.org" in found and "anna@example.org" not in found


@pytest.mark.parametrize("target", ["/treffen\r\nSet-Cookie: x=1", "//evil.example/",
                                    "/\\evil.example", "https://evil.example/", "/%0d%0a"])
def test_the_language_switch_never_leaves_the_site_nor_breaks(client, target):
    answer = client.get("/sprache/en", query_string={"next": target})
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location in ("/", "/%0d%0a") and "\n" not in location


def test_personal_pages_are_never_stored_public_ones_may_be(app, client, mailbox, sign_in):
    subscribe(client, "anna@example.org", "Anna")
    link = confirm_link(mailbox.to("anna@example.org")[0])
    assert client.get(link).headers["Cache-Control"] == "no-store"
    client.post(link, data={"csrf_token": csrf_token(client.get(link).text)})
    settings = link_in(mailbox.to("anna@example.org")[-1], "/einstellungen/")
    assert client.get(settings).headers["Cache-Control"] == "no-store"
    assert client.get(settings + "/daten.json").headers["Cache-Control"] == "no-store"

    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    assert client.get("/kalender.ics").headers["Cache-Control"].startswith("public")
    sign_in("admin@example.org", "admin")
    for page in ("/organisation/verteiler", "/organisation/verteiler/export.csv",
                 "/organisation/versand", "/organisation/protokoll"):
        assert client.get(page).headers["Cache-Control"] == "no-store", page


def test_the_content_security_policy_closes_forms_base_and_frames(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    for directive in ("form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'",
                      "object-src 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy
    widget = client.get("/widget/naechstes-treffen").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in widget


def test_an_organiser_who_is_no_admin_sees_no_failed_address(app, client, mailbox, sign_in):
    with app.test_request_context():
        mail = compose("signin", "Test", address="kaputt@example.org", name=None,
                       language="de", sender="vernetzer@example.org",
                       signin_url="https://vernetzer.example/x", minutes=15)
        outbox.enqueue(mail, key="test:failed", kind="signin")
        db.session.commit()
    mailbox.reply = lambda envelope: "550 5.1.1 no such user" \
        if "kaputt@example.org" in envelope.rcpt_tos else None
    client.get("/")  # the worker sends: the relay refuses for good
    sign_in("orga@example.org", "organiser")
    page = client.get("/organisation/versand").text
    assert "kaputt@example.org" not in page and "nur für Admins sichtbar" in page
    assert "550 5.1.1 no such user" in page


@pytest.mark.parametrize("page", ["/", "/treffen", "/kalender.ics", "/api/treffen.json",
                                  "/widget/naechstes-treffen", "/organisation/anmelden",
                                  "/impressum"])
def test_a_visitor_who_only_looks_gets_no_cookie(client, page):
    answer = client.get(page)
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers


def test_a_public_form_sent_from_another_site_is_refused(app, client, mailbox):
    page = client.get("/")
    data = {"csrf_token": csrf_token(page.text), "email": "opfer@example.org"}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = client.post("/", data=data, headers=headers)
        assert refused.status_code == 400 and "Formular ist abgelaufen" in refused.text
    assert mailbox.messages == [] and count(app, Subscriber) == 0
    same_site = client.post("/", data=data, headers={"Origin": "http://localhost",
                                                     "Sec-Fetch-Site": "same-origin"})
    assert same_site.status_code == 200 and len(mailbox.to("opfer@example.org")) == 1


def test_a_public_form_without_or_with_an_old_token_is_refused(app, client, mailbox):
    token = csrf_token(client.get("/").text)
    assert client.post("/", data={"email": "a@example.org"}).status_code == 400
    app.config["PUBLIC_FORM_MAX_AGE"] = -1
    old = client.post("/", data={"csrf_token": token, "email": "a@example.org"})
    assert old.status_code == 400 and "Formular ist abgelaufen" in old.text
    assert mailbox.messages == []
