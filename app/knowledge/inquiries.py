""""Ich möchte das auch machen": on a project's page or a topic's page, someone asks
the people who have done it. The asker confirms their address by mail first (an
address typed into a form proves nothing); then one mail goes to the project's
contact (where they agreed to be named) or else to the organisers, with the asker's
name, address (as Reply-To) and message, and the request is deleted. The asker's
address is never on a page. Limited per address and IP like sign-ups."""

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..shared import ratelimit
from ..shared.database import utcnow
from ..shared.errors import Problems
from ..shared.tokens import TokenError, read_token
from ..shared.validation import normalise_email, person_name, required
from . import hooks, mails
from .models import EntryStatus, Inquiry, Project, Topic, TopicStatus

MAX_MESSAGE = 2000


def ask(subject: Project | Topic, *, name, email, message, ip: str | None) -> Inquiry | None:
    """Keep the request until its asker confirms by mail. Every field's problem at
    once; None when a limit held the mail back (nothing is stored then)."""
    problems = Problems()
    name = problems.check("name", person_name, name)
    if not name:
        problems.add("name", _("%(field)s is required.", field=_("Name")))
    email = problems.check("email", normalise_email, email)
    message = (message or "").strip()
    problems.check("message", required, message, _("Message"))
    if len(message) > MAX_MESSAGE:
        problems.add("message", _("%(field)s is too long (at most %(max)d characters).",
                                  field=_("Message"), max=MAX_MESSAGE))
    problems.done()
    allowed = ratelimit.allow("CONFIRM_MAILS_PER_ADDRESS", "inquiry", email) and (
        ip is None or ratelimit.allow("CONFIRM_MAILS_PER_IP", "inquiry", ip))
    if not allowed:
        return None
    inquiry = Inquiry(name=name, email=email, message=message, nonce=secrets.token_hex(16),
                      **({"project_id": subject.id} if isinstance(subject, Project)
                         else {"topic_id": subject.id}))
    db.session.add(inquiry)
    db.session.flush()
    mails.send_inquiry_confirmation(inquiry, _title(inquiry))
    return inquiry


def _subject(inquiry: Inquiry) -> Project | Topic | None:
    subject = db.session.get(Project, inquiry.project_id) if inquiry.project_id \
        else db.session.get(Topic, inquiry.topic_id)
    shown = (EntryStatus.PUBLISHED, TopicStatus.PUBLISHED)
    return subject if subject is not None and subject.status in shown else None


def _title(inquiry: Inquiry) -> str:
    subject = _subject(inquiry)
    return (subject.name if isinstance(subject, Project) else subject.title) if subject else ""


def check(token: str) -> Inquiry:
    """The request a confirmation link names (TokenError when it is gone or used)."""
    payload = read_token("inquiry-confirm", token)
    inquiry = db.session.get(Inquiry, payload.get("i")) if str(payload.get("i")).isdigit() \
        else None
    if inquiry is None or inquiry.nonce != payload.get("n") or _subject(inquiry) is None:
        raise TokenError("used")
    return inquiry


def confirm(token: str) -> None:
    """The asker's link: the mail goes to the project's contact or the organisers,
    once, and the request is deleted."""
    inquiry = check(token)
    subject = _subject(inquiry)
    if isinstance(subject, Project) and subject.contact_confirmed and subject.contact_email:
        recipients = [subject.contact_email]
    else:
        recipients = hooks.organisers().addresses()
    for recipient in recipients:
        mails.send_inquiry(inquiry, recipient, subject)
    db.session.delete(inquiry)


def purge_unconfirmed(now=None) -> int:
    """Requests nobody confirmed are deleted after ``UNCONFIRMED_RETENTION_DAYS``."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["UNCONFIRMED_RETENTION_DAYS"])
    return db.session.execute(sa.delete(Inquiry).where(Inquiry.created_at < cutoff)).rowcount
