"""Forms of the organisers' inbound mail pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import InputRequired

from ..shared.forms import answer_field


class AssignReplyForm(FlaskForm):
    # Only a meeting the page offers (a typed-in or removed one is refused, not a 500).
    meeting_id = SelectField(_l("Meeting"), invalid_choice_message=_l("Please choose the meeting."),
                             validators=[InputRequired(_l("Please choose the meeting."))])
    email = StringField(_l("E-mail address of the subscriber"),
                        render_kw={"type": "email", "required": True})
    answer = answer_field(_l("Answer"))
    submit = SubmitField(_l("Record the answer"))
