"""Pages of what came out of meetings: the organisers' close-out of a meeting, the
public Werkzeugkoffer and the organisers' introductions to its phases.

Thin views: they read the form, call a service, and commit through ``carry_out``.
"""

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from ...meetings import services as meetings
from ...shared.web import carry_out, or_404, organiser_required
from .. import closeout, projects, toolbox
from ..forms import CloseOutForm, IntroForm

bp = Blueprint("toolbox", __name__)

EMPTY_ROWS = 3  # blank rows for more follow-ups and insights


@bp.get("/werkzeugkoffer")
def phases():
    """Per phase: the organisers' introduction, the insights of meetings and
    NetzWerkStätten, and the projects, newest first."""
    return render_template("knowledge/toolbox.html", phases=toolbox.phases())


@bp.route("/organisation/werkzeugkoffer", methods=["GET", "POST"])
@organiser_required
def intros():
    form = IntroForm(data=toolbox.intros())
    if form.validate_on_submit():
        ok, _result = carry_out(lambda: toolbox.write_intros(
            {key: form[key].data for key in projects.PHASE_LABELS}, actor=g.organiser.email),
            _("The introductions are saved."), form=form)
        if ok:
            return redirect(url_for(".phases"))
    status = 400 if request.method == "POST" else 200
    return render_template("knowledge/intros.html", form=form), status


def _close_out_form(page: closeout.CloseOutPage) -> CloseOutForm:
    """The form, filled from what is stored (a GET) or from what was typed (a POST),
    with blank rows to add to."""
    stored = None if request.method == "POST" else {
        "attendance": page.attendance, "walk_ins": page.walk_ins,
        "record": page.meeting.record, "projects": [str(p) for p in page.presented],
        "follow_ups": [{"task": f.task, "person": f.person, "due": f.due.isoformat()}
                       for f in page.follow_ups],
        "insights": [{"phase": i.phase, "text": i.text} for i in page.insights]}
    form = CloseOutForm(data=stored)
    if request.method == "GET":
        for rows in (form.follow_ups, form.insights):
            for _row in range(EMPTY_ROWS):
                rows.append_entry()
    phase_choices = [SelectChoice("", _("Phase …"))] + [
        SelectChoice(key, str(label)) for key, label in projects.PHASE_LABELS.items()]
    for row in form.insights:
        row.phase.choices = phase_choices
    published, _spread = projects.atlas()
    form.projects.choices = [SelectChoice(str(p.id), f"{p.name} ({p.district})")
                             for p in published]
    return form


@bp.route("/organisation/treffen/<int:meeting_id>/abschluss", methods=["GET", "POST"])
@organiser_required
def close_out(meeting_id):
    """After a meeting: who came, the record, projects presented, follow-ups, and the
    record's insights by phase."""
    meeting = or_404(meetings.find(meeting_id))
    page = closeout.page(meeting)
    form = _close_out_form(page)
    if form.validate_on_submit():
        ok, _closed = carry_out(lambda: closeout.close_out(
            meeting, attendance=form.attendance.data, walk_ins=form.walk_ins.data,
            record=form.record.data, project_ids=form.projects.data,
            follow_ups=[(row.task.data, row.person.data, row.due.data)
                        for row in form.follow_ups],
            insights=[(row.phase.data, row.text.data) for row in form.insights],
            actor=g.organiser.email),
            _("The meeting is closed out."), form=form)
        if ok:
            return redirect(url_for(".close_out", meeting_id=meeting.id))
    status = 400 if request.method == "POST" else 200
    return render_template("knowledge/close_out.html", form=form, page=page,
                           closed_reason=closeout.closed_reason(meeting)), status
