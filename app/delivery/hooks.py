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
class MailKinds:
    """One domain's kinds of list mail and how a mailing of them is made."""

    kinds: frozenset[str]
    # What all mails of a mailing share, loaded once per batch (the domain's own
    # object); None when the mailing is void now (what it was about is gone).
    prepare: Callable[[MailingInfo], Any]
    # One member's mail of a prepared mailing.
    render: Callable[[Any, Member], Mail]


@dataclass(frozen=True)
class Hooks:
    mail: tuple[MailKinds, ...]  # each domain that sends list mail (meetings, posts)
    # Of these subscriber IDs, those who still want list mail: ID -> (name, language).
    wanted: Callable[[set[int]], dict[int, tuple[str | None, str]]]
    hard_bounce: Callable[[int], None]  # count a permanent failure for that subscriber

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset().union(*(domain.kinds for domain in self.mail))

    def prepare(self, mailing: MailingInfo) -> tuple[MailKinds, Any] | None:
        """The mailing as its domain prepared it (with that domain), or None: void."""
        domain = next(domain for domain in self.mail if mailing.kind in domain.kinds)
        prepared = domain.prepare(mailing)
        return None if prepared is None else (domain, prepared)

    def render(self, prepared: tuple[MailKinds, Any], member: Member) -> Mail:
        domain, mailing = prepared
        return domain.render(mailing, member)


class UnknownKind(Exception):
    """A mailing of a kind no domain renders: a bug, caught before anything is queued."""


def install(app: Flask, hooks: Hooks) -> None:
    app.extensions["vernetzer.delivery"] = hooks


def installed() -> Hooks:
    return current_app.extensions["vernetzer.delivery"]


def check_kind(kind: str) -> None:
    if kind not in installed().kinds:
        raise UnknownKind(f"no renderer for mailings of kind {kind!r}")
