"""Unconfirmed sign-ups are deleted after the retention period; only counts remain."""

from datetime import timedelta

import sqlalchemy as sa

from app.delivery.models import OutboxMessage
from app.extensions import db
from app.shared.database import utcnow
from app.subscriptions import services as subscribers
from app.subscriptions.models import ConsentEvent, SignupPurge, Subscriber
from jobs.housekeeping import purge_unconfirmed
from tests.conftest import announced_meeting


def test_purge_keeps_only_the_count(app, runner, mailbox):
    with app.test_request_context():
        for email in ("old@example.org", "fresh@example.org"):
            subscribers.subscribe(email, ip="192.0.2.1", user_agent="x")
        db.session.execute(sa.update(Subscriber).where(Subscriber.email == "old@example.org")
                           .values(created_at=utcnow() - timedelta(days=8)))
        db.session.commit()

    result = runner.invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0, result.output
    assert "purge_unconfirmed: 1" in result.output
    assert "drain_outbox: 1" in result.output  # the fresh one's confirmation

    with app.app_context():
        assert list(db.session.scalars(sa.select(Subscriber.email))) == ["fresh@example.org"]
        assert db.session.scalar(sa.select(sa.func.count(ConsentEvent.id))) == 1
        assert [row.recipient for row in db.session.scalars(sa.select(OutboxMessage))] == [
            "fresh@example.org"]
        assert [purge.count for purge in db.session.scalars(sa.select(SignupPurge))] == [1]
        # Running again finds nothing more.
        assert purge_unconfirmed() == 0

    again = runner.invoke(args=["jobs", "run-due"])
    assert "purge_unconfirmed: 0" in again.output and "drain_outbox: 0" in again.output
    assert len(mailbox.messages) == 1


def test_meetings_that_are_over_are_marked_held(app, runner):
    from app.meetings import services as meetings
    from app.meetings.models import Meeting, MeetingStatus

    with app.test_request_context():
        start = utcnow() + timedelta(days=3)
        meeting = announced_meeting("Mitte", start=start)
        db.session.commit()
        assert meetings.mark_held() == 0
        assert meetings.mark_held(now=start + timedelta(hours=3)) == 1
        db.session.commit()
        assert db.session.get(Meeting, meeting.id).status == MeetingStatus.HELD
