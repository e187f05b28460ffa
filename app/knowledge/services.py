"""Topics members want: proposed (a member through their own link at once, anyone
else confirmed by mail like a sign-up), published or declined by organisers
(audited), shown with the interest of members (one vote each, withdrawable), chosen
for a meeting ("geplant für …") and, once it has taken place, "besprochen am …".

Nothing on a public page shows whether an address is on the list: asking for one's
voting link answers the same for every address."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..meetings import services as meetings
from ..shared import audit, ratelimit
from ..shared.database import utcnow
from ..shared.errors import Problems, UserError
from ..shared.tokens import TokenError, read_token
from ..shared.validation import clean_text, normalise_email, person_name
from ..subscriptions import services as subscriptions
from . import mails
from .models import Topic, TopicStatus, TopicVote

MAX_DESCRIPTION = 1000


@dataclass(frozen=True)
class Ranked:
    """A published topic with the interest in it and where it stands."""

    topic: Topic
    votes: int
    meeting: object | None  # the meeting it was chosen for (meetings' own object)
    discussed: bool  # that meeting has taken place


def find(topic_id) -> Topic | None:
    return db.session.get(Topic, topic_id) if str(topic_id).isdigit() else None


def _fields(problems: Problems, title, description) -> tuple[str | None, str | None]:
    title = problems.check("title", clean_text, title, 120, _("Topic"))
    if not title:
        problems.add("title", _("%(field)s is required.", field=_("Topic")))
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        problems.add("description", _("%(field)s is too long (at most %(max)d characters).",
                                      field=_("A few lines"), max=MAX_DESCRIPTION))
    return title, description or None


def propose(*, title, description, can_tell: bool, name, email, ip: str | None) -> Topic | None:
    """A visitor's proposal: kept unconfirmed, and a confirmation link mailed to the
    address given. Every field's problem at once; None when a limit held the mail back
    (nothing is stored then)."""
    problems = Problems()
    title, description = _fields(problems, title, description)
    name = problems.check("name", person_name, name)
    email = problems.check("email", normalise_email, email)
    problems.done()
    if not (ratelimit.allow("CONFIRM_MAILS_PER_ADDRESS", "topic", email) and (
            ip is None or ratelimit.allow("CONFIRM_MAILS_PER_IP", "topic", ip))):
        return None
    topic = Topic(title=title, description=description, can_tell=bool(can_tell),
                  proposer_name=name, proposer_email=email, confirm_nonce=secrets.token_hex(16),
                  status=TopicStatus.UNCONFIRMED)
    db.session.add(topic)
    db.session.flush()
    mails.send_topic_confirmation(topic)
    return topic


def propose_as_member(member, *, title, description, can_tell: bool) -> Topic:
    """A member's proposal, through their own link: no confirmation needed."""
    problems = Problems()
    title, description = _fields(problems, title, description)
    problems.done()
    topic = Topic(title=title, description=description, can_tell=bool(can_tell),
                  proposer_id=member.id, status=TopicStatus.PROPOSED)
    db.session.add(topic)
    db.session.flush()
    return topic


def confirm_check(token: str) -> Topic:
    """The unconfirmed proposal behind a confirmation link (TokenError otherwise)."""
    payload = read_token("topic-confirm", token)
    topic = find(payload.get("t"))
    if topic is None:
        raise TokenError("invalid")
    if topic.status != TopicStatus.UNCONFIRMED or topic.confirm_nonce != payload.get("n"):
        raise TokenError("used")
    return topic


def confirm(token: str) -> Topic:
    """The visitor's confirmation link: the proposal goes to the organisers and the
    address, no longer needed, is deleted."""
    topic = confirm_check(token)
    topic.status, topic.confirm_nonce, topic.proposer_email = TopicStatus.PROPOSED, None, None
    return topic


def purge_unconfirmed(now=None) -> int:
    """Proposals never confirmed within ``UNCONFIRMED_RETENTION_DAYS`` are deleted."""
    cutoff = (now or utcnow()) - timedelta(
        days=current_app.config["UNCONFIRMED_RETENTION_DAYS"])
    return db.session.execute(sa.delete(Topic).where(
        Topic.status == TopicStatus.UNCONFIRMED, Topic.created_at < cutoff)).rowcount


def _decide(topic: Topic, status: TopicStatus, actor: str) -> None:
    if topic.status != TopicStatus.PROPOSED:
        raise UserError(_("Only a proposal waiting for organisers can be published or "
                          "declined."))
    topic.status, topic.decided_at, topic.decided_by = status, utcnow(), actor
    audit.record(actor, f"topic.{status.value}", f"topic {topic.id}", title=topic.title)


def publish(topic: Topic, *, actor: str) -> None:
    _decide(topic, TopicStatus.PUBLISHED, actor)


def decline(topic: Topic, *, actor: str) -> None:
    _decide(topic, TopicStatus.DECLINED, actor)


def waiting() -> list[Topic]:
    return list(db.session.scalars(sa.select(Topic).where(
        Topic.status == TopicStatus.PROPOSED).order_by(Topic.created_at)))


