"""The organiser area: sign-in by one-time link, access control, meetings, sanitising."""

from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.meetings.models import Announcement, Meeting, Venue
from app.shared.audit import AuditEntry
from tests.conftest import csrf_token, form_token, organiser, request_link, signin_link

YEAR = date.today().year + 1


def test_signin_link_flow(client, runner, mailbox):
    organiser(runner, "orga@example.org", "organiser")
    known = request_link(client, "orga@example.org")
    unknown = request_link(client, "nobody@example.org")
    assert known.text.split("<main")[1] == unknown.text.split("<main")[1]
    assert mailbox.to("nobody@example.org") == []
    [mail] = mailbox.to("orga@example.org")
    assert mail["Subject"] == "Ihr Anmeldelink für vernetzer"
    assert "List-Unsubscribe" not in mail

    link = signin_link(mailbox, "orga@example.org")
    page = client.get(link)  # a mail scanner's GET signs nobody in
    assert client.get("/organisation/").status_code == 302
    response = client.post(link, data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert client.get("/organisation/").status_code == 200

    other = client.application.test_client()
    reused = other.post(link, data={"csrf_token": form_token(other)})
    assert reused.status_code == 400 and "schon benutzt" in reused.text
    assert other.get("/organisation/").status_code == 302


def test_expired_and_tampered_links_grant_nothing(app, client, runner, mailbox):
    organiser(runner, "orga@example.org", "organiser")
    request_link(client, "orga@example.org")
    link = signin_link(mailbox, "orga@example.org")
    token = form_token(client)
    tampered = client.post(link[:-2] + ("xy" if not link.endswith("xy") else "zz"),
                           data={"csrf_token": token})
    assert tampered.status_code == 400
    app.config["SIGNIN_LINK_MAX_AGE"] = -1
    expired = client.post(link, data={"csrf_token": token})
    assert expired.status_code == 400 and "abgelaufen" in expired.text
    assert client.get("/organisation/").status_code == 302


def test_admin_sees_list_export_and_audit_log(client, runner, mailbox, sign_in):
    sign_in("admin@example.org", "admin")
    assert "Verteiler" in client.get("/organisation/verteiler").text
    export = client.get("/organisation/verteiler/export.csv")
    assert export.status_code == 200 and export.data.startswith(b"\xef\xbb\xbf")
    log = client.get("/organisation/protokoll").text
    assert "Angemeldet" in log and "Verteiler exportiert" in log
    assert "organiser.sign_in" not in log  # words for people, not code


def meeting_form(client, url, **fields):
    page = client.get(url)
    data = {"csrf_token": csrf_token(page.text), "start": f"{YEAR}-03-09T18:00",
            "end": f"{YEAR}-03-09T20:00", "district": "Mitte", "venue_id": "",
            "topic": "Nachbarschaft", "description": "", "notes": "", **fields}
    return client.post(url, data=data)


def test_meeting_life_in_the_browser_forms(app, client, runner, mailbox, sign_in):
    sign_in()
    venue_id = runner.invoke(args=["venues", "add", "--name", "Treffpunkt", "--district",
                                   "Mitte", "--address", "Rotebühlplatz 28"]
                             ).output.strip().splitlines()[-1]
    created = meeting_form(client, "/organisation/treffen/neu", venue_id=venue_id, description=(
        "Wir sprechen über **Nachbarschaft**.\n\n<script>alert(1)</script>\n\n"
        "[klick](javascript:alert(2)) und [Stadt](https://www.stuttgart.de)"))
    assert created.status_code == 302
    url = created.headers["Location"]
    meeting_id = int(url.rsplit("/", 1)[1])

    bad = meeting_form(client, url, end=f"{YEAR}-03-09T17:00", venue_id=venue_id)
    assert bad.status_code == 400 and "muss nach seinem Beginn enden" in bad.text
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).sequence == 0

    page = client.get(url)
    client.post(f"/organisation/treffen/{meeting_id}/ankuendigen",
                data={"csrf_token": csrf_token(page.text)})
    public = client.get(f"/treffen/{meeting_id}").text
    assert "<strong>Nachbarschaft</strong>" in public
    assert "<script>" not in public and "&lt;script&gt;" in public  # shown, never run
    assert 'href="javascript:' not in public
    assert 'href="https://www.stuttgart.de"' in public

    # Topic announcement: written as a draft, previewed, then confirmed.
    form_page = client.get(f"/organisation/treffen/{meeting_id}/ankuendigung")
    written = client.post(f"/organisation/treffen/{meeting_id}/ankuendigung", data={
        "csrf_token": csrf_token(form_page.text), "subject": "Thema: Nachbarschaft",
        "body": "Liebe Leute, **kommt** vorbei!", "send_at": ""})
    assert written.status_code == 302
    preview = client.get(written.headers["Location"])
    assert preview.status_code == 200 and "Thema: Nachbarschaft" in preview.text
    assert "Liebe Leute" in preview.text and "Fachthema: Nachbarschaft" in preview.text
    with app.app_context():
        [announcement] = db.session.scalars(sa.select(Announcement)).all()
        assert announcement.status == "draft" and announcement.created_by == "orga@example.org"
    client.post(f"/organisation/ankuendigungen/{announcement.id}/einplanen",
                data={"csrf_token": csrf_token(preview.text)})
    with app.app_context():
        assert db.session.get(Announcement, announcement.id).status == "scheduled"
    assert "Thema: Nachbarschaft</a> – eingeplant" in client.get(url).text

    client.post(f"/organisation/treffen/{meeting_id}/absagen",
                data={"csrf_token": csrf_token(page.text), "reason": "Raum fehlt"})
    edit = meeting_form(client, url, topic="Nach der Absage", venue_id=venue_id)
    assert edit.status_code == 400 and "abgesagt" in edit.text
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert meeting.status == "cancelled" and meeting.topic == "Nachbarschaft"
        # Cancelling the meeting withdrew its announcement before it went out.
        assert db.session.get(Announcement, announcement.id).status == "cancelled"
        actors = set(db.session.scalars(sa.select(AuditEntry.actor)))
    assert "orga@example.org" in actors


