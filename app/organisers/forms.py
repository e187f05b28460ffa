"""Forms of the organisers' sign-in."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SubmitField

from ..shared.forms import PublicForm


class SigninForm(PublicForm):
    email = EmailField(_l("E-mail address"), render_kw={"autocomplete": "email",
                                                        "required": True})
    submit = SubmitField(_l("Send me a sign-in link"))
