"""The whole loop through a real SMTP server and a real IMAP server (dovecot):
invitations go out, calendar apps answer to the ORGANIZER address, the worker reads
the mailbox and records the answers; bounces count, auto-replies are ignored, and
everything odd is kept for organisers without changing anything."""

from datetime import timedelta

import icalendar
import pytest
import sqlalchemy as sa

import jobs
from app.extensions import db
from app.inbound.models import InboundMail
from app.meetings.models import Rsvp
from app.shared.database import utcnow
from app.subscriptions.models import Subscriber
from tests.conftest import announced_meeting, member
from tests.inbound import samples

START = utcnow().replace(second=0, microsecond=0) + timedelta(days=10)
PEOPLE = {"gmail": "anna.g@gmail.example", "outlook": "otto@firma.example",
          "apple": "anna@icloud.example", "thunderbird": "thea@posteo.example",
          "bounce": "weg@example.org"}

pytestmark = pytest.mark.slow


@pytest.fixture
def invited(app, mailbox):
    """Everyone in PEOPLE invited to one meeting; returns its ID, UID and SEQUENCE,
    each person's invitation and the reply address (ORGANIZER) it carries."""
    with app.test_request_context():
        for email in PEOPLE.values():
            member(email)
        meeting = announced_meeting("Mitte", start=START, topic="Antworten")
        db.session.commit()
        jobs.run_due()
        meeting_id = meeting.id
    mails = {name: mailbox.to(email)[0] for name, email in PEOPLE.items()}
    events = {name: icalendar.Calendar.from_ical(next(
        p.get_payload(decode=True) for p in mail.walk()
        if p.get_content_type() == "text/calendar")).walk("VEVENT")[0]
        for name, mail in mails.items()}
    event = events["gmail"]
    return {"id": meeting_id, "uid": str(event["UID"]), "sequence": int(event["SEQUENCE"]),
            "mails": mails, "organizers": {name: str(item["ORGANIZER"]).removeprefix("mailto:")
                                           for name, item in events.items()}}


def poll(app):
    with app.test_request_context():
        return jobs.run_due()["poll_mailbox"]


def recorded(app):
    with app.app_context():
        rows = db.session.execute(sa.select(Subscriber.email, Rsvp.answer, Rsvp.source)
                                  .join(Rsvp, Rsvp.subscriber_id == Subscriber.id)).all()
        return {email: (answer.value, source.value) for email, answer, source in rows}


def kept(app):
    with app.app_context():
        return [(m.kind.value, m.note) for m in db.session.scalars(
            sa.select(InboundMail).where(InboundMail.status == "kept").order_by(InboundMail.id))]


def test_replies_from_four_calendar_apps_become_answers(app, client, invited, imap_mailbox,
                                                        sign_in):
    uid, sequence, organizers = invited["uid"], invited["sequence"], invited["organizers"]
    for name in ("gmail", "outlook", "apple", "thunderbird"):
        imap_mailbox.deliver(getattr(samples, name)(uid, sequence, PEOPLE[name],
                                                    organizers[name]))
    assert poll(app) == 4
    assert recorded(app) == {
        PEOPLE["gmail"]: ("yes", "calendar"), PEOPLE["outlook"]: ("no", "calendar"),
        PEOPLE["apple"]: ("maybe", "calendar"), PEOPLE["thunderbird"]: ("yes", "calendar")}
    assert imap_mailbox.count("INBOX") == 0 and imap_mailbox.count("Erledigt") == 4
    assert kept(app) == []

    # The same replies again (a client resending) change nothing.
    for name in ("gmail", "thunderbird"):
        imap_mailbox.deliver(getattr(samples, name)(uid, sequence, PEOPLE[name],
                                                    organizers[name]))
    poll(app)
    assert len(recorded(app)) == 4

    sign_in("orga@example.org", "organiser")
    page = client.get(f"/organisation/treffen/{invited['id']}").text
    assert '<strong data-answer="yes">2</strong>' in page
    assert '<strong data-answer="maybe">1</strong>' in page
    assert '<strong data-answer="no">1</strong>' in page


