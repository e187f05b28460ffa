"""Pages of meetings: the public meeting page and calendar feed, and the organisers'
pages for meetings, venues and announcements.

Thin views: they read the form, call a service with the organiser as actor, commit.
"""

import io
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from wtforms import SelectChoice

from ..extensions import csrf, db, talisman
from ..shared import markup
from ..shared.database import utcnow
from ..shared.districts import all_districts
from ..shared.errors import Problems, UserError
from ..shared.forms import ButtonForm, district_choices
from ..shared.public_pages import public_page
from ..shared.timeutil import local, local_text, parse_local
from ..shared.urls import external_url
from ..shared.web import attempt, client_ip, organiser_required
from ..subscriptions.mails import calendar_links
from . import announcements, api, calendar, holidays_bw, invitations, rsvp, venues
from . import services as meetings
from .forms import (
    AnnouncementForm,
    CancelForm,
    DeleteForm,
    MeetingForm,
    PlanForm,
    RecordForm,
    RsvpForm,
    RsvpRequestForm,
    ScheduleForm,
    VenueForm,
)
from .models import AnnouncementStatus, AnswerSource, Meeting, MeetingKind, MeetingStatus

bp = Blueprint("meetings", __name__)
bp.add_app_template_global(rsvp.answer_label)


@bp.app_template_global()
def announcement_state(status: AnnouncementStatus) -> str:
    """An announcement's status in words for people."""
    return {AnnouncementStatus.DRAFT: _("draft, not confirmed"),
            AnnouncementStatus.SCHEDULED: _("scheduled"), AnnouncementStatus.SENT: _("sent"),
            AnnouncementStatus.CANCELLED: _("withdrawn")}[status]


@bp.app_template_global()
def next_meeting() -> Meeting | None:
    """The next meeting people can come to (shown on the home page)."""
    return meetings.next_announced()


@bp.app_template_global()
def following_meetings(meeting: Meeting) -> list[Meeting]:
    """The meetings after ``meeting`` in the same year (home page)."""
    return meetings.following(meeting)


@bp.app_template_global()
def calendar_subscription() -> dict[str, str]:
    """The feed's https and webcal addresses (home page)."""
    return calendar_links()


CALENDAR_HEADERS = {"Content-Type": "text/calendar; charset=utf-8",
                    "Cache-Control": "public, max-age=300"}


@bp.get("/kalender.ics")
@public_page
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
    meeting = meetings.find_public(meeting_id)
    if meeting is None:
        abort(404)
    return meeting


def _search_text(name: str, limit: int) -> str:
    """A search field from the query string, without control characters."""
    value = request.args.get(name, "")[:limit]
    return "".join(ch for ch in value if ch.isprintable()).strip()


@bp.get("/treffen")
@public_page
def archive():
    """Upcoming meetings and the archive by year, searchable by word, district, topic."""
    word, district, topic = (_search_text("q", 200), _search_text("bezirk", 60),
                             _search_text("thema", 200))
    return render_template("meetings/archive.html", upcoming=meetings.upcoming(),
                           years=meetings.archive(word=word, district=district, topic=topic),
                           word=word, district=district, topic=topic,
                           searched=bool(word or district or topic),
                           districts=all_districts(), topics=meetings.topics())


@bp.get("/treffen/<int:meeting_id>")
@public_page
def meeting_page(meeting_id):
    meeting = _published_or_404(meeting_id)
    return _public_meeting_page(meeting, RsvpRequestForm())


def _public_meeting_page(meeting: Meeting, rsvp_form, status: int = 200):
    past = meeting.start_at <= utcnow()
    answerable = meeting.kind == MeetingKind.MEETING and meeting.status == \
        MeetingStatus.ANNOUNCED and not past
    return render_template("meetings/meeting.html", meeting=meeting, past=past,
                           description=markup.render(meeting.description),
                           record=markup.render(meeting.record) if meeting.record else None,
                           summary=calendar.summary(meeting),
                           add_links=calendar.add_links(meeting),
                           rsvp_form=rsvp_form if answerable else None), status


