"""Reading posts: who wrote one, which are held, which the public archive and a
digest show, and who may read one that is not public."""

import sqlalchemy as sa

from ..extensions import db
from ..subscriptions import services as subscriptions
from . import links
from .models import Post, PostStatus


def find(post_id) -> Post | None:
    return db.session.get(Post, post_id) if str(post_id).isdigit() else None


def author(post: Post) -> tuple[str | None, str | None]:
    """The author's name and address: the member's as they are now, else as the mail
    gave them (a member erased since: neither)."""
    if post.author_id is not None:
        member = subscriptions.by_id(post.author_id)
        if member is not None:
            return member.name, member.email
    return post.author_name, post.author_email


def held() -> list[Post]:
    return list(db.session.scalars(sa.select(Post).where(Post.status == PostStatus.HELD)
                                   .order_by(Post.created_at)))


def public(word: str = "", page: int = 1, per_page: int = 20) -> tuple[list[Post], int]:
    """Sent posts that may be public, newest first; ``word`` in subject or text."""
    query = sa.select(Post).where(Post.status == PostStatus.SENT, Post.public.is_(True))
    if word:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(Post.subject.ilike(pattern, escape="\\"),
                                   Post.text.ilike(pattern, escape="\\")))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    posts = list(db.session.scalars(query.order_by(Post.decided_at.desc(), Post.id.desc())
                                    .offset((max(page, 1) - 1) * per_page).limit(per_page)))
    return posts, total


def readable(post_id, token: str | None = None) -> Post | None:
    """A sent post as anyone may read it: public, or through its signed link."""
    post = find(post_id)
    if post is None or post.status != PostStatus.SENT:
        return None
    if post.public:
        return post
    if token is None:
        return None
    return post if links.reads(post, token) else None


def in_digest(since, until) -> list[Post]:
    return list(db.session.scalars(sa.select(Post).where(
        Post.status == PostStatus.SENT, Post.decided_at > since, Post.decided_at <= until)
        .order_by(Post.decided_at)))
