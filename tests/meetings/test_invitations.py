"""The full life of a meeting against a real SMTP server: announce, invite, change the
time, remind, cancel. Every calendar part is read by three independent parsers."""

import re
from datetime import timedelta

import icalendar
import recurring_ical_events
import sqlalchemy as sa
import vobject

import jobs
from app.delivery.models import Mailing, OutboxMessage
from app.extensions import db
from app.meetings import announcements, rsvp
from app.meetings import invitations as delivery
from app.meetings import services as meetings
from app.meetings.models import Answer, AnswerSource
from app.organisers import services as organisers
from app.shared.database import utcnow
from app.subscriptions import services as subscribers
from app.subscriptions.models import Subscriber, SubscriberStatus
from tests.conftest import announced_meeting, csrf_token, member, request_link, signin_link, venue

START = utcnow().replace(second=0) + timedelta(days=10)


def add_subscribers(app, *emails):
    with app.app_context():
        for email in emails:
            member(email)


def announce_meeting(app, district, *, start=START, topic=None):
    with app.test_request_context():
        announced_meeting(district, start=start, topic=topic)


def run_jobs(app):
    with app.test_request_context():
        return jobs.run_due()


def calendar_parts(message):
    """(method in MIME type, calendar text) of the inline part and the attachment."""
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = list(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain", "text/html", "text/calendar"]
    inline = list(alternative.iter_parts())[2]
    assert attachment.get_filename() == "einladung.ics"
    assert attachment.get_content_type() == "application/ics"
    assert inline.get_param("charset").lower() == "utf-8"
    inline_text = inline.get_content()
    attached_text = attachment.get_payload(decode=True).decode()
    assert inline_text == attached_text
    method = inline.get_param("method")
    assert f"\r\nMETHOD:{method}\r\n" in inline_text  # MIME and body agree
    return method, attached_text


def read_event(text, method):
    """Start, end, UID and SEQUENCE as icalendar, vobject and recurring-ical-events see them."""
    cal = icalendar.Calendar.from_ical(text)
    assert str(cal["METHOD"]) == method
    [event] = cal.walk("VEVENT")
    parsed = vobject.readOne(text)
    parsed.validate()
    [occurrence] = recurring_ical_events.of(cal).between(START - timedelta(days=5),
                                                         START + timedelta(days=5))
    seen = {
        (event.decoded("dtstart"), event.decoded("dtend"), str(event["UID"]), int(event["SEQUENCE"])),
        (parsed.vevent.dtstart.value, parsed.vevent.dtend.value, parsed.vevent.uid.value,
         int(parsed.vevent.sequence.value)),
        (occurrence.decoded("dtstart"), occurrence.decoded("dtend"), str(occurrence["UID"]),
         int(occurrence["SEQUENCE"])),
    }
    assert len(seen) == 1, seen
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    # The member's own reply address: only a reply there counts for them.
    assert re.fullmatch(r"mailto:einladung\+[0-9a-f]{32}@vernetzer\.example",
                        str(event["ORGANIZER"]))
    return seen.pop(), str(event["STATUS"])


def attendees(text):
    [event] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    found = event.get("ATTENDEE")
    found = found if isinstance(found, list) else [found]
    return [(str(a), str(a.params.get("PARTSTAT", "")), str(a.params.get("RSVP", "")))
            for a in found]


def test_life_of_a_meeting(app, mailbox, runner):
    app.config["MEETING_UPDATE_DELAY_MINUTES"] = 0  # the update at once
    add_subscribers(app, "anna@example.org", "ben@example.org")
    with app.test_request_context():
        meeting = announced_meeting("Mitte", start=START, topic="Nachbarschaft")
        meeting_id, uid = meeting.id, meeting.uid

    run_jobs(app)  # invitations
    assert run_jobs(app)["drain_outbox"] == 0  # running again sends nothing new
    for email in ("anna@example.org", "ben@example.org"):
        [invitation] = mailbox.to(email)
        assert invitation["Subject"] == "Einladung: Stadtteilvernetzer-Treffen: Nachbarschaft"
        for header in ("List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Message-ID",
                       "Date"):
            assert invitation[header]
        assert invitation["Auto-Submitted"] == "auto-generated"
        assert invitation["Date"].endswith("+0000")
        method, text = calendar_parts(invitation)
        (start, end, event_uid, sequence), status = read_event(text, "REQUEST")
        assert method == "REQUEST" and event_uid == uid and sequence == 1
        assert start == START and end == START + timedelta(hours=2)
        # The recipient alone is the ATTENDEE, asked for an answer.
        assert attendees(text) == [(f"mailto:{email}", "NEEDS-ACTION", "TRUE")]
        body = invitation.get_body(("plain",)).get_content()
        assert f"/treffen/{meeting_id}/antwort/" in body and f"/treffen/{meeting_id}.ics" in body

    # A late joiner gets the invitation on the next run; Ben leaves.
    add_subscribers(app, "carla@example.org")
    with app.app_context():
        ben = db.session.scalar(sa.select(Subscriber).where(Subscriber.email == "ben@example.org"))
        subscribers.unsubscribe(ben)
        db.session.commit()
    run_jobs(app)
    assert len(mailbox.to("carla@example.org")) == 1

    # Change the time: the invited get an update with the same UID and a higher SEQUENCE.
    new_start = START + timedelta(hours=1)
    with app.test_request_context():
        meetings.update(meetings.get(meeting_id), actor="test", start=new_start,
                        end=new_start + timedelta(hours=2))
        db.session.commit()
    run_jobs(app)
    update = mailbox.to("anna@example.org")[-1]
    assert update["Subject"].startswith("Geändert:")
    (start, _, event_uid, sequence), _ = read_event(calendar_parts(update)[1], "REQUEST")
    assert start == new_start and event_uid == uid and sequence == 2
    assert len(mailbox.to("ben@example.org")) == 1  # unsubscribed: nothing more

    # Two days before: a reminder, once.
    with app.test_request_context():
        delivery.queue_reminders(now=new_start - timedelta(days=1))
        db.session.commit()
    run_jobs(app)
    reminder = mailbox.to("anna@example.org")[-1]
    assert reminder["Subject"].startswith("Erinnerung:")
    # A reminder is a plain mail: answer links and the .ics link, no second request.
    assert reminder.get_content_type() == "multipart/alternative"
    assert "text/calendar" not in reminder.as_string()
    reminder_text = reminder.get_body(("plain",)).get_content()
    assert "Ich komme:" in reminder_text and f"/treffen/{meeting_id}.ics" in reminder_text
    assert mailbox.to("carla@example.org")[-1]["Subject"].startswith("Erinnerung:")

    # Cancel: METHOD:CANCEL, same UID, higher SEQUENCE, STATUS:CANCELLED.
    with app.test_request_context():
        meetings.cancel(meetings.get(meeting_id), actor="test", reason="Raum fehlt")
        db.session.commit()
    run_jobs(app)
    cancellation = mailbox.to("anna@example.org")[-1]
    assert cancellation["Subject"].startswith("Abgesagt:")
    method, text = calendar_parts(cancellation)
    (_, _, event_uid, sequence), status = read_event(text, "CANCEL")
    assert method == "CANCEL" and event_uid == uid and sequence == 3 and status == "CANCELLED"
    assert attendees(text) == [("mailto:anna@example.org", "", "")]
    assert "antwort" not in cancellation.get_body(("plain",)).get_content()

    # The organisers see each send and its progress.
    client = app.test_client()
    with app.test_request_context():
        organisers.add("orga@example.org", role="organiser", actor="test")
        db.session.commit()
    request_link(client, "orga@example.org")
    link = signin_link(mailbox, "orga@example.org")
    client.post(link, data={"csrf_token": csrf_token(client.get(link).text)})
    page = client.get("/organisation/versand").text
    assert "Einladungen" in page and "Absagen" in page and "<progress" in page

    subjects = [m["Subject"].split(":")[0] for m in mailbox.to("anna@example.org")]
    assert subjects == ["Einladung", "Geändert", "Erinnerung", "Abgesagt"]
    assert [m["Subject"].split(":")[0] for m in mailbox.to("carla@example.org")] == [
        "Einladung", "Geändert", "Erinnerung", "Abgesagt"]
    assert [m["Subject"].split(":")[0] for m in mailbox.to("ben@example.org")] == ["Einladung"]


def test_changes_within_the_delay_go_out_as_one_update_with_the_final_time(app, mailbox):
    """Three edits of the time within ``MEETING_UPDATE_DELAY_MINUTES``: nothing until
    the delay after the last one has passed, then one update per member; a changed
    description alone sends none; a reminder skips who said no."""
    add_subscribers(app, "anna@example.org", "ben@example.org")
    announce_meeting(app, "Mitte", topic="Nachbarschaft")
    run_jobs(app)
    with app.app_context():
        meeting_id = db.session.scalar(sa.select(OutboxMessage.meeting_id).limit(1))
    now = utcnow()
    with app.test_request_context():
        for minutes in (0, 10, 20):
            start = START + timedelta(hours=1 + minutes)
            meetings.update(meetings.get(meeting_id), actor="test", start=start,
                            end=start + timedelta(hours=2), now=now + timedelta(minutes=minutes))
            db.session.commit()
        final = start
        meetings.update(meetings.get(meeting_id), actor="test", description="Tippfehler weg")
        db.session.commit()
        assert delivery.queue_updates(now=now + timedelta(minutes=49)) == 0
        assert delivery.queue_updates(now=now + timedelta(minutes=50)) == 2
        assert delivery.queue_updates(now=now + timedelta(minutes=51)) == 0
        db.session.commit()
    run_jobs(app)
    for email in ("anna@example.org", "ben@example.org"):
        subjects = [m["Subject"].split(":")[0] for m in mailbox.to(email)]
        assert subjects == ["Einladung", "Geändert"]
        (start, _, _, sequence), _ = read_event(calendar_parts(mailbox.to(email)[-1])[1],
                                                "REQUEST")
        assert start == final and sequence == 4

    with app.test_request_context():
        ben = db.session.scalar(sa.select(Subscriber).where(Subscriber.email == "ben@example.org"))
        rsvp.record(meetings.get(meeting_id), ben, Answer.NO, AnswerSource.LINK)
        delivery.queue_reminders(now=final - timedelta(days=1))
        db.session.commit()
    run_jobs(app)
    assert mailbox.to("anna@example.org")[-1]["Subject"].startswith("Erinnerung:")
    assert [m["Subject"].split(":")[0] for m in mailbox.to("ben@example.org")] == [
        "Einladung", "Geändert"]


def test_runs_with_nobody_new_to_invite_leave_no_empty_mailings(app, mailbox):
    """The job runs every minute while a meeting is inside the invitation window: a
    run that reaches nobody writes nothing (it once left a mailing row each time)."""
    add_subscribers(app, "anna@example.org")
    announce_meeting(app, "Ost")
    for _ in range(5):
        run_jobs(app)
    with app.app_context():
        kinds = db.session.scalars(sa.select(Mailing.kind)).all()
    assert kinds == ["invitation"]
    assert len(mailbox.to("anna@example.org")) == 1


def test_cancellation_drops_queued_reminders(app, mailbox):
    add_subscribers(app, "dora@example.org")
    with app.test_request_context():
        meeting_id = announced_meeting("Ost", start=START).id
        delivery.queue_invitations()
        db.session.commit()
        jobs.delivery.drain_outbox()  # the invitation goes out
        delivery.queue_reminders(now=START - timedelta(days=1))  # waits in the outbox
        db.session.commit()
        meetings.cancel(meetings.get(meeting_id), actor="test", reason="Sturm")
        db.session.commit()
        states = {row.kind: row.status for row in db.session.scalars(sa.select(OutboxMessage))}
    assert states == {"invitation": "sent", "reminder": "dropped", "cancellation": "queued"}
    run_jobs(app)
    kinds = [m["Subject"].split(":")[0] for m in mailbox.to("dora@example.org")]
    assert kinds == ["Einladung", "Abgesagt"]


def test_announcement_goes_to_active_subscribers_once_when_due(app, mailbox):
    add_subscribers(app, "eva@example.org", "fynn@example.org")
    with app.test_request_context():
        meeting = meetings.create(actor="test", start=START, end=START + timedelta(hours=2),
                                  district="West", topic="Stadtteilarbeit",
                                  venue_id=venue("West").id)
        draft = announcements.write(meeting, actor="test", subject="Thema: Stadtteilarbeit",
                                    body="Wir freuen uns **auf euch**.",
                                    send_at=utcnow() + timedelta(hours=2))
        announcements.schedule(draft, actor="test", announce_meeting=True)
        db.session.commit()
    run_jobs(app)
    # The invitations go out now; the announcement is not due yet.
    assert {m["Subject"].split(":")[0] for _f, _t, m, _r in mailbox.messages} == {"Einladung"}
    with app.test_request_context():
        assert delivery.queue_announcements(now=utcnow() + timedelta(hours=3)) == 2
        db.session.commit()
    run_jobs(app)
    run_jobs(app)
    [mail] = [m for m in mailbox.to("eva@example.org") if m["Subject"].startswith("Thema")]
    assert mail["Subject"] == "Thema: Stadtteilarbeit"
    assert "<strong>auf euch</strong>" in mail.get_body(("html",)).get_content()
    assert len(mailbox.to("fynn@example.org")) == 2


def test_list_mail_is_personal_and_in_each_subscribers_language(app, mailbox):
    with app.app_context():
        for email, name, language in (("juergen@example.org", "Jürgen <b>&</b>", "de"),
                                      ("emma@example.org", "Emma", "en"),
                                      ("anon@example.org", None, "de")):
            member(email, name=name, language=language)
    announce_meeting(app, "Süd", topic="Begegnung")
    run_jobs(app)

    [juergen] = mailbox.to("juergen@example.org")
    assert juergen["Subject"] == "Einladung: Stadtteilvernetzer-Treffen: Begegnung"
    assert juergen["To"].addresses[0].display_name == "Jürgen <b>&</b>"
    assert "Hallo Jürgen <b>&</b>," in juergen.get_body(("plain",)).get_content()
    assert "Hallo Jürgen &lt;b&gt;&amp;&lt;/b&gt;," in juergen.get_body(("html",)).get_content()
    [emma] = mailbox.to("emma@example.org")
    assert emma["Subject"] == "Invitation: Stadtteilvernetzer-Treffen: Begegnung"
    assert "Hello Emma," in emma.get_body(("plain",)).get_content()
    [anon] = mailbox.to("anon@example.org")
    assert anon.get_body(("plain",)).get_content().startswith("Hallo,")

    # Each mail's links are its reader's own: Emma's unsubscribes Emma, nobody else.
    link = emma["List-Unsubscribe"].split("<")[1].split(">")[0]
    assert app.test_client().post(link.removeprefix("https://vernetzer.example"),
                                  data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        states = dict(db.session.execute(sa.select(Subscriber.email, Subscriber.status)).all())
    assert states == {"juergen@example.org": "active", "emma@example.org": "unsubscribed",
                      "anon@example.org": "active"}


def test_a_meeting_announced_late_sends_the_invitation_and_no_reminder(app, mailbox):
    add_subscribers(app, "gina@example.org")
    announce_meeting(app, "Nord", start=utcnow().replace(second=0) + timedelta(days=1))
    run_jobs(app)
    run_jobs(app)
    assert [m["Subject"].split(":")[0] for m in mailbox.to("gina@example.org")] == ["Einladung"]


def test_an_invitation_to_a_large_list_reaches_every_member_once(app, mailbox):
    """A mailing larger than two of the senders' batches: every member gets exactly
    one invitation, with their own address in the calendar."""
    members = [f"m{n}@example.org" for n in range(450)]
    with app.app_context():
        db.session.execute(sa.insert(Subscriber), [
            {"email": email, "language": "de", "status": SubscriberStatus.ACTIVE,
             "source": "import", "hard_bounces": 0} for email in members])
        db.session.commit()
    announce_meeting(app, "Nord")
    run_jobs(app)
    invitations = [(recipients, message) for _, recipients, message, _ in mailbox.messages
                   if message["Subject"].startswith("Einladung")]
    assert sorted(address for recipients, _ in invitations for address in recipients) == \
        sorted(members)
    for [address], message in invitations[::50]:
        _method, text = calendar_parts(message)
        assert f"mailto:{address}" in text.replace("\r\n ", "")
