"""The distribution list through HTTP, with mail read from a real SMTP server."""

import pytest
import sqlalchemy as sa

from app.delivery import outbox, sender
from app.delivery.models import OutboxMessage
from app.extensions import db
from app.subscriptions.models import Subscriber, SubscriberStatus
from tests.conftest import csrf_token, form_token, link_in, links_in, list_member_mail, path_of


def subscribe(client, email, name="", **extra):
    page = client.get("/")
    data = {"csrf_token": csrf_token(page.text), "email": email, "name": name, **extra}
    return client.post("/", data=data, headers={"User-Agent": "TestBrowser/1.0"})


def subscriber(email):
    """Needs an app context (``with app.app_context():``)."""
    return db.session.scalar(sa.select(Subscriber).where(Subscriber.email == email))


def status(app, email):
    with app.app_context():
        person = subscriber(email)
        return person.status if person else None


def confirm_link(message):
    return next(path_of(link) for link in links_in(message) if "/bestaetigen/" in link)


def test_subscribe_confirm_welcome_unsubscribe(app, client, mailbox):
    response = subscribe(client, "Anna.Muster@Example.org", "Anna Muster")
    assert response.status_code == 200
    assert "Bitte schauen Sie in Ihr E-Mail-Postfach" in response.text

    [confirmation] = mailbox.to("anna.muster@example.org")
    assert confirmation["Subject"] == "Bitte bestätigen Sie Ihre Anmeldung"
    assert confirmation.get_content_type() == "multipart/alternative"
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert status(app, "anna.muster@example.org") == SubscriberStatus.PENDING

    # Opening the link (as a mail scanner would) changes nothing.
    link = confirm_link(confirmation)
    page = client.get(link)
    assert page.status_code == 200 and "Anmeldung bestätigen" in page.text
    assert status(app, "anna.muster@example.org") == SubscriberStatus.PENDING

    done = client.post(link, data={"csrf_token": csrf_token(page.text)})
    assert "Willkommen!" in done.text
    assert status(app, "anna.muster@example.org") == SubscriberStatus.ACTIVE

    [_, welcome] = mailbox.to("anna.muster@example.org")
    assert welcome["Subject"] == "Willkommen im Verteiler der Stadtteilvernetzer"
    assert "https://vernetzer.example/kalender.ics" in welcome.get_body(("plain",)).get_content()

    # The one-click unsubscribe exactly as a mail provider sends it (RFC 8058).
    header = welcome["List-Unsubscribe"]
    https_url = header.split("<")[1].split(">")[0]
    assert https_url.startswith("https://") and "mailto:" in header
    fresh = client.application.test_client()  # no cookies
    answer = fresh.post(path_of(https_url), data="List-Unsubscribe=One-Click",
                        content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert status(app, "anna.muster@example.org") == SubscriberStatus.UNSUBSCRIBED
    # Idempotent, multipart works too.
    again = fresh.post(path_of(https_url), data={"List-Unsubscribe": "One-Click"},
                       content_type="multipart/form-data")
    assert again.status_code == 200

    with app.app_context():
        consents = subscriber("anna.muster@example.org").consents
        assert [event.action for event in consents] == ["signup", "confirm", "unsubscribe"]
        signup = consents[0]
        assert signup.ip_address == "127.0.0.1" and signup.user_agent == "TestBrowser/1.0"
        assert signup.consent_version == "2026-11/de"
        assert signup.occurred_at.microsecond == 0

    # The welcome mail's settings link now says so, and offers the way back (double
    # opt-in again), not an unsubscribe link.
    settings_url = welcome.get_body(("plain",)).get_content().split("Ihre Einstellungen: ")[1]
    settings = client.get(path_of(settings_url.split()[0]))
    assert "steht nicht (mehr) auf dem Verteiler" in settings.text
    assert "Vom Verteiler abmelden" not in settings.text
    assert "Angemeldete Adresse" not in settings.text
    back = client.post(path_of(settings_url.split()[0]) + "/wieder-anmelden",
                       data={"csrf_token": csrf_token(settings.text)})
    assert "Bitte schauen Sie in Ihr E-Mail-Postfach" in back.text
    assert status(app, "anna.muster@example.org") == SubscriberStatus.UNSUBSCRIBED
    again_link = confirm_link(mailbox.to("anna.muster@example.org")[-1])
    client.post(again_link, data={"csrf_token": csrf_token(client.get(again_link).text)})
    assert status(app, "anna.muster@example.org") == SubscriberStatus.ACTIVE


def test_same_neutral_answer_whatever_the_address(client, mailbox, app):
    subscribe(client, "active@example.org")
    client.post(confirm_link(mailbox.to("active@example.org")[0]),
                data={"csrf_token": form_token(client)})
    assert status(app, "active@example.org") == SubscriberStatus.ACTIVE
    mailbox.messages.clear()

    answers = {email: subscribe(client, email).text
               for email in ("new@example.org", "ACTIVE@example.org", "new@example.org")}
    bodies = {text.split('<main id="main">')[1] for text in answers.values()}
    assert len(bodies) == 1
    # Active stays active, and gets a mail with the settings link (no confirmation).
    assert status(app, "active@example.org") == SubscriberStatus.ACTIVE
    [again] = mailbox.to("active@example.org")
    assert again["Subject"] == "Sie sind schon im Verteiler"
    assert "/einstellungen/" in again.get_body(("plain",)).get_content()
    assert "/bestaetigen/" not in again.get_body(("plain",)).get_content()


def test_get_never_confirms_and_link_is_single_use(app, client, mailbox):
    subscribe(client, "once@example.org")
    link = confirm_link(mailbox.to("once@example.org")[0])
    token = csrf_token(client.get(link).text)
    client.post(link, data={"csrf_token": token})
    reused = client.post(link, data={"csrf_token": token})
    assert reused.status_code == 400
    assert "schon benutzt" in reused.text
    assert len(mailbox.to("once@example.org")) == 2  # confirmation + one welcome


def test_expired_link_offers_new_one(client, mailbox, app):
    subscribe(client, "late@example.org")
    link = confirm_link(mailbox.to("late@example.org")[0])
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    page = client.get(link)
    assert page.status_code == 400 and "abgelaufen" in page.text
    client.post(link + "/neu", data={"csrf_token": csrf_token(page.text)})
    app.config["CONFIRM_TOKEN_MAX_AGE"] = 3600
    assert len(mailbox.to("late@example.org")) == 2
    client.post(confirm_link(mailbox.to("late@example.org")[1]),
                data={"csrf_token": form_token(client)})
    assert status(app, "late@example.org") == SubscriberStatus.ACTIVE


def test_a_new_link_goes_to_nobody_who_has_left_the_list_since(client, mailbox, app):
    """An old confirmation link of a person who confirmed and then left: "Neuen Link
    senden" answers as always and mails nothing."""
    subscribe(client, "weg@example.org")
    old = confirm_link(mailbox.to("weg@example.org")[0])
    client.post(old, data={"csrf_token": form_token(client)})
    unsubscribe = link_in(mailbox.to("weg@example.org")[-1], "/abmelden/")
    client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert status(app, "weg@example.org") == SubscriberStatus.UNSUBSCRIBED
    sent = len(mailbox.to("weg@example.org"))
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    page = client.post(old + "/neu", data={"csrf_token": form_token(client)})
    assert page.status_code == 200 and "Postfach" in page.text
    assert len(mailbox.to("weg@example.org")) == sent


def test_tampered_and_cross_purpose_tokens_are_refused(app, client, mailbox):
    subscribe(client, "tokens@example.org")
    message = mailbox.to("tokens@example.org")[0]
    confirm = confirm_link(message)
    unsubscribe = link_in(message, "/abmelden/")
    token = form_token(client)

    tampered = confirm[:-3] + ("AAA" if not confirm.endswith("AAA") else "BBB")
    assert client.post(tampered, data={"csrf_token": token}).status_code == 400
    # A confirm token is no unsubscribe token and the other way round.
    confirm_token = confirm.rsplit("/", 1)[1]
    unsubscribe_token = unsubscribe.rsplit("/", 1)[1]
    assert client.post(f"/abmelden/{confirm_token}",
                       data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert client.post(f"/bestaetigen/{unsubscribe_token}",
                       data={"csrf_token": token}).status_code == 400
    assert client.get("/einstellungen/garbage").status_code == 400
    assert status(app, "tokens@example.org") == SubscriberStatus.PENDING


def test_rotated_secret_keeps_sent_links_working(client, mailbox, app):
    subscribe(client, "rotate@example.org")
    link = confirm_link(mailbox.to("rotate@example.org")[0])
    app.config["SECRET_KEY_FALLBACKS"] = ["test-secret"]
    app.config["SECRET_KEY"] = "new-secret"
    page = client.get(link)
    assert page.status_code == 200
    done = client.post(link, data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 200, done.text
    assert status(app, "rotate@example.org") == SubscriberStatus.ACTIVE


def test_form_without_csrf_token_changes_nothing(app, client, mailbox):
    response = client.post("/", data={"email": "nocsrf@example.org"})
    assert response.status_code == 400
    assert "Formular ist abgelaufen" in response.text
    assert status(app, "nocsrf@example.org") is None and mailbox.messages == []


@pytest.mark.parametrize("address", [
    "", "not-an-address", "a@b", "x" * 250 + "@example.org",
    "evil@example.org\r\nBcc: victim@example.org",
], ids=["empty", "no at-sign", "no domain", "too long", "header injection"])
def test_bad_addresses_get_a_german_error(app, client, mailbox, address):
    response = subscribe(client, address)
    assert response.status_code == 400
    assert 'class="field-error"' in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Subscriber.id))) == 0
    assert mailbox.messages == []


