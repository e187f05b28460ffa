"""Sign-up and sign-in do the same database work for every kind of address (new,
pending, active, unsubscribed, bounced, organiser, stranger): the same statements on
the same tables, one mail composed and one outbox row. What an attacker could time
is then the same too (``test_fuzz`` measures it); here the work itself is compared,
statement by statement, which no busy machine can blur."""

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.delivery.models import OutboxMessage, OutboxStatus
from app.extensions import db
from app.subscriptions.models import SubscriberStatus
from tests.conftest import csrf_token, member, organiser, worker_sends

ADDRESSES = {
    "new": "neu@example.org",
    "pending": "wartet@example.org",
    "active": "dabei@example.org",
    "unsubscribed": "weg@example.org",
    "bounced": "unzustellbar@example.org",
    "organiser": "orga@example.org",
}


def shape(statement: str) -> str:
    """A statement's kind and table: what it does, not with which values. Writing a
    row is one kind (the subscriber's row is new for a new address)."""
    verb = statement.split()[0].upper()
    verb = "WRITE" if verb in ("INSERT", "UPDATE") else verb
    table = re.search(r"\b(?:INTO|UPDATE|FROM)\s+\"?(\w+)", statement, re.IGNORECASE)
    return f"{verb} {table[1] if table else ''}".strip()


def work(app, client, page: str, email: str) -> list[str]:
    """The statements that one form post runs."""
    token = csrf_token(client.get(page).text)
    seen = []

    def note(_connection, _cursor, statement, *_args):
        seen.append(shape(statement))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        answer = client.post(page, data={"csrf_token": token, "email": email, "name": ""})
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
    assert answer.status_code == 200
    return seen


@pytest.mark.parametrize("page", ["/", "/organisation/anmelden"])
def test_every_kind_of_address_costs_the_same_statements(app, runner, mailbox, page):
    organiser(runner, ADDRESSES["organiser"], "organiser")
    with app.app_context():
        for kind, status in (("pending", SubscriberStatus.PENDING),
                             ("active", SubscriberStatus.ACTIVE),
                             ("unsubscribed", SubscriberStatus.UNSUBSCRIBED),
                             ("bounced", SubscriberStatus.BOUNCED)):
            member(ADDRESSES[kind], status=status)
    client = FlaskClient(app)
    works = {kind: work(app, client, page, email) for kind, email in ADDRESSES.items()}
    first = works["new"]
    assert "WRITE outbox" in first
    for kind, statements in works.items():
        assert statements == first, kind


def test_a_sign_in_for_an_unknown_address_sends_nothing_and_keeps_no_address(app, runner,
                                                                            mailbox):
    organiser(runner, "orga@example.org", "organiser")
    client = FlaskClient(app)
    for email in ("fremd@example.org", "orga@example.org"):
        token = csrf_token(client.get("/organisation/anmelden").text)
        client.post("/organisation/anmelden", data={"csrf_token": token, "email": email})
    worker_sends(app)
    assert [message["To"] for _, _, message, _ in mailbox.messages] == ["orga@example.org"]
    with app.app_context():
        rows = db.session.execute(sa.select(OutboxMessage.recipient, OutboxMessage.status,
                                            OutboxMessage.message)).all()
    found = {recipient: (status, len(bytes(message))) for recipient, status, message in rows}
    assert found[""] == (OutboxStatus.DROPPED, 0) and len(found) == 2
    assert found["orga@example.org"][0] == OutboxStatus.SENT
