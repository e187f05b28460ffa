"""Pages of the NetzWerkStatt: the public registration form, the person's pages
behind the links in their mails (confirm, status with cancelling, offer), and the
organisers' page with places, lists, moves and the host's export."""

import io

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..extensions import csrf
from ..meetings import services as meetings
from ..shared.forms import ButtonForm
from ..shared.tokens import TokenError
from ..shared.web import carry_out, client_ip, or_404, organiser_required
from . import services as registrations
from .forms import MemberRegistrationForm, OfferForm, RegistrationForm, SettingsForm
from .models import RegistrationStatus

bp = Blueprint("registrations", __name__)


@bp.app_template_global()
def registration_places(meeting) -> dict | None:
    """Places of a NetzWerkStatt for public pages (None for other meetings)."""
    return registrations.places(meeting) if registrations.is_workshop(meeting) else None


@bp.app_template_global()
def open_workshops() -> list:
    return meetings.workshops_open()


@bp.app_template_global()
def member_registration_url(workshop, member) -> str:
    """A member's own link to register for ``workshop`` without confirming by mail."""
    return url_for("registrations.register_member", meeting_id=workshop.id,
                   token=registrations.member_token(member))


def _workshop_or_404(meeting_id, *, public: bool = True):
    meeting = meetings.find_public(meeting_id) if public else meetings.find(meeting_id)
    if not registrations.is_workshop(meeting):
        abort(404)
    return meeting


def _link_problem(error: TokenError):
    return render_template("registrations/link_problem.html", reason=error.reason), 400


@bp.route("/netzwerkstatt/<int:meeting_id>/anmelden", methods=["GET", "POST"])
@csrf.exempt  # a PublicForm: checks its own signed token
def register(meeting_id):
    """The public form. Every accepted registration gets the same answer."""
    meeting = _workshop_or_404(meeting_id)
    form = RegistrationForm()
    if form.validate_on_submit():
        ok, registration = carry_out(lambda: registrations.register(
            meeting, email=form.email.data, **_details(form), ip=client_ip()), form=form)
        if ok:
            return render_template("registrations/check_your_mail.html", meeting=meeting,
                                   held_back=registration is None)
    return _form_page(meeting, form)


@bp.route("/netzwerkstatt/<int:meeting_id>/anmelden/<token>", methods=["GET", "POST"])
@csrf.exempt  # a PublicForm: checks its own signed token
def register_member(meeting_id, token):
    """A member's own link: registered at once, the status page follows."""
    meeting = _workshop_or_404(meeting_id)
    try:
        member = registrations.member_from_link(token)
    except TokenError as error:
        return _link_problem(error)
    form = MemberRegistrationForm(data={"name": member.name or "",
                                        "organisation": member.organisation or ""})
    if form.validate_on_submit():
        ok, registration = carry_out(lambda: registrations.register(
            meeting, email=member.email, **_details(form), ip=client_ip(), member=member),
            form=form)
        if ok:
            return redirect(url_for(".status", token=registrations.status_token(registration)))
    return _form_page(meeting, form, member=member)


def _details(form) -> dict:
    return {"name": form.name.data, "organisation": form.organisation.data,
            "children": form.children.data, "children_ages": form.children_ages.data,
            "access_needs": form.access_needs.data, "consent": form.consent.data,
            "language": str(get_locale())}


def _form_page(meeting, form, *, member=None):
    status = 400 if request.method == "POST" else 200
    return render_template("registrations/register.html", form=form, meeting=meeting,
                           member=member, closed=registrations.closed_reason(meeting),
                           places=registrations.places(meeting)), status


@bp.route("/netzwerkstatt/bestaetigen/<token>", methods=["GET", "POST"])
def confirm(token):
    """A GET only shows the button (mail scanners open links); the POST confirms."""
    form = ButtonForm()
    try:
        registration = registrations.check_confirm_token(token)
        if form.validate_on_submit():
            ok, _result = carry_out(lambda: registrations.confirm(token))
            if ok:
                return redirect(url_for(".status", token=registrations.status_token(registration)))
    except TokenError as error:
        return _link_problem(error)
    return render_template("registrations/confirm.html", form=form,
                           meeting=meetings.find(registration.meeting_id))


