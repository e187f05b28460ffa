"""The meetings' public pages: the archive, a meeting's page and file, the calendar
feed, the blog widget and its JSON, and the pages behind a member's answer links.

Thin views: they read the form, call a service, and commit through ``carry_out``.
"""


from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from ...extensions import csrf, talisman
from ...shared import markup
from ...shared.database import utcnow
from ...shared.districts import all_districts
from ...shared.public_pages import public_page
from ...shared.urls import external_url
from ...shared.web import carry_out, client_ip, or_404
from ...subscriptions.mails import calendar_links
from .. import api, calendar, rsvp
from .. import services as meetings
from ..forms import (
    RsvpForm,
    RsvpRequestForm,
)
from ..models import AnswerSource, Meeting, MeetingKind, MeetingStatus

bp = Blueprint("meetings", __name__)
bp.add_app_template_global(rsvp.answer_label)


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
    meeting = or_404(meetings.find_public(meeting_id))
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
    meeting = or_404(meetings.find_public(meeting_id))
    form = RsvpRequestForm()
    if form.validate_on_submit():
        ok, sent = carry_out(lambda: rsvp.request_link(meeting, form.email.data,
                                                       form.answer.data, ip=client_ip()),
                             field=form.email)
        if ok:
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


@bp.get("/treffen/<int:meeting_id>.ics")
def meeting_file(meeting_id):
    meeting = or_404(meetings.find_public(meeting_id))
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
    closed = rsvp.closed_reason(meeting)
    if closed is None and form.validate_on_submit():
        ok, _row = carry_out(
            lambda: rsvp.record(meeting, subscriber, form.answer.data, AnswerSource.LINK),
            _("Thank you, your answer has been saved. You can change it here until the "
              "meeting starts."))
        if ok:
            return redirect(url_for(".rsvp_page", meeting_id=meeting_id, token=token))
    elif request.method == "GET":
        form.answer.data = request.args.get("antwort") or (
            current.value if current else None)
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/rsvp.html", meeting=meeting, form=form, current=current,
                           closed=closed, summary=calendar.summary(meeting)), status

