""""Ich möchte das auch machen": after the asker confirms their address, one mail
goes to the project's contact (or the organisers) with name, address and message;
the address is never on a page; limited like sign-ups; bad input writes nothing.
And the invitation's line on the topics that wait for votes."""

from datetime import timedelta

import sqlalchemy as sa

import jobs
from app.extensions import db
from app.knowledge.models import Inquiry, Project, Topic, TopicStatus
from app.shared.database import utcnow
from tests.conftest import announced_meeting, csrf_token, link_in, member, organiser


def project(**fields):
    found = Project(name="Schokoladenseiten", district="Degerloch", status="published",
                    description="Ein Heft mit dem, was der Stadtteil Gutes hat.", **fields)
    db.session.add(found)
    db.session.commit()
    return found.id


def ask(client, path, **fields):
    page = client.get(path)
    data = {"ask-csrf_token": csrf_token(page.text, "ask-csrf_token"), "ask-name": "Vera Frage",
            "ask-email": "vera@example.net",
            "ask-message": "Wir möchten das in Vaihingen auch machen. Wie habt ihr angefangen?"}
    return client.post(path, data={**data, **{f"ask-{k}": v for k, v in fields.items()}})


def confirm(client, mailbox, address="vera@example.net"):
    link = link_in(mailbox.to(address)[-1], "/anfrage/bestaetigen/")
    page = client.get(link)
    assert "Bestätigen und Nachricht senden" in page.text
    return client.post(link, data={"csrf_token": csrf_token(page.text)})


def test_a_request_reaches_the_projects_contact_once_confirmed(app, client, mailbox):
    with app.app_context():
        project_id = project(contact_name="Dana Degerloch", contact_email="dana@example.net",
                             contact_confirmed=True)
    page = client.get(f"/projekte/{project_id}").text
    assert "Ich möchte das auch machen" in page
    answer = ask(client, f"/projekte/{project_id}")
    assert answer.status_code == 200 and "Bitte schauen Sie in Ihr Postfach" in answer.text
    assert mailbox.to("dana@example.net") == []  # not before the asker confirmed
    assert confirm(client, mailbox).status_code == 200
    [mail] = mailbox.to("dana@example.net")
    assert mail["Subject"] == "Jemand möchte das auch machen: Schokoladenseiten"
    assert mail["Reply-To"] == "Vera Frage <vera@example.net>"
    text = mail.get_body(("plain",)).get_content()
    assert "Wie habt ihr angefangen?" in text and "vera@example.net" in text
    assert "vera@example.net" not in client.get(f"/projekte/{project_id}").text
    again = client.get(link_in(mailbox.to("vera@example.net")[-1], "/anfrage/bestaetigen/"))
    assert again.status_code == 400 and "nicht (mehr) gültig" in again.text  # used
    assert len(mailbox.to("dana@example.net")) == 1
    with app.app_context():  # sent: nothing of it is kept
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0


def test_without_a_contact_and_for_a_topic_the_organisers_get_it(app, client, runner, mailbox):
    organiser(runner, "orga@example.org")
    with app.app_context():
        project_id = project(contact_name="Nicht Bestätigt", contact_email="nb@example.net")
        topic = Topic(title="Nachbarschaftshilfe", status=TopicStatus.PUBLISHED)
        db.session.add(topic)
        db.session.commit()
        topic_id = topic.id
    ask(client, f"/projekte/{project_id}")
    confirm(client, mailbox)
    assert mailbox.to("nb@example.net") == []  # they never agreed to be the contact
    asked = ask(client, f"/themen/{topic_id}", message="Wer hat das schon gemacht?")
    assert asked.status_code == 200, asked.text
    confirm(client, mailbox)
    subjects = [m["Subject"] for m in mailbox.to("orga@example.org")]
    assert subjects == ["Jemand möchte das auch machen: Schokoladenseiten",
                        "Jemand möchte das auch machen: Nachbarschaftshilfe"]


def test_bad_requests_get_german_messages_and_write_nothing(app, client, mailbox):
    with app.app_context():
        project_id = project()
    path = f"/projekte/{project_id}"
    empty = ask(client, path, name="", email="", message="")
    assert empty.status_code == 400
    for message in ("Name fehlt.", "Bitte geben Sie Ihre E-Mail-Adresse an.", "Nachricht fehlt."):
        assert message in empty.text, message
    bad = ask(client, path, name="https://spam.example", message="x" * 10_000,
              email="vera@example.net\r\nBcc: x@example.org")
    assert bad.status_code == 400
    assert "Bitte geben Sie einen Namen ein, keine Internetadresse." in bad.text
    assert "Nachricht ist zu lang (höchstens 2000 Zeichen)." in bad.text
    html = ask(client, path, name="<b>Vera</b>\nBcc: x@example.org")
    assert html.status_code == 400 and "<b>Vera</b>" not in html.text
    assert client.get("/anfrage/bestaetigen/eyJpIjoxfQ.forged.link").status_code == 400
    assert client.get(f"/projekte/{project_id + 1}").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0
    assert mailbox.to("vera@example.net") == []


def test_requests_are_limited_per_address(app, client, mailbox):
    app.config["CONFIRM_MAILS_PER_ADDRESS"] = "2/hour"
    with app.app_context():
        project_id = project()
    answers = [ask(client, f"/projekte/{project_id}").text for _ in range(3)]
    assert "zu viele Anfragen" not in answers[1]
    assert "zu viele Anfragen" in answers[2]
    assert len(mailbox.to("vera@example.net")) == 2


def test_an_invitation_names_the_topics_waiting_for_votes(app, mailbox):
    with app.test_request_context():
        member("anna@example.org")
        for title in ("Repair Café", "Nachbarschaftshilfe", "Lesepaten"):
            db.session.add(Topic(title=title, status=TopicStatus.PUBLISHED))
        db.session.commit()
        announced_meeting("Mitte", start=utcnow().replace(second=0) + timedelta(days=10))
        jobs.run_due()
    [invitation] = [m for m in mailbox.to("anna@example.org") if "Einladung" in m["Subject"]]
    text = invitation.get_body(("plain",)).get_content()
    assert "3 Themen warten auf Stimmen: http://vernetzer.example/themen" in text \
        or "3 Themen warten auf Stimmen: https://" in text


def test_the_line_can_be_turned_off(app, mailbox):
    app.config["INVITATION_TOPICS_LINE"] = False
    with app.test_request_context():
        member("anna@example.org")
        db.session.add(Topic(title="Repair Café", status=TopicStatus.PUBLISHED))
        db.session.commit()
        announced_meeting("Mitte", start=utcnow().replace(second=0) + timedelta(days=10))
        jobs.run_due()
    [invitation] = [m for m in mailbox.to("anna@example.org") if "Einladung" in m["Subject"]]
    assert "warten auf Stimmen" not in invitation.get_body(("plain",)).get_content()
    assert "wartet auf Stimmen" not in invitation.get_body(("plain",)).get_content()
