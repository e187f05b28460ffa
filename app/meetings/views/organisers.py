"""The organisers' pages for meetings: the list, the meeting form and what is done
to a meeting (announce, record, cancel, delete), the year planner, venues and the
blog widget's snippet.

Thin views: they read the form, call a service with the organiser as actor, and
commit through ``carry_out``.
"""

import io
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from wtforms import SelectChoice

from ...shared.database import utcnow
from ...shared.districts import all_districts
from ...shared.errors import Problems, UserError
from ...shared.forms import ButtonForm, district_choices
from ...shared.timeutil import local, local_text, parse_local
from ...shared.urls import external_url
from ...shared.web import carry_out, or_404, organiser_required
from .. import announcements, holidays_bw, invitations, rsvp, venues
from .. import services as meetings
from ..forms import (
    CancelForm,
    DeleteForm,
    MeetingForm,
    PlanForm,
    RecordForm,
    VenueForm,
)
from ..models import Meeting, MeetingKind

bp = Blueprint("meetings_orga", __name__)


def _meeting_form(meeting: Meeting | None = None) -> MeetingForm:
    """The meeting form, filled from ``meeting`` on a GET (for a copy: all but the time)."""
    form = MeetingForm()
    form.district.choices = district_choices(all_districts())
    form.venue_id.choices = [SelectChoice("", _("(no venue yet)"))] + [
        SelectChoice(str(v.id), f"{v.name} ({v.district})") for v in venues.all_venues()]
    if meeting is not None and request.method == "GET":
        form.district.data = meeting.district
        form.venue_id.data = str(meeting.venue_id or "")
        for name, value in (("topic", meeting.topic), ("description", meeting.description),
                            ("notes", meeting.organiser_notes),
                            ("host_organisation", meeting.host_organisation),
                            ("host_contact", meeting.host_contact)):
            form[name].data = value
    return form


def _kind(form: MeetingForm) -> MeetingKind:
    try:
        return MeetingKind(form.kind.data or "meeting")
    except ValueError:
        raise UserError(_("Please choose the kind of meeting.")) from None


def _meeting_fields(form: MeetingForm) -> dict:
    """The form's fields for the service; the times are read here (their problems go
    with the service's, so that every field's error shows at once)."""
    problems = Problems()
    return {
        "problems": problems,
        "start": problems.check("start", parse_local, form.start.data, _("Start")),
        "end": problems.check("end", parse_local, form.end.data, _("End")),
        "district": form.district.data, "venue_id": form.venue_id.data or None,
        "topic": form.topic.data, "description": form.description.data,
        "notes": form.notes.data, "host_organisation": form.host_organisation.data,
        "host_contact": form.host_contact.data,
        "allow_same_evening": form.same_evening_ok.data,
    }


def _meeting_page(form, meeting, error=None):
    """The meeting form; after a refused save (any POST that gets here) with status
    400, and with the "intended" box for a second meeting on one evening when that
    was the reason."""
    if meeting is not None and request.method == "GET":
        form.start.data = local_text(meeting.start_at).replace(" ", "T")
        form.end.data = local_text(meeting.end_at).replace(" ", "T")
    extra = {}
    if meeting is not None:
        record_form = RecordForm(formdata=None, record=meeting.record)
        extra = dict(cancel_form=CancelForm(), delete_form=DeleteForm(), button=ButtonForm(),
                     record_form=record_form, now=utcnow(),
                     announcements=announcements.for_meeting(meeting),
                     counts=rsvp.counts(meeting), answers=rsvp.answers(meeting))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/meeting_form.html", form=form, meeting=meeting,
                           same_evening=isinstance(error, meetings.SameEvening),
                           **extra), status


@bp.get("/organisation/")
@organiser_required
def meeting_list():
    return render_template("meetings/meetings.html", meetings=meetings.upcoming_and_recent())


@bp.route("/organisation/treffen/neu", methods=["GET", "POST"])
@organiser_required
def new_meeting():
    """A new draft; ``?vorlage=ID`` fills the form from that meeting (a copy)."""
    template = meetings.find(request.args.get("vorlage")) if request.args.get("vorlage") else None
    form = _meeting_form(template)
    result = None
    if form.validate_on_submit():
        ok, result = carry_out(
            lambda: meetings.create(actor=g.organiser.email, kind=_kind(form),
                                    held=g.organiser.is_admin and form.held.data,
                                    record=form.record.data, **_meeting_fields(form)),
            _("The meeting has been entered in the archive.")
            if g.organiser.is_admin and form.held.data
            else _("The meeting has been saved as a draft."), form=form)
        if ok:
            return redirect(url_for(".meeting", meeting_id=result.id))
    return _meeting_page(form, None, result)


@bp.route("/organisation/treffen/<int:meeting_id>", methods=["GET", "POST"])
@organiser_required
def meeting(meeting_id):
    meeting = or_404(meetings.find(meeting_id))
    form = _meeting_form(meeting)
    result = None
    if form.validate_on_submit():
        ok, result = carry_out(
            lambda: meetings.update(meeting, actor=g.organiser.email, notify=form.notify.data,
                                    **_meeting_fields(form)),
            _("The changes have been saved."), form=form)
        if ok:
            return redirect(url_for(".meeting", meeting_id=meeting.id))
    return _meeting_page(form, meeting, result)