def ranked(now=None) -> list[Ranked]:
    """Published topics, the most wanted first (then the oldest)."""
    now = now or utcnow()
    votes = sa.select(TopicVote.topic_id, sa.func.count().label("n")).group_by(
        TopicVote.topic_id).subquery()
    rows = db.session.execute(
        sa.select(Topic, sa.func.coalesce(votes.c.n, 0))
        .outerjoin(votes, votes.c.topic_id == Topic.id)
        .where(Topic.status == TopicStatus.PUBLISHED)
        .order_by(sa.func.coalesce(votes.c.n, 0).desc(), Topic.created_at, Topic.id)).all()
    result = []
    for topic, count in rows:
        meeting = meetings.find(topic.meeting_id) if topic.meeting_id else None
        result.append(Ranked(topic, count, meeting, meeting is not None
                             and meeting.status != "cancelled" and meeting.start_at <= now))
    return result


def published(topic_id) -> Ranked | None:
    """A published topic with its standing (its own page)."""
    return next((entry for entry in ranked() if str(entry.topic.id) == str(topic_id)), None)


def waiting_count() -> int:
    """Published topics not yet chosen for a meeting (an invitation's line)."""
    return db.session.scalar(sa.select(sa.func.count()).where(
        Topic.status == TopicStatus.PUBLISHED, Topic.meeting_id.is_(None)))


def most_wanted(limit: int = 3) -> list[Ranked]:
    """The topics still waiting for a meeting with the most interest (the planner and
    the meeting form offer these)."""
    return [entry for entry in ranked() if entry.meeting is None][:limit]


def member_from_link(token: str):
    """The active member behind their own topics link (TokenError otherwise)."""
    member = subscriptions.from_link("topic-member", token)
    if not subscriptions.is_active(member):
        raise TokenError("invalid")
    return member


def request_link(email: str, *, ip: str | None) -> bool:
    """"Interessiert mich" on the public page: a member of the list gets a mail with
    their own topics link. The answer is the same for every address; False only
    when a limit held a mail back."""
    email = normalise_email(email)
    allowed = ratelimit.allow("CONFIRM_MAILS_PER_ADDRESS", "topic-link", email) and (
        ip is None or ratelimit.allow("CONFIRM_MAILS_PER_IP", "topic-link", ip))
    member = subscriptions.find_by_email(email)
    if allowed and member is not None and subscriptions.is_active(member):
        mails.send_member_link(member)
    return allowed


def votes_of(member) -> set[int]:
    return set(db.session.scalars(sa.select(TopicVote.topic_id).where(
        TopicVote.subscriber_id == member.id)))


def toggle_vote(member, topic_id) -> bool:
    """Show interest in a published topic, or withdraw it; True when it now counts.
    A second vote for the same topic is the same vote."""
    topic = find(topic_id)
    if topic is None or topic.status != TopicStatus.PUBLISHED:
        raise UserError(_("This topic is not open for interest."))
    vote = db.session.scalar(sa.select(TopicVote).where(
        TopicVote.topic_id == topic.id, TopicVote.subscriber_id == member.id))
    if vote is not None:
        db.session.delete(vote)
        return False
    try:
        with db.session.begin_nested():
            db.session.add(TopicVote(topic_id=topic.id, subscriber_id=member.id))
    except sa.exc.IntegrityError:  # the same member's other tab was quicker
        pass
    return True


def vote(member, topic_id) -> None:
    """Interest from a mail link: counted once however often the link is used."""
    topic = find(topic_id)
    if topic is None or topic.status != TopicStatus.PUBLISHED:
        raise UserError(_("This topic is not open for interest."))
    if topic.id not in votes_of(member):
        toggle_vote(member, topic.id)


def choose_for(topic: Topic, meeting_id, *, actor: str):
    """The topic becomes the meeting's topic ("geplant für …")."""
    meeting = meetings.find(meeting_id)
    if meeting is None or meeting.status not in ("draft", "announced") \
            or meeting.start_at <= utcnow():
        raise UserError(_("Please choose a meeting that is still ahead."))
    if topic.status != TopicStatus.PUBLISHED:
        raise UserError(_("This topic is not open for interest."))
    meetings.update(meeting, actor=actor, topic=topic.title)
    topic.meeting_id = meeting.id
    audit.record(actor, "topic.plan", f"topic {topic.id}", meeting=meeting.id)
    return meeting


def meetings_held() -> list:
    """Meetings that have taken place, newest first (where a project was presented)."""
    return [meeting for meeting in meetings.upcoming_and_recent()
            if meeting.status in ("announced", "held") and meeting.start_at <= utcnow()]


def meetings_ahead() -> list:
    return [meeting for meeting in meetings.upcoming_and_recent()
            if meeting.status in ("draft", "announced") and meeting.start_at > utcnow()]


@dataclass(frozen=True)
class DistrictPage:
    """What a district's page shows: meetings held there (by year, with their
    records), the meetings ahead there, and the topics discussed there."""

    years: dict
    ahead: list
    discussed: list[Ranked]


def district_page(name: str) -> DistrictPage:
    return DistrictPage(
        years=meetings.archive(district=name),
        ahead=[meeting for meeting in meetings.upcoming() if meeting.district == name],
        discussed=[entry for entry in ranked() if entry.discussed
                   and entry.meeting.district == name])


def meetings_by_district() -> dict[str, int]:
    """How many meetings each district has held (the district map)."""
    counts: dict[str, int] = {}
    for year in meetings.archive().values():
        for meeting in year:
            if meeting.status != "cancelled":
                counts[meeting.district] = counts.get(meeting.district, 0) + 1
    return counts
