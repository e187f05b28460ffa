"""The mails of posts: a post as list mail (From rewritten, so that it passes DMARC
for every inbox: "Anna Müller über Stadtteilvernetzer" <list address>, Reply-To the
author), the digests, and the notes to organisers and to a rejected author."""

import secrets
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..delivery import outbox
from ..delivery.compose import compose
from ..delivery.hooks import MailingInfo, Member
from ..delivery.mime import Mail
from ..extensions import db
from ..shared import markup
from ..shared.urls import external_url
from ..subscriptions.mails import list_links, personal_token
from . import archive, hooks, links
from .models import Digest, Post, PostSource

KINDS = frozenset(("post", "digest"))  # the mailings ``render`` knows
FIRST_LINES = 300  # characters of a post a digest shows


def body(post: Post) -> dict:
    """A post's text part and HTML: from the web, its Markdown; from a mail, its own
    text and its sanitised HTML (or the text, escaped, where it had none)."""
    if post.source == PostSource.WEB:
        return {"post_text": markup.plain(post.text), "post_html": markup.render(post.text)}
    html = Markup(post.html) if post.html else Markup("<p>{}</p>").format(post.text).replace(
        "\n", Markup("<br>\n"))
    return {"post_text": post.text, "post_html": html}


def post_url(post: Post) -> str:
    """Where a post can be read: its public page, or its signed link."""
    if post.public:
        return external_url("posts.read", post_id=post.id)
    return external_url("posts.read", post_id=post.id, token=links.read_token_for(post))


def _list_fields(post: Post) -> dict[str, str]:
    name, address = archive.author(post)
    config = current_app.config
    fields = {"List-Post": f"<mailto:{config['MAIL_POST_ADDRESS']}>",
              "List-Archive": f"<{external_url('posts.public_archive')}>",
              "Precedence": "list", "X-Loop": config["MAIL_POST_ADDRESS"]}
    if address:
        fields["Reply-To"] = formataddr((name or "", address))
    return fields


def _sender(author_name: str | None) -> str:
    """The list's own address, named after the author ("Anna Müller über …"); the
    name stays text here (quoted), and is encoded once, with the header."""
    list_name, list_address = parseaddr(current_app.config["MAIL_LIST_SENDER"])
    name = list_name or _("Stadtteilvernetzer")
    if author_name:
        name = _("%(author)s via %(list)s", author=author_name, list=name)
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{list_address}>'


@dataclass(frozen=True)
class PostMailing:
    post: Post
    context: dict
    sender: str
    fields: dict
    attachments: tuple


@dataclass(frozen=True)
class DigestMailing:
    posts: list
    context: dict


def prepare(mailing: MailingInfo) -> PostMailing | DigestMailing | None:
    """A post or a digest as it is sent now; None when it is gone."""
    if mailing.kind == "digest":
        digest = db.session.get(Digest, mailing.reference)
        if digest is None:
            return None
        posts = archive.in_digest(digest.since, digest.until)
        return DigestMailing(posts, {"items": [
            {"subject": post.subject, "author": archive.author(post)[0] or _("a member"),
             "first_lines": markup.plain(post.text)[:FIRST_LINES], "url": post_url(post)}
            for post in posts]})
    post = db.session.get(Post, mailing.reference)
    if post is None:
        return None
    name, _address = archive.author(post)
    return PostMailing(post, {**body(post), "author": name, "post_url": post_url(post),
                              "removed": post.removed_attachments},
                       _sender(name), _list_fields(post),
                       tuple((file.filename, file.content_type, file.data)
                             for file in post.attachments))


def render(mailing: PostMailing | DigestMailing, member: Member) -> Mail:
    """One member's mail of a post or a digest, with their personal links."""
    token = personal_token(member.subscriber_id, member.address)
    common = {"address": member.address, "name": member.name, "language": member.language,
              "code": member.code, "date": member.queued_at, "links": list_links(token),
              "greeting": False}
    if isinstance(mailing, DigestMailing):
        return compose("digest", _l("Posts to the list"),
                       sender=current_app.config["MAIL_LIST_SENDER"], **mailing.context,
                       **common)
    # The author's own copy: a link to take the post out of the public archive.
    withdraw_url = external_url("posts.withdraw", token=links.withdraw_token(
        mailing.post, member.address)) if mailing.post.public and \
        member.address == archive.author(mailing.post)[1] else None
    return compose("post", mailing.post.subject, sender=mailing.sender,
                   headers=mailing.fields, attachments=mailing.attachments,
                   withdraw_url=withdraw_url, **mailing.context, **common)


def tell_organisers(post: Post) -> None:
    """One mail per held post to each organiser: the text, the sender, the link."""
    name, address = archive.author(post)
    for organiser in hooks.moderators().addresses():
        message = compose(
            "post_held", lambda: _("Post waiting for approval: %(subject)s", subject=post.subject),
            address=organiser, name=None, language=current_app.config["BABEL_DEFAULT_LOCALE"],
            sender=current_app.config["MAIL_DEFAULT_SENDER"], subject_line=post.subject,
            author=name, author_address=address, member=post.author_id is not None,
            text=post.text, removed=post.removed_attachments,
            moderation_url=external_url("posts.moderation"))
        outbox.enqueue(message, key=f"post-held:{post.id}:{organiser}"[:200], kind="post-held")


def tell_author_rejected(post: Post) -> None:
    """The author hears, in German, that the post was not sent, and why."""
    name, address = archive.author(post)
    message = compose(
        "post_rejected", lambda: _("Your post was not sent: %(subject)s", subject=post.subject),
        address=address, name=name, language=current_app.config["BABEL_DEFAULT_LOCALE"],
        sender=current_app.config["MAIL_DEFAULT_SENDER"], subject_line=post.subject,
        reason=post.reason)
    outbox.enqueue(message, key=f"post-rejected:{post.id}:{secrets.token_hex(4)}",
                   kind="post-rejected", subscriber_id=post.author_id)
