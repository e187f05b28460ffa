"""Forms of the NetzWerkStatt pages. Rules live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, SubmitField, TextAreaField

from ..shared.forms import PublicForm


class RegistrationForm(PublicForm):
    name = StringField(_l("Name"), render_kw={"autocomplete": "name", "maxlength": 150,
                                              "required": True})
    organisation = StringField(_l("Organisation (optional)"),
                               render_kw={"autocomplete": "organization", "maxlength": 150})
    email = EmailField(_l("E-mail address"), render_kw={"autocomplete": "email",
                                                        "required": True})
    children = StringField(_l("Number of children who need child care"), default="0",
                           render_kw={"inputmode": "numeric", "maxlength": 2})
    children_ages = StringField(_l("Ages of the children (if any)"),
                                render_kw={"maxlength": 100})
    access_needs = TextAreaField(_l("Accessibility needs (optional): what should we know so "
                                    "that you can take part?"),
                                 render_kw={"rows": 3, "maxlength": 1000})
    consent = BooleanField(_l("I agree that my details are processed for this registration "
                              "and deleted after the event (see the privacy notice)."))
    submit = SubmitField(_l("Register"))


class MemberRegistrationForm(RegistrationForm):
    """A member's own link: the address is theirs already."""

    email = None


class OfferForm(FlaskForm):
    accept = SubmitField(_l("Take the place"))
    decline = SubmitField(_l("No longer interested"))


class SettingsForm(FlaskForm):
    registration_open = BooleanField(_l("Registration is open"))
    capacity = StringField(_l("Places (empty: no limit)"), render_kw={"inputmode": "numeric"})
    childcare_capacity = StringField(_l("Child-care places (empty or 0: no child care)"),
                                     render_kw={"inputmode": "numeric"})
    submit = SubmitField(_l("Save"))
