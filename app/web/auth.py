"""Organiser sign-in by one-time link, sign-out, and the guards of the organiser area."""

import functools

from flask import Blueprint, abort, g, redirect, render_template, session, url_for

from ..services import InvalidInput, organisers, outbox
from ..services.tokens import TokenError
from . import client_ip
from .forms import ButtonForm, SigninForm

bp = Blueprint("auth", __name__, url_prefix="/organisation")


@bp.before_app_request
def load_organiser():
    g.organiser = organisers.active(session.get("organiser_id"))


def organiser_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.organiser is None:
            return redirect(url_for("auth.signin"))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @functools.wraps(view)
    @organiser_required
    def wrapped(*args, **kwargs):
        if not g.organiser.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/anmelden", methods=["GET", "POST"])
def signin():
    form = SigninForm()
    if form.validate_on_submit():
        try:
            organisers.request_signin(form.email.data, ip=client_ip())
        except InvalidInput as error:
            form.email.errors.append(str(error))
        else:
            outbox.commit_and_deliver()
            return render_template("auth/signin_sent.html")
    return render_template("auth/signin.html", form=form), 400 if form.errors else 200


@bp.route("/anmelden/<token>", methods=["GET", "POST"])
def signin_link(token):
    """A GET only shows the button (mail scanners open links); the POST signs in."""
    form = ButtonForm()
    try:
        if form.validate_on_submit():
            organiser = organisers.sign_in(token)
            outbox.commit_and_deliver()
            session.clear()  # a fresh session: no fixation
            session["organiser_id"] = organiser.id
            session.permanent = True
            return redirect(url_for("organise.meeting_list"))
        organisers.check_signin(token)
    except TokenError as error:
        return render_template("auth/signin_problem.html", reason=error.reason), 400
    return render_template("auth/signin_confirm.html", form=form)


@bp.post("/abmelden")
def signout():
    if ButtonForm().validate_on_submit():
        session.clear()
    return redirect(url_for("subscriptions.index"))
