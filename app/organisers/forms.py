"""Forms of the organisers' sign-in."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField


class SigninForm(FlaskForm):
    email = EmailField(_l("E-mail address"), render_kw={"autocomplete": "email",
                                                        "required": True})
    submit = SubmitField(_l("Send me a sign-in link"))
