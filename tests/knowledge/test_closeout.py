"""Meetings closed with what came out of them: the close-out prefills the count from
the "Ich komme" answers; the record, projects, follow-ups and insights are stored;
the mail after the meeting goes once, only to those who said yes and did not opt out;
the Werkzeugkoffer gathers the insights and projects by phase."""

import re
from datetime import timedelta

import sqlalchemy as sa

import jobs
from app.extensions import db
from app.knowledge import closeout
from app.knowledge.models import CloseOut, FollowUp, Insight, Presentation, Project
from app.meetings import rsvp
from app.meetings import services as meetings
from app.meetings.models import Answer, AnswerSource, MeetingKind
from app.shared.database import utcnow
from app.subscriptions import services as subscriptions
from app.subscriptions.mails import subscriber_links
from tests.conftest import announced_meeting, csrf_token, member, path_of


def published_project(name="Repair Café", district="Mitte", phases="start,kooperation"):
    """A project in the atlas, as organisers publish it (tests/knowledge/test_projects.py
    walks the way there)."""
    project = Project(name=name, district=district, description="Reparieren mit Nachbarn.",
                      phases=phases, status="published")
    db.session.add(project)
    db.session.commit()
    return project


def held_meeting(app, answers: dict[str, Answer], *, days_ago=4, district="Vaihingen"):
    """A meeting that took place ``days_ago``, with these members' answers."""
    with app.test_request_context():
        meeting = announced_meeting(district)
        for email, answer in answers.items():
            rsvp.record(meeting, member(email), answer, AnswerSource.LINK)
        meeting.start_at = utcnow() - timedelta(days=days_ago, hours=2)
        meeting.end_at = utcnow() - timedelta(days=days_ago)
        db.session.commit()
        return meeting.id


def close_out_data(page: str, **fields) -> dict:
    data = {"csrf_token": csrf_token(page), "attendance": "2", "walk_ins": "3",
            "record": "## Was wir mitnehmen\n\nEin Repair Café braucht zuerst einen Raum.",
            "follow_ups-0-task": "Raumliste an alle schicken", "follow_ups-0-person": "Rita",
            "follow_ups-0-due": "2027-01-15",
            "insights-0-phase": "start", "insights-0-text": "Erst den Raum, dann die Leute.",
            "insights-1-phase": "kooperation",
            "insights-1-text": "Der Bezirksbeirat hilft beim Raum."}
    return {**data, **fields}


def run_jobs(app):
    with app.test_request_context():
        return jobs.run_due()


def test_close_out_and_the_mail_after_the_meeting(app, client, mailbox, sign_in):
    meeting_id = held_meeting(app, {"anna@example.org": Answer.YES, "ben@example.org": Answer.YES,
                                    "cem@example.org": Answer.NO,
                                    "dora@example.org": Answer.MAYBE, "emil@example.org": Answer.YES})
    with app.test_request_context():
        project_id = published_project().id
        emil = subscriptions.find_by_email("emil@example.org")
        emil_settings = path_of(subscriber_links(emil)["preferences_url"])

    # Emil turns the mail off on his settings page.
    page = client.get(emil_settings)
    assert 'name="follow_up_mail" type="checkbox" value="y" checked' in page.text \
        or re.search(r'<input[^>]*checked[^>]*name="follow_up_mail"', page.text)
    client.post(emil_settings, data={"csrf_token": csrf_token(page.text), "name": "Emil",
                                     "language": "de", "post_delivery": "each"})
    with app.app_context():
        assert subscriptions.find_by_email("emil@example.org").follow_up_mail is False

    sign_in("orga@example.org")
    url = f"/organisation/treffen/{meeting_id}/abschluss"
    page = client.get(url)
    assert page.status_code == 200
    # Three said "Ich komme": the count is prefilled, to be corrected.
    assert re.search(r'id="attendance"[^>]*value="3"|value="3"[^>]*id="attendance"', page.text)
    saved = client.post(url, data=close_out_data(page.text, attendance="2",
                                                  projects=str(project_id)))
    assert saved.status_code == 302
    again = client.get(url).text
    assert "Raumliste an alle schicken" in again and "Erst den Raum" in again
    with app.app_context():
        closed = db.session.get(CloseOut, meeting_id)
        assert (closed.attendance, closed.walk_ins) == (2, 3)
        assert db.session.scalar(sa.select(FollowUp.person)) == "Rita"
        assert sorted(db.session.scalars(sa.select(Insight.phase))) == ["kooperation", "start"]
        assert db.session.scalar(sa.select(Presentation.project_id)) == project_id
        assert meetings.find(meeting_id).record.startswith("## Was wir mitnehmen")

    run_jobs(app)
    run_jobs(app)  # the mail goes once, however often the job runs
    subject = "Was beim Treffen in Vaihingen herauskam"
    got = {email: [m for m in mailbox.to(email) if m["Subject"] == subject]
           for email in ("anna@example.org", "ben@example.org", "cem@example.org",
                         "dora@example.org", "emil@example.org")}
    assert [len(got[e]) for e in sorted(got)] == [1, 1, 0, 0, 0]
    text = got["anna@example.org"][0].get_body(("plain",)).get_content()
    assert "Ein Repair Café braucht zuerst einen Raum." in text
    assert f"/projekte/{project_id}" in text and "Repair Café (Mitte)" in text
    assert got["anna@example.org"][0]["List-Unsubscribe"]  # list mail: the way out
    assert "Die Mail an alle, die kommen wollten, ging am" in client.get(url).text

    # The Werkzeugkoffer: the insights with their source, the project under its phases.
    toolbox = client.get("/werkzeugkoffer").text
    start = toolbox[toolbox.index('id="start"'):toolbox.index('id="konzeption"')]
    assert "Erst den Raum, dann die Leute." in start and "Repair Café" in start
    assert re.search(r"Treffen Q[1-4] 20\d\d, Vaihingen", start)
    assert f"/treffen/{meeting_id}" in start
    assert "Der Bezirksbeirat hilft beim Raum." in toolbox[toolbox.index('id="kooperation"'):]


