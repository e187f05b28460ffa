"""The waiting list under concurrent load: two cancellations and an acceptance at the
same moment, each in its own process, several rounds. Nobody is lost or doubled, the
places are never overbooked, and every freed place is offered exactly once."""

import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.delivery.models import OutboxMessage
from app.extensions import db
from app.registrations import services as registrations
from app.registrations.models import Registration
from app.shared.database import utcnow
from app.shared.tokens import make_token
from tests.conftest import announced_meeting, base_config, member, process_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

ACT = """
import sys, time
from app import create_app
from app.extensions import db
from app.registrations import services as registrations
action, registration_id, token, start = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
# A slow moment between counting the places and writing (as under load), so that
# the three transactions overlap for sure.
counted = registrations.places
def places_slowly(meeting):
    result = counted(meeting)
    time.sleep(0.3)
    return result
registrations.places = places_slowly
app = create_app()
with app.app_context():
    registration = registrations.find(registration_id)
    time.sleep(max(0.0, start - time.time()))
    if action == "cancel":
        registrations.cancel(registration)
    else:
        registrations.answer_offer(registration_id, token, accept=True)
    db.session.commit()
"""
PEOPLE = [f"p{n}@example.org" for n in range(6)]


def one_round(app, env, day: int) -> None:
    with app.app_context():
        start = utcnow() + timedelta(days=30 + day)
        meeting = announced_meeting("Mitte", start=start, hours=6, kind="workshop",
                                    allow_same_evening=True)
        registrations.configure(meeting, actor="test", open_=True, capacity=2,
                                childcare_capacity=0)
        for email in PEOPLE:  # each confirms (the link in the mail): a place or the line
            registrations.register(meeting, email=email, name=email[:2], consent=True)
            registration = db.session.scalar(sa.select(Registration).where(
                Registration.meeting_id == meeting.id, Registration.email == email))
            registrations.confirm(make_token("registration-confirm", {
                "r": registration.id, "n": registration.nonce}))
        registrations.configure(meeting, actor="test", open_=True, capacity=3,
                                childcare_capacity=0)  # one more place: p2 gets an offer
        db.session.commit()
        rows = {r.email: r for r in db.session.scalars(
            sa.select(Registration).where(Registration.meeting_id == meeting.id))}
        assert rows["p2@example.org"].status == "offered"
        offer = make_token("registration-offer", {"r": rows["p2@example.org"].id,
                                                  "o": rows["p2@example.org"].offer_round})
        meeting_id = meeting.id
        ids = {email: row.id for email, row in rows.items()}
    go = time.time() + 4  # every process has started and loaded by then
    processes = [subprocess.Popen([sys.executable, "-c", ACT, action, str(ids[email]), offer,
                                   str(go)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for action, email in (("cancel", "p0@example.org"), ("cancel", "p1@example.org"),
                                       ("accept", "p2@example.org"))]
    for process in processes:
        output = process.communicate(timeout=120)[0]
        assert process.returncode == 0, output

    with app.app_context():
        db.session.expire_all()
        states = {r.email: r.status.value for r in db.session.scalars(
            sa.select(Registration).where(Registration.meeting_id == meeting_id))}
        assert states == {"p0@example.org": "cancelled", "p1@example.org": "cancelled",
                          "p2@example.org": "registered", "p3@example.org": "offered",
                          "p4@example.org": "offered", "p5@example.org": "waiting"}
        offers = Counter(db.session.scalars(sa.select(OutboxMessage.recipient).where(
            OutboxMessage.meeting_id == meeting_id, OutboxMessage.kind == "registration-offer")))
        assert offers == Counter({"p2@example.org": 1, "p3@example.org": 1,
                                  "p4@example.org": 1})


def test_concurrent_cancellations_and_acceptance_lose_and_double_nobody(
        live_database, smtp_server, tmp_path):
    app = create_app(base_config(live_database, smtp_server.port, tmp_path))
    with app.app_context():
        for email in PEOPLE:
            member(email)
        db.session.commit()
    env = process_env(live_database, smtp_server.port)
    for day in range(3):
        one_round(app, env, day)
    with app.app_context():
        db.engine.dispose()