def test_international_domain_and_case_insensitive_uniqueness(app, client, mailbox):
    subscribe(client, "Jürgen@Bäckerei-Müller.DE")
    subscribe(client, "jürgen@bäckerei-müller.de")
    with app.app_context():
        [person] = db.session.scalars(sa.select(Subscriber)).all()
        assert person.email == "jürgen@bäckerei-müller.de"
    assert len(mailbox.messages) == 2  # one per request, both to the same person


def test_name_with_line_breaks_is_refused_and_html_escaped(app, client, mailbox):
    response = subscribe(client, "inject@example.org", "Eve\r\nBcc: all@example.org")
    assert response.status_code == 400 and mailbox.messages == []
    subscribe(client, "html@example.org", "<script>alert(1)</script>")
    link = confirm_link(mailbox.to("html@example.org")[0])
    client.post(link, data={"csrf_token": csrf_token(client.get(link).text)})
    message = mailbox.to("html@example.org")[-1]  # the welcome: it greets by name
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_honeypot_gets_neutral_page_and_no_mail(app, client, mailbox):
    response = subscribe(client, "bot@example.org", website="http://spam.example")
    assert "E-Mail-Postfach" in response.text
    assert status(app, "bot@example.org") is None and mailbox.messages == []


def test_confirmation_mails_are_rate_limited(client, mailbox, app):
    app.config.update(CONFIRM_MAILS_PER_ADDRESS="2/day", CONFIRM_MAILS_PER_IP="3/hour")
    for _ in range(4):
        assert "E-Mail-Postfach" in subscribe(client, "often@example.org").text
    assert len(mailbox.to("often@example.org")) == 2

    for number in range(5):
        assert "E-Mail-Postfach" in subscribe(client, f"ip{number}@example.org").text
    # The IP had two mails already: one more, then the same page and no mail.
    assert len(mailbox.messages) == 3


