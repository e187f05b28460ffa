"""Pages of meetings: the public meeting page and calendar feed, and the organisers'
pages for meetings, venues and announcements.

Thin views: they read the form, call a service with the organiser as actor, commit.
"""

import io

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from ..delivery import outbox
from ..shared import markup
from ..shared.districts import all_districts
from ..shared.errors import UserError
from ..shared.forms import ButtonForm, district_choices
from ..shared.timeutil import local_text, parse_local
from ..shared.web import attempt, organiser_required
from ..subscriptions.mails import calendar_links
from . import announcements, calendar, rsvp, venues
from . import services as meetings
from .forms import AnnouncementForm, CancelForm, MeetingForm, RsvpForm, VenueForm
from .models import AnswerSource, Meeting, MeetingStatus

bp = Blueprint("meetings", __name__)
bp.add_app_template_global(rsvp.answer_label)


@bp.app_template_global()
def next_meeting() -> Meeting | None:
    """The next meeting people can come to (shown on the home page)."""
    return meetings.next_announced()


@bp.app_template_global()
def calendar_subscription() -> dict[str, str]:
    """The feed's https and webcal addresses (home page)."""
    return calendar_links()


CALENDAR_HEADERS = {"Content-Type": "text/calendar; charset=utf-8",
                    "Cache-Control": "public, max-age=300"}


@bp.get("/kalender.ics")
def feed():
    """The feed; a conditional GET with the current ETag or date gets 304, empty."""
    etag, changed = calendar.feed_version()
    response = Response(headers={**CALENDAR_HEADERS,
                                 "Content-Disposition": "inline; filename=stadtteilvernetzer.ics"})
    response.set_etag(etag)
    response.last_modified = changed
    response.make_conditional(request)
    if response.status_code != 304:
        response.set_data(calendar.feed())
    return response


def _published_or_404(meeting_id) -> Meeting:
    meeting = meetings.find(meeting_id)
    if meeting is None or meeting.status == MeetingStatus.DRAFT:
        abort(404)
    return meeting


@bp.get("/treffen/<int:meeting_id>")
def meeting_page(meeting_id):
    meeting = _published_or_404(meeting_id)
    return render_template("meetings/meeting.html", meeting=meeting,
                           description=markup.render(meeting.description),
                           summary=calendar.summary(meeting))


@bp.get("/treffen/<int:meeting_id>.ics")
def meeting_file(meeting_id):
    meeting = _published_or_404(meeting_id)
    return Response(calendar.meeting_file(meeting), headers={
        **CALENDAR_HEADERS,
        "Content-Disposition": f"attachment; filename=treffen-{meeting.id}.ics"})


@bp.route("/treffen/<int:meeting_id>/antwort/<token>", methods=["GET", "POST"])
def rsvp_page(meeting_id, token):
    """The page behind an answer link: the answer preselected; only the button's POST
    records it (mail scanners follow links)."""
    meeting, subscriber = rsvp.from_link(meeting_id, token)  # UserError: a German page
    form = RsvpForm()
    current = rsvp.answer_of(meeting, subscriber)
    problem = None
    try:
        rsvp.check_open(meeting)
    except UserError as error:
        problem = str(error)
    if problem is None and form.validate_on_submit():
        ok, _row = attempt(lambda: rsvp.record(meeting, subscriber, form.answer.data,
                                               AnswerSource.LINK))
        if ok:
            outbox.commit_and_deliver()
            flash(_("Thank you, your answer has been saved. You can change it here "
                    "until the meeting starts."), "success")
            return redirect(url_for(".rsvp_page", meeting_id=meeting_id, token=token))
    elif request.method == "GET":
        form.answer.data = request.args.get("antwort") or (
            current.value if current else None)
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/rsvp.html", meeting=meeting, form=form, current=current,
                           problem=problem, summary=calendar.summary(meeting)), status


def _meeting_or_404(meeting_id) -> Meeting:
    meeting = meetings.find(meeting_id)
    if meeting is None:
        abort(404)
    return meeting


def _meeting_form(meeting: Meeting | None = None) -> MeetingForm:
    form = MeetingForm()
    form.district.choices = district_choices(all_districts())
    form.venue_id.choices = [SelectChoice("", _("(no venue yet)"))] + [
        SelectChoice(str(v.id), f"{v.name} ({v.district})") for v in venues.all_venues()]
    if meeting is not None and request.method == "GET":
        form.start.data = local_text(meeting.start_at).replace(" ", "T")
        form.end.data = local_text(meeting.end_at).replace(" ", "T")
        form.district.data = meeting.district
        form.venue_id.data = str(meeting.venue_id or "")
        form.topic.data = meeting.topic
        form.description.data = meeting.description
        form.notes.data = meeting.organiser_notes
    return form


def _meeting_fields(form: MeetingForm) -> dict:
    return {
        "start": parse_local(form.start.data, _("Start")),
        "end": parse_local(form.end.data, _("End")),
        "district": form.district.data, "venue_id": form.venue_id.data or None,
        "topic": form.topic.data, "description": form.description.data,
        "notes": form.notes.data,
    }


