"""What knowledge learns from the domain above it, in one typed object that
``create_app`` builds: who the organisers are (a request about a project without a
contact, or about a topic, goes to them)."""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app


@dataclass(frozen=True)
class Organisers:
    addresses: Callable[[], list[str]]


def install(app: Flask, organisers: Organisers) -> None:
    app.extensions["vernetzer.knowledge"] = organisers


def organisers() -> Organisers:
    return current_app.extensions["vernetzer.knowledge"]
