"""The organisers' pages for topic announcements: write, preview, test, schedule,
withdraw.

Thin views: they read the form, call a service with the organiser as actor, and
commit through ``carry_out``.
"""


from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from ...extensions import talisman
from ...shared.database import utcnow
from ...shared.forms import ButtonForm
from ...shared.timeutil import local_text, parse_local
from ...shared.web import carry_out, or_404, organiser_required
from .. import announcements
from .. import services as meetings
from ..forms import (
    AnnouncementForm,
    ScheduleForm,
)
from ..models import AnnouncementStatus

bp = Blueprint("announcements", __name__)


@bp.app_template_global()
def announcement_state(status: AnnouncementStatus) -> str:
    """An announcement's status in words for people."""
    return {AnnouncementStatus.DRAFT: _("draft, not confirmed"),
            AnnouncementStatus.SCHEDULED: _("scheduled"), AnnouncementStatus.SENT: _("sent"),
            AnnouncementStatus.CANCELLED: _("withdrawn")}[status]



def _announcement_fields(form: AnnouncementForm) -> dict:
    return {"subject": form.subject.data, "body": form.body.data,
            "send_at": parse_local(form.send_at.data, _("Send at")) if form.send_at.data
            else None}


@bp.route("/organisation/treffen/<int:meeting_id>/ankuendigung", methods=["GET", "POST"])
@organiser_required
def announcement(meeting_id):
    """Write an announcement: saved as a draft, then previewed and confirmed."""
    meeting = or_404(meetings.find(meeting_id))
    form = AnnouncementForm()
    if form.validate_on_submit():
        ok, written = carry_out(lambda: announcements.write(
            meeting, actor=g.organiser.email, **_announcement_fields(form)),
            _("Saved as a draft. Please check the preview, then confirm."))
        if ok:
            return redirect(url_for(".announcement_preview", announcement_id=written.id))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/announcement.html", form=form, meeting=meeting,
                           announcement=None), status


@bp.route("/organisation/ankuendigungen/<int:announcement_id>/bearbeiten",
          methods=["GET", "POST"])
@organiser_required
def announcement_edit(announcement_id):
    announcement = or_404(announcements.find(announcement_id))
    form = AnnouncementForm()
    if request.method == "GET":
        form.subject.data, form.body.data = announcement.subject, announcement.body
        form.send_at.data = local_text(announcement.send_at).replace(" ", "T")
    elif form.validate_on_submit():
        ok, _result = carry_out(lambda: announcements.change(
            announcement, actor=g.organiser.email, **_announcement_fields(form)),
            _("Saved as a draft again. Please check the preview, then confirm."))
        if ok:
            return redirect(url_for(".announcement_preview", announcement_id=announcement.id))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/announcement.html", form=form,
                           meeting=announcement.meeting, announcement=announcement), status


@bp.get("/organisation/ankuendigungen/")
@organiser_required
def announcement_list():
    waiting, done = announcements.overview()
    return render_template("meetings/announcements.html", waiting=waiting, done=done,
                           button=ButtonForm())


@bp.get("/organisation/ankuendigungen/<int:announcement_id>")
@organiser_required
def announcement_preview(announcement_id):
    """The mail as a subscriber sees it, its text part, and the confirm step with the
    number of recipients and the time."""
    announcement = or_404(announcements.find(announcement_id))
    message = announcements.preview(announcement, reader_email=g.organiser.email,
                                    reader_name=g.organiser.name)
    return render_template(
        "meetings/announcement_preview.html", announcement=announcement, message=message,
        recipients=announcements.recipients(), schedule_form=ScheduleForm(), button=ButtonForm(),
        collision=announcements.collides_with_invitation(announcement), now=utcnow(),
        forecast=announcements.forecast(announcement))


@bp.get("/organisation/ankuendigungen/<int:announcement_id>/mail.html")
@organiser_required
@talisman(frame_options="SAMEORIGIN",
          content_security_policy={"default-src": "'none'", "style-src": "'unsafe-inline'",
                                   "img-src": "data:", "frame-ancestors": "'self'",
                                   "sandbox": "allow-same-origin"})
def announcement_mail(announcement_id):
    """The HTML part alone, for the preview's sandboxed frame (no scripts, no forms;
    of the same origin only so that the preview page can fit the frame to it)."""
    announcement = or_404(announcements.find(announcement_id))
    message = announcements.preview(announcement, reader_email=g.organiser.email,
                                    reader_name=g.organiser.name)
    return Response(message.html, headers={"Content-Type": "text/html; charset=utf-8",
                                           "Cache-Control": "no-store"})


@bp.post("/organisation/ankuendigungen/<int:announcement_id>/test")
@organiser_required
def announcement_test(announcement_id):
    announcement = or_404(announcements.find(announcement_id))
    if ButtonForm().validate_on_submit():
        carry_out(lambda: announcements.send_test(announcement, address=g.organiser.email,
                                              name=g.organiser.name),
              _("A test has been sent to %(email)s.", email=g.organiser.email))
    return redirect(url_for(".announcement_preview", announcement_id=announcement_id))


@bp.post("/organisation/ankuendigungen/<int:announcement_id>/einplanen")
@organiser_required
def announcement_schedule(announcement_id):
    announcement = or_404(announcements.find(announcement_id))
    form = ScheduleForm()
    if form.validate_on_submit():
        ok, _result = carry_out(lambda: announcements.schedule(
            announcement, actor=g.organiser.email, same_hour_ok=form.same_hour_ok.data,
            announce_meeting=form.announce_meeting.data),
            _("The announcement is scheduled. You can change or withdraw it until it goes out."))
        if ok:
            flash(announcements.forecast(announcement).in_words(), "info")
            return redirect(url_for(".announcement_list"))
    return redirect(url_for(".announcement_preview", announcement_id=announcement_id))


@bp.post("/organisation/ankuendigungen/<int:announcement_id>/zurueckziehen")
@organiser_required
def announcement_withdraw(announcement_id):
    announcement = or_404(announcements.find(announcement_id))
    if ButtonForm().validate_on_submit():
        carry_out(lambda: announcements.withdraw(announcement, actor=g.organiser.email),
              _("The announcement has been withdrawn; nothing of it is sent."))
    return redirect(url_for(".announcement_list"))

