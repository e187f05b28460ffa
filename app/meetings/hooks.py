"""What meetings learn from the domains above them, in one typed object that
``create_app`` builds: the line on topics waiting for votes that a quarterly
meeting's invitation may carry ("Drei Themen warten auf Stimmen")."""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app


@dataclass(frozen=True)
class WaitingTopics:
    count: Callable[[], int]  # published topics that wait for a meeting
    url: Callable[[], str]  # the page where members show their interest


def install(app: Flask, topics: WaitingTopics) -> None:
    app.extensions["vernetzer.meetings"] = topics


def waiting_topics() -> WaitingTopics:
    return current_app.extensions["vernetzer.meetings"]
