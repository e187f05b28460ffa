"""Answering an invitation from the links in the mail: a GET shows the page with the
answer preselected and records nothing; only the button's POST records it. Bad links,
cancelled or past meetings and people who left the list get a clear German page."""

import re
from datetime import timedelta

import sqlalchemy as sa

import jobs
from app.extensions import db
from app.meetings import rsvp, venues
from app.meetings import services as meetings
from app.meetings.models import Rsvp
from app.shared.database import utcnow
from app.shared.timeutil import local_text
from app.subscriptions import services as subscribers
from tests.conftest import announced_meeting, csrf_token, link_in, member

START = utcnow().replace(second=0, microsecond=0) + timedelta(days=10)


def invite(app, mailbox, *emails):
    with app.test_request_context():
        for email in emails:
            member(email, name=email.split("@")[0].title(), organisation="Bürgerhaus")
        meeting = announced_meeting("Mitte", start=START, topic="Ehrenamt")
        db.session.commit()
        jobs.run_due()
        meeting_id = meeting.id
    return meeting_id, {email: mailbox.to(email)[0] for email in emails}


def answers(app):
    with app.app_context():
        return {(r.subscriber_id, r.answer.value) for r in db.session.scalars(sa.select(Rsvp))}


def test_a_click_shows_the_answer_and_only_the_button_records_it(app, client, mailbox):
    meeting_id, mails = invite(app, mailbox, "rita@example.org")
    yes = link_in(mails["rita@example.org"], "antwort=yes")
    page = client.get(yes)
    assert page.status_code == 200
    assert re.search(r'<input checked [^>]*value="yes"', page.text)  # preselected
    assert answers(app) == set()  # a mail scanner opening the link records nothing

    token = csrf_token(page.text)
    saved = client.post(yes, data={"csrf_token": token, "answer": "yes"}, follow_redirects=True)
    assert "Danke, Ihre Antwort ist gespeichert" in saved.text
    assert {a for _s, a in answers(app)} == {"yes"}
    # Twice: idempotent. Then a change of mind.
    client.post(yes, data={"csrf_token": token, "answer": "yes"})
    assert len(answers(app)) == 1
    client.post(yes, data={"csrf_token": token, "answer": "no"})
    assert {a for _s, a in answers(app)} == {"no"}
    assert "Ihre bisherige Antwort: <strong>Ich komme nicht</strong>" in client.get(yes).text


def test_organisers_see_counts_names_and_a_csv(app, client, mailbox, sign_in):
    meeting_id, mails = invite(app, mailbox, "a@example.org", "b@example.org", "c@example.org")
    for email, answer in (("a@example.org", "yes"), ("b@example.org", "maybe"),
                          ("c@example.org", "yes")):
        link = link_in(mails[email], f"antwort={answer}")
        client.post(link, data={"csrf_token": csrf_token(client.get(link).text), "answer": answer})
    sign_in("orga@example.org", "organiser")
    page = client.get(f"/organisation/treffen/{meeting_id}").text
    assert '<strong data-answer="yes">2</strong>' in page
    assert '<strong data-answer="maybe">1</strong>' in page
    assert '<strong data-answer="no">0</strong>' in page
    assert "B</td><td>Bürgerhaus" in page
    csv = client.get(f"/organisation/treffen/{meeting_id}/antworten.csv")
    assert csv.headers["Content-Type"].startswith("text/csv")
    # As Excel with German settings opens it: BOM, semicolons, local time.
    assert csv.data.startswith("\ufeff".encode())
    lines = csv.text.lstrip("\ufeff").strip().splitlines()
    assert lines[0] == "antwort;name;organisation;email;beantwortet"
    assert [line.split(";")[0] for line in lines[1:]] == ["ja", "ja", "vielleicht"]
    with app.app_context():
        answered = db.session.scalars(sa.select(Rsvp.answered_at)).first()
    assert local_text(answered) in csv.text


