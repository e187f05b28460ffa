"""Forms of the topics' pages. Rules live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)

from ..shared.forms import PublicForm
from .projects import PHASE_LABELS


class TopicFields:
    title = StringField(_l("Topic"), render_kw={"maxlength": 120, "required": True})
    description = TextAreaField(_l("A few lines"), render_kw={"rows": 4, "maxlength": 1000})
    can_tell = BooleanField(_l("I can tell something about it"))


class ProposalForm(TopicFields, PublicForm):
    """A visitor's proposal: confirmed by mail."""

    name = StringField(_l("Name (optional)"), render_kw={"maxlength": 100,
                                                          "autocomplete": "name"})
    email = EmailField(_l("E-mail address (for the confirmation)"),
                       render_kw={"autocomplete": "email", "required": True})
    submit = SubmitField(_l("Propose the topic"))


class MemberProposalForm(TopicFields, FlaskForm):
    submit = SubmitField(_l("Propose the topic"))


class LinkRequestForm(PublicForm):
    email = EmailField(_l("Your e-mail address on the list"),
                       render_kw={"autocomplete": "email", "required": True})
    submit = SubmitField(_l("Send me my voting link"))


class PlanTopicForm(FlaskForm):
    meeting_id = SelectField(_l("Meeting"), validate_choice=False)
    submit = SubmitField(_l("Choose for this meeting"))


class ProjectForm(PublicForm):
    name = StringField(_l("Project"), render_kw={"maxlength": 120, "required": True})
    district = SelectField(_l("District"), validate_choice=False)
    description = TextAreaField(_l("What it does"), render_kw={"rows": 5, "maxlength": 2000,
                                                                "required": True})
    phases = SelectMultipleField(_l("Phases of the Werkzeugkoffer"), validate_choice=False,
                                 option_widget=widgets.CheckboxInput(),
                                 widget=widgets.ListWidget(prefix_label=False))
    contact_name = StringField(_l("Contact person (optional)"), render_kw={"maxlength": 100})
    contact_email = EmailField(_l("Contact's e-mail address (shown only if they agree)"))
    email = EmailField(_l("Your e-mail address (for the confirmation)"),
                       render_kw={"autocomplete": "email", "required": True})
    submit = SubmitField(_l("Propose the project"))


class AdoptionForm(PublicForm):
    district = SelectField(_l("District that took it up"), validate_choice=False)
    year = StringField(_l("Year"), render_kw={"inputmode": "numeric", "maxlength": 4})
    how = StringField(_l("How (one line)"), render_kw={"maxlength": 300})
    email = EmailField(_l("Your e-mail address (for the confirmation)"),
                       render_kw={"autocomplete": "email", "required": True})
    submit = SubmitField(_l("Send"))


class PresentedForm(FlaskForm):
    meeting_id = SelectField(_l("Presented at the meeting"), validate_choice=False)
    submit = SubmitField(_l("Add"))


class InquiryForm(PublicForm):
    """"Ich möchte das auch machen": the address is confirmed by mail and never shown."""

    name = StringField(_l("Your name"), render_kw={"maxlength": 100, "autocomplete": "name",
                                                   "required": True})
    email = EmailField(_l("Your e-mail address (for the confirmation; not shown)"),
                       render_kw={"autocomplete": "email", "required": True})
    message = TextAreaField(_l("Your message"), render_kw={"rows": 4, "maxlength": 2000,
                                                           "required": True})
    submit = SubmitField(_l("Send the message"))


class FollowUpRow(Form):
    task = StringField(_l("What"), render_kw={"maxlength": 300})
    person = StringField(_l("Who"), render_kw={"maxlength": 100})
    due = StringField(_l("By when"), widget=widgets.DateInput())


class InsightRow(Form):
    phase = SelectField(_l("Phase"), validate_choice=False)
    text = StringField(_l("Insight"), render_kw={"maxlength": 1000})


class CloseOutForm(FlaskForm):
    attendance = StringField(_l("Came (from the “Ich komme” answers; please correct)"),
                             render_kw={"inputmode": "numeric", "maxlength": 5})
    walk_ins = StringField(_l("Walk-ins without an answer"),
                           render_kw={"inputmode": "numeric", "maxlength": 5})
    record = TextAreaField(_l("What we took away (Markdown, public)"), render_kw={"rows": 8})
    projects = SelectMultipleField(_l("Projects presented"), validate_choice=False,
                                   option_widget=widgets.CheckboxInput(),
                                   widget=widgets.ListWidget(prefix_label=False))
    follow_ups = FieldList(FormField(FollowUpRow), label=_l("Follow-ups"), max_entries=40)
    insights = FieldList(FormField(InsightRow), label=_l("Insights for the Werkzeugkoffer"),
                         max_entries=60)
    submit = SubmitField(_l("Save the close-out"))


class IntroForm(FlaskForm):
    """The organisers' introduction to each phase (one field per phase)."""

    submit = SubmitField(_l("Save the introductions"))


for _key, _label in PHASE_LABELS.items():
    setattr(IntroForm, _key, TextAreaField(_label, render_kw={"rows": 3, "maxlength": 2000}))
