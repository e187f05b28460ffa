"""What delivery needs to know about the people it sends to, told by the domain that
keeps them (subscriptions registers at start-up, see ``create_app``): whether a
recipient still wants list mail, and where a hard bounce counts. Delivery itself
knows no other domain.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Hooks:
    still_wanted: Callable[[set[int]], set[int]]  # those of the IDs who want list mail
    hard_bounce: Callable[[int], None]  # count a permanent failure for that recipient


_registered: Hooks | None = None


def register(hooks: Hooks) -> None:
    global _registered
    _registered = hooks


def still_wanted(ids: Iterable[int]) -> set[int]:
    return _registered.still_wanted(set(ids))


def hard_bounce(recipient_id: int) -> None:
    _registered.hard_bounce(recipient_id)
