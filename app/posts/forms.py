"""Forms of the posts' pages. Rules live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, StringField, SubmitField, TextAreaField


class PostForm(FlaskForm):
    subject = StringField(_l("Subject"), render_kw={"maxlength": 200, "required": True})
    text = TextAreaField(_l("Text"), render_kw={"rows": 12, "required": True},
                         description=_l("Markdown: **bold**, *italic*, [link](https://…), "
                                        "lists with -"))
    attachments = MultipleFileField(
        _l("Attachments (up to three: PDF, images, office documents, calendar files)"),
        render_kw={"accept": ".pdf,.png,.jpg,.jpeg,.gif,.webp,.doc,.docx,.xls,.xlsx,.ppt,"
                             ".pptx,.odt,.ods,.odp,.ics"})
    public = BooleanField(_l("May appear in the public archive"))
    submit = SubmitField(_l("Send to the organisers"))


class DecisionForm(FlaskForm):
    """An organiser's decision on a held post."""

    subject = StringField(_l("Subject"), render_kw={"maxlength": 200})
    reason = TextAreaField(_l("Reason for the author (when rejecting)"), render_kw={"rows": 3})
    approve = SubmitField(_l("Approve"))
    approve_and_trust = SubmitField(_l("Approve and trust the sender"))
    reject = SubmitField(_l("Reject with reason"))
    discard = SubmitField(_l("Discard (spam)"))
