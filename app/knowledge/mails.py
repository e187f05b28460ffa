"""The mails of topics: a visitor's confirmation, and a member's own topics link."""

import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..delivery import outbox
from ..delivery.compose import compose
from ..shared.tokens import address_fingerprint, make_token
from ..shared.urls import external_url
from .models import Topic


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
