"""The signed links of posts: a post that is not public, read by the members it
was sent to; its author's link to take it out of the public archive."""

from ..shared.tokens import TokenError, address_fingerprint, make_token, read_token
from .models import Post


def read_token_for(post: Post) -> str:
    """The signed link by which members reach a post that is not public."""
    return make_token("post-read", {"p": post.id})


def reads(post: Post, token: str) -> bool:
    """Whether ``token`` is the read link of ``post``."""
    try:
        return read_token("post-read", token).get("p") == post.id
    except TokenError:
        return False


def withdraw_token(post: Post, author_email: str) -> str:
    return make_token("post-withdraw", {"p": post.id, "h": address_fingerprint(author_email)})


def withdraw_payload(token: str) -> tuple[int | None, str | None]:
    """The post ID and address fingerprint of an author's withdraw link (TokenError
    when it is not genuine)."""
    payload = read_token("post-withdraw", token)
    return payload.get("p"), payload.get("h")


def is_authors(author_email: str | None, fingerprint: str | None) -> bool:
    return bool(author_email) and address_fingerprint(author_email) == fingerprint


def write_token(member) -> str:
    """A member's own link to the form for writing to the list."""
    return make_token("member-post", {"s": member.id, "h": address_fingerprint(member.email)})
