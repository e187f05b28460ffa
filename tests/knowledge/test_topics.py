"""Topics members want: proposed on /themen (confirmed by mail), published by an
organiser, wanted by members through their own links (one vote each), offered to the
planner, chosen for a meeting ("geplant für") and, once it has taken place,
"besprochen am" with the way to its record."""

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.knowledge.models import Topic, TopicVote
from app.shared.database import utcnow
from tests.conftest import (
    announced_meeting,
    csrf_token,
    link_in,
    member,
    path_of,
)


def propose(client, **fields):
    page = client.get("/themen")
    data = {"proposal-csrf_token": csrf_token(page.text, "proposal-csrf_token"), "proposal-submit": "1",
            "proposal-title": "Repair Cafés gründen", "proposal-description": "Wie fängt man an?",
            "proposal-can_tell": "y", "proposal-name": "Rita", "proposal-email": "rita@example.net"}
    return client.post("/themen", data={**data, **{f"proposal-{k}": v for k, v in fields.items()}})


def topics(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(t.title, t.status.value) for t in db.session.scalars(sa.select(Topic))]


def member_link(client, mailbox, email) -> str:
    page = client.get("/themen")
    client.post("/themen", data={"link-csrf_token": csrf_token(page.text, "link-csrf_token"), "link-submit": "1",
                                 "link-email": email})
    return link_in(mailbox.to(email)[-1], "/themen/mitglied/")


def test_a_topic_from_proposal_to_discussion(app, client, runner, mailbox, sign_in):
    answer = propose(client)
    assert answer.status_code == 200 and "Bitte schauen Sie in Ihr Postfach" in answer.text
    assert topics(app) == [("Repair Cafés gründen", "unconfirmed")]
    confirm = link_in(mailbox.to("rita@example.net")[0], "/themen/bestaetigen/")
    page = client.get(confirm)
    client.post(confirm, data={"csrf_token": csrf_token(page.text)})
    assert topics(app) == [("Repair Cafés gründen", "proposed")]
    with app.app_context():  # the address was for the confirmation only
        assert db.session.scalar(sa.select(Topic.proposer_email)) is None
    assert "Repair Cafés gründen" not in client.get("/themen").text  # not yet published

    [listed] = runner.invoke(args=["topics", "list"]).output.splitlines()
    topic_id = listed.split("\t")[0]
    assert runner.invoke(args=["topics", "publish", topic_id]).exit_code == 0
    with app.app_context():
        for email in ("anna@example.org", "ben@example.org", "cem@example.org"):
            member(email)
    links = {email: member_link(client, mailbox, email)
             for email in ("anna@example.org", "ben@example.org", "cem@example.org")}
    for email in ("anna@example.org", "ben@example.org", "cem@example.org", "anna@example.org"):
        page = client.get(links[email])
        if "Interesse zurücknehmen" in page.text:
            continue  # anna's second look: her vote is there, a button would withdraw it
        client.post(links[email], data={"csrf_token": csrf_token(page.text),
                                        "topic_id": topic_id})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TopicVote)) == 3
    assert "3 Personen interessieren sich" in client.get("/themen").text

    sign_in("orga@example.org")
    with app.test_request_context():
        meeting = announced_meeting("Vaihingen", start=utcnow().replace(
            second=0, microsecond=0) + timedelta(days=30))
        meeting_id = meeting.id
    plan = client.get(f"/organisation/jahresplanung?jahr={utcnow().year + 1}").text
    assert "Themen mit dem meisten Interesse" in plan and "Repair Cafés gründen" in plan
    new_meeting = client.get("/organisation/treffen/neu").text  # the meeting form offers it
    assert "Themen mit dem meisten Interesse" in new_meeting and "Repair Cafés gründen" in new_meeting
    page = client.get("/organisation/themen/")
    chosen = client.post(f"/organisation/themen/{topic_id}/einplanen", data={
        "csrf_token": csrf_token(page.text), "meeting_id": str(meeting_id)})
    assert chosen.status_code == 302
    assert "geplant für" in client.get("/themen").text
    assert "Repair Cafés gründen" in client.get(f"/treffen/{meeting_id}").text

    with app.app_context():  # the meeting has taken place
        from app.meetings import services as meetings
        held = meetings.find(meeting_id)
        held.start_at, held.end_at = utcnow() - timedelta(days=2), utcnow() - timedelta(days=2)
        db.session.commit()
    close_out = f"/organisation/treffen/{meeting_id}/abschluss"
    client.post(close_out, data={"csrf_token": csrf_token(client.get(close_out).text),
                                 "attendance": "3", "walk_ins": "0",
                                 "record": "Repair Cafés brauchen zuerst einen Raum."})
    public = client.get("/themen").text
    assert "besprochen am" in public and f"/treffen/{meeting_id}" in public
    assert "Repair Cafés brauchen zuerst einen Raum." in client.get(f"/treffen/{meeting_id}").text


def test_bad_input_gets_german_messages_and_writes_nothing(app, client, runner, mailbox):
    empty = propose(client, title="", email="")
    assert empty.status_code == 400
    assert "Fachthema fehlt." in empty.text and "Bitte geben Sie Ihre E-Mail-Adresse an." in empty.text
    long = propose(client, description="x" * 10_000, name="https://spam.example")
    assert "zu lang (höchstens 1000 Zeichen)" in long.text
    assert "Bitte geben Sie einen Namen ein, keine Internetadresse." in long.text
    html = propose(client, title="<script>alert(1)</script>\r\nBcc: x@example.org")
    assert html.status_code == 400 and "<script>alert(1)</script>" not in html.text
    assert topics(app) == []

    forged = client.get("/themen/mitglied/eyJzIjoxLCJoIjoiMDAwMCJ9.forged.link")
    assert forged.status_code == 400 and "nicht (mehr) gültig" in forged.text
    with app.app_context():
        member("anna@example.org")
    assert runner.invoke(args=["topics", "publish", "999"]).exit_code == 1
    not_signed_in = client.post("/organisation/themen/1/veroeffentlichen")
    assert not_signed_in.status_code in (302, 400)  # sign-in first (or the CSRF refusal)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TopicVote)) == 0


def test_the_voting_link_answer_is_the_same_for_every_address(app, client, mailbox):
    with app.app_context():
        member("anna@example.org")
    answers = []
    for email in ("anna@example.org", "fremd@example.net"):
        page = client.get("/themen")
        answers.append(client.post("/themen", data={
            "link-csrf_token": csrf_token(page.text, "link-csrf_token"), "link-submit": "1",
            "link-email": email}).text)
    assert answers[0] == answers[1]
    assert len(mailbox.to("anna@example.org")) == 1 and mailbox.to("fremd@example.net") == []
    assert path_of(link_in(mailbox.to("anna@example.org")[0], "/themen/mitglied/"))
