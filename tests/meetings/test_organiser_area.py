"""The organiser area cannot send a mistake to the list: drafts stay private and can
be deleted, announcements are previewed, tested, confirmed, and can be withdrawn,
planning twice adds nothing, and a second meeting on one evening needs a yes."""

import re
from datetime import timedelta

import sqlalchemy as sa

import jobs
from app.extensions import db
from app.meetings import announcements
from app.meetings import invitations as delivery
from app.meetings import services as meetings
from app.meetings.models import Announcement, Meeting
from app.shared.audit import AuditEntry
from app.shared.database import utcnow
from app.shared.timeutil import local, spoken
from tests.conftest import announced_meeting, csrf_token, form_token, member
from tests.conftest import venue as venue_of

YEAR = local(utcnow()).year + 1
MEMBER = "mitglied@example.org"


def add_member(app):
    with app.app_context():
        member(MEMBER)


def draft(app, *, days=60, venue=False, district="Ost"):
    with app.test_request_context():
        start = utcnow().replace(second=0) + timedelta(days=days)
        meeting = meetings.create(actor="test", start=start, end=start + timedelta(hours=2),
                                  district=district, topic="Nachbarschaft",
                                  venue_id=venue_of(district).id if venue else None)
        db.session.commit()
        return meeting.id


def announced(app, *, days=60, district="Ost"):
    with app.test_request_context():
        return announced_meeting(district, start=utcnow().replace(second=0) + timedelta(days=days),
                                 topic="Nachbarschaft").id


def post(client, url, page_url=None, **data):
    token = csrf_token(client.get(page_url).text) if page_url else form_token(client)
    return client.post(url, data={"csrf_token": token, **data})


def write_announcement(client, meeting_id, send_at=""):
    """Write an announcement on the web; the ID of its draft."""
    url = f"/organisation/treffen/{meeting_id}/ankuendigung"
    written = post(client, url, url, subject="Thema: Nachbarschaft",
                   body="Liebe Leute, **kommt** vorbei!", send_at=send_at)
    assert written.status_code == 302, written.text
    return int(written.headers["Location"].rsplit("/", 1)[1])


def run_jobs(app, now=None):
    """The worker's jobs, and (with ``now``) the announcements due by then."""
    with app.test_request_context():
        if now is not None:
            delivery.queue_announcements(now=now)
            db.session.commit()
        jobs.run_due()


def announcement_status(app, announcement_id):
    with app.app_context():
        return db.session.get(Announcement, announcement_id).status


def test_an_announcement_for_a_draft_is_refused(app, client, mailbox, sign_in):
    add_member(app)
    sign_in()
    meeting_id = draft(app)  # no venue: the "Wo: Bad Cannstatt" of the report
    announcement_id = write_announcement(client, meeting_id)
    preview_url = f"/organisation/ankuendigungen/{announcement_id}"

    refused = post(client, f"{preview_url}/einplanen", preview_url)
    assert "noch ein Entwurf" in client.get(refused.headers["Location"]).text
    # Announcing the meeting in the same step checks its data: no venue, no announcement.
    refused = post(client, f"{preview_url}/einplanen", preview_url, announce_meeting="y")
    assert "Bitte wählen Sie den Ort" in client.get(refused.headers["Location"]).text
    assert announcement_status(app, announcement_id) == "draft"
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == "draft"
    run_jobs(app, now=utcnow() + timedelta(days=1))
    assert mailbox.to(MEMBER) == []
    assert client.get(f"/treffen/{meeting_id}").status_code == 404


def test_a_deleted_draft_leaves_no_trace(app, client, mailbox, sign_in):
    add_member(app)
    sign_in()
    meeting_id = draft(app, venue=True)
    write_announcement(client, meeting_id)
    with app.app_context():
        uid = db.session.get(Meeting, meeting_id).uid
    page = f"/organisation/treffen/{meeting_id}"
    assert "Entwurf löschen" in client.get(page).text

    # Cancelling a draft would publish it: refused.
    post(client, f"{page}/absagen", page, reason="Versehentlich doppelt angelegt")
    unticked = post(client, f"{page}/loeschen", page)
    assert unticked.headers["Location"].endswith(page)
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == "draft"

    deleted = post(client, f"{page}/loeschen", page, confirm="y")
    assert deleted.status_code == 302 and deleted.headers["Location"].endswith("/organisation/")
    for url in (f"/treffen/{meeting_id}", f"/treffen/{meeting_id}.ics", page):
        assert client.get(url).status_code == 404
    feed = client.get("/kalender.ics").text
    assert uid not in feed and "Versehentlich" not in feed
    run_jobs(app, now=utcnow() + timedelta(days=1))
    assert mailbox.to(MEMBER) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Announcement.id))) == 0
        entry = db.session.scalar(sa.select(AuditEntry).where(
            AuditEntry.action == "meeting.delete"))
        assert entry.actor == "orga@example.org" and "Ost" in entry.details
    assert "Entwurf eines Treffens gelöscht" not in client.get("/organisation/").text