@bp.get("/organisation/treffen/<int:meeting_id>/antworten.csv")
@organiser_required
def answers_export(meeting_id):
    meeting = or_404(meetings.find(meeting_id))
    stream = io.StringIO()
    rsvp.export(meeting, stream)
    return Response(stream.getvalue(), headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": f"attachment; filename=antworten-treffen-{meeting.id}.csv"})


@bp.post("/organisation/treffen/<int:meeting_id>/ankuendigen")
@organiser_required
def announce_meeting(meeting_id):
    meeting = or_404(meetings.find(meeting_id))
    if ButtonForm().validate_on_submit():
        ok, _result = carry_out(lambda: meetings.announce(meeting, actor=g.organiser.email),
                            _("The meeting is announced."))
        if ok:
            forecast = invitations.meeting_forecast(meeting)
            flash(forecast.in_words(), "warning" if forecast.too_late else "info")
    return redirect(url_for(".meeting", meeting_id=meeting_id))


@bp.post("/organisation/treffen/<int:meeting_id>/bericht")
@organiser_required
def meeting_record(meeting_id):
    """The record "Was wir mitgenommen haben", once the meeting has taken place."""
    meeting = or_404(meetings.find(meeting_id))
    form = RecordForm()
    if form.validate_on_submit():
        carry_out(lambda: meetings.write_record(meeting, form.record.data, actor=g.organiser.email),
              _("The record has been saved; it is public on the meeting's page."))
    return redirect(url_for(".meeting", meeting_id=meeting_id))


@bp.post("/organisation/treffen/<int:meeting_id>/absagen")
@organiser_required
def cancel_meeting(meeting_id):
    meeting = or_404(meetings.find(meeting_id))
    form = CancelForm()
    if form.validate_on_submit():
        carry_out(lambda: meetings.cancel(meeting, actor=g.organiser.email, reason=form.reason.data),
              _("The meeting is cancelled."))
    return redirect(url_for(".meeting", meeting_id=meeting_id))


@bp.post("/organisation/treffen/<int:meeting_id>/loeschen")
@organiser_required
def delete_meeting(meeting_id):
    meeting = or_404(meetings.find(meeting_id))
    form = DeleteForm()
    if not (form.validate_on_submit() and form.confirm.data):
        flash(_("Please tick the box to confirm that the draft is to be deleted."), "error")
        return redirect(url_for(".meeting", meeting_id=meeting_id))
    ok, _result = carry_out(lambda: meetings.delete_draft(meeting, actor=g.organiser.email),
                        _("The draft has been deleted."))
    return redirect(url_for(".meeting_list") if ok else url_for(".meeting", meeting_id=meeting_id))


@bp.route("/organisation/jahresplanung", methods=["GET", "POST"])
@organiser_required
def plan():
    """The planner's proposal for a year, with its reasons; accepting it saves drafts."""
    form = PlanForm()
    year = form.year.data if form.is_submitted() else request.args.get("jahr")
    # Not a number: year 0, which the planner refuses with a clear message.
    year = (int(year) if year.isascii() and year.isdigit() else 0) if year \
        else local(utcnow()).year + 1
    if form.validate_on_submit():
        ok, created = carry_out(lambda: meetings.apply_plan(year, actor=g.organiser.email),
                            _("The proposal has been saved as drafts."))
        if ok and not created:
            flash(_("Nothing new to save: every quarter has its meeting."), "status")
        return redirect(url_for(".plan", jahr=year))
    proposals, unplanned, planned = meetings.plan(year)  # UserError: a German page
    form.year.data = year
    return render_template("meetings/plan.html", year=year, form=form, proposals=proposals,
                           unplanned=unplanned, planned=planned, explain=meetings.explain,
                           holidays_known=holidays_bw.school_holidays_known(year))



def _venue_fields(form: VenueForm) -> dict:
    return {name: form[name].data for name in (
        "name", "address", "district", "host_organisation", "contact", "step_free",
        "transit_stop", "accessibility_notes", "capacity")}


@bp.route("/organisation/orte", methods=["GET", "POST"])
@organiser_required
def venue_list():
    form = VenueForm()
    form.district.choices = district_choices(all_districts())
    if form.validate_on_submit() and carry_out(
            lambda: venues.add_venue(actor=g.organiser.email, **_venue_fields(form)),
            _("The venue has been added."), form=form)[0]:
        return redirect(url_for(".venue_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/venues.html", form=form,
                           venues=venues.all_venues()), status


@bp.route("/organisation/orte/<int:venue_id>", methods=["GET", "POST"])
@organiser_required
def venue(venue_id):
    venue = or_404(venues.find(venue_id))
    form = VenueForm(obj=venue)
    form.district.choices = district_choices(all_districts())
    form.submit.label.text = _("Save")
    if form.validate_on_submit() and carry_out(
            lambda: venues.update_venue(venue, actor=g.organiser.email, **_venue_fields(form)),
            _("The changes have been saved."), form=form)[0]:
        return redirect(url_for(".venue_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/venue_form.html", form=form, venue=venue), status


@bp.get("/organisation/widget")
@organiser_required
def widget_snippet():
    """The copy-and-paste snippet for the blog, with a preview."""
    widget_url = external_url("meetings.widget")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(widget_url))
    # The frame grows to the widget's height, which the widget posts (widget.js).
    snippet = (f'<iframe id="vernetzer-widget" src="{widget_url}" '
               f'title="{_("Next meeting of the Stadtteilvernetzer")}" width="100%" height="320" '
               'style="border:0" loading="lazy"></iframe>\n'
               '<script>addEventListener("message", function (e) {\n'
               f'  if (e.origin === "{origin}" && e.data && e.data.vernetzerWidgetHeight)\n'
               '    document.getElementById("vernetzer-widget").style.height =\n'
               '      e.data.vernetzerWidgetHeight + "px";\n'
               '});</script>')
    return render_template("meetings/widget_snippet.html", snippet=snippet,
                           widget_url=url_for("meetings.widget"),
                           json_url=external_url("meetings.meetings_json"),
                           allowed=current_app.config["WIDGET_FRAME_ANCESTORS"])

