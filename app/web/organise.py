"""The organiser area: meetings, venues, announcements, the list, the audit log.

Thin views: they read the form, call a service with the organiser as actor, commit.
"""

import io
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import (Blueprint, Response, abort, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from wtforms import SelectChoice

from ..districts import all_districts
from ..extensions import db
from ..models import AuditEntry, Meeting, Subscriber, SubscriberStatus
from ..services import (InvalidInput, announcements, audit, meetings, outbox, subscriber_csv,
                        venues)
from ..timeutil import local_text, parse_local
from .auth import admin_required, organiser_required
from .forms import (AnnouncementForm, ButtonForm, CancelForm, ImportForm, MeetingForm, VenueForm,
                    district_choices)

bp = Blueprint("organise", __name__, url_prefix="/organisation")


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


def _attempt(action, success: str) -> bool:
    """Run a service ``action`` and commit; on bad input roll back and say why."""
    try:
        action()
    except InvalidInput as error:
        db.session.rollback()
        flash(str(error), "error")
        return False
    outbox.commit_and_deliver()
    flash(success, "success")
    return True


@bp.get("/")
@organiser_required
def meeting_list():
    return render_template("organise/meetings.html", meetings=meetings.upcoming_and_recent())


@bp.route("/treffen/neu", methods=["GET", "POST"])
@organiser_required
def new_meeting():
    form = _meeting_form()
    created = []
    if form.validate_on_submit() and _attempt(
            lambda: created.append(meetings.create(actor=g.organiser.email,
                                                   **_meeting_fields(form))),
            _("The meeting has been saved as a draft.")):
        return redirect(url_for(".meeting", meeting_id=created[0].id))
    status = 400 if request.method == "POST" else 200
    return render_template("organise/meeting_form.html", form=form, meeting=None), status


@bp.route("/treffen/<int:meeting_id>", methods=["GET", "POST"])
@organiser_required
def meeting(meeting_id):
    meeting = _meeting_or_404(meeting_id)
    form = _meeting_form(meeting)
    if form.validate_on_submit() and _attempt(
            lambda: meetings.update(meeting, actor=g.organiser.email, **_meeting_fields(form)),
            _("The changes have been saved.")):
        return redirect(url_for(".meeting", meeting_id=meeting.id))
    status = 400 if request.method == "POST" else 200
    return render_template("organise/meeting_form.html", form=form, meeting=meeting,
                           cancel_form=CancelForm(), button=ButtonForm(),
                           announcements=announcements.for_meeting(meeting)), status


def _meeting_action(meeting_id, action, success):
    meeting = _meeting_or_404(meeting_id)
    _attempt(lambda: action(meeting), success)
    return redirect(url_for(".meeting", meeting_id=meeting_id))


@bp.post("/treffen/<int:meeting_id>/ankuendigen")
@organiser_required
def announce_meeting(meeting_id):
    if not ButtonForm().validate_on_submit():
        return redirect(url_for(".meeting", meeting_id=meeting_id))
    return _meeting_action(meeting_id,
                           lambda m: meetings.announce(m, actor=g.organiser.email),
                           _("The meeting is announced."))


@bp.post("/treffen/<int:meeting_id>/absagen")
@organiser_required
def cancel_meeting(meeting_id):
    form = CancelForm()
    if not form.validate_on_submit():
        return redirect(url_for(".meeting", meeting_id=meeting_id))
    return _meeting_action(meeting_id,
                           lambda m: meetings.cancel(m, actor=g.organiser.email,
                                                     reason=form.reason.data),
                           _("The meeting is cancelled."))


@bp.route("/treffen/<int:meeting_id>/ankuendigung", methods=["GET", "POST"])
@organiser_required
def announcement(meeting_id):
    meeting = _meeting_or_404(meeting_id)
    form = AnnouncementForm()
    preview = None
    status = 200
    if form.validate_on_submit():
        try:
            send_at = parse_local(form.send_at.data, _("Send at")) if form.send_at.data else None
            if form.preview.data:
                message = announcements.preview(
                    meeting, subject=form.subject.data, body=form.body.data,
                    reader_email=g.organiser.email, reader_name=g.organiser.name)
                preview = {"subject": message.subject, "text": message.text,
                           "html": message.html}
            else:
                announcements.schedule(meeting, actor=g.organiser.email,
                                       subject=form.subject.data, body=form.body.data,
                                       send_at=send_at)
                outbox.commit_and_deliver()
                flash(_("The announcement is scheduled."), "success")
                return redirect(url_for(".meeting", meeting_id=meeting_id))
        except InvalidInput as error:
            db.session.rollback()
            flash(str(error), "error")
            status = 400
    return render_template("organise/announcement.html", form=form, meeting=meeting,
                           preview=preview), status


def _venue_fields(form: VenueForm) -> dict:
    return {name: form[name].data for name in (
        "name", "address", "district", "host_organisation", "contact", "step_free",
        "transit_stop", "accessibility_notes", "capacity")}


@bp.route("/orte", methods=["GET", "POST"])
@organiser_required
def venue_list():
    form = VenueForm()
    form.district.choices = district_choices(all_districts())
    if form.validate_on_submit() and _attempt(
            lambda: venues.add_venue(actor=g.organiser.email, **_venue_fields(form)),
            _("The venue has been added.")):
        return redirect(url_for(".venue_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("organise/venues.html", form=form,
                           venues=venues.all_venues()), status


@bp.route("/orte/<int:venue_id>", methods=["GET", "POST"])
@organiser_required
def venue(venue_id):
    venue = venues.find(venue_id)
    if venue is None:
        abort(404)
    form = VenueForm(obj=venue)
    form.district.choices = district_choices(all_districts())
    form.submit.label.text = _("Save")
    if form.validate_on_submit() and _attempt(
            lambda: venues.update_venue(venue, actor=g.organiser.email, **_venue_fields(form)),
            _("The changes have been saved.")):
        return redirect(url_for(".venue_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("organise/venue_form.html", form=form, venue=venue), status


@bp.get("/verteiler")
@admin_required
def subscriber_list():
    query = sa.select(Subscriber).order_by(Subscriber.email)
    search = (request.args.get("q") or "").strip()
    status = request.args.get("status") or ""
    district = request.args.get("district") or ""
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(sa.or_(Subscriber.email.like(pattern),
                                   sa.func.lower(Subscriber.name).like(pattern),
                                   sa.func.lower(Subscriber.organisation).like(pattern)))
    if status in {s.value for s in SubscriberStatus}:
        query = query.where(Subscriber.status == status)
    if district:
        query = query.where(Subscriber.district == district)
    counts = dict(db.session.execute(
        sa.select(Subscriber.status, sa.func.count()).group_by(Subscriber.status)).all())
    return render_template("organise/subscribers.html",
                           subscribers=db.session.scalars(query.limit(500)).all(),
                           counts=counts, districts=all_districts(), search=search,
                           status=status, district=district, form=ImportForm())


@bp.post("/verteiler/import")
@admin_required
def subscriber_import():
    form = ImportForm()
    report = None
    status = 400
    if form.validate_on_submit() and form.file.data:
        try:
            report = subscriber_csv.preview(form.file.data.read())
            if form.apply.data:
                added = subscriber_csv.apply(report, consent_note=form.consent_note.data,
                                             confirm_by_mail=form.confirm_by_mail.data)
                audit.record(g.organiser.email, "subscribers.import", None, added=added,
                             confirm_by_mail=bool(form.confirm_by_mail.data))
                outbox.commit_and_deliver()
                flash(_("%(count)d people have been imported.", count=added), "success")
                return redirect(url_for(".subscriber_list"))
            status = 200
        except InvalidInput as error:
            db.session.rollback()
            flash(str(error), "error")
    return render_template("organise/import_report.html", report=report, form=form), status


@bp.get("/verteiler/export.csv")
@admin_required
def subscriber_export():
    stream = io.StringIO()
    subscriber_csv.export(stream)
    audit.record(g.organiser.email, "subscribers.export")
    db.session.commit()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    return Response(stream.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=verteiler-{stamp}.csv"})


@bp.get("/protokoll")
@admin_required
def audit_log():
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(300))
    return render_template("organise/audit.html", entries=entries)


@bp.get("/versand")
@organiser_required
def deliveries():
    """Per send: how far it is, and what failed (with the SMTP answer)."""
    return render_template("organise/deliveries.html", sends=outbox.status(),
                           pending=outbox.pending())
