"""What delivery needs to know about the people it sends to, told by the domain that
keeps them (subscriptions registers at start-up, see ``create_app``): who of them
still wants list mail (with the name and language their mail is written with), and
where a hard bounce counts. Delivery itself knows no other domain.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    name: str | None
    language: str


@dataclass(frozen=True)
class Hooks:
    wanted: Callable[[set[int]], dict[int, Person]]  # those of the IDs who want list mail
    hard_bounce: Callable[[int], None]  # count a permanent failure for that recipient


_registered: Hooks | None = None


def register(hooks: Hooks) -> None:
    global _registered
    _registered = hooks


def wanted(ids: Iterable[int]) -> dict[int, Person]:
    return _registered.wanted(set(ids))


def hard_bounce(recipient_id: int) -> None:
    _registered.hard_bounce(recipient_id)