def test_cancelling_says_the_reason_is_public_and_shows_it(app, client, mailbox, sign_in):
    sign_in()
    meeting_id = announced(app)
    page = f"/organisation/treffen/{meeting_id}"
    text = client.get(page).text
    assert "öffentlich" in text and 'class="button danger"' in text
    post(client, f"{page}/absagen", page, reason="Der Raum ist wegen Wasserschaden gesperrt")
    public = client.get(f"/treffen/{meeting_id}").text
    assert "abgesagt" in public and "Wasserschaden" in public


def test_planning_twice_adds_nothing(app, client, runner, mailbox, sign_in):
    sign_in()
    page = client.get(f"/organisation/jahresplanung?jahr={YEAR}")
    assert page.status_code == 200
    assert page.text.count("Quartal") >= 4 and "noch nie besucht" in page.text
    for bad in ("abc", "²", "99999999999999999999"):
        refused = client.get(f"/organisation/jahresplanung?jahr={bad}")
        assert refused.status_code == 400 and "Jahr" in refused.text
    for _time in range(2):  # a double click
        post(client, "/organisation/jahresplanung", year=str(YEAR))
    again = runner.invoke(args=["meetings", "plan", str(YEAR), "--apply"])
    assert again.exit_code == 0 and "Nichts Neues" in again.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 4
    planned = client.get(f"/organisation/jahresplanung?jahr={YEAR}").text
    assert planned.count("schon geplant") == 4 and "nichts Neues vorzuschlagen" in planned


def test_a_second_meeting_on_one_evening_needs_a_yes(app, client, runner, mailbox, sign_in):
    sign_in()
    first = draft(app, district="Mitte")
    with app.app_context():
        day = local(db.session.get(Meeting, first).start_at).date()
    fields = {"start": f"{day}T20:30", "end": f"{day}T21:30", "district": "West",
              "venue_id": "", "topic": "Zweites Treffen"}
    warned = post(client, "/organisation/treffen/neu", "/organisation/treffen/neu", **fields)
    assert warned.status_code == 400
    assert "Am selben Abend gibt es schon ein Treffen" in warned.text
    assert 'name="same_evening_ok"' in warned.text
    with app.app_context():  # the date as the page writes it, not as ISO
        when = spoken(db.session.get(Meeting, first).start_at)
    assert f"Treffen: {when} in Mitte" in warned.text and f"{day} " not in warned.text
    saved = post(client, "/organisation/treffen/neu", "/organisation/treffen/neu",
                 same_evening_ok="y", **fields)
    assert saved.status_code == 302
    cli = ["meetings", "create", "--district", "Nord", "--start", f"{day} 10:00",
           "--end", f"{day} 12:00"]
    refused = runner.invoke(args=cli)
    assert refused.exit_code == 1 and "Am selben Abend" in refused.output
    assert runner.invoke(args=[*cli, "--same-evening"]).exit_code == 0


def test_copying_a_meeting_fills_the_form_but_the_time(app, client, mailbox, sign_in):
    sign_in()
    meeting_id = draft(app, venue=True)
    page = f"/organisation/treffen/{meeting_id}"
    post(client, page, page, start=f"{YEAR}-06-09T18:00", end=f"{YEAR}-06-09T20:00",
         district="Ost", venue_id=str(venue_in_app(app, "Ost")), topic="Nachbarschaft",
         host_organisation="Stadtteilhaus Ost e. V.", host_contact="Frau Beispiel, 0711 123")
    copy = client.get(f"/organisation/treffen/neu?vorlage={meeting_id}").text
    assert 'value="Stadtteilhaus Ost e. V."' in copy and 'value="Nachbarschaft"' in copy
    assert f'value="{YEAR}-06-09T18:00"' not in copy
    public = client.get(f"/treffen/{meeting_id}")
    assert public.status_code == 404  # still a draft
    with app.test_request_context():
        meetings.announce(meetings.get(meeting_id), actor="test")
        db.session.commit()
    public = client.get(f"/treffen/{meeting_id}").text
    assert "Stadtteilhaus Ost e. V." in public and "0711 123" not in public


