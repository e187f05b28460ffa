"""Form pieces every domain's pages use. Rules live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SubmitField


class ButtonForm(FlaskForm):
    """A form that is only a button (confirm, resend, announce): a GET never changes
    state, and the POST carries a CSRF token."""

    submit = SubmitField()


def district_choices(districts):
    return [SelectChoice("", _l("(not given)"))] + [SelectChoice(d.name) for d in districts]