@bp.route("/netzwerkstatt/anmeldung/<token>", methods=["GET", "POST"])
def status(token):
    """Where the registration stands (waiting position included). Cancelling asks
    first: the button's POST shows the question, only the answer "yes" cancels."""
    try:
        registration = registrations.from_status_link(token)
    except TokenError as error:
        return _link_problem(error)
    form = ButtonForm()
    asking = form.validate_on_submit() and request.form.get("sure") != "yes"
    if form.validate_on_submit() and not asking:
        ok, _result = carry_out(
            lambda: registrations.cancel(registration),
            _("Your registration is cancelled. Thank you for letting us know."))
        if ok:
            return redirect(url_for(".status", token=token))
    status_code = 400 if request.method == "POST" and not asking else 200
    return render_template("registrations/status.html", registration=registration, form=form,
                           asking=asking,
                           meeting=meetings.find(registration.meeting_id),
                           position=registrations.position(registration),
                           childcare_full=registrations.waits_for_childcare(
                               registration, meetings.find(registration.meeting_id))), \
        status_code


@bp.route("/netzwerkstatt/<int:registration_id>/angebot/<token>", methods=["GET", "POST"])
def offer(registration_id, token):
    """The offer of a freed place: take it or decline, by button (never by the GET)."""
    try:
        registration = registrations.offer_of(registration_id, token)
    except TokenError as error:
        return _link_problem(error)
    form = OfferForm()
    if form.validate_on_submit():
        accept = bool(form.accept.data)
        ok, _result = carry_out(
            lambda: registrations.answer_offer(registration_id, token, accept=accept),
            _("The place is yours. See you there!") if accept else
            _("Thank you for letting us know; the place goes to the next person."))
        if ok:
            return redirect(url_for(".status", token=registrations.status_token(registration)))
    status_code = 400 if request.method == "POST" else 200
    return render_template("registrations/offer.html", registration=registration, form=form,
                           meeting=meetings.find(registration.meeting_id)), status_code


@bp.route("/organisation/netzwerkstatt/<int:meeting_id>", methods=["GET", "POST"])
@organiser_required
def manage(meeting_id):
    """Places, open or closed, and everyone by status; moves are audited."""
    meeting = _workshop_or_404(meeting_id, public=False)
    form = SettingsForm()
    if request.method == "GET":
        form.registration_open.data = meeting.registration_open
        form.capacity.data = meeting.capacity if meeting.capacity is not None else ""
        form.childcare_capacity.data = meeting.childcare_capacity \
            if meeting.childcare_capacity is not None else ""
    elif form.validate_on_submit():
        ok, _result = carry_out(lambda: registrations.configure(
            meeting, actor=g.organiser.email, open_=form.registration_open.data,
            capacity=form.capacity.data, childcare_capacity=form.childcare_capacity.data),
            _("The changes have been saved."), form=form)
        if ok:
            return redirect(url_for(".manage", meeting_id=meeting_id))
    status_code = 400 if request.method == "POST" else 200
    return render_template("registrations/manage.html", meeting=meeting, form=form,
                           button=ButtonForm(), lists=registrations.lists(meeting),
                           places=registrations.places(meeting),
                           tally=registrations.tally(meeting),
                           statuses=RegistrationStatus), status_code


@bp.post("/organisation/netzwerkstatt/anmeldung/<int:registration_id>/<any(platz, warteliste, "
         "absagen):action>")
@organiser_required
def move(registration_id, action):
    registration = or_404(registrations.find(registration_id))
    if ButtonForm().validate_on_submit():
        carry_out(lambda: registrations.move(registration, action, actor=g.organiser.email),
                  _("%(name)s has been moved.", name=registration.name))
    return redirect(url_for(".manage", meeting_id=registration.meeting_id))


@bp.get("/organisation/netzwerkstatt/<int:meeting_id>/teilnehmende.csv")
@organiser_required
def export(meeting_id):
    meeting = _workshop_or_404(meeting_id, public=False)
    stream = io.StringIO()
    registrations.export(meeting, stream)
    return Response(stream.getvalue(), headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": f"attachment; filename=netzwerkstatt-{meeting.id}.csv"})
