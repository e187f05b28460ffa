"""Organisers' pages for inbound mail the service kept: read it, assign a calendar
reply from an unknown address to a member, mark it as dealt with."""

from email import policy
from email.parser import BytesParser

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from ..meetings import services as meetings
from ..shared.forms import ButtonForm
from ..shared.web import carry_out, or_404, organiser_required
from . import services as inbound
from .forms import AssignReplyForm

bp = Blueprint("inbound", __name__, url_prefix="/organisation/eingang")


def _readable_text(raw: bytes | None) -> str:
    """The mail's plain text (or nothing) for reading on the page; never its HTML."""
    if not raw:
        return ""
    try:
        body = BytesParser(policy=policy.default).parsebytes(raw).get_body(("plain",))
        return body.get_content()[:20_000] if body is not None else ""
    except (LookupError, ValueError, TypeError, AttributeError):
        return ""


@bp.get("/")
@organiser_required
def kept_list():
    return render_template("inbound/kept.html", mails=inbound.kept())


@bp.route("/<int:mail_id>", methods=["GET", "POST"])
@organiser_required
def kept_mail(mail_id):
    mail = or_404(inbound.find(mail_id))
    details = inbound.reply_details(mail)
    form = AssignReplyForm()
    form.meeting_id.choices = [SelectChoice(str(m.id), f"{m.start_at:%d.%m.%Y} {m.district}")
                               for m in meetings.upcoming_and_recent()]
    if request.method == "GET" and details:
        form.email.data = details["address"]
        if details["meeting"]:
            form.meeting_id.data = str(details["meeting"].id)
    if form.validate_on_submit():
        ok, _result = carry_out(lambda: inbound.assign(
            mail, meeting_id=int(form.meeting_id.data or 0), email=form.email.data,
            answer=form.answer.data, actor=g.organiser.email), _("The answer has been recorded."))
        if ok:
            return redirect(url_for(".kept_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("inbound/mail.html", mail=mail, text=_readable_text(mail.raw),
                           details=details, form=form, button=ButtonForm()), status


@bp.post("/<int:mail_id>/erledigt")
@organiser_required
def mark_done(mail_id):
    mail = or_404(inbound.find(mail_id))
    if ButtonForm().validate_on_submit():
        carry_out(lambda: inbound.done(mail, actor=g.organiser.email),
                  _("The mail is marked as dealt with."))
    return redirect(url_for(".kept_list"))