def test_tampered_links_record_nothing(app, client, mailbox):
    meeting_id, mails = invite(app, mailbox, "tom@example.org")
    link = link_in(mails["tom@example.org"], "antwort=yes")
    tampered = link.replace("/antwort/", "/antwort/x")
    page = client.get(tampered)
    assert page.status_code == 400 and "Dieser Antwort-Link ist ungültig" in page.text
    assert client.post(tampered, data={"answer": "yes"}).status_code == 400
    # A genuine token for another meeting does not pass either.
    other = link.replace(f"/treffen/{meeting_id}/", f"/treffen/{meeting_id + 1}/")
    assert client.get(other).status_code == 400
    assert answers(app) == set()


def test_cancelled_and_past_meetings_take_no_answers(app, client, mailbox):
    meeting_id, mails = invite(app, mailbox, "uta@example.org")
    link = link_in(mails["uta@example.org"], "antwort=yes")
    token = csrf_token(client.get(link).text)
    with app.test_request_context():
        meetings.cancel(meetings.get(meeting_id), actor="test", reason="Krank")
        db.session.commit()
    page = client.get(link)
    assert "Dieses Treffen ist abgesagt; eine Antwort ist nicht nötig." in page.text
    assert 'name="answer"' not in page.text
    assert client.post(link, data={"csrf_token": token, "answer": "yes"}).status_code == 400
    assert answers(app) == set()


def test_a_meeting_that_has_started_takes_no_answers(app, client, mailbox):
    meeting_id, mails = invite(app, mailbox, "vera@example.org")
    link = link_in(mails["vera@example.org"], "antwort=maybe")
    token = csrf_token(client.get(link).text)
    with app.app_context():
        db.session.execute(sa.text("UPDATE meeting SET start_at = :t WHERE id = :i"),
                           {"t": utcnow() - timedelta(minutes=5), "i": meeting_id})
        db.session.commit()
    assert "hat schon begonnen" in client.get(link).text
    assert client.post(link, data={"csrf_token": token, "answer": "yes"}).status_code == 400
    assert answers(app) == set()


def test_after_unsubscribing_a_link_records_nothing(app, client, mailbox):
    meeting_id, mails = invite(app, mailbox, "wim@example.org")
    link = link_in(mails["wim@example.org"], "antwort=yes")
    with app.app_context():
        subscribers.unsubscribe(subscribers.find_by_email("wim@example.org"))
        db.session.commit()
    page = client.get(link)
    assert page.status_code == 400 and "nicht mehr im Verteiler" in page.text
    assert answers(app) == set()


def test_the_host_gets_the_headcount_two_days_before_once(app, client, mailbox):
    with app.test_request_context():
        venue = venues.add_venue(actor="test", name="Bürgerhaus West", address="Bebelstr. 22",
                                 district="West", contact="Frau Gastgeberin <gast@haus.example>, "
                                                          "Tel. 0711 123")
        member("xena@example.org")
        meeting = announced_meeting("West", start=START, venue_id=venue.id)
        db.session.commit()
        jobs.run_due()
        meeting_id = meeting.id
    link = link_in(mailbox.to("xena@example.org")[0], "antwort=yes")
    client.post(link, data={"csrf_token": csrf_token(client.get(link).text), "answer": "yes"})
    assert mailbox.to("gast@haus.example") == []  # not yet: ten days before
    with app.test_request_context():
        for _ in range(2):
            rsvp.queue_headcounts(now=START - timedelta(days=1))
            db.session.commit()
        jobs.run_due()
    [headcount] = mailbox.to("gast@haus.example")
    text = headcount.get_body(("plain",)).get_content()
    assert headcount["Subject"].startswith("Anmeldestand:")
    assert "Kommen: 1" in text and "Vielleicht: 0" in text and "Kommen nicht: 0" in text
    assert f"/treffen/{meeting_id}" in text
