"""Error pages: a clear German page for every error, never a bare one."""

from flask import render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def register(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = _("The form has expired or was sent twice. Please reload the page "
                    "and send it again.")
        return render_template("error.html", message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        # Unhandled exceptions arrive here as a 500 after Flask has logged them; the
        # session is rolled back when the app context ends, so nothing half-done stays.
        messages = {
            404: _("This page does not exist."),
            405: _("This action is not possible here."),
            413: _("The upload is too large."),
            429: _("Too many requests. Please wait a little and try again."),
            500: _("Something went wrong on our side. Nothing was changed; "
                   "please try again later."),
        }
        message = messages.get(error.code, _("The request could not be processed."))
        return render_template("error.html", message=message), error.code
