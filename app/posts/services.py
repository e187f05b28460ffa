"""Posts: written on the web behind a member's own link or sent by mail to the post
address, held for an organiser unless the author is a trusted member, then sent to
the list as one mailing (nothing twice: a post is sent once, when it leaves HELD).

Attachments pass only when they are of a harmless kind (by name and by their first
bytes) and together within ``POST_MAX_BYTES``. A form with a bad one is refused; a
mail loses it, and the post says so.
"""

import html as html_module
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import PurePosixPath, PureWindowsPath

import nh3
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..delivery import outbox
from ..extensions import db
from ..shared import audit, ratelimit
from ..shared.database import utcnow
from ..shared.errors import Problems, UserError
from ..shared.timeutil import LOCAL, local
from ..shared.tokens import TokenError
from ..shared.validation import clean_text
from ..subscriptions import services as subscriptions
from . import archive, links, mails
from .models import Digest, Post, PostAttachment, PostSource, PostStatus

MAX_ATTACHMENTS = 3
MAX_TEXT = 20_000
_OLE, _ZIP = (b"\xd0\xcf\x11\xe0",), (b"PK\x03\x04",)
# A harmless kind of file: its ending, the type it goes out as, and how it begins.
ATTACHMENT_KINDS = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)), ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".doc": ("application/msword", _OLE), ".xls": ("application/vnd.ms-excel", _OLE),
    ".ppt": ("application/vnd.ms-powerpoint", _OLE),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation",
              _ZIP),
    ".odt": ("application/vnd.oasis.opendocument.text", _ZIP),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", _ZIP),
    ".odp": ("application/vnd.oasis.opendocument.presentation", _ZIP),
    ".ics": ("text/calendar", (b"BEGIN:VCALENDAR",)),
}
# What a mail's HTML may keep: text structure and links, no images (remote ones
# would tell the sender who read it), no styles, no scripts.
MAIL_HTML_TAGS = {"p", "br", "div", "span", "strong", "b", "em", "i", "u", "a", "ul", "ol",
                  "li", "h1", "h2", "h3", "h4", "blockquote", "pre", "code", "hr", "table",
                  "thead", "tbody", "tr", "td", "th"}
_FILENAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


@dataclass(frozen=True)
class File:
    """An attachment as it arrived: its name and its bytes."""

    filename: str
    data: bytes


def _safe_filename(name: str) -> str:
    name = PureWindowsPath(PurePosixPath(name or "").name).name  # no folders of either kind
    name = " ".join(_FILENAME_UNSAFE.sub(" ", name).split())[:150]
    return name or "anhang"