@bp.post("/treffen/<int:meeting_id>/antwort")
@csrf.exempt  # a PublicForm: checks its own signed token
def rsvp_request(meeting_id):
    """"Ich komme" from the meeting page: members get their answer link by mail.
    The answer is the same for every address."""
    meeting = _published_or_404(meeting_id)
    form = RsvpRequestForm()
    if form.validate_on_submit():
        ok, sent = attempt(lambda: rsvp.request_link(meeting, form.email.data,
                                                     form.answer.data, ip=client_ip()),
                           field=form.email)
        if ok:
            db.session.commit()
            return render_template("meetings/rsvp_requested.html", meeting=meeting,
                                   held_back=not sent)
    return _public_meeting_page(meeting, form, 400)


def _widget_meetings(limit: int = 3) -> list[Meeting]:
    return meetings.upcoming(limit=limit)


@bp.get("/widget/naechstes-treffen")
@talisman(frame_options=None, content_security_policy=None)
@public_page
def widget():
    """For an iframe in the blog's sidebar: framable by this site and the origins in
    ``WIDGET_FRAME_ANCESTORS`` only (the rest of the site refuses every frame)."""
    response = Response(render_template(
        "meetings/widget.html", meetings=_widget_meetings(),
        meeting_url=calendar.meeting_url, archive_url=external_url("meetings.archive")))
    ancestors = " ".join(["'self'", current_app.config["WIDGET_FRAME_ANCESTORS"]]).strip()
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "base-uri 'none'; "
        f"form-action 'none'; frame-ancestors {ancestors}")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/api/treffen.json")
@public_page
def meetings_json():
    """Upcoming meetings as schema.org Events, readable from any site (CORS)."""
    response = jsonify(api.upcoming_events(meetings.upcoming()))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


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
                           widget_url=url_for(".widget"),
                           json_url=external_url("meetings.meetings_json"),
                           allowed=current_app.config["WIDGET_FRAME_ANCESTORS"])


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
            db.session.commit()
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


def _done(action, success: str, form=None):
    """Run a service ``action``; on success commit (the worker sends what it queued) and say
    so. Returns ``(ok, what the action returned or the user error)``; ``attempt``
    has shown the error (next to its fields of ``form``)."""
    ok, changed = attempt(action, form=form)
    if ok:
        db.session.commit()
        flash(success, "success")
    return ok, changed


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
        ok, result = _done(
            lambda: meetings.create(actor=g.organiser.email, kind=_kind(form),
                                    held=g.organiser.is_admin and form.held.data,
                                    record=form.record.data, **_meeting_fields(form)),
            _("The meeting has been entered in the archive.")
            if g.organiser.is_admin and form.held.data
            else _("The meeting has been saved as a draft."), form)
        if ok:
            return redirect(url_for(".meeting", meeting_id=result.id))
    return _meeting_page(form, None, result)


@bp.route("/organisation/treffen/<int:meeting_id>", methods=["GET", "POST"])
@organiser_required
def meeting(meeting_id):
    meeting = _meeting_or_404(meeting_id)
    form = _meeting_form(meeting)
    result = None
    if form.validate_on_submit():
        ok, result = _done(
            lambda: meetings.update(meeting, actor=g.organiser.email, notify=form.notify.data,
                                    **_meeting_fields(form)),
            _("The changes have been saved."), form)
        if ok:
            return redirect(url_for(".meeting", meeting_id=meeting.id))
    return _meeting_page(form, meeting, result)


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
        ok, _result = _done(lambda: meetings.announce(meeting, actor=g.organiser.email),
                            _("The meeting is announced."))
        if ok:
            forecast = invitations.meeting_forecast(meeting)
            flash(forecast.in_words(), "warning" if forecast.too_late else "info")
    return redirect(url_for(".meeting", meeting_id=meeting_id))


@bp.post("/organisation/treffen/<int:meeting_id>/bericht")
@organiser_required
def meeting_record(meeting_id):
    """The record "Was wir mitgenommen haben", once the meeting has taken place."""
    meeting = _meeting_or_404(meeting_id)
    form = RecordForm()
    if form.validate_on_submit():
        _done(lambda: meetings.write_record(meeting, form.record.data, actor=g.organiser.email),
              _("The record has been saved; it is public on the meeting's page."))
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


