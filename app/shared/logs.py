"""What the service writes to its log: one line per request (the common log format)
and one event per mail sent or failed, inbound mail handled and organiser action.
``LOG_FORMAT = "json"`` makes every line a JSON object (python-json-logger) with
the event's fields as keys, for a log collector; "text" (the default) is for people.

Events about the database (an organiser action, an inbound mail) are written only
once their transaction has committed: a rolled-back action leaves no line.
"""

import logging
import sys
from datetime import datetime

from flask import request
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

LOG = logging.getLogger("vernetzer")
ACCESS = logging.getLogger("vernetzer.access")
_PENDING = "vernetzer.log_events"


class _TextFormatter(logging.Formatter):
    """``time level logger: message key=value …``"""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{key}={value!r}" for key, value in fields.items())
        return line


class _JsonFields(JsonFormatter):
    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        log_record.update(log_record.pop("fields", None) or {})


def configure(app) -> None:
    """One handler on standard error for the service's loggers (once per process),
    and the request log for ``app``."""
    if app.config["LOG_REQUESTS"]:
        app.after_request(_log_response)
    if any(getattr(handler, "vernetzer", False) for handler in LOG.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.vernetzer = True
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(_JsonFields("%(asctime)s %(levelname)s %(name)s %(message)s",
                                         rename_fields={"levelname": "level",
                                                        "asctime": "time"}))
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False


def event(name: str, **fields) -> None:
    """Write the event ``name`` now."""
    LOG.info(name, extra={"fields": {"event": name, **fields}})


def after_commit(session, name: str, **fields) -> None:
    """Write the event ``name`` once ``session``'s transaction has committed."""
    session.info.setdefault(_PENDING, []).append((name, fields))


@sa_event.listens_for(Session, "after_commit")
def _write_committed(session):
    for name, fields in session.info.pop(_PENDING, []):
        event(name, **fields)


@sa_event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session):
    session.info.pop(_PENDING, None)


def access(request, status: int, size: int | None) -> None:
    """A request's line in the common log format: host ident user [time] "request"
    status bytes. ``request`` is Flask's or werkzeug's."""
    ACCESS.info('%s - - [%s] "%s %s %s" %s %s', request.remote_addr or "-",
                datetime.now().astimezone().strftime("%d/%b/%Y:%H:%M:%S %z"), request.method,
                request.full_path.rstrip("?"), request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                status, "-" if size is None else size)


def _log_response(response):
    access(request, response.status_code, response.calculate_content_length())
    return response