def _sorted_files(files: list[File]) -> tuple[list[PostAttachment], list[str]]:
    """The attachments that may pass, and a line for each one that may not."""
    kept, removed, total = [], [], 0
    limit = current_app.config["POST_MAX_BYTES"]
    for file in files:
        name = _safe_filename(file.filename)
        kind = ATTACHMENT_KINDS.get(PurePosixPath(name.lower()).suffix)
        if kind is None or not file.data.startswith(kind[1]):
            removed.append(_("%(name)s: files of this kind are not passed on", name=name))
        elif total + len(file.data) > limit:
            removed.append(_("%(name)s: too large (all attachments together at most %(mb)s MB)",
                             name=name, mb=limit // (1024 * 1024) or 1))
        elif len(kept) == MAX_ATTACHMENTS:
            removed.append(_("%(name)s: at most three attachments", name=name))
        else:
            kept.append(PostAttachment(filename=name, content_type=kind[0], data=file.data))
            total += len(file.data)
    return kept, removed


def write(member, *, subject: str | None, text: str | None, files: list[File],
          public: bool) -> Post:
    """A member's post from the form behind their own link. Every field's problem is
    raised at once and nothing is stored then."""
    problems = Problems()
    subject = problems.check("subject", clean_text, subject, 200, _("Subject"))
    if not subject:
        problems.add("subject", _("%(field)s is required.", field=_("Subject")))
    text = (text or "").strip()
    if not text:
        problems.add("text", _("%(field)s is required.", field=_("Text")))
    elif len(text) > MAX_TEXT:
        problems.add("text", _("%(field)s is too long (at most %(max)d characters).",
                               field=_("Text"), max=MAX_TEXT))
    attachments, removed = _sorted_files(files)
    if removed:
        problems.add("attachments", "; ".join(removed))
    problems.done()
    if not ratelimit.allow("POSTS_PER_MEMBER", "post", str(member.id)):
        raise UserError(_("You have written several posts today already; please wait until "
                          "tomorrow or write to the organisers."))
    post = Post(source=PostSource.WEB, author_id=member.id, subject=subject, text=text,
                public=bool(public), attachments=attachments)
    db.session.add(post)
    db.session.flush()
    _arrived(post, member)
    return post


def _mail_text(message: EmailMessage) -> tuple[str, str | None]:
    """A mail's text (always) and its HTML (sanitised), from its own parts."""
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    html = None
    if html_part is not None:
        html = nh3.clean(html_part.get_content(), tags=MAIL_HTML_TAGS,
                         attributes={"a": {"href", "title"}},
                         url_schemes={"http", "https", "mailto"},
                         link_rel="noopener nofollow")
    if text_part is not None:
        text = text_part.get_content()
    else:  # an HTML-only mail: its words, without the markup
        text = html_module.unescape(nh3.clean(html or "", tags=set())) if html else ""
    return text.replace("\r\n", "\n").strip()[:MAX_TEXT], html


def _mail_files(message: EmailMessage) -> list[File]:
    return [File(part.get_filename() or "anhang", part.get_payload(decode=True) or b"")
            for part in message.iter_attachments()
            if not part.is_multipart()]


def receive_mail(message: EmailMessage) -> str:
    """A mail to the post address (the caller has made sure it is neither our own
    list mail, nor an auto-reply, nor a bounce): held as a post. Returns a note for
    the inbound record. A stranger is never answered (no backscatter); only the
    organisers hear of it."""
    from_name, from_address = parseaddr(str(message.get("From", "")))
    from_address = from_address.strip().lower()
    member = subscriptions.find_by_email(from_address) if from_address else None
    if member is not None and not subscriptions.is_active(member):
        member = None
    raw_subject = " ".join(str(message.get("Subject", "")).split())
    subject = "".join(ch for ch in raw_subject if ch.isprintable())[:200] or _("(no subject)")
    text, html = _mail_text(message)
    attachments, removed = _sorted_files(_mail_files(message))
    # A member's name and address are theirs to change or erase: kept only for others.
    post = Post(source=PostSource.MAIL, message_id=str(message.get("Message-ID", ""))[:250]
                or None, author_id=member.id if member else None,
                author_name=None if member else from_name[:100] or None,
                author_email=None if member else from_address[:254] or None,
                subject=subject, text=text or "",
                html=html, public=False, attachments=attachments,
                removed_attachments="; ".join(removed)[:500] or None)
    db.session.add(post)
    db.session.flush()
    _arrived(post, member)
    if post.status == PostStatus.SENT:
        return _("Post %(id)d by a trusted member: sent to the list.", id=post.id)
    if member is None:
        return _("Post %(id)d by someone not on the list: held for organisers.", id=post.id)
    return _("Post %(id)d: held for organisers.", id=post.id)


def _arrived(post: Post, member) -> None:
    """A new post: a trusted member's goes out, any other waits and the organisers
    hear of it (but a sender who floods them is held back quietly: the posts stay on
    the moderation page)."""
    if member is not None and member.trusted_poster:
        _send(post, actor=member.email)
        return
    if ratelimit.allow("POST_NOTICES_PER_SENDER", "post-notice", archive.author(post)[1] or "?"):
        mails.tell_organisers(post)


def _decided(post: Post, status: PostStatus, actor: str, reason: str | None = None) -> None:
    if post.status != PostStatus.HELD:
        raise UserError(_("This post has been dealt with already."))
    post.status, post.decided_at, post.decided_by = status, utcnow(), actor
    post.reason = reason


def _send(post: Post, *, actor: str) -> int:
    """Approved: to every member who takes posts as they come; the digests take it
    later for the others."""
    _decided(post, PostStatus.SENT, actor)
    return outbox.queue_mailing("post", subscriptions.active_ids(
        with_address=True, among=subscriptions.taking_posts("each")), key=f"post:{post.id}:{{id}}",
        reference=post.id)


def approve(post: Post, *, actor: str, trust: bool = False, subject: str | None = None) -> int:
    """Send a held post (with the subject an organiser corrected); ``trust``: its
    author's next posts go out without waiting. Returns how many it reaches now."""
    if subject is not None:
        subject = clean_text(subject, 200, _("Subject"))
        if not subject:
            raise UserError(_("%(field)s is required.", field=_("Subject")))
        post.subject = subject
    if trust:
        if post.author_id is None:
            raise UserError(_("Only a member of the list can be trusted; this post comes "
                              "from someone who is not on it."))
        subscriptions.trust_poster(post.author_id)
    reached = _send(post, actor=actor)
    audit.record(actor, "post.approve", f"post {post.id}", trusted=trust)
    return reached


def reject(post: Post, *, actor: str, reason: str | None) -> None:
    """Refuse a post; its author is told why (a member or not: they can ask)."""
    reason = (reason or "").strip()
    if not reason:
        raise UserError(_("Please give the author a reason."), fields={
            "reason": _("Please give the author a reason.")})
    _decided(post, PostStatus.REJECTED, actor, reason[:1000])
    audit.record(actor, "post.reject", f"post {post.id}")
    if archive.author(post)[1]:
        mails.tell_author_rejected(post)


def discard(post: Post, *, actor: str) -> None:
    """Spam: dropped without a word to anyone."""
    _decided(post, PostStatus.DISCARDED, actor)
    post.attachments.clear()
    audit.record(actor, "post.discard", f"post {post.id}")


def purge_held(now=None) -> int:
    """Posts nobody approved within ``POST_HOLD_DAYS`` are deleted, unanswered."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["POST_HOLD_DAYS"])
    stale = list(db.session.scalars(sa.select(Post).where(
        Post.status == PostStatus.HELD, Post.created_at < cutoff)))
    for post in stale:
        db.session.delete(post)
    return len(stale)


def post_for_withdrawal(token: str) -> Post:
    """The post behind its author's withdraw link (TokenError otherwise)."""
    post_id, fingerprint = links.withdraw_payload(token)
    post = archive.find(post_id)
    if post is None or not links.is_authors(archive.author(post)[1], fingerprint):
        raise TokenError("invalid")
    return post


def withdraw(post: Post) -> None:
    """The author takes the post out of the public archive (members keep their mail)."""
    post.public = False


# Digests.

def _first_weekday(year: int, month: int, weekday: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7)


def _month_before(day: date) -> date:
    return day.replace(day=1) - timedelta(days=1)


def _digest_days(cadence: str, today: date) -> tuple[date, date]:
    """The digest day of ``cadence`` on or before ``today``, and the one before it."""
    weekday = current_app.config["POST_DIGEST_WEEKDAY"]
    if cadence == "weekly":
        day = today - timedelta(days=(today.weekday() - weekday) % 7)
        return day, day - timedelta(days=7)
    day = _first_weekday(today.year, today.month, weekday)
    if day > today:
        earlier = _month_before(today)
        day = _first_weekday(earlier.year, earlier.month, weekday)
    earlier = _month_before(day)
    return day, _first_weekday(earlier.year, earlier.month, weekday)


def digest_due(cadence: str, now) -> tuple | None:
    """(since, until) of the digest of ``cadence`` due at ``now``: the latest digest
    time (``POST_DIGEST_WEEKDAY`` at ``POST_DIGEST_HOUR``, local time; a monthly one
    on the month's first such day) that has no digest yet; None when there is none."""
    hour = time(current_app.config["POST_DIGEST_HOUR"])
    day, before = _digest_days(cadence, local(now).date())
    if datetime.combine(day, hour, LOCAL) > now:
        day, before = _digest_days(cadence, day - timedelta(days=1))
    until = datetime.combine(day, hour, LOCAL)
    last = db.session.scalar(sa.select(sa.func.max(Digest.until)).where(
        Digest.cadence == cadence))
    if last is not None and last >= until:
        return None
    return last or datetime.combine(before, hour, LOCAL), until


def queue_digests(now=None) -> int:
    """The weekly and monthly digests that are due, each one mailing to its members,
    only when there is something in it. Returns how many mails were queued."""
    now = now or utcnow()
    queued = 0
    for cadence in ("weekly", "monthly"):
        span = digest_due(cadence, now)
        if span is None:
            continue
        since, until = span
        digest = Digest(cadence=cadence, since=since, until=until)
        db.session.add(digest)
        db.session.flush()
        if archive.in_digest(since, until):
            queued += outbox.queue_mailing(
                "digest", subscriptions.active_ids(with_address=True,
                                                   among=subscriptions.taking_posts(cadence)),
                key=f"digest:{digest.id}:{{id}}", reference=digest.id)
    return queued