@bp.post("/organisation/treffen/<int:meeting_id>/loeschen")
@organiser_required
def delete_meeting(meeting_id):
    meeting = _meeting_or_404(meeting_id)
    form = DeleteForm()
    if not (form.validate_on_submit() and form.confirm.data):
        flash(_("Please tick the box to confirm that the draft is to be deleted."), "error")
        return redirect(url_for(".meeting", meeting_id=meeting_id))
    ok, _result = _done(lambda: meetings.delete_draft(meeting, actor=g.organiser.email),
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
        ok, created = _done(lambda: meetings.apply_plan(year, actor=g.organiser.email),
                            _("The proposal has been saved as drafts."))
        if ok and not created:
            flash(_("Nothing new to save: every quarter has its meeting."), "status")
        return redirect(url_for(".plan", jahr=year))
    proposals, unplanned, planned = meetings.plan(year)  # UserError: a German page
    form.year.data = year
    return render_template("meetings/plan.html", year=year, form=form, proposals=proposals,
                           unplanned=unplanned, planned=planned, explain=meetings.explain,
                           holidays_known=holidays_bw.school_holidays_known(year))


def _announcement_fields(form: AnnouncementForm) -> dict:
    return {"subject": form.subject.data, "body": form.body.data,
            "send_at": parse_local(form.send_at.data, _("Send at")) if form.send_at.data
            else None}


@bp.route("/organisation/treffen/<int:meeting_id>/ankuendigung", methods=["GET", "POST"])
@organiser_required
def announcement(meeting_id):
    """Write an announcement: saved as a draft, then previewed and confirmed."""
    meeting = _meeting_or_404(meeting_id)
    form = AnnouncementForm()
    if form.validate_on_submit():
        ok, written = _done(lambda: announcements.write(
            meeting, actor=g.organiser.email, **_announcement_fields(form)),
            _("Saved as a draft. Please check the preview, then confirm."))
        if ok:
            return redirect(url_for(".announcement_preview", announcement_id=written.id))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/announcement.html", form=form, meeting=meeting,
                           announcement=None), status


def _announcement_or_404(announcement_id):
    announcement = announcements.find(announcement_id)
    if announcement is None:
        abort(404)
    return announcement


@bp.route("/organisation/ankuendigungen/<int:announcement_id>/bearbeiten",
          methods=["GET", "POST"])
@organiser_required
def announcement_edit(announcement_id):
    announcement = _announcement_or_404(announcement_id)
    form = AnnouncementForm()
    if request.method == "GET":
        form.subject.data, form.body.data = announcement.subject, announcement.body
        form.send_at.data = local_text(announcement.send_at).replace(" ", "T")
    elif form.validate_on_submit():
        ok, _result = _done(lambda: announcements.change(
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
    announcement = _announcement_or_404(announcement_id)
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
    announcement = _announcement_or_404(announcement_id)
    message = announcements.preview(announcement, reader_email=g.organiser.email,
                                    reader_name=g.organiser.name)
    return Response(message.html, headers={"Content-Type": "text/html; charset=utf-8",
                                           "Cache-Control": "no-store"})


@bp.post("/organisation/ankuendigungen/<int:announcement_id>/test")
@organiser_required
def announcement_test(announcement_id):
    announcement = _announcement_or_404(announcement_id)
    if ButtonForm().validate_on_submit():
        _done(lambda: announcements.send_test(announcement, address=g.organiser.email,
                                              name=g.organiser.name),
              _("A test has been sent to %(email)s.", email=g.organiser.email))
    return redirect(url_for(".announcement_preview", announcement_id=announcement_id))


@bp.post("/organisation/ankuendigungen/<int:announcement_id>/einplanen")
@organiser_required
def announcement_schedule(announcement_id):
    announcement = _announcement_or_404(announcement_id)
    form = ScheduleForm()
    if form.validate_on_submit():
        ok, _result = _done(lambda: announcements.schedule(
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
    announcement = _announcement_or_404(announcement_id)
    if ButtonForm().validate_on_submit():
        _done(lambda: announcements.withdraw(announcement, actor=g.organiser.email),
              _("The announcement has been withdrawn; nothing of it is sent."))
    return redirect(url_for(".announcement_list"))


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
            _("The venue has been added."), form)[0]:
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
            _("The changes have been saved."), form)[0]:
        return redirect(url_for(".venue_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/venue_form.html", form=form, venue=venue), status
