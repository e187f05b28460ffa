"""Knowledge: what visitors never confirmed is deleted; the mail after a meeting
goes out when it is due."""

from app.extensions import db
from app.knowledge import closeout, inquiries
from app.knowledge import services as topics


def purge_unconfirmed_topics() -> int:
    """Topic proposals and requests ("Ich möchte das auch machen") never confirmed."""
    count = topics.purge_unconfirmed() + inquiries.purge_unconfirmed()
    db.session.commit()
    return count


def queue_follow_up_mails() -> int:
    """The mail with the record to those who came, ``FOLLOW_UP_AFTER_DAYS`` after a
    closed-out meeting (each meeting once)."""
    count = closeout.queue_follow_up_mails()
    db.session.commit()
    return count
