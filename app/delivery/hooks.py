"""What delivery learns from the domains above it, in one typed object that
``create_app`` builds: which kinds of list mail there are and how each member's mail
of a mailing is made, who still wants list mail, and where a hard bounce counts.
Delivery itself imports no other domain.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app

from .mime import Mail


@dataclass(frozen=True)
class MailingInfo:
    """What a renderer learns of its mailing."""

    id: int
    kind: str
    meeting_id: int | None
    sequence: int | None
    reference: int | None


@dataclass(frozen=True)
class Member:
    """One recipient of a mailing, as their row and their domain know them. ``code``
    and ``queued_at`` make the Message-ID and Date: the same on every try."""

    subscriber_id: int
    address: str
    name: str | None
    language: str
    code: str
    queued_at: datetime


@dataclass(frozen=True)
class Hooks:
    kinds: frozenset[str]  # every kind of mailing ``prepare`` knows
    # What all mails of a mailing share, loaded once per batch (the domain's own
    # object); None when the mailing is void now (its meeting or announcement is gone).
    prepare: Callable[[MailingInfo], Any]
    # One member's mail of a prepared mailing.
    render: Callable[[Any, Member], Mail]
    # Of these subscriber IDs, those who still want list mail: ID -> (name, language).
    wanted: Callable[[set[int]], dict[int, tuple[str | None, str]]]
    hard_bounce: Callable[[int], None]  # count a permanent failure for that subscriber


class UnknownKind(Exception):
    """A mailing of a kind no domain renders: a bug, caught before anything is queued."""


def install(app: Flask, hooks: Hooks) -> None:
    app.extensions["vernetzer.delivery"] = hooks


def installed() -> Hooks:
    return current_app.extensions["vernetzer.delivery"]


def check_kind(kind: str) -> None:
    if kind not in installed().kinds:
        raise UnknownKind(f"no renderer for mailings of kind {kind!r}")
