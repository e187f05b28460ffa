"""What every domain's pages share: the visitor's address, the organiser guards, the
one way a page reports a user error, and the error pages."""

import functools

from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from wtforms import FieldList, FormField

from ..extensions import db
from .errors import UserError


def client_ip() -> str | None:
    """The visitor's address as the WSGI server saw it (behind a proxy: ProxyFix)."""
    return request.remote_addr


def user_agent() -> str | None:
    return request.headers.get("User-Agent")


def organiser_required(view):
    """Only for a signed-in organiser (``g.organiser``, loaded by the organisers
    package); anyone else is sent to the sign-in page."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("organiser") is None:
            return redirect(url_for("organisers.signin"))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Only for an organiser with the admin role; other organisers get 403."""
    @functools.wraps(view)
    @organiser_required
    def wrapped(*args, **kwargs):
        if not g.organiser.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def or_404(found):
    """What a service found, or the "page does not exist" answer when it found nothing."""
    if found is None:
        abort(404)
    return found


def carry_out(action, success=None, *, form=None, field=None) -> tuple[bool, object]:
    """The one way a view runs a service and reports a user error: try, commit, say so.

    Runs ``action`` (a service call). On success the session is committed (the worker
    sends what the action queued) and ``success`` is flashed: a message, or a function
    that makes it from the result. On ``UserError`` the transaction is rolled back and
    the message shown: each of its ``fields`` next to that field of ``form``, else
    under the form ``field`` if given, else flashed at the top of the page. Returns
    ``(True, result)`` or ``(False, error)``; the view then redirects or shows the form.
    """
    try:
        result = action()
    except UserError as error:
        db.session.rollback()
        _show(error, form, field)
        return False, error
    db.session.commit()
    if success is not None:
        flash(success(result) if callable(success) else success, "success")
    return True, result


def _field_named(form, name: str):
    """The field of ``form`` with this HTML name, also inside a list of rows
    (``follow_ups-0-task``); None when there is none."""
    for field in form:
        if field.name == name:
            return field
        if isinstance(field, FieldList):
            for entry in field:
                found = _field_named(entry, name) if isinstance(entry, FormField) else (
                    entry if entry.name == name else None)
                if found is not None:
                    return found
    return None


def _show(error: UserError, form, field) -> None:
    unplaced = []
    for name, message in error.fields.items():
        target = _field_named(form, name) if form is not None else None
        if target is not None:
            target.errors = [*target.errors, message]
        else:
            unplaced.append(message)
    if error.fields:
        if unplaced:
            flash(" ".join(unplaced), "error")
    elif field is not None:
        field.errors.append(str(error))
    else:
        flash(str(error), "error")


# Statuses (of meetings, subscribers, announcements, mails, registrations) in words.
STATUS_LABELS = {
    "draft": _l("draft"), "announced": _l("announced"), "cancelled": _l("cancelled"),
    "held": _l("held"), "pending": _l("not confirmed yet"), "active": _l("active"),
    "unsubscribed": _l("unsubscribed"), "bounced": _l("undeliverable"),
    "scheduled": _l("scheduled"), "sent": _l("sent"), "queued": _l("queued"),
    "sending": _l("being sent"), "failed": _l("failed"), "dropped": _l("not sent"),
    "registered": _l("has a place"), "waiting": _l("waiting"), "offered": _l("offered a place"),
    "unconfirmed": _l("not confirmed yet"), "lapsed": _l("offer lapsed"),
}


def status_label(value) -> str:
    """A status in words for people, in the reader's language (one lookup: a list
    page shows hundreds)."""
    return str(STATUS_LABELS.get(str(value), str(value)))


def _personal(view_args: dict | None) -> bool:
    """Whether a page is someone's own: the organiser area while signed in, or any
    page reached by a personal link (a token in its URL)."""
    return g.get("organiser") is not None or "token" in (view_args or {})


def register_input_rules(app) -> None:
    """A NUL character is no text anywhere (PostgreSQL cannot even store it): a
    request carrying one in its query or form is refused before any view runs."""

    @app.before_request
    def refuse_nul_characters():
        values = [*request.args.items(multi=True)]
        if request.method in ("POST", "PUT", "PATCH"):
            values += request.form.items(multi=True)
        if any("\x00" in key or "\x00" in value for key, value in values):
            raise UserError(_("The input contains a character that is not allowed."))


def register_cache_rules(app) -> None:
    """Personal pages are never stored by a browser or proxy (``no-store``); pages
    that set their own ``Cache-Control`` (the feed, the widget) keep it."""

    @app.after_request
    def no_store_for_personal_pages(response):
        if "Cache-Control" not in response.headers and (
                _personal(request.view_args) or request.path.startswith("/organisation")):
            response.headers["Cache-Control"] = "no-store"
        return response


def register_error_pages(app) -> None:
    """A clear German page for every error, never a bare one."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = _("The form has expired or was sent twice. Please reload the page "
                    "and send it again.")
        return render_template("error.html", message=message), 400

    @app.errorhandler(UserError)
    def user_error(error):
        # A service refused input that no form field shows (a link's ID, say).
        db.session.rollback()
        return render_template("error.html", message=str(error)), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        # Unhandled exceptions arrive here as a 500 after Flask has logged them; the
        # session is rolled back when the app context ends, so nothing half-done stays.
        messages = {
            403: _("Only administrators may open this page."),
            404: _("This page does not exist."),
            405: _("This action is not possible here."),
            413: _("The upload is too large."),
            429: _("Too many requests. Please wait a little and try again."),
            500: _("Something went wrong on our side. Nothing was changed; "
                   "please try again later."),
        }
        message = messages.get(error.code, _("The request could not be processed."))
        return render_template("error.html", message=message), error.code
