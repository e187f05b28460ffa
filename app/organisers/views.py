"""Organiser sign-in by one-time link, sign-out, and the audit log. Loads the
signed-in organiser (``g.organiser``) for every request, which the guards in
``shared.web`` check."""

from flask import Blueprint, g, redirect, render_template, request, session, url_for

from ..extensions import csrf
from ..shared import audit
from ..shared.forms import ButtonForm
from ..shared.tokens import TokenError
from ..shared.web import admin_required, carry_out, client_ip
from . import services as organisers
from .forms import SigninForm

bp = Blueprint("organisers", __name__, url_prefix="/organisation")


@bp.before_app_request
def load_organiser():
    g.organiser = organisers.active(session.get("organiser_id"),
                                    session.get("organiser_session"))


@bp.app_context_processor
def signin_lifetime():
    return {"signin_minutes": organisers.signin_minutes}


@bp.route("/anmelden", methods=["GET", "POST"])
@csrf.exempt  # a PublicForm: checks its own signed token
def signin():
    form = SigninForm()
    if form.validate_on_submit():
        ok, _result = carry_out(lambda: organisers.request_signin(form.email.data, ip=client_ip()),
                              field=form.email)
        if ok:
            return render_template("organisers/signin_sent.html")
    return render_template("organisers/signin.html", form=form), 400 if form.errors else 200


@bp.route("/anmelden/<token>", methods=["GET", "POST"])
def signin_link(token):
    """A GET only shows the button (mail scanners open links); the POST signs in."""
    form = ButtonForm()
    try:
        if form.validate_on_submit():
            _ok, organiser = carry_out(lambda: organisers.sign_in(token))
            session.clear()  # a fresh session: no fixation
            session["organiser_id"] = organiser.id
            session["organiser_session"] = organiser.session_version
            session.permanent = True
            return redirect(url_for("meetings_orga.meeting_list"))
        organisers.check_signin(token)
    except TokenError as error:
        return render_template("organisers/signin_problem.html", reason=error.reason), 400
    return render_template("organisers/signin_confirm.html", form=form)


@bp.post("/abmelden")
def signout():
    if ButtonForm().validate_on_submit():
        if g.organiser is not None:
            carry_out(lambda: organisers.sign_out(g.organiser))
        session.clear()
    return redirect(url_for("subscriptions.index"))


@bp.get("/protokoll")
@admin_required
def audit_log():
    """The audit log in words, filtered by area, person and text, 50 entries a page."""
    filters = {name: (request.args.get(name) or "").strip()[:200]
               for name in ("area", "actor", "text")}
    page = request.args.get("seite", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    entries, total = audit.search(page=page, **filters)
    return render_template("organisers/audit.html", entries=entries, total=total, page=page,
                           pages=max(1, -(-total // audit.PAGE_SIZE)), filters=filters,
                           areas=audit.AREAS, describe=audit.describe)