def venue_in_app(app, district):
    with app.app_context():
        return venue_of(district).id


def test_preview_test_send_confirm_and_withdraw(app, client, mailbox, sign_in):
    add_member(app)
    sign_in()
    meeting_id = announced(app)
    tomorrow = local(utcnow() + timedelta(days=1)).replace(hour=10, minute=0)
    announcement_id = write_announcement(client, meeting_id, tomorrow.strftime("%Y-%m-%dT%H:%M"))
    url = f"/organisation/ankuendigungen/{announcement_id}"
    preview = client.get(url).text
    assert re.search(r'<iframe[^>]* sandbox="allow-same-origin"', preview)  # no scripts
    # The text part, as sent: plain prose, and no "Hallo," before the text's own greeting.
    assert "Liebe Leute, kommt vorbei!" in preview and "**" not in preview
    assert "Hallo" not in preview.split('<pre class="wrap">')[1].split("</pre>")[0]
    assert "an 1 Person" in preview and tomorrow.strftime("%-d.%-m.%Y, 10:00") in preview
    mail = client.get(f"{url}/mail.html")
    assert "<strong>kommt</strong>" in mail.text
    policy = mail.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "frame-ancestors 'self'" in policy
    assert "script-src" not in policy and mail.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert client.get("/").headers["X-Frame-Options"] == "DENY"

    post(client, f"{url}/test", url)
    [test_mail] = mailbox.to("orga@example.org")[-1:]
    assert test_mail["Subject"] == "[Test] Thema: Nachbarschaft"
    assert mailbox.to(MEMBER) == []
    assert announcement_status(app, announcement_id) == "draft"

    post(client, f"{url}/einplanen", url)
    assert announcement_status(app, announcement_id) == "scheduled"
    listed = client.get("/organisation/ankuendigungen/").text
    assert "Thema: Nachbarschaft" in listed and "eingeplant" in listed

    # A change makes it a draft again, to be confirmed anew.
    edit = f"{url}/bearbeiten"
    post(client, edit, edit, subject="Thema: Nachbarschaft!", body="Neu",
         send_at=tomorrow.strftime("%Y-%m-%dT%H:%M"))
    assert announcement_status(app, announcement_id) == "draft"
    post(client, f"{url}/einplanen", url)
    post(client, f"{url}/zurueckziehen", url)
    assert announcement_status(app, announcement_id) == "cancelled"
    assert "zurückgezogen" in client.get("/organisation/ankuendigungen/").text
    run_jobs(app, now=utcnow() + timedelta(days=2))
    assert mailbox.to(MEMBER) == []


def test_announcement_and_invitation_stay_an_hour_apart(app, client, mailbox, sign_in):
    add_member(app)
    sign_in()
    meeting_id = announced(app, days=10)  # its invitation is due now
    announcement_id = write_announcement(client, meeting_id)  # "now"
    url = f"/organisation/ankuendigungen/{announcement_id}"
    assert "in derselben Stunde" in client.get(url).text
    refused = post(client, f"{url}/einplanen", url)
    assert "in derselben Stunde" in client.get(refused.headers["Location"]).text
    assert announcement_status(app, announcement_id) == "draft"
    post(client, f"{url}/einplanen", url, same_hour_ok="y")
    assert announcement_status(app, announcement_id) == "scheduled"

    # The other way round: a meeting whose announcement has just gone out waits an
    # hour with its invitations.
    other = announced(app, days=12, district="Süd")
    with app.test_request_context():
        db.session.add(Announcement(meeting_id=other, subject="Thema", body="Text",
                                    status="sent", send_at=utcnow(), sent_at=utcnow(),
                                    created_by="test"))
        db.session.commit()
        assert delivery.queue_invitations() == 1  # the first meeting's, chosen so
        assert delivery.queue_invitations() == 0
        assert delivery.queue_invitations(now=utcnow() + timedelta(minutes=61)) == 1


def test_an_announcement_for_now_confirmed_later_goes_right_away(app, mailbox):
    add_member(app)
    meeting_id = announced(app)
    written = utcnow()
    with app.test_request_context():
        draft_ = announcements.write(meetings.get(meeting_id), actor="test", subject="Jetzt",
                                     body="Text", now=written)
        announcements.schedule(draft_, actor="test", now=written + timedelta(minutes=30))
        db.session.commit()
        assert draft_.send_at == written + timedelta(minutes=30)
    run_jobs(app, now=written + timedelta(minutes=31))
    [mail] = mailbox.to(MEMBER)
    assert mail["Subject"] == "Jetzt"


