"""Forms: CSRF protection and field rendering. Rules live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, EmailField, HiddenField, SelectChoice, SelectField, StringField,
                     SubmitField, TextAreaField)

from ..models import Sector


class SubscribeForm(FlaskForm):
    email = EmailField(_l("E-mail address"), render_kw={"autocomplete": "email",
                                                        "required": True})
    name = StringField(_l("Name (optional)"), render_kw={"autocomplete": "name",
                                                          "maxlength": 100})
    # Honeypot: hidden from people, filled in by bots.
    website = StringField(_l("Leave this field empty"),
                          render_kw={"autocomplete": "off", "tabindex": "-1"})
    submit = SubmitField(_l("Subscribe"))


class ButtonForm(FlaskForm):
    """A form that is only a button (confirm, resend): a GET never changes state."""

    submit = SubmitField()


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


def district_choices(districts):
    return [SelectChoice("", _l("(not given)"))] + [SelectChoice(d.name) for d in districts]


class PreferencesForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 100})
    organisation = StringField(_l("Organisation"), render_kw={"maxlength": 150})
    district = SelectField(_l("District"), validate_choice=False)
    sector = SelectField(_l("Sector"), validate_choice=False)
    language = SelectField(_l("Language of the e-mails"),
                           choices=[SelectChoice("de", "Deutsch"), SelectChoice("en", "English")],
                           validate_choice=False)
    submit = SubmitField(_l("Save"))


class SigninForm(FlaskForm):
    email = EmailField(_l("E-mail address"), render_kw={"autocomplete": "email",
                                                        "required": True})
    submit = SubmitField(_l("Send me a sign-in link"))


class MeetingForm(FlaskForm):
    start = StringField(_l("Start"), render_kw={"type": "datetime-local", "required": True})
    end = StringField(_l("End"), render_kw={"type": "datetime-local", "required": True})
    district = SelectField(_l("District"), validate_choice=False)
    venue_id = SelectField(_l("Venue"), validate_choice=False)
    topic = StringField(_l("Topic"), render_kw={"maxlength": 200})
    description = TextAreaField(_l("Description (Markdown)"), render_kw={"rows": 6})
    notes = TextAreaField(_l("Notes for organisers"), render_kw={"rows": 3})
    submit = SubmitField(_l("Save"))


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason for the cancellation"), render_kw={"maxlength": 500,
                                                                     "required": True})
    submit = SubmitField(_l("Cancel the meeting"))


class AnnouncementForm(FlaskForm):
    subject = StringField(_l("Subject"), render_kw={"maxlength": 200, "required": True})
    body = TextAreaField(_l("Text (Markdown)"), render_kw={"rows": 10, "required": True})
    send_at = StringField(_l("Send at (empty: now)"), render_kw={"type": "datetime-local"})
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Schedule"))


class VenueForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 150, "required": True})
    address = StringField(_l("Address"), render_kw={"maxlength": 300, "required": True})
    district = SelectField(_l("District"), validate_choice=False)
    host_organisation = StringField(_l("Host organisation"), render_kw={"maxlength": 150})
    contact = StringField(_l("Contact"), render_kw={"maxlength": 300})
    step_free = BooleanField(_l("Step-free access"))
    transit_stop = StringField(_l("Public transport stop"), render_kw={"maxlength": 150})
    accessibility_notes = TextAreaField(_l("Accessibility notes"), render_kw={"rows": 3})
    capacity = StringField(_l("Capacity (people)"), render_kw={"inputmode": "numeric"})
    submit = SubmitField(_l("Add venue"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), render_kw={"accept": ".csv,text/csv", "required": True})
    consent_note = StringField(_l("How did these people consent?"),
                               render_kw={"maxlength": 500})
    confirm_by_mail = BooleanField(_l("Let them confirm by e-mail"))
    apply = BooleanField(_l("Import now (otherwise only check)"))
    submit = SubmitField(_l("Check or import"))
