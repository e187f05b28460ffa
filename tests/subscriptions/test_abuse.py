"""What a stranger can do with the sign-up form: no flood of rows, nothing of theirs in
anyone's mail, no change to someone else's sign-up."""

import threading
import time

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.subscriptions import services
from app.subscriptions.models import ConsentEvent, Subscriber
from tests.conftest import base_config
from tests.subscriptions.test_views import confirm_link, subscribe, subscriber


def from_address(app, address):
    visitor = app.test_client()
    visitor.environ_base["REMOTE_ADDR"] = address
    return visitor


def rows(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber)),
                db.session.scalar(sa.select(sa.func.count()).select_from(ConsentEvent)))


def test_a_flood_of_sign_ups_from_one_address_makes_no_rows_beyond_the_limit(app, mailbox):
    app.config["CONFIRM_MAILS_PER_IP"] = "10/hour"
    flooder = from_address(app, "203.0.113.50")
    answers = [subscribe(flooder, f"opfer{n}@example.org", f"Opfer {n}") for n in range(40)]
    assert all(answer.status_code == 200 for answer in answers)
    assert "viele Anfragen erreicht" in answers[-1].text  # told, not dropped silently
    assert "viele Anfragen erreicht" not in answers[9].text
    assert rows(app) == (10, 10)
    assert len(mailbox.messages) == 10
    # Someone else, from elsewhere, is not held back by the flood.
    other = from_address(app, "198.51.100.1")
    subscribe(other, "echt@example.org")
    assert len(mailbox.to("echt@example.org")) == 1


def test_a_web_address_in_the_name_is_refused_and_nothing_written(app, client, mailbox):
    for name in ("https://evil.example/win", "Gewinn auf www.evil.example",
                 "Klick hier: gewinn.com"):
        answer = subscribe(client, "ziel@example.org", name)
        assert answer.status_code == 400
        assert "keine Internetadresse" in answer.text
    assert rows(app) == (0, 0)
    assert mailbox.messages == []
    assert subscribe(client, "verein@example.org", "St.Anna Verein e.V.").status_code == 200


def test_the_confirmation_mail_carries_nothing_a_stranger_typed(client, mailbox):
    subscribe(client, "ziel@example.org", "Heinz Fremdtext")
    [mail] = mailbox.to("ziel@example.org")
    assert "Fremdtext" not in mail.as_string()
    assert mail["To"] == "ziel@example.org"


def test_a_sign_up_never_changes_the_name_of_someone_elses_pending_sign_up(app, client,
                                                                           mailbox):
    subscribe(client, "anna@example.org")  # Anna signs up without a name
    stranger = from_address(app, "203.0.113.77")
    subscribe(stranger, "anna@example.org", "Boris Fremder")
    with app.app_context():
        assert subscriber("anna@example.org").name is None
    link = confirm_link(mailbox.to("anna@example.org")[0])
    from tests.conftest import csrf_token
    client.post(link, data={"csrf_token": csrf_token(client.get(link).text)})
    with app.app_context():
        assert subscriber("anna@example.org").name is None
    welcome = mailbox.to("anna@example.org")[-1]
    assert "Boris" not in welcome.as_string()


def test_two_sign_ups_of_one_address_at_once_both_get_their_answer(live_database, smtp_server,
                                                                    tmp_path):
    """A double click on PostgreSQL: the second sign-up waits for the first one's row
    and then goes on with it, instead of failing on the unique address."""
    if not live_database.startswith("postgresql"):
        pytest.skip("SQLite takes one writer at a time: no race to lose")
    first_app, second_app = (create_app(base_config(live_database, smtp_server.port,
                                                    tmp_path / name))
                             for name in ("first", "second"))
    outcome = {}

    def second_sign_up():
        with second_app.test_request_context():
            try:
                outcome["answer"] = services.subscribe("doppelt@example.org", ip="192.0.2.2",
                                                       user_agent=None)
                db.session.commit()
            except Exception as error:
                outcome["error"] = error

    with first_app.test_request_context():
        assert services.subscribe("doppelt@example.org", ip="192.0.2.1", user_agent=None)
        db.session.flush()  # the first row is written, not yet committed
        second = threading.Thread(target=second_sign_up)
        second.start()
        engine = sa.create_engine(live_database)
        with engine.connect() as connection:  # until the second waits for the first's row
            for _ in range(200):
                if connection.scalar(sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND wait_event_type = 'Lock'")):
                    break
                time.sleep(0.05)
        engine.dispose()
        db.session.commit()
    second.join(30)
    assert outcome == {"answer": True}
    with first_app.app_context():
        person = services.find_by_email("doppelt@example.org")
        assert person is not None and len(person.consents) == 2
