"""Delivery through the outbox against a real SMTP server that misbehaves."""


import sqlalchemy as sa

from app.delivery import outbox, sender
from app.delivery.models import OutboxMessage
from app.extensions import db
from app.shared.database import utcnow
from app.subscriptions import services as subscribers
from app.subscriptions.models import Subscriber
from tests.conftest import free_port, list_member_mail


def queue_confirmation(app, email):
    with app.test_request_context():
        subscribers.subscribe(email, ip=None, user_agent=None)
        db.session.commit()


def rows(app):
    with app.app_context():
        return {row.recipient: (row.status.value, row.attempts, row.last_error)
                for row in db.session.scalars(sa.select(OutboxMessage))}


def make_due(app):
    with app.app_context():
        db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.session.commit()


def test_server_down_then_back_everything_arrives(app, mailbox, smtp_server):
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    app.extensions["mail"].port = app.config["MAIL_PORT"]
    for n in range(3):
        queue_confirmation(app, f"down{n}@example.org")
    with app.app_context():
        assert sender.drain() == 0
    assert {status for status, attempts, _ in rows(app).values()} == {"queued"}
    assert all("ConnectionRefusedError" in error for _, _, error in rows(app).values())

    app.extensions["mail"].port = smtp_server.port
    with app.app_context():
        assert sender.drain() == 0  # not due yet: backoff
    make_due(app)
    with app.app_context():
        assert sender.drain() == 3
    assert len(mailbox.messages) == 3
    assert {status for status, _, _ in rows(app).values()} == {"sent"}


def test_temporary_refusal_is_retried_with_backoff(app, mailbox):
    mailbox.reply = lambda envelope: "451 4.4.1 no answer from the next host, try again later"
    queue_confirmation(app, "busy@example.org")
    with app.app_context():
        sender.drain()
        row = db.session.scalar(sa.select(OutboxMessage))
        assert row.status == "queued" and row.attempts == 1 and row.last_error.startswith("451")
        first_delay = row.next_attempt_at - utcnow()
    make_due(app)
    with app.app_context():
        sender.drain()
        row = db.session.scalar(sa.select(OutboxMessage))
        assert row.attempts == 2 and row.next_attempt_at - utcnow() > first_delay
    mailbox.reply = None
    make_due(app)
    with app.app_context():
        assert sender.drain() == 1
    assert len(mailbox.to("busy@example.org")) == 1


def test_permanent_refusal_fails_and_counts_against_the_subscriber(app, mailbox):
    mailbox.reply = lambda envelope: ("550 5.1.1 no such user"
                                      if "gone@example.org" in envelope.rcpt_tos else None)
    queue_confirmation(app, "gone@example.org")
    queue_confirmation(app, "here@example.org")
    make_due(app)
    with app.app_context():
        assert sender.drain() == 1
        gone = db.session.scalar(sa.select(Subscriber).where(Subscriber.email == "gone@example.org"))
        assert gone.hard_bounces == 1
    assert rows(app)["gone@example.org"][0] == "failed"
    assert rows(app)["gone@example.org"][2] == "550 5.1.1 no such user"
    assert len(mailbox.to("here@example.org")) == 1


def test_gives_up_after_the_configured_attempts(app, mailbox):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    mailbox.reply = lambda envelope: "450 4.4.2 connection dropped"
    queue_confirmation(app, "never@example.org")
    for _ in range(3):
        make_due(app)
        with app.app_context():
            sender.drain()
    assert rows(app)["never@example.org"][:2] == ("failed", 2)


def test_same_key_is_never_queued_twice(app):
    queue_confirmation(app, "key@example.org")
    with app.test_request_context():
        row = db.session.scalar(sa.select(OutboxMessage))
        person = db.session.get(Subscriber, row.subscriber_id)
        message = list_member_mail(person, "Again", sender="x@example.org")
        assert outbox.enqueue(message, key=row.key, kind="confirm") is False
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1


def test_one_in_five_refused_for_now_everything_arrives(app, mailbox):
    calls = {"n": 0}

    def every_fifth(envelope):
        calls["n"] += 1
        return "451 4.7.1 greylisted, try again" if calls["n"] % 5 == 0 else None

    mailbox.reply = every_fifth
    for n in range(20):
        queue_confirmation(app, f"grey{n}@example.org")
    for _ in range(10):
        make_due(app)
        with app.app_context():
            sender.drain()
    assert {status for status, _, _ in rows(app).values()} == {"sent"}
    for n in range(20):
        assert len(mailbox.to(f"grey{n}@example.org")) == 1
    assert any(attempts > 0 for _, attempts, _ in rows(app).values())  # failed tries


def test_lines_starting_with_a_dot_arrive_as_written(app, mailbox):
    """SMTP ends a message at a line holding one dot: the relay's DATA doubles every
    leading dot (RFC 5321, 4.5.2), and the server takes them out again."""
    body = b".\r\n..two\r\n.start\r\nmid.dle\r\n.\r\nend."
    messages = {f"dots{n}@example.org": b"Subject: Punkte\r\n\r\n" + body + ending
                for n, ending in enumerate((b"", b"\r\n", b"\r\n."))}
    with app.app_context():
        for n, (address, message) in enumerate(messages.items()):
            db.session.add(OutboxMessage(key=f"dots:{n}", kind="test", recipient=address,
                                         code=f"dots{n}", message=message))
        db.session.commit()
        assert sender.drain() == 3
    received = {rcpts[0]: raw for _, rcpts, _, raw in mailbox.messages}
    assert received == {address: message if message.endswith(b"\r\n") else message + b"\r\n"
                        for address, message in messages.items()}