def test_unsubscribe_get_shows_button_and_changes_nothing(app, client, mailbox):
    subscribe(client, "button@example.org")
    link = link_in(mailbox.to("button@example.org")[0], "/abmelden/")
    page = client.get(link)
    assert page.status_code == 200 and 'value="One-Click"' in page.text
    assert status(app, "button@example.org") == SubscriberStatus.PENDING
    assert client.post(link, data={"other": "x"}).status_code == 400
    assert status(app, "button@example.org") == SubscriberStatus.PENDING


def test_unsubscribed_person_gets_no_queued_list_mail(client, mailbox, app):
    subscribe(client, "leaving@example.org")
    with app.test_request_context():
        person = subscriber("leaving@example.org")
        message = list_member_mail(person, "List mail", sender="list@example.org")
        assert outbox.enqueue(message, key="test:list", kind="announcement",
                              subscriber_id=person.id, list_mail=True)
        row_id = db.session.scalar(sa.select(OutboxMessage.id).where(
            OutboxMessage.key == "test:list"))
        db.session.commit()
    link = link_in(mailbox.to("leaving@example.org")[0], "/abmelden/")
    client.post(link, data={"List-Unsubscribe": "One-Click"})
    with app.app_context():
        assert sender.drain() == 0
        assert db.session.get(OutboxMessage, row_id).status == "dropped"
    assert [m["Subject"] for m in mailbox.to("leaving@example.org")] == [
        "Bitte bestätigen Sie Ihre Anmeldung"]