def test_a_reply_counts_only_at_the_members_own_reply_address(app, invited, imap_mailbox):
    """From and ATTENDEE prove nothing: a reply "from" a member to the public address
    (which every .ics carries) or to another member's reply address changes nothing,
    nor does one whose DMARC the receiving server found failing; the member's own
    reply address counts."""
    uid, sequence, organizers = invited["uid"], invited["sequence"], invited["organizers"]
    victim = PEOPLE["gmail"]
    assert organizers["gmail"].startswith("einladung+")
    assert organizers["gmail"] != organizers["outlook"]
    imap_mailbox.deliver(samples.gmail(uid, sequence, victim, partstat="DECLINED"))
    imap_mailbox.deliver(samples.gmail(uid, sequence, victim, organizers["outlook"],
                                       partstat="DECLINED"))
    failing = samples.gmail(uid, sequence, victim, organizers["gmail"], partstat="DECLINED")
    imap_mailbox.deliver(
        b"Authentication-Results: mx.vernetzer.example; spf=fail smtp.mailfrom=gmail.example;"
        b" dkim=none; dmarc=fail (p=REJECT) header.from=gmail.example\r\n" + failing)
    assert poll(app) == 3
    assert recorded(app) == {}
    notes = [note for _kind, note in kept(app)]
    assert "eigene Antwortadresse" in notes[0] and "anderen Mitglieds" in notes[1]
    assert "DMARC" in notes[2]
    imap_mailbox.deliver(samples.gmail(uid, sequence, victim, organizers["gmail"]))
    poll(app)
    assert recorded(app) == {victim: ("yes", "calendar")}


def test_a_bounce_counts_once_and_an_auto_reply_is_ignored(app, invited, imap_mailbox):
    original = invited["mails"]["bounce"]
    message_id = original["Message-ID"]
    code = message_id.strip("<>").split("@")[0]
    bounce = samples.dsn(PEOPLE["bounce"], f"einladung+{code}@vernetzer.example", message_id)
    imap_mailbox.deliver(bounce)
    imap_mailbox.deliver(bounce)  # delivered twice: the same DSN
    # A DSN that reaches the plain address still names the mail by its Message-ID.
    delayed = samples.dsn(PEOPLE["bounce"], "einladung@vernetzer.example", message_id,
                          action="delayed", status="4.4.1")
    imap_mailbox.deliver(delayed)
    imap_mailbox.deliver(samples.out_of_office(PEOPLE["gmail"]))
    poll(app)
    with app.app_context():
        bounces = dict(db.session.execute(sa.select(Subscriber.email, Subscriber.hard_bounces)).all())
    assert bounces[PEOPLE["bounce"]] == 1
    assert sum(bounces.values()) == 1
    assert recorded(app) == {} and kept(app) == []
    assert imap_mailbox.count("INBOX") == 0


def test_a_bounce_found_only_by_its_message_id(app, invited, imap_mailbox):
    message_id = invited["mails"]["bounce"]["Message-ID"]
    imap_mailbox.deliver(samples.dsn(PEOPLE["bounce"], "postmaster@vernetzer.example",
                                     message_id))
    poll(app)
    with app.app_context():
        assert db.session.scalar(sa.select(Subscriber.hard_bounces).where(
            Subscriber.email == PEOPLE["bounce"])) == 1


def test_a_bounce_found_only_by_its_envelope_tag(app, invited, imap_mailbox):
    """Most hosting relays quote the original's headers only partly: the envelope
    tag (``einladung+<code>@…``, the code as long as the sender makes it) names it."""
    code = invited["mails"]["bounce"]["Message-ID"].strip("<>").split("@")[0]
    assert len(code) == 32
    imap_mailbox.deliver(samples.dsn(PEOPLE["bounce"], f"einladung+{code}@vernetzer.example",
                                     None))
    poll(app)
    with app.app_context():
        bounces = dict(db.session.execute(sa.select(Subscriber.email, Subscriber.hard_bounces)).all())
    assert bounces[PEOPLE["bounce"]] == 1 and sum(bounces.values()) == 1
    assert kept(app) == []


