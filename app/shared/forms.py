"""Form pieces every domain's pages use. Rules live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SubmitField


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