def test_preferences_change_and_data_download(app, client, mailbox):
    subscribe(client, "prefs@example.org", "Pia")
    link = link_in(mailbox.to("prefs@example.org")[0], "/einstellungen/")
    page = client.get(link)
    assert page.status_code == 200 and "prefs@example.org" in page.text
    form = {"csrf_token": csrf_token(page.text), "name": "Pia P.", "organisation": "Stadtteilhaus",
            "district": "Bad Cannstatt", "sector": "civic", "language": "en"}
    response = client.post(link, data=form, follow_redirects=True)
    assert "Ihre Einstellungen wurden gespeichert." in response.text
    with app.app_context():
        person = subscriber("prefs@example.org")
        assert (person.name, person.district, person.sector, person.language) == (
            "Pia P.", "Bad Cannstatt", "civic", "en")

    bad = client.post(link, data={**form, "district": "Atlantis", "name": "New"})
    assert bad.status_code == 400 and "Atlantis" in bad.text
    with app.app_context():
        assert subscriber("prefs@example.org").name == "Pia P."

    data = client.get(link + "/daten.json").get_json()
    assert data["email"] == "prefs@example.org"
    assert data["consent_history"][0]["consent_text"].startswith("Ich möchte")


def test_language_switch_and_english_pages(app, client):
    response = client.get("/sprache/en?next=https://evil.example/")
    assert response.headers["Location"] == "/"
    assert "Subscribe to the distribution list" in client.get("/").text
    client.get("/sprache/de")
    assert "Für den Verteiler anmelden" in client.get("/").text


def test_security_headers_and_error_pages(app, client):
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    missing = client.get("/gibt-es-nicht")
    assert missing.status_code == 404 and "Diese Seite gibt es nicht." in missing.text


def test_list_mail_claimed_before_unsubscribing_is_not_sent(client, mailbox, app):
    """The member leaves between the queueing and the send of a stored list mail:
    the sender checks again right before sending."""
    subscribe(client, "spaet@example.org")
    link = link_in(mailbox.to("spaet@example.org")[0], "/abmelden/")
    with app.test_request_context():
        person = subscriber("spaet@example.org")
        message = list_member_mail(person, "List mail", sender="list@example.org")
        assert outbox.enqueue(message, key="test:late", kind="announcement",
                              subscriber_id=person.id, list_mail=True)
        db.session.commit()
    client.post(link, data={"List-Unsubscribe": "One-Click"})
    with app.app_context():  # as if claimed before the unsubscribing dropped it
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.key == "test:late")
                           .values(status="queued"))
        db.session.commit()
        sender.drain()
        assert db.session.scalar(sa.select(OutboxMessage.status).where(
            OutboxMessage.key == "test:late")) == "dropped"
    assert [m["Subject"] for m in mailbox.to("spaet@example.org")] == [
        "Bitte bestätigen Sie Ihre Anmeldung"]
