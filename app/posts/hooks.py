"""What posts learn from the domain above them, in one typed object that
``create_app`` builds: who the organisers are, who moderate the posts."""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app


@dataclass(frozen=True)
class Moderators:
    addresses: Callable[[], list[str]]  # the organisers to tell of a held post


def install(app: Flask, moderators: Moderators) -> None:
    app.extensions["vernetzer.posts"] = moderators


def moderators() -> Moderators:
    return current_app.extensions["vernetzer.posts"]
