"""Delivery through a rationed mailbox, as a web host gives a volunteer network: a
relay that takes ``N per window`` and refuses the rest until the window turns
(``bench/quota_relay.py``), a real worker process, a real database. Nothing fails,
nobody counts as bounced, no try is spent on a closed door, and a confirmation
overtakes the invitations waiting ahead of it."""

import signal
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.delivery import quota
from app.delivery.models import OutboxMessage
from app.extensions import db
from app.meetings import invitations
from app.shared.database import utcnow
from app.subscriptions import services as subscriptions
from app.subscriptions.models import Subscriber, SubscriberStatus
from bench.quota_relay import LIMIT_REACHED, QuotaRelay, start
from tests.conftest import (
    announced_meeting,
    base_config,
    free_port,
    output_of,
    process_env,
    start_flask,
    wait_for,
)

pytestmark = pytest.mark.slow


def invite_members(app, count: int) -> None:
    """``count`` active members and an announced meeting whose invitations are queued."""
    start_at = utcnow().replace(second=0, microsecond=0) + timedelta(days=5)
    with app.test_request_context():
        db.session.execute(sa.insert(Subscriber), [
            {"email": f"m{n}@example.org", "language": "de", "status": SubscriberStatus.ACTIVE,
             "source": "import", "hard_bounces": 0} for n in range(count)])
        announced_meeting("Vaihingen", start=start_at, topic="Kontingent")
        db.session.commit()
        assert invitations.queue_invitations() == count
        db.session.commit()


def outbox_rows(app) -> list:
    with app.app_context():
        return db.session.execute(sa.select(OutboxMessage.kind, OutboxMessage.status,
                                            OutboxMessage.attempts)).all()


def all_sent(app, count: int) -> bool:
    return [status for _kind, status, _attempts in outbox_rows(app)] == ["sent"] * count


def bounces(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.sum(Subscriber.hard_bounces)))


def run_worker(live_database, relay, **settings):
    return start_flask(process_env(live_database, relay.port, OUTBOX_POLL_SECONDS=0.1,
                                   **settings), "worker", "--send-only")


@pytest.fixture
def quota_app(live_database, tmp_path):
    app = create_app(base_config(live_database, 25, tmp_path))
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_mailing_through_a_rationed_mailbox_arrives_whole_and_people_go_first(
        live_database, quota_app):
    """300 invitations through a relay that takes 20 per 5 seconds and answers
    ``450 4.7.0 … limit exceeded`` beyond. The quota is set a little above what the
    relay really takes (it counts other mail of the mailbox too), so the door closes
    now and then: every mail arrives once, none failed, no try counted, nobody
    bounced; a sign-up in the middle gets its confirmation before the invitations
    queued ahead of it."""
    handler = QuotaRelay(20, 5)
    relay = start(handler, free_port())
    invite_members(quota_app, 300)
    worker = run_worker(live_database, relay, MAIL_QUOTA="24 per 5 seconds")
    try:
        wait_for(lambda: len(handler.received) >= 60, 60, "the first invitations")
        with quota_app.test_request_context():
            assert subscriptions.subscribe("neu@example.org", ip=None, user_agent=None)
            db.session.commit()
        queued_at = len(handler.received)
        wait_for(lambda: all_sent(quota_app, 301), 180, "every mail sent and recorded")
    finally:
        worker.send_signal(signal.SIGTERM)
        output = output_of(worker, 60)
        relay.stop()
    arrived = [address for _at, address, _message in handler.received]
    assert Counter(arrived) == Counter([f"m{n}@example.org" for n in range(300)]
                                       + ["neu@example.org"]), output
    assert handler.refused > 0  # the door did close
    # Before the mails queued ahead of it: at most the rest of one window came first.
    assert arrived.index("neu@example.org") - queued_at <= 24
    assert arrived[-1] != "neu@example.org"
    rows = outbox_rows(quota_app)
    assert {(status, attempts) for _kind, status, attempts in rows} == {("sent", 0)}, rows
    assert bounces(quota_app) == 0


def test_a_permanent_looking_limit_answer_holds_the_mail_back_and_loses_nothing(
        live_database, quota_app):
    """A host that answers ``550 5.7.1 Your mail limit has been reached`` past its
    ration, and no quota set: the senders pause (longer each time the door is still
    closed), nobody is bounced, nothing fails, all goes out once the window turns."""
    handler = QuotaRelay(10, 2, refusal=LIMIT_REACHED)
    relay = start(handler, free_port())
    invite_members(quota_app, 40)
    worker = run_worker(live_database, relay, OUTBOX_RETRY_BASE_SECONDS=1)
    try:
        wait_for(lambda: all_sent(quota_app, 40), 120, "every invitation sent and recorded")
    finally:
        worker.send_signal(signal.SIGTERM)
        output = output_of(worker, 60)
        relay.stop()
    assert handler.refused > 0
    assert "paused" in output
    assert sorted(address for _at, address, _m in handler.received) == sorted(
        f"m{n}@example.org" for n in range(40))
    rows = outbox_rows(quota_app)
    assert {(status, attempts) for _kind, status, attempts in rows} == {("sent", 0)}, rows
    assert bounces(quota_app) == 0


def test_the_ration_in_numbers(app):
    """``delivery.quota`` on its own: the share list mail leaves free in each window,
    how long a mailing takes from empty windows, and the quota in words."""
    app.config.update(MAIL_QUOTA=[(100, 3600), (1000, 86400)], MAIL_QUOTA_PERSONAL_SHARE=10)
    with app.test_request_context():
        assert [window.reserved for window in quota.windows()] == [10, 100]
        assert quota.allowance(utcnow()) == (100, 90)  # nothing sent yet
        assert quota.duration(90) == timedelta(0)  # the first window takes them all
        assert quota.duration(140) == timedelta(hours=1)  # 50 wait for the next hour
        assert quota.duration(2000) == timedelta(days=2)  # the day's ration decides
        assert quota.in_words() == "100 Mails je 1 Stunde, 1.000 Mails je 1 Tag"
        assert (quota.Window(1, 60).reserved, quota.Window(5, 60).reserved) == (0, 1)
        # Six confirmations in the hour used six of the ten kept for mail to one person:
        # list mail leaves only the other four free, and the whole hour can be used.
        sent = [{"key": f"k{n}", "kind": "invitation" if n >= 6 else "confirm",
                 "list_mail": n >= 6, "recipient": "x@y.de",
                 "code": f"c{n}", "status": "sent", "attempts": 0, "sent_at": utcnow(),
                 "next_attempt_at": utcnow(), "created_at": utcnow()} for n in range(46)]
        db.session.execute(sa.insert(OutboxMessage.__table__), sent)
        assert quota.allowance(utcnow()) == (54, 50)
        db.session.rollback()
