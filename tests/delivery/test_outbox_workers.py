"""Outbox delivery when things go wrong: bounces, rate limits, dead senders, DKIM."""

import base64
import re
import socket
import subprocess
import threading
from datetime import timedelta

import dkim
import sqlalchemy as sa

from app.delivery import outbox, sender
from app.delivery.models import OutboxMessage, WorkerHeartbeat
from app.extensions import db
from app.shared.database import utcnow
from app.subscriptions.models import Subscriber, SubscriberStatus
from tests.conftest import list_member_mail, member


def queue(app, count, prefix="p"):
    """``count`` active subscribers with one list mail each in the outbox."""
    with app.test_request_context():
        for n in range(count):
            person = member(f"{prefix}{n}@example.org")
            message = list_member_mail(person, "Hallo", sender="liste@example.org")
            outbox.enqueue(message, key=f"test:{prefix}{n}", kind="test",
                           subscriber_id=person.id, list_mail=True)
        db.session.commit()


def test_hard_bounces_make_a_subscriber_bounced(app, mailbox):
    app.config["BOUNCE_LIMIT"] = 2
    mailbox.reply = lambda envelope: "550 5.1.1 unknown user"
    for round_ in range(2):
        queue(app, 1, prefix=f"r{round_}-")
    with app.app_context():
        db.session.execute(sa.update(Subscriber).values(email="gone@example.org")
                           .where(Subscriber.email == "r0-0@example.org"))
        second = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.key == "test:r1-0"))
        first = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.key == "test:r0-0"))
        second.subscriber_id = first.subscriber_id
        db.session.commit()
        sender.drain()
        gone = db.session.scalar(sa.select(Subscriber).where(Subscriber.email == "gone@example.org"))
        assert gone.hard_bounces == 2 and gone.status == SubscriberStatus.BOUNCED


def test_the_quota_holds_back_the_rest(app, mailbox):
    app.config["MAIL_QUOTA"] = [(4, 60)]  # 4 a minute; list mail leaves one of them free
    queue(app, 5)
    with app.app_context():
        assert sender.drain() == 3
        assert sender.drain() == 0  # the minute is used up
        states = sorted(row.status.value for row in db.session.scalars(sa.select(OutboxMessage)))
        attempts = {row.attempts for row in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.status == "queued"))}
    assert states == ["queued", "queued", "sent", "sent", "sent"] and attempts == {0}
    assert len(mailbox.messages) == 3


def test_rows_of_a_dead_sender_are_taken_over_but_not_those_of_a_live_one(app, mailbox):
    queue(app, 4)
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        now = utcnow()
        db.session.add_all([WorkerHeartbeat(worker="dead", seen_at=now - timedelta(minutes=5)),
                            WorkerHeartbeat(worker="alive", seen_at=now)])
        for row, holder in zip(rows, ["dead", "dead", "alive", None], strict=True):
            if holder:
                row.status, row.claimed_by = "sending", holder
        db.session.commit()
        assert sender.drain() == 3  # two recovered from "dead", one never claimed
        held = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.claimed_by == "alive"))
        assert held.status == "sending"
    assert len(mailbox.messages) == 3


def test_dkim_signature_covers_the_list_headers_and_verifies(app, mailbox, tmp_path):
    key = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, check=True).stdout
    public = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=key,
                            capture_output=True, check=True).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    app.config.update(DKIM_SELECTOR="vz2026", DKIM_DOMAIN="vernetzer.example",
                      DKIM_PRIVATE_KEY=key.decode())
    queue(app, 1)
    with app.app_context():
        sender.drain()
    raw = mailbox.messages[0][3]  # the bytes as they arrived
    assert raw.startswith(b"DKIM-Signature:")
    signed = re.sub(rb"\s+", b"", raw.split(b"h=")[1].split(b";")[0]).lower()
    for header in (b"list-unsubscribe", b"list-unsubscribe-post", b"list-id", b"from"):
        assert header in signed.split(b":")
    def dns(name, timeout=5):
        return record if name == b"vz2026._domainkey.vernetzer.example." else None

    assert dkim.verify(raw, dnsfunc=dns)
    tampered = raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                           b"List-Unsubscribe-Post: nothing")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_outbox_status_on_the_command_line(app, runner, mailbox):
    mailbox.reply = lambda envelope: ("550 5.1.1 no such user"
                                      if "p1@example.org" in envelope.rcpt_tos else None)
    queue(app, 3)
    with app.app_context():
        sender.drain()
    result = runner.invoke(args=["outbox", "status"])
    assert result.exit_code == 0
    assert "test: sent 2, queued 0, retrying 0, sending 0, failed 1, dropped 0" in result.output
    assert "failed: p1@example.org: 550 5.1.1 no such user" in result.output


def test_a_relay_that_turns_the_connection_away_with_421_pauses_sending(app):
    """Some hosts answer the greeting itself with ``421 … too many``: the mails wait,
    their tries untouched, and the senders pause."""
    server = socket.create_server(("127.0.0.1", 0))

    def refuse():
        for _ in range(3):
            try:
                connection, _address = server.accept()
            except OSError:
                return
            connection.sendall(b"421 4.7.0 Too many connections from your host, try later\r\n")
            connection.close()

    threading.Thread(target=refuse, daemon=True).start()
    app.config["MAIL_PORT"] = server.getsockname()[1]
    app.extensions["mail"].port = app.config["MAIL_PORT"]
    queue(app, 2)
    try:
        with app.app_context():
            assert sender.drain() == 0
            rows = db.session.execute(sa.select(OutboxMessage.status, OutboxMessage.attempts,
                                                OutboxMessage.last_error)).all()
            assert outbox.paused_until() is not None
    finally:
        server.close()
    assert [(status, attempts) for status, attempts, _ in rows] == [("queued", 0)] * 2
    assert all("421 4.7.0" in error for _, _, error in rows)
