"""``delivery.hooks``: the typed object through which delivery reaches the domains
above it. A kind of mailing that no domain renders is a clear error at once."""

import threading

import pytest

from app.delivery import hooks, outbox, sender
from app.delivery.hooks import UnknownKind
from app.delivery.models import Mailing, OutboxMessage
from app.extensions import db
from app.subscriptions import services as subscriptions


def test_the_app_installs_every_kind_the_meetings_send(app):
    with app.app_context():
        assert {"invitation", "reminder", "update", "cancellation",
                "announcement"} <= hooks.installed().kinds


def test_a_mailing_of_a_kind_nobody_renders_is_refused_before_anything_is_sent(app, mailbox):
    """Queueing one is refused at once; one left in the outbox (the code that made it
    is gone) stops the worker at its start with the kind's name, not a sender thread
    in the middle of a batch."""
    with app.app_context():
        with pytest.raises(UnknownKind, match="'gone'"):
            outbox.queue_mailing("gone", subscriptions.active_ids(with_address=True), key="x:{id}")
        db.session.rollback()
        mailing = Mailing(kind="gone")
        db.session.add(mailing)
        db.session.flush()
        db.session.add(OutboxMessage(key="gone:1", kind="gone", mailing_id=mailing.id,
                                     list_mail=True, recipient="a@example.org", code="c" * 32))
        db.session.commit()
    with pytest.raises(UnknownKind, match="'gone'"):
        sender.serve(app, threading.Event())
    assert mailbox.messages == []
