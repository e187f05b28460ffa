"""The public calendar feed and meeting pages."""

from flask import Blueprint, Response, abort, render_template

from ..models import MeetingStatus
from ..services import calendar, markup, meetings

bp = Blueprint("calendar", __name__)


@bp.get("/kalender.ics")
def feed():
    return Response(calendar.feed(), mimetype="text/calendar",
                    headers={"Content-Disposition": "inline; filename=stadtteilvernetzer.ics"})


@bp.get("/treffen/<int:meeting_id>")
def meeting(meeting_id):
    meeting = meetings.find(meeting_id)
    if meeting is None or meeting.status == MeetingStatus.DRAFT:
        abort(404)
    return render_template("calendar/meeting.html", meeting=meeting,
                           description=markup.render(meeting.description),
                           summary=calendar.summary(meeting))