def test_a_close_out_written_late_sends_no_mail_and_one_too_early_waits(app, client,
                                                                        mailbox, sign_in):
    early = held_meeting(app, {"anna@example.org": Answer.YES}, days_ago=1)
    late = held_meeting(app, {"ben@example.org": Answer.YES}, days_ago=60, district="Mitte")
    sign_in("orga@example.org")
    for meeting_id in (early, late):
        url = f"/organisation/treffen/{meeting_id}/abschluss"
        assert client.post(url, data=close_out_data(client.get(url).text)).status_code == 302
    run_jobs(app)
    assert [m["Subject"] for m in mailbox.to("anna@example.org")] == []
    assert [m["Subject"] for m in mailbox.to("ben@example.org")] == []
    with app.app_context():  # two days later the first one's mail is due
        assert closeout.queue_follow_up_mails(now=utcnow() + timedelta(days=2)) == 1


def test_bad_close_out_input_gets_german_messages_and_changes_nothing(app, client, sign_in):
    meeting_id = held_meeting(app, {"anna@example.org": Answer.YES})
    with app.test_request_context():
        ahead = announced_meeting("Mitte").id
    sign_in("orga@example.org")
    url = f"/organisation/treffen/{meeting_id}/abschluss"
    page = client.get(url).text
    bad = client.post(url, data=close_out_data(
        page, attendance="-1", walk_ins="viele", projects="999",
        **{"follow_ups-0-due": "", "insights-0-phase": "",
           "insights-1-text": "x" * 10_000, "follow_ups-1-person": "https://spam.example",
           "follow_ups-1-task": "<script>alert(1)</script>", "follow_ups-1-due": "morgen",
           "record": "y" * 20_001}))
    assert bad.status_code == 400
    for message in ("Gekommen: Bitte eine ganze Zahl von 0 bis 10.000 angeben.",
                    "Ohne Rückmeldung gekommen: Bitte eine ganze Zahl von 0 bis 10.000 angeben.",
                    "Bitte wählen Sie Projekte aus dem Atlas.",
                    "Bitte geben Sie ein Datum an.", "Bitte wählen Sie eine der Phasen.",
                    "zu lang (höchstens 1000 Zeichen)",
                    "Bitte geben Sie einen Namen ein, keine Internetadresse.",
                    "Der Bericht ist zu lang"):
        assert message in bad.text, message
    assert 'aria-invalid="true"' in bad.text
    assert "<script>alert(1)</script>" not in bad.text  # what was typed is kept, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bad.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CloseOut)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Insight)) == 0
        assert meetings.find(meeting_id).record is None

    future = client.get(f"/organisation/treffen/{ahead}/abschluss")
    assert "sobald es stattgefunden hat" in future.text
    forged = client.post(f"/organisation/treffen/{ahead}/abschluss",
                         data=close_out_data(page))
    assert forged.status_code == 400
    no_token = client.post(url, data={**close_out_data(page), "csrf_token": "forged"})
    assert no_token.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CloseOut)) == 0


def test_a_stranger_cannot_close_out(app, client):
    meeting_id = held_meeting(app, {"anna@example.org": Answer.YES})
    answer = client.get(f"/organisation/treffen/{meeting_id}/abschluss")
    assert answer.status_code == 302 and "anmelden" in answer.headers["Location"]


def test_organisers_introduce_each_phase(app, client, sign_in):
    sign_in("orga@example.org")
    page = client.get("/organisation/werkzeugkoffer").text
    too_long = client.post("/organisation/werkzeugkoffer", data={
        "csrf_token": csrf_token(page), "start": "z" * 2001, "netzwerk": "Gut"})
    assert too_long.status_code == 400 and "zu lang (höchstens 2000 Zeichen)" in too_long.text
    assert "Gut" in too_long.text
    assert "Gut" not in client.get("/werkzeugkoffer").text
    client.post("/organisation/werkzeugkoffer", data={
        "csrf_token": csrf_token(page), "start": "Wer fängt an, und mit wem?"})
    toolbox = client.get("/werkzeugkoffer").text
    assert "Wer fängt an, und mit wem?" in toolbox
    assert toolbox.count("Noch nichts.") == 8


def test_a_netzwerkstatt_s_results_go_into_the_werkzeugkoffer(app, client, sign_in):
    with app.test_request_context():
        workshop = announced_meeting("Mitte", kind=MeetingKind.WORKSHOP, capacity=60)
        workshop.start_at = utcnow() - timedelta(days=30, hours=6)
        workshop.end_at = utcnow() - timedelta(days=30)
        db.session.commit()
        workshop_id = workshop.id
    sign_in("orga@example.org")
    url = f"/organisation/treffen/{workshop_id}/abschluss"
    client.post(url, data=close_out_data(
        client.get(url).text, **{"insights-0-phase": "stolpersteine",
                                 "insights-0-text": "Konflikte früh ansprechen."}))
    toolbox = client.get("/werkzeugkoffer").text
    part = toolbox[toolbox.index('id="stolpersteine"'):toolbox.index('id="netzwerk"')]
    assert "Konflikte früh ansprechen." in part
    assert re.search(r"NetzWerkStatt 20\d\d, Mitte", part)
