"""Form pieces every domain's pages use. Rules live in the services."""

from urllib.parse import urlsplit

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import RadioField, SelectChoice, SubmitField, ValidationError
from wtforms.csrf.core import CSRF

from .tokens import TokenError, make_token, read_token


def cross_site() -> bool:
    """Whether the browser says the request comes from another site (Fetch
    Metadata, else the Origin header)."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" != f"{request.scheme}://{request.host}"


class _SignedCSRF(CSRF):
    """The CSRF token of a public form: signed and dated, bound to no session, so
    that a visitor who only looks gets no cookie. A POST from another site is
    refused by what the browser says of its origin."""

    def generate_csrf_token(self, csrf_token_field):
        return make_token("public-form", {})

    def validate_csrf_token(self, form, field):
        try:
            read_token("public-form", field.data or "")
        except TokenError:
            raise ValidationError("expired form") from None
        if cross_site():
            raise ValidationError("cross-site form")


class PublicForm(FlaskForm):
    """A form strangers fill in (sign-up, "Ich komme", registration, sign-in). Its
    view is exempt from the session-bound check (``csrf.exempt``): the form checks
    its own token, and an expired or foreign one gets the same page as any CSRF
    failure."""

    class Meta:
        csrf_class = _SignedCSRF

    def validate_on_submit(self, extra_validators=None) -> bool:
        if not self.is_submitted():
            return False
        valid = self.validate(extra_validators)
        if self.csrf_token.errors:
            raise CSRFError(self.csrf_token.errors[0])
        return valid


class ButtonForm(FlaskForm):
    """A form that is only a button (confirm, resend, announce): a GET never changes
    state, and the POST carries a CSRF token."""

    submit = SubmitField()


def district_choices(districts):
    return [SelectChoice("", _l("(not given)"))] + [SelectChoice(d.name) for d in districts]


def answer_field(label) -> RadioField:
    """An answer to an invitation: coming, maybe, not coming."""
    return RadioField(label, choices=[SelectChoice("yes", _l("I am coming")),
                                      SelectChoice("maybe", _l("Maybe")),
                                      SelectChoice("no", _l("I am not coming"))],
                      validate_choice=False)
