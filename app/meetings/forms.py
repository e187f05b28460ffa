"""Forms of the organisers' meeting, venue and announcement pages. Rules live in
the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

from ..shared.forms import PublicForm, answer_field


class MeetingForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice("meeting", _l("Network meeting")),
        SelectChoice("workshop", _l("NetzWerkStatt (with registration)"))],
        validate_choice=False)
    start = StringField(_l("Start"), render_kw={"type": "datetime-local", "required": True})
    end = StringField(_l("End"), render_kw={"type": "datetime-local", "required": True})
    district = SelectField(_l("District"), validate_choice=False)
    venue_id = SelectField(_l("Venue"), validate_choice=False)
    topic = StringField(_l("Topic"), render_kw={"maxlength": 200})
    description = TextAreaField(_l("Description (Markdown)"), render_kw={"rows": 6})
    host_organisation = StringField(_l("Host organisation"), render_kw={"maxlength": 150})
    host_contact = StringField(_l("Contact person of the host (organisers only)"),
                               render_kw={"maxlength": 300})
    notes = TextAreaField(_l("Notes for organisers"), render_kw={"rows": 3})
    held = BooleanField(_l("An earlier meeting, entered for the archive: it took place, is "
                           "public at once, and no mail goes out for it"))
    record = TextAreaField(_l("What we took away (Markdown)"), render_kw={"rows": 6})
    same_evening_ok = BooleanField(_l("Yes, two meetings on this evening are intended"))
    notify = BooleanField(_l("Send those invited an update, even if time and place stay the "
                             "same (a new time or place always sends one)"))
    submit = SubmitField(_l("Save"))


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason for the cancellation (public: shown on the meeting's "
                            "page and in the cancellation mail)"),
                         render_kw={"maxlength": 500, "required": True})
    submit = SubmitField(_l("Cancel the meeting"))


class DeleteForm(FlaskForm):
    confirm = BooleanField(_l("Yes, delete this draft for good"))
    submit = SubmitField(_l("Delete the draft"))


class AnnouncementForm(FlaskForm):
    subject = StringField(_l("Subject"), render_kw={"maxlength": 200, "required": True})
    body = TextAreaField(_l("Text (Markdown)"), render_kw={"rows": 10, "required": True})
    send_at = StringField(_l("Send at (empty: right after you confirm)"),
                          render_kw={"type": "datetime-local"})
    submit = SubmitField(_l("Show the preview"))


class ScheduleForm(FlaskForm):
    announce_meeting = BooleanField(_l("Announce the meeting too (it is still a draft)"))
    same_hour_ok = BooleanField(_l("The announcement and the invitation may arrive within "
                                   "the same hour"))
    submit = SubmitField(_l("Confirm and schedule"))


class PlanForm(FlaskForm):
    year = HiddenField()
    submit = SubmitField(_l("Save the proposal as drafts"))


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


class RecordForm(FlaskForm):
    record = TextAreaField(_l("What we took away (Markdown; public, searchable: links and "
                              "contacts that other districts can use)"), render_kw={"rows": 8})
    submit = SubmitField(_l("Save the record"))


class RsvpRequestForm(PublicForm):
    email = EmailField(_l("Your e-mail address on the distribution list"),
                       render_kw={"autocomplete": "email", "required": True})
    answer = answer_field(_l("Your answer"))
    submit = SubmitField(_l("Send me my answer link"))


class RsvpForm(FlaskForm):
    answer = answer_field(_l("Your answer"))
    submit = SubmitField(_l("Save my answer"))