def test_a_date_typed_the_german_way_is_taken_on_the_web(app, client, mailbox, sign_in):
    """Browsers without a date picker let people type: both ways are understood, and a
    refused value stays in its field."""
    sign_in()
    day = (utcnow() + timedelta(days=60)).date()
    german = f"{day:%d.%m.%Y}"
    fields = {"start": f"{german} 18:00", "end": f"{day} 20:00", "district": "West",
              "venue_id": "", "topic": "Getippt"}
    refused = post(client, "/organisation/treffen/neu", "/organisation/treffen/neu",
                   **{**fields, "end": "morgen abend"})
    assert refused.status_code == 400 and "TT.MM.JJJJ HH:MM" in refused.text
    assert 'value="morgen abend"' in refused.text
    saved = post(client, "/organisation/treffen/neu", "/organisation/treffen/neu", **fields)
    assert saved.status_code == 302
    with app.app_context():
        meeting = db.session.scalars(sa.select(Meeting).where(Meeting.topic == "Getippt")).one()
        assert local(meeting.start_at).strftime("%d.%m.%Y %H:%M") == f"{german} 18:00"


def test_an_announcements_text_part_reads_as_prose(app):
    """Markdown in the text part becomes prose with links written out; a single line
    break stays one in both parts; the layout greets only a text that does not."""
    from app.shared import markup

    body = ("Hallo zusammen,\n\nwir laden **herzlich** ein: [Mehr Infos](https://example.org/x)."
            "\n\nViele Grüße\nAnna Müller")
    mail = markup.for_mail(body)
    assert mail["body"] == ("Hallo zusammen,\n\nwir laden herzlich ein: Mehr Infos "
                            "<https://example.org/x>.\n\nViele Grüße\nAnna Müller")
    assert "Viele Grüße<br>" in mail["body_html"] and mail["greeting"] is False
    assert markup.for_mail("Das Thema im März: Nachbarschaft.")["greeting"] is True


def test_an_admin_enters_an_earlier_meeting_for_the_archive(app, client, runner, mailbox,
                                                            sign_in):
    """The network has met since 2013: an admin enters a past meeting as held, with
    its record; it is in the archive at once and nothing is mailed. Organisers
    without the admin role cannot; a meeting still ahead cannot be entered as held."""
    add_member(app)
    sign_in("admin@example.org", role="admin")
    fields = {"start": "2019-03-12T18:00", "end": "2019-03-12T20:00", "district": "Degerloch",
              "venue_id": "", "topic": "Schokoladenseiten", "held": "y",
              "record": "Die **Degerlocher Schokoladenseiten**: ein Heft über das Viertel."}
    saved = post(client, "/organisation/treffen/neu", "/organisation/treffen/neu", **fields)
    assert saved.status_code == 302
    archive = client.get("/treffen", query_string={"q": "Heft"}).text
    assert "Schokoladenseiten" in archive.split('id="archive-heading"')[1]
    ahead = post(client, "/organisation/treffen/neu", "/organisation/treffen/neu",
                 **{**fields, "start": f"{YEAR + 1}-03-12T18:00", "end": f"{YEAR + 1}-03-12T20:00"})
    assert ahead.status_code == 400 and "muss schon vorbei sein" in ahead.text
    result = runner.invoke(args=["meetings", "create", "--held", "--district", "Vaihingen",
                                 "--start", "2018-11-06 18:00", "--end", "2018-11-06 20:00",
                                 "--topic", "Tauschring", "--record", "Ein Tauschring."])
    assert result.exit_code == 0, result.output
    with app.test_request_context():
        jobs.run_due()
    assert mailbox.to(MEMBER) == []  # nothing mailed for the past
    with app.app_context():
        held = db.session.scalars(sa.select(Meeting).where(Meeting.status == "held")).all()
        assert {m.topic for m in held} == {"Schokoladenseiten", "Tauschring"}
    sign_in("orga@example.org")
    post(client, "/organisation/treffen/neu", "/organisation/treffen/neu",
         **{**fields, "topic": "Nicht nachgetragen"})
    with app.app_context():  # an organiser's "held" tick counts for nothing: a past draft
        assert not db.session.scalars(sa.select(Meeting).where(
            Meeting.topic == "Nicht nachgetragen")).all()