def test_a_bounce_for_another_recipient_counts_for_nobody(app, invited, imap_mailbox):
    """A report that names a mail by its Message-ID (say, of a forwarded copy) but
    another recipient than the one it went to is kept, and no member's count moves."""
    message_id = invited["mails"]["bounce"]["Message-ID"]
    imap_mailbox.deliver(samples.dsn("someone-else@example.net", "postmaster@vernetzer.example",
                                     message_id))
    poll(app)
    with app.app_context():
        bounces = dict(db.session.execute(sa.select(Subscriber.email, Subscriber.hard_bounces)).all())
    assert sum(bounces.values()) == 0
    assert len(kept(app)) == 1


def test_odd_mail_is_kept_for_organisers_and_changes_nothing(app, client, mailbox, invited,
                                                             imap_mailbox, sign_in):
    app.config["INBOUND_FORWARD_TO"] = "Orga <orga-team@example.org>"
    uid, sequence = invited["uid"], invited["sequence"]
    imap_mailbox.deliver(samples.malformed_calendar())
    imap_mailbox.deliver(samples.gmail("unbekannt@vernetzer.example", 1, PEOPLE["gmail"]))
    own = invited["organizers"]["gmail"]  # even with the member's own reply address
    imap_mailbox.deliver(samples.forged(uid, sequence, PEOPLE["gmail"], own))
    imap_mailbox.deliver(samples.gmail(uid, sequence, "fremd@example.org", own))
    imap_mailbox.deliver(samples.huge("fotos@example.org", 10 * 1024 * 1024))
    imap_mailbox.deliver(samples.person("frage@example.org"))
    app.config["INBOUND_MAX_BYTES"] = 5 * 1024 * 1024
    assert poll(app) == 6
    assert recorded(app) == {}
    notes = kept(app)
    assert [kind for kind, _note in notes] == ["calendar_reply"] * 4 + ["other", "other"]
    assert "kann nicht gelesen werden" in notes[0][1]
    assert "nicht kennt" in notes[1][1]
    assert "anderen Adresse" in notes[2][1]
    assert "nicht im Verteiler" in notes[3][1]
    assert "Zu groß" in notes[4][1]
    assert imap_mailbox.count("INBOX") == 0
    with app.app_context():
        big = db.session.scalar(sa.select(InboundMail).where(InboundMail.sender.contains("fotos")))
        assert len(big.raw) < 10_000  # its headers only
    # What a person wrote goes on to a person, with the original attached.
    with app.test_request_context():
        jobs.run_due()
    forwards = {m["Subject"]: m for m in mailbox.to("orga-team@example.org")}
    assert set(forwards) == {"Weitergeleitet: Frage zum Treffen",
                             "Weitergeleitet: Fotos vom Treffen"}
    forwarded = forwards["Weitergeleitet: Frage zum Treffen"]
    assert any(part.get_content_type() == "message/rfc822" for part in forwarded.walk())

    # Organisers see them, and can record the reply from an unknown address for a member.
    sign_in("orga@example.org", "organiser")
    page = client.get("/organisation/eingang/").text
    assert "Frage zum Treffen" in page and "nicht im Verteiler" in page
    with app.app_context():
        stranger = db.session.scalar(sa.select(InboundMail.id).where(
            InboundMail.sender.contains("fremd@example.org")))
    from tests.conftest import csrf_token
    form = client.get(f"/organisation/eingang/{stranger}").text
    assert 'value="fremd@example.org"' in form
    for bad in ("abc", "999999", ""):  # typed by hand, or a meeting not offered
        refused = client.post(f"/organisation/eingang/{stranger}", data={
            "csrf_token": csrf_token(form), "meeting_id": bad, "email": PEOPLE["outlook"],
            "answer": "yes"})
        assert refused.status_code == 400 and "Bitte wählen Sie das Treffen" in refused.text
    assert recorded(app) == {}
    done = client.post(f"/organisation/eingang/{stranger}", data={
        "csrf_token": csrf_token(form), "meeting_id": str(invited["id"]),
        "email": PEOPLE["outlook"], "answer": "yes"}, follow_redirects=True)
    assert "Die Antwort ist eingetragen." in done.text
    assert recorded(app) == {PEOPLE["outlook"]: ("yes", "organiser")}
    assert "fremd@example.org" not in client.get("/organisation/eingang/").text