def test_venue_in_another_district_is_refused(client, runner, mailbox, sign_in):
    sign_in()
    page = client.get("/organisation/orte")
    added = client.post("/organisation/orte", data={
        "csrf_token": csrf_token(page.text), "name": "Bürgerhaus West",
        "address": "Bismarckstraße 1", "district": "West", "capacity": "40"})
    assert added.status_code == 302
    with client.application.app_context():
        venue_id = str(db.session.scalar(sa.select(Venue.id)))
    refused = meeting_form(client, "/organisation/treffen/neu", district="Ost",
                           venue_id=venue_id)
    assert refused.status_code == 400 and "liegt in West, nicht in Ost" in refused.text


def test_venue_can_be_edited_but_not_moved_away_from_its_meetings(app, client, runner, mailbox, sign_in):
    sign_in()
    venue_id = runner.invoke(args=["venues", "add", "--name", "Stadtteilhaus", "--district", "Ost",
                                   "--address", "Ostendstraße 1"]).output.strip().splitlines()[-1]
    url = f"/organisation/orte/{venue_id}"
    page = client.get(url)
    assert page.status_code == 200 and 'value="Stadtteilhaus"' in page.text
    fields = {"csrf_token": csrf_token(page.text), "name": "Stadtteilhaus Ost",
              "address": "Ostendstraße 1", "district": "Ost", "step_free": "y",
              "transit_stop": "Ostendplatz (U4, U9)", "capacity": "30"}
    assert client.post(url, data=fields).status_code == 302
    runner.invoke(args=["meetings", "create", "--venue", venue_id, "--start",
                        f"{YEAR}-03-09 18:00", "--end", f"{YEAR}-03-09 20:00"])
    moved = client.post(url, data={**fields, "district": "West"})
    assert moved.status_code == 400 and "nicht in einen anderen Stadtbezirk" in moved.text
    with app.app_context():
        venue = db.session.get(Venue, int(venue_id))
        assert (venue.name, venue.district, venue.step_free, venue.capacity) == (
            "Stadtteilhaus Ost", "Ost", True, 30)
    assert client.get("/organisation/orte/99999999999").status_code == 404


def test_mails_speak_the_readers_language_subject_included(client, runner, mailbox):
    organiser(runner, "lang@example.org", "organiser")
    client.get("/sprache/en")
    request_link(client, "lang@example.org")
    [mail] = mailbox.to("lang@example.org")
    assert mail["Subject"] == "Your sign-in link for vernetzer"
    assert "here is your sign-in link" in mail.get_body(("plain",)).get_content()
    client.get("/sprache/de")
    request_link(client, "lang@example.org")
    assert mailbox.to("lang@example.org")[-1]["Subject"] == "Ihr Anmeldelink für vernetzer"


def test_the_sign_in_lifetime_comes_from_its_setting(app, client, runner, mailbox):
    app.config["SIGNIN_LINK_MAX_AGE"] = 30 * 60
    assert "30 Minuten" in client.get("/organisation/anmelden").text
    organiser(runner, "orga@example.org", "organiser")
    request_link(client, "orga@example.org")
    [mail] = mailbox.to("orga@example.org")
    assert "30 Minuten" in mail.get_body(preferencelist=("plain",)).get_content()
    assert "30 Minuten" in client.get("/organisation/anmelden/kaputt").text


def test_no_page_uses_inline_styles_that_the_csp_blocks(app, client, runner, mailbox, sign_in):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    sign_in("admin@example.org", "admin")
    pages = ["/", "/organisation/", "/organisation/treffen/neu", "/organisation/orte",
             "/organisation/verteiler", "/organisation/protokoll", "/organisation/versand"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert " style=" not in response.text, page
