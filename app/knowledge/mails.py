"""The mails of knowledge: confirmations of what visitors propose or ask, a member's
own topics link, a contact's consent, a request to the people behind a project, and
the mail after a meeting to those who came (a list mailing: ``KINDS``)."""

import secrets
from dataclasses import dataclass
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..delivery import outbox
from ..delivery.compose import compose
from ..delivery.hooks import MailingInfo, Member
from ..delivery.mime import Mail
from ..extensions import db
from ..meetings import services as meetings
from ..shared import markup
from ..shared.tokens import address_fingerprint, make_token
from ..shared.urls import external_url
from ..subscriptions.mails import list_links, personal_token
from .models import EntryStatus, Presentation, Project, Topic


def member_token(member) -> str:
    return make_token("topic-member", {"s": member.id, "h": address_fingerprint(member.email)})


def send_topic_confirmation(topic: Topic) -> None:
    """Neutral, as every confirmation: only the link (it names the topic, which the
    person typed themselves)."""
    token = make_token("topic-confirm", {"t": topic.id, "n": topic.confirm_nonce})
    message = compose("topic_confirm", _l("Please confirm your topic proposal"),
                      address=topic.proposer_email, name=None,
                      language=current_app.config["BABEL_DEFAULT_LOCALE"],
                      sender=current_app.config["MAIL_DEFAULT_SENDER"], title=topic.title,
                      confirm_url=external_url("knowledge.confirm", token=token))
    outbox.enqueue(message, key=f"topic-confirm:{topic.id}", kind="topic-confirm")


def send_member_link(member) -> None:
    message = compose("topic_link", _l("Your link to the topics"), address=member.email,
                      name=member.name, language=member.language,
                      sender=current_app.config["MAIL_DEFAULT_SENDER"],
                      topics_url=external_url("knowledge.member_topics",
                                              token=member_token(member)))
    outbox.enqueue(message, key=f"topic-link:{member.id}:{secrets.token_hex(8)}",
                   kind="topic-link", subscriber_id=member.id)


def send_entry_confirmation(purpose: str, entry, title: str, address: str) -> None:
    """A proposal for the atlas (a project, an "übernommen in"): only its link."""
    token = make_token(purpose, {"e": entry.id, "n": entry.nonce})
    message = compose("entry_confirm", _l("Please confirm your proposal for the project atlas"),
                      address=address, name=None,
                      language=current_app.config["BABEL_DEFAULT_LOCALE"],
                      sender=current_app.config["MAIL_DEFAULT_SENDER"], title=title,
                      confirm_url=external_url(
                          "knowledge.confirm_entry", token=token,
                          kind="projekt" if purpose == "project-confirm" else "uebernahme"))
    outbox.enqueue(message, key=f"{purpose}:{entry.id}", kind=purpose)


def send_contact_consent(project) -> None:
    """The contact someone named for a project is asked whether they may be shown."""
    token = make_token("project-contact", {"p": project.id,
                                           "h": address_fingerprint(project.contact_email)})
    message = compose("project_contact", _l("May we name you as a project's contact?"),
                      address=project.contact_email, name=project.contact_name,
                      language=current_app.config["BABEL_DEFAULT_LOCALE"],
                      sender=current_app.config["MAIL_DEFAULT_SENDER"], project=project.name,
                      agree_url=external_url("knowledge.contact_consent", token=token))
    outbox.enqueue(message, key=f"project-contact:{project.id}", kind="project-contact")


def send_inquiry_confirmation(inquiry, title: str) -> None:
    """"Ich möchte das auch machen": the asker confirms their address first."""
    token = make_token("inquiry-confirm", {"i": inquiry.id, "n": inquiry.nonce})
    message = compose("inquiry_confirm", _l("Please confirm your message"),
                      address=inquiry.email, name=inquiry.name,
                      language=current_app.config["BABEL_DEFAULT_LOCALE"],
                      sender=current_app.config["MAIL_DEFAULT_SENDER"], title=title,
                      confirm_url=external_url("knowledge.confirm_inquiry", token=token))
    outbox.enqueue(message, key=f"inquiry-confirm:{inquiry.nonce}", kind="inquiry-confirm")


def send_inquiry(inquiry, recipient: str, subject) -> None:
    """The confirmed request, to a project's contact or an organiser; a reply goes
    straight to the asker."""
    project = isinstance(subject, Project)
    title = subject.name if project else subject.title
    page_url = external_url("knowledge.project", project_id=subject.id) if project \
        else external_url("knowledge.topic", topic_id=subject.id)
    message = compose("inquiry", lambda: _("Someone would like to do it too: %(title)s",
                                           title=title),
                      address=recipient, name=None,
                      language=current_app.config["BABEL_DEFAULT_LOCALE"],
                      sender=current_app.config["MAIL_DEFAULT_SENDER"],
                      headers={"Reply-To": formataddr((inquiry.name, inquiry.email))},
                      title=title, page_url=page_url, asker=inquiry.name,
                      asker_address=inquiry.email, text=inquiry.message, project=project)
    outbox.enqueue(message, key=f"inquiry:{inquiry.nonce}:{recipient}"[:200], kind="inquiry")


# The mail after a meeting, to those who said they would come: a list mailing.
KINDS = frozenset(("follow-up",))


@dataclass(frozen=True)
class FollowUpMailing:
    meeting: object  # meetings' own object
    context: dict


def prepare(mailing: MailingInfo) -> FollowUpMailing | None:
    """The record and the projects as they are now; None when the meeting is gone."""
    meeting = meetings.find(mailing.meeting_id)
    if meeting is None:
        return None
    presented = db.session.scalars(sa.select(Project).join(
        Presentation, Presentation.project_id == Project.id).where(
        Presentation.meeting_id == meeting.id, Project.status == EntryStatus.PUBLISHED)
        .order_by(Project.name))
    return FollowUpMailing(meeting, {
        "record_text": markup.plain(meeting.record), "record_html": markup.render(meeting.record),
        "meeting": meeting,
        "meeting_url": external_url("meetings.meeting_page", meeting_id=meeting.id),
        "projects": [{"name": project.name, "district": project.district,
                      "url": external_url("knowledge.project", project_id=project.id)}
                     for project in presented],
        "toolbox_url": external_url("toolbox.phases")})


def render(mailing: FollowUpMailing, member: Member) -> Mail:
    token = personal_token(member.subscriber_id, member.address)
    meeting = mailing.meeting
    return compose("follow_up", lambda: _("What came out of the meeting in %(district)s",
                                          district=meeting.district),
                   address=member.address, name=member.name, language=member.language,
                   sender=current_app.config["MAIL_LIST_SENDER"], code=member.code,
                   date=member.queued_at, links=list_links(token), **mailing.context)
