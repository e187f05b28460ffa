"""Forms of the distribution list's pages. Rules live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)

from ..shared.forms import PublicForm
from .models import PostDelivery, Sector


class SubscribeForm(PublicForm):
    email = EmailField(_l("E-mail address"), render_kw={"autocomplete": "email",
                                                        "required": True})
    name = StringField(_l("Name (optional)"), render_kw={"autocomplete": "name",
                                                          "maxlength": 100})
    # Honeypot: hidden from people, filled in by bots.
    website = StringField(_l("Leave this field empty"),
                          render_kw={"autocomplete": "off", "tabindex": "-1"})
    submit = SubmitField(_l("Subscribe"))


class OneClickForm(FlaskForm):
    """The unsubscribe button posts exactly what a mail provider posts (RFC 8058)."""

    class Meta:
        csrf = False

    one_click = HiddenField(name="List-Unsubscribe", default="One-Click")
    submit = SubmitField(_l("Unsubscribe"))


def sector_choices():
    labels = {
        Sector.NONPROFIT: _l("Non-profit organisation"),
        Sector.MUNICIPAL: _l("City administration"),
        Sector.CIVIC: _l("Civic engagement"),
        Sector.BUSINESS: _l("Business"),
    }
    return [SelectChoice("", _l("(not given)"))] + [SelectChoice(s.value, labels[s])
                                                   for s in Sector]


class PreferencesForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 100})
    organisation = StringField(_l("Organisation"), render_kw={"maxlength": 150})
    district = SelectField(_l("District"), validate_choice=False)
    sector = SelectField(_l("Sector"), validate_choice=False)
    language = SelectField(_l("Language of the e-mails"),
                           choices=[SelectChoice("de", "Deutsch"), SelectChoice("en", "English")],
                           validate_choice=False)
    post_delivery = SelectField(_l("Posts by members"), choices=[
        SelectChoice(PostDelivery.EACH.value, _l("each post as it comes")),
        SelectChoice(PostDelivery.WEEKLY.value, _l("a weekly digest")),
        SelectChoice(PostDelivery.MONTHLY.value, _l("a monthly digest")),
        SelectChoice(PostDelivery.NONE.value, _l("no posts (meeting mail only)"))],
        validate_choice=False)
    follow_up_mail = BooleanField(_l("After a meeting I said I would come to: one mail with "
                                     "its record and the projects presented"))
    submit = SubmitField(_l("Save"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), render_kw={"accept": ".csv,text/csv", "required": True})
    submit = SubmitField(_l("Check the file"))


class ImportApplyForm(FlaskForm):
    """The second step: the checked upload (kept on the server) is imported."""

    pending = HiddenField()
    consent_note = StringField(_l("How did these people consent?"),
                               render_kw={"maxlength": 500})
    confirm_by_mail = BooleanField(_l("Let them confirm by e-mail"))
    submit = SubmitField(_l("Import now"))


class PersonForm(FlaskForm):
    """An organiser corrects a person's details."""

    name = StringField(_l("Name"), render_kw={"maxlength": 100})
    organisation = StringField(_l("Organisation"), render_kw={"maxlength": 150})
    district = SelectField(_l("District"), validate_choice=False)
    submit = SubmitField(_l("Save"))


class AddPersonForm(PersonForm):
    email = EmailField(_l("E-mail address"), render_kw={"required": True})
    consent_note = StringField(_l("How did this person consent? (for example: asked by "
                                  "phone on 3 May)"), render_kw={"maxlength": 500})
    confirm_by_mail = BooleanField(_l("Let them confirm by e-mail instead"))
    submit = SubmitField(_l("Add to the list"))


class EraseForm(FlaskForm):
    confirm = BooleanField(_l("Yes, delete this person and everything stored about them"))
    submit = SubmitField(_l("Erase for good"))
