"""Forms of the organisers' inbound mail pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField

from ..shared.forms import answer_field


class AssignReplyForm(FlaskForm):
    meeting_id = SelectField(_l("Meeting"), validate_choice=False)
    email = StringField(_l("E-mail address of the subscriber"),
                        render_kw={"type": "email", "required": True})
    answer = answer_field(_l("Answer"))
    submit = SubmitField(_l("Record the answer"))
