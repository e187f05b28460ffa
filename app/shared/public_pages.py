"""Public pages as a visitor without a session sees them, kept in this process's
memory for ``PAGE_CACHE_SECONDS`` and answered ahead of Flask.

The home page, the meetings, the widget and the feed change only when an organiser
changes something, yet every view of the blog (the widget) and every calendar app's
poll (the feed) asks for them. A view marks its page as public with
``@public_page``; :class:`PublicPages`, the WSGI layer around the app, keeps such a
page when Flask answered 200 (or 304 to a conditional GET) without setting a cookie,
and answers the next GET of the same address, scheme, language and validators itself,
with the stored bytes and the headers Flask gave them (security headers included). A
request with a session cookie (a signed-in organiser, someone who has sent
a form) always goes to Flask.

A commit in this process that wrote something empties the store at once; another
process's change shows within ``PAGE_CACHE_SECONDS``.
"""

import functools

from flask import current_app, has_app_context, request
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from werkzeug.http import parse_cookie
from werkzeug.wrappers import Request

from ..extensions import page_cache
from . import logs

_PUBLIC = "vernetzer.public_page"  # set in the WSGI environ by a public view


def public_page(view):
    """Mark ``view``'s answer as the same for every visitor without a session."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        request.environ[_PUBLIC] = True
        return view(*args, **kwargs)

    return wrapped


class PublicPages:
    """WSGI middleware: keeps and answers public pages (see the module's docstring).
    Built once the app's page cache is set up; ``wsgi_app`` is the app it wraps."""

    def __init__(self, app, wsgi_app):
        self.wsgi_app = wsgi_app
        self.store = app.extensions["cache"][page_cache]
        self.session_cookie = app.config["SESSION_COOKIE_NAME"]
        self.log_requests = app.config["LOG_REQUESTS"]

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "GET":
            return self.wsgi_app(environ, start_response)
        cookies = parse_cookie(environ)
        if self.session_cookie in cookies:
            return self.wsgi_app(environ, start_response)
        # Everything the answer depends on: the page, the language, and the validators
        # of a conditional GET (a calendar app polling the feed gets its 304 kept).
        key = "\n".join(("public", environ["wsgi.url_scheme"], environ.get("PATH_INFO", ""),
                         environ.get("QUERY_STRING", ""), cookies.get("lang", ""),
                         environ.get("HTTP_ACCEPT_LANGUAGE", ""),
                         environ.get("HTTP_IF_NONE_MATCH", ""),
                         environ.get("HTTP_IF_MODIFIED_SINCE", "")))
        stored = self.store.get(key)
        if stored is not None:
            status, headers, data = stored
            start_response(status, list(headers))
            if self.log_requests:
                logs.access(Request(environ), int(status[:3]), len(data))
            return [data]

        answer = {}

        def keep_status(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, keep_status)
        if not environ.get(_PUBLIC):
            return body
        try:
            data = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        status, headers = answer["status"], answer["headers"]
        if status[:4] in ("200 ", "304 ") and not any(
                name.lower() == "set-cookie" for name, _value in headers):
            self.store.set(key, (status, headers, data))
        return [data]


@sa_event.listens_for(Session, "after_commit")
def _forget_pages(session):
    if session.info.pop("vernetzer.wrote", False) and has_app_context() and \
            "cache" in current_app.extensions:
        page_cache.clear()


@sa_event.listens_for(Session, "after_flush")
def _note_write(session, flush_context):
    session.info["vernetzer.wrote"] = True


@sa_event.listens_for(Session, "do_orm_execute")
def _note_statement(state):
    """Statements that write without a flush (bulk inserts, updates) count too."""
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["vernetzer.wrote"] = True


@sa_event.listens_for(Session, "after_rollback")
def _nothing_written(session):
    session.info.pop("vernetzer.wrote", None)
