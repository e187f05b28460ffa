"""Topic proposals never confirmed are deleted."""

from app.extensions import db
from app.knowledge import services as topics


def purge_unconfirmed_topics() -> int:
    count = topics.purge_unconfirmed()
    db.session.commit()
    return count
