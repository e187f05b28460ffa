"""Members' posts: digests when they are due, and strangers' posts nobody approved."""

from app.extensions import db
from app.posts import services as posts


def queue_digests() -> int:
    """The weekly and monthly digests that are due (each only once)."""
    count = posts.queue_digests()
    db.session.commit()
    return count


def purge_held_posts() -> int:
    """Posts held longer than ``POST_HOLD_DAYS`` are deleted, unanswered."""
    count = posts.purge_held()
    db.session.commit()
    return count