def _done(action, success: str):
    """Run a service ``action``; on success commit (and send what it queued) and say
    so. Returns what the action changed (every one here returns it), or None after a
    user error, which ``attempt`` has shown."""
    ok, changed = attempt(action)
    if not ok:
        return None
    outbox.commit_and_deliver()
    flash(success, "success")
    return changed


@bp.get("/organisation/")
@organiser_required
def meeting_list():
    return render_template("meetings/meetings.html", meetings=meetings.upcoming_and_recent())


@bp.route("/organisation/treffen/neu", methods=["GET", "POST"])
@organiser_required
def new_meeting():
    form = _meeting_form()
    if form.validate_on_submit():
        created = _done(lambda: meetings.create(actor=g.organiser.email, **_meeting_fields(form)),
                        _("The meeting has been saved as a draft."))
        if created:
            return redirect(url_for(".meeting", meeting_id=created.id))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/meeting_form.html", form=form, meeting=None), status


@bp.route("/organisation/treffen/<int:meeting_id>", methods=["GET", "POST"])
@organiser_required
def meeting(meeting_id):
    meeting = _meeting_or_404(meeting_id)
    form = _meeting_form(meeting)
    if form.validate_on_submit() and _done(
            lambda: meetings.update(meeting, actor=g.organiser.email, **_meeting_fields(form)),
            _("The changes have been saved.")):
        return redirect(url_for(".meeting", meeting_id=meeting.id))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/meeting_form.html", form=form, meeting=meeting,
                           cancel_form=CancelForm(), button=ButtonForm(),
                           announcements=announcements.for_meeting(meeting),
                           counts=rsvp.counts(meeting), answers=rsvp.answers(meeting)), status


@bp.get("/organisation/treffen/<int:meeting_id>/antworten.csv")
@organiser_required
def answers_export(meeting_id):
    meeting = _meeting_or_404(meeting_id)
    stream = io.StringIO()
    rsvp.export(meeting, stream)
    return Response(stream.getvalue(), headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": f"attachment; filename=antworten-treffen-{meeting.id}.csv"})


@bp.post("/organisation/treffen/<int:meeting_id>/ankuendigen")
@organiser_required
def announce_meeting(meeting_id):
    meeting = _meeting_or_404(meeting_id)
    if ButtonForm().validate_on_submit():
        _done(lambda: meetings.announce(meeting, actor=g.organiser.email),
              _("The meeting is announced."))
    return redirect(url_for(".meeting", meeting_id=meeting_id))


@bp.post("/organisation/treffen/<int:meeting_id>/absagen")
@organiser_required
def cancel_meeting(meeting_id):
    meeting = _meeting_or_404(meeting_id)
    form = CancelForm()
    if form.validate_on_submit():
        _done(lambda: meetings.cancel(meeting, actor=g.organiser.email, reason=form.reason.data),
              _("The meeting is cancelled."))
    return redirect(url_for(".meeting", meeting_id=meeting_id))


@bp.route("/organisation/treffen/<int:meeting_id>/ankuendigung", methods=["GET", "POST"])
@organiser_required
def announcement(meeting_id):
    meeting = _meeting_or_404(meeting_id)
    form = AnnouncementForm()
    preview = None
    status = 200
    if form.validate_on_submit():
        if form.preview.data:
            ok, message = attempt(lambda: announcements.preview(
                meeting, subject=form.subject.data, body=form.body.data,
                reader_email=g.organiser.email, reader_name=g.organiser.name))
            if ok:
                preview = {"subject": message.subject, "text": message.text,
                           "html": message.html}
        else:
            ok = _done(lambda: announcements.schedule(
                meeting, actor=g.organiser.email, subject=form.subject.data,
                body=form.body.data,
                send_at=parse_local(form.send_at.data, _("Send at")) if form.send_at.data
                else None), _("The announcement is scheduled."))
            if ok:
                return redirect(url_for(".meeting", meeting_id=meeting_id))
        status = 200 if ok else 400
    return render_template("meetings/announcement.html", form=form, meeting=meeting,
                           preview=preview), status


def _venue_fields(form: VenueForm) -> dict:
    return {name: form[name].data for name in (
        "name", "address", "district", "host_organisation", "contact", "step_free",
        "transit_stop", "accessibility_notes", "capacity")}


@bp.route("/organisation/orte", methods=["GET", "POST"])
@organiser_required
def venue_list():
    form = VenueForm()
    form.district.choices = district_choices(all_districts())
    if form.validate_on_submit() and _done(
            lambda: venues.add_venue(actor=g.organiser.email, **_venue_fields(form)),
            _("The venue has been added.")):
        return redirect(url_for(".venue_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/venues.html", form=form,
                           venues=venues.all_venues()), status


@bp.route("/organisation/orte/<int:venue_id>", methods=["GET", "POST"])
@organiser_required
def venue(venue_id):
    venue = venues.find(venue_id)
    if venue is None:
        abort(404)
    form = VenueForm(obj=venue)
    form.district.choices = district_choices(all_districts())
    form.submit.label.text = _("Save")
    if form.validate_on_submit() and _done(
            lambda: venues.update_venue(venue, actor=g.organiser.email, **_venue_fields(form)),
            _("The changes have been saved.")):
        return redirect(url_for(".venue_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/venue_form.html", form=form, venue=venue), status