def test_a_mail_that_fails_stays_in_the_mailbox_and_is_read_again(app, invited, imap_mailbox,
                                                                   monkeypatch):
    from app.inbound import services
    imap_mailbox.deliver(samples.gmail(invited["uid"], invited["sequence"], PEOPLE["gmail"],
                                       invited["organizers"]["gmail"]))
    real = services._classify

    def broken(*args):
        raise sa.exc.OperationalError("SELECT 1", None, Exception("database went away"))

    monkeypatch.setattr(services, "_classify", broken)
    assert poll(app) == 0
    assert imap_mailbox.count("INBOX") == 1 and recorded(app) == {}
    monkeypatch.setattr(services, "_classify", real)
    assert poll(app) == 1
    assert recorded(app) == {PEOPLE["gmail"]: ("yes", "calendar")}
    assert imap_mailbox.count("INBOX") == 0


def test_doctor_reaches_the_reply_mailbox_and_names_a_wrong_password(app, runner, imap_mailbox):
    imap_mailbox.deliver(b"From: a@example.org\r\nSubject: Frage\r\n\r\nHallo\r\n")
    result = runner.invoke(args=["doctor"])
    [line] = [line for line in result.output.splitlines() if "  reply mailbox:" in line]
    assert line.startswith("ok") and "1 mails in INBOX" in line
    app.config["INBOUND_IMAP_PASSWORD"] = "wrong"
    result = runner.invoke(args=["doctor"])
    [line] = [line for line in result.output.splitlines() if "  reply mailbox:" in line]
    assert line.startswith("FAIL") and result.exit_code == 1
    assert imap_mailbox.count("INBOX") == 1  # looked at, not touched


def test_mails_that_cannot_be_read_leave_the_inbox_kept(app, imap_mailbox):
    """Each of them ends kept with its reason and moves to the done folder: none is
    read again every minute."""
    unreadable = samples.unreadable()
    for raw in unreadable.values():
        imap_mailbox.deliver(raw)
    assert poll(app) == len(unreadable)
    assert imap_mailbox.count("INBOX") == 0
    assert [status for status in (kind for kind, _note in kept(app))] and \
        len(kept(app)) == len(unreadable)


def inbound(runner, raw: bytes) -> str:
    """One mail through ``flask inbound``, as the mail server hands it over."""
    result = runner.invoke(args=["inbound"], input=raw)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_late_reply_to_an_older_version_changes_nothing(app, runner, invited):
    """Accepted now; then a decline made earlier (an older DTSTAMP) arrives late, and
    one to an older SEQUENCE: the answer stays "yes", both kept with the reason."""
    uid, sequence, organizer = invited["uid"], invited["sequence"], invited["organizers"]["gmail"]
    person = PEOPLE["gmail"]
    assert inbound(runner, samples.gmail(uid, sequence, person, organizer)).startswith("handled")
    late = samples.gmail(uid, sequence, person, organizer, partstat="DECLINED",
                         stamp="20261101T100000Z")
    assert "älter" in inbound(runner, late)
    older = samples.gmail(uid, sequence - 1, person, organizer, partstat="DECLINED")
    assert "älter" in inbound(runner, older)
    assert recorded(app) == {person: ("yes", "calendar")}
    newer = samples.gmail(uid, sequence, person, organizer, partstat="DECLINED")
    assert inbound(runner, newer).startswith("handled")
    assert recorded(app) == {person: ("no", "calendar")}


def test_a_reply_as_octet_stream_or_after_a_quoted_request_counts(app, runner, invited):
    uid, sequence, organizers = invited["uid"], invited["sequence"], invited["organizers"]
    inbound(runner, samples.octet_stream(uid, sequence, PEOPLE["outlook"], organizers["outlook"]))
    inbound(runner, samples.quoting_the_request(uid, sequence, PEOPLE["apple"],
                                                organizers["apple"]))
    assert recorded(app) == {PEOPLE["outlook"]: ("yes", "calendar"),
                             PEOPLE["apple"]: ("no", "calendar")}
