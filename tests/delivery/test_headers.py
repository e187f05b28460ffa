"""Headers of every mail, as they arrive at a real SMTP server: long subjects folded
into encoded words of at most 75 characters (RFC 2047, RFC 5322's line limit),
``Date`` with ``+0000``, ``Auto-Submitted``, Reply-To on list mail when set, and the
envelope sender tagged with the mail's own code (VERP)."""

import re
from datetime import timedelta
from email.header import decode_header, make_header

import jobs
from app.extensions import db
from app.meetings import services as meetings
from app.shared.database import utcnow
from tests.conftest import announced_meeting, csrf_token, member, venue

TOPIC = ("Wie Nachbarschaftshilfe in Zuffenhausen über Vereinsgrenzen hinweg funktioniert, "
         "was Möhringen, Bad Cannstatt und Stuttgart-Mitte davon lernen können und wer dabei "
         "hilft – ein Abend für alle Stadtteilvernetzer")[:200]


def raw_headers(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def test_a_long_topic_gives_a_folded_subject_and_every_header_is_right(app, mailbox):
    app.config["MAIL_REPLY_TO"] = "Orga-Team <orga@vernetzer.example>"
    start = utcnow().replace(second=0) + timedelta(days=5)
    with app.test_request_context():
        member("lang@example.org")
        announced_meeting("Mitte", start=start, topic=TOPIC)
        db.session.commit()
        jobs.run_due()
    [(envelope_sender, _rcpts, message, raw)] = mailbox.messages
    assert message["Subject"] == f"Einladung: Stadtteilvernetzer-Treffen: {TOPIC}"
    lines = raw_headers(raw)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    start_index = next(i for i, line in enumerate(lines) if line.startswith(b"Subject:"))
    subject_lines = [lines[start_index]] + [
        line for line in lines[start_index + 1:] if line.startswith(b" ")][:20]
    assert len(subject_lines) > 2
    words = re.findall(rb"=\?utf-8\?[qb]\?[^?]*\?=", b"".join(subject_lines), re.I)
    assert words and all(len(word) <= 75 for word in words)
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000", message["Date"])
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Reply-To"] == "Orga-Team <orga@vernetzer.example>"
    code = message["Message-ID"].strip("<>").split("@")[0]
    assert envelope_sender == f"einladung+{code}@vernetzer.example"
    # Every field line, in the mail's head and in its parts, fits in 78 characters
    # unless it holds one item that cannot be split (the unsubscribe URL with its token).
    fields = [line for line in raw.split(b"\r\n")
              if re.match(rb"(?i)([\w-]+:|[ \t])", line) and not line.startswith(b"--")]
    long_ones = [line for line in fields if len(line) > 78]
    assert all(not re.search(rb"[;,] \S", line.split(b": ", 1)[-1]) for line in long_ones), \
        long_ones
    assert any(line.startswith(b"List-Unsubscribe: <https://") for line in fields)
    assert any(line.startswith(b" <mailto:") for line in fields)  # folded after the comma
    assert message["List-Unsubscribe"].count("<") == 2
    text = message.get_body(("plain",)).get_content()  # phones that open no .ics
    assert "Zu Google Kalender hinzufügen: https://calendar.google.com/" in text
    assert "Zu Outlook im Web hinzufügen: https://outlook.live.com/" in text


def test_personal_mail_is_automatic_too(app, client, mailbox):
    app.config["MAIL_REPLY_TO"] = "orga@vernetzer.example"
    client.post("/", data={"csrf_token": csrf_token(client.get("/").text),
                           "email": "neu@example.org"})
    [confirmation] = mailbox.to("neu@example.org")
    assert confirmation["Auto-Submitted"] == "auto-generated"
    assert confirmation["Date"].endswith("+0000")



def test_hostile_topic_and_name_stay_inside_their_headers(app, mailbox):
    """Marker-like text, encoded words, line breaks and 1,000 emoji in an organiser's
    topic and a member's name: every header stays one header, every line fits."""
    hostile = "VZxTOxVZ VZxIDxVZ vzNAMEn =?utf-8?b?SGFjaw==?= \r\nBcc: evil@example.org\r\n\r\nx "
    # 1,000 emoji where the database keeps them (SQLite); as many as the column holds
    # elsewhere (PostgreSQL enforces the lengths).
    postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    smileys = 100 - len(hostile) if postgresql else 1000
    parties = 200 - len(hostile) if postgresql else 1000
    start = utcnow().replace(second=0) + timedelta(days=5)
    with app.test_request_context():
        member("feind@example.org", name=hostile + "😀" * smileys)
        meeting = meetings.create(actor="test", start=start, end=start + timedelta(hours=2),
                                  district="Mitte", topic="Kurz", venue_id=venue("Mitte").id)
        meeting.topic = hostile + "🎉" * parties  # past the form's limits: straight in the database
        meetings.announce(meeting, actor="test")
        db.session.commit()
        jobs.run_due()
    [(_envelope_sender, recipients, message, raw)] = mailbox.messages
    assert recipients == ["feind@example.org"]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n")
             if line and not line.startswith((b" ", b"\t"))]
    assert b"bcc" not in names
    for name in (b"from", b"to", b"subject", b"date", b"message-id", b"content-type"):
        assert names.count(name) == 1, name
    subject_lines = re.search(rb"^Subject:.*?(?=\r\n\S)", head, re.M | re.S)[0].split(b"\r\n")
    assert len(subject_lines) > 10  # folded
    assert all(len(word) <= 75 for word in re.findall(rb"=\?utf-8\?[qb]\?[^?]*\?=",
                                                       b"".join(subject_lines), re.I))
    one_line = re.sub(r"[\r\n]+", " ", hostile).strip()
    subject = str(message["Subject"])
    assert "=?utf-8?b?SGFjaw==?=" in subject and "🎉" * parties in subject
    assert "Bcc: evil@example.org" in subject  # as text, not as a header
    assert message["To"].addresses[0].addr_spec == "feind@example.org"
    # RFC 2047 decoding of the raw field (the address parser of Python's email
    # package keeps the folding space between encoded words in a display name).
    raw_to = re.search(rb"^To:(.*?)(?=\r\n\S)", head, re.M | re.S)[1].decode()
    assert str(make_header(decode_header(raw_to))) == one_line + " " + "😀" * smileys + \
        " <feind@example.org>"
    text = message.get_body(("plain",)).get_content()
    assert "🎉" * parties in text and "/abmelden/" in text
