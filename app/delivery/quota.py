"""The mailbox's ration (``MAIL_QUOTA``, say ``100/hour;1000/day``) and the pause
after the relay said the door is closed, both kept in the database, so that every
sender of every worker counts against the same figures.

The windows slide: a mail counts in a window of an hour for the hour after it went
out (its ``sent_at``), and a mail being sent counts at once. A sliding window never
lets more through in any stretch of that length than a host's window does, however
the host counts (from the full hour, from the first mail, or sliding too).

Mail to one person may use the whole window. A share of each window
(``MAIL_QUOTA_PERSONAL_SHARE``, at least one mail) is kept for it, so that a
confirmation or a sign-in link goes out within a minute even while a mailing waits
for the quota: list mail may take any slot of a window but what mail to one person
has not yet used of that share.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_number, format_timedelta
from flask_babel import gettext as _

from ..extensions import db
from .models import OutboxMessage, OutboxStatus, RelayPause

OUTBOX = OutboxMessage.__table__
# Without a quota, a relay that throttles is left alone this long at first.
PAUSE_CAP_WITHOUT_QUOTA = 3600


@dataclass(frozen=True)
class Window:
    amount: int  # mails
    seconds: int

    @property
    def reserved(self) -> int:
        """Mails of the window that list mail leaves to mail for one person."""
        if self.amount < 2:
            return 0
        share = current_app.config["MAIL_QUOTA_PERSONAL_SHARE"] / 100
        return min(self.amount - 1, max(1, math.ceil(self.amount * share)))


def windows() -> list[Window]:
    return [Window(amount, seconds) for amount, seconds in current_app.config["MAIL_QUOTA"]]


def _pause_row() -> RelayPause:
    """The pause row, locked until the caller's transaction ends: senders counting the
    quota take turns."""
    lock = sa.update(RelayPause).where(RelayPause.id == 1).values(strikes=RelayPause.strikes)
    if not db.session.execute(lock).rowcount:  # the first claim ever
        try:
            with db.session.begin_nested():
                db.session.add(RelayPause(id=1, strikes=0))
        except sa.exc.IntegrityError:  # another sender made it meanwhile
            db.session.execute(lock)
    return db.session.get(RelayPause, 1, populate_existing=True)


def _used(now: datetime, spans: list[int]) -> list[tuple[int, int]]:
    """Mails sent within each of ``spans`` seconds before ``now``, plus those being
    sent: (all of them, those to one person)."""
    if not spans:
        return []
    personal = sa.not_(OUTBOX.c.list_mail)
    sending = db.session.execute(sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((personal, 1), else_=0)), 0))
        .where(OUTBOX.c.status == OutboxStatus.SENDING.value)).one()
    counts = []
    for span in spans:
        recent = OUTBOX.c.sent_at > now - timedelta(seconds=span)
        counts += [sa.func.coalesce(sa.func.sum(sa.case((recent, 1), else_=0)), 0),
                   sa.func.coalesce(sa.func.sum(sa.case((recent & personal, 1), else_=0)), 0)]
    row = db.session.execute(sa.select(*counts).where(
        OUTBOX.c.sent_at > now - timedelta(seconds=max(spans)))).one()
    return [(sending[0] + row[2 * i], sending[1] + row[2 * i + 1]) for i in range(len(spans))]


def allowance(now: datetime) -> tuple[int, int]:
    """How many mails to one person, and how many list mails, may go out now. Locks
    the pause row until the caller commits: claim within the same transaction."""
    pause = _pause_row()
    if pause.until is not None and pause.until > now:
        return 0, 0
    quota = windows()
    if not quota:
        return math.inf, math.inf
    used = _used(now, [window.seconds for window in quota])
    personal = min(window.amount - count for window, (count, _) in zip(quota, used, strict=True))
    listed = min(window.amount - count - max(window.reserved - to_people, 0)
                 for window, (count, to_people) in zip(quota, used, strict=True))
    return max(personal, 0), max(listed, 0)


def paused_until(now: datetime) -> datetime | None:
    """When the relay's pause ends, if it is paused now."""
    until = db.session.scalar(sa.select(RelayPause.until).where(RelayPause.id == 1))
    return until if until is not None and until > now else None


def pause(answer: str, now: datetime) -> datetime:
    """The relay answered that the account is throttled: nobody sends until the
    oldest mail of the shortest window has left it, and at least one mail's share
    of it (without a quota, ``OUTBOX_RETRY_BASE_SECONDS``); each throttled answer
    in a row doubles that, up to the longest window. Commits; returns the end."""
    row = _pause_row()
    quota = sorted(windows(), key=lambda window: window.seconds)
    if quota:
        shortest = quota[0]
        oldest = db.session.scalar(sa.select(sa.func.min(OUTBOX.c.sent_at)).where(
            OUTBOX.c.sent_at > now - timedelta(seconds=shortest.seconds)))
        opens = ((oldest + timedelta(seconds=shortest.seconds) - now).total_seconds()
                 if oldest is not None else 0)
        least, cap = shortest.seconds / shortest.amount, quota[-1].seconds
    else:
        opens = 0
        least = current_app.config["OUTBOX_RETRY_BASE_SECONDS"]
        cap = max(PAUSE_CAP_WITHOUT_QUOTA, least)
    row.strikes += 1
    seconds = min(max(opens, least * 2 ** min(row.strikes - 1, 20)), cap)
    row.until = now + timedelta(seconds=seconds)
    row.answer = answer[:500]
    db.session.commit()
    return row.until


def resume() -> None:
    """A mail went out after a pause: the next throttled answer pauses briefly again."""
    db.session.execute(sa.update(RelayPause).where(RelayPause.id == 1, RelayPause.strikes > 0)
                       .values(strikes=0))
    db.session.commit()


def _time_for(mails: int, used: list[int]) -> timedelta:
    """How long ``mails`` list mails take under the quota, the windows holding ``used``
    (roughly: by whole windows)."""
    longest = timedelta(0)
    for window, count in zip(windows(), used, strict=True):
        per_window = window.amount - window.reserved
        later = mails - max(per_window - count, 0)
        if later > 0:
            longest = max(longest, timedelta(seconds=window.seconds * math.ceil(later / per_window)))
    return longest


def finish_time(mails: int, now: datetime) -> datetime:
    """When ``mails`` list mails, counted from the first one waiting now, will have
    gone out under the quota."""
    start = paused_until(now) or now
    if not windows():
        return start
    used = _used(now, [window.seconds for window in windows()])
    return start + _time_for(mails, [count for count, _ in used])


def duration(mails: int) -> timedelta:
    """How long ``mails`` list mails take under the quota, starting with empty windows."""
    return _time_for(mails, [0] * len(windows()))


def in_words() -> str | None:
    """The quota for people ("100 Mails je 1 Stunde, 1.000 Mails je 1 Tag"); None: none."""
    if not windows():
        return None
    return ", ".join(_("%(count)s mails per %(span)s", count=format_number(window.amount),
                       span=format_timedelta(timedelta(seconds=window.seconds), threshold=1))
                     for window in windows())
