"""Pages of the distribution list: subscribe, confirm, unsubscribe and preferences
for everyone; the list itself (search, import, export) for admins."""

import io
from datetime import UTC, datetime
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
from flask_babel import get_locale
from flask_babel import gettext as _

from ..delivery import outbox
from ..extensions import csrf, db
from ..shared.districts import all_districts
from ..shared.forms import ButtonForm, district_choices
from ..shared.tokens import TokenError
from ..shared.web import admin_required, attempt, client_ip, user_agent
from . import consent, csv_io, mails
from . import services as subscribers
from .forms import ImportForm, OneClickForm, PreferencesForm, SubscribeForm, sector_choices
from .models import ConsentSource

bp = Blueprint("subscriptions", __name__)


@bp.route("/", methods=["GET", "POST"])
def index():
    """Home page with the subscribe form. Every valid submission gets the same answer."""
    form = SubscribeForm()
    language = str(get_locale())
    if form.validate_on_submit():
        if form.website.data:  # a bot filled in the honeypot
            return render_template("subscriptions/check_your_mail.html")
        ok, _result = attempt(lambda: subscribers.subscribe(
            form.email.data, form.name.data, ip=client_ip(), user_agent=user_agent(),
            language=language), field=form.email)
        if ok:
            outbox.commit_and_deliver()
            return render_template("subscriptions/check_your_mail.html")
    status = 400 if form.errors else 200
    return render_template("subscriptions/index.html", form=form,
                           consent_text=consent.current_text(language)), status


def _token_problem(error: TokenError, token: str | None = None, status: int = 400):
    return render_template("subscriptions/token_problem.html", reason=error.reason,
                           token=token, form=ButtonForm()), status


@bp.route("/bestaetigen/<token>", methods=["GET", "POST"])
def confirm(token):
    """A GET only shows the button (mail scanners open links); the POST confirms."""
    form = ButtonForm()
    try:
        if form.validate_on_submit():
            subscriber = subscribers.confirm(token, ip=client_ip(), user_agent=user_agent())
            outbox.commit_and_deliver()
            return render_template("subscriptions/confirmed.html", subscriber=subscriber)
        subscribers.check_confirm_token(token)
    except TokenError as error:
        return _token_problem(error, token if error.payload else None)
    return render_template("subscriptions/confirm.html", form=form)


@bp.post("/bestaetigen/<token>/neu")
def resend(token):
    """Send a new confirmation link for an expired one."""
    if ButtonForm().validate_on_submit():
        subscribers.resend_confirmation(token, ip=client_ip())
        outbox.commit_and_deliver()
    return render_template("subscriptions/check_your_mail.html")


@bp.route("/abmelden/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the provider's POST has no cookies and no CSRF token
def unsubscribe(token):
    """GET shows a button; a POST of ``List-Unsubscribe=One-Click`` unsubscribes at once."""
    try:
        # Unsubscribing works with any genuine link, however old (RFC 8058, and
        # German law wants it easy); only forged or erased ones are refused.
        subscriber = subscribers.from_link("unsubscribe", token, allow_expired=True)
    except TokenError as error:
        return _token_problem(error)
    if request.method == "POST":
        if request.form.get("List-Unsubscribe") != "One-Click":
            return render_template("error.html", message=_("This request is incomplete.")), 400
        subscribers.unsubscribe(subscriber, ConsentSource.FORM, ip=client_ip(),
                                user_agent=user_agent())
        outbox.commit_and_deliver()
        return render_template("subscriptions/unsubscribed.html")
    return render_template("subscriptions/unsubscribe.html", form=OneClickForm(),
                           subscriber=subscriber)


@bp.route("/einstellungen/<token>", methods=["GET", "POST"])
def preferences(token):
    try:
        subscriber = subscribers.from_link("preferences", token)
    except TokenError as error:
        return _token_problem(error)
    form = PreferencesForm(obj=subscriber)
    form.district.choices = district_choices(all_districts())
    form.sector.choices = sector_choices()
    if request.method == "GET":
        form.sector.data = subscriber.sector.value if subscriber.sector else ""
    status = 200
    if form.validate_on_submit():
        ok, _result = attempt(lambda: subscribers.update_preferences(
            subscriber, name=form.name.data, organisation=form.organisation.data,
            district=form.district.data, sector=form.sector.data, language=form.language.data))
        if not ok:
            status = 400
        else:
            outbox.commit_and_deliver()
            flash(_("Your settings have been saved."), "success")
            return redirect(url_for(".preferences", token=token))
    elif request.method == "POST":
        status = 400
    return render_template("subscriptions/preferences.html", form=form, subscriber=subscriber,
                           token=token, links=mails.subscriber_links(subscriber)), status


@bp.get("/einstellungen/<token>/daten.json")
def personal_data(token):
    try:
        subscriber = subscribers.from_link("preferences", token)
    except TokenError as error:
        return _token_problem(error)
    response = jsonify(subscribers.personal_data(subscriber))
    response.headers["Content-Disposition"] = "attachment; filename=vernetzer-daten.json"
    return response


@bp.get("/sprache/<code>")
def language(code):
    """Remember the visitor's language choice, then go back where they were."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    target = request.args.get("next", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        target = "/"  # never redirect to another site
    response = redirect(target)
    response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


@bp.get("/organisation/verteiler")
@admin_required
def subscriber_list():
    search = (request.args.get("q") or "").strip()
    status = request.args.get("status") or ""
    district = request.args.get("district") or ""
    return render_template("subscriptions/list.html",
                           subscribers=subscribers.search(search, status, district),
                           counts=subscribers.counts(), districts=all_districts(),
                           search=search, status=status, district=district, form=ImportForm())


@bp.post("/organisation/verteiler/import")
@admin_required
def subscriber_import():
    form = ImportForm()
    report = None
    status = 400
    if form.validate_on_submit() and form.file.data:
        ok, report = attempt(lambda: csv_io.preview(form.file.data.read()))
        if ok and form.apply.data:
            applied, added = attempt(lambda: csv_io.apply(
                report, consent_note=form.consent_note.data,
                confirm_by_mail=form.confirm_by_mail.data, actor=g.organiser.email))
            if applied:
                outbox.commit_and_deliver()
                flash(_("%(count)d people have been imported.", count=added), "success")
                return redirect(url_for(".subscriber_list"))
        elif ok:
            status = 200
    return render_template("subscriptions/import_report.html", report=report, form=form), status


@bp.get("/organisation/verteiler/export.csv")
@admin_required
def subscriber_export():
    stream = io.StringIO()
    csv_io.export(stream, actor=g.organiser.email)
    db.session.commit()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    return Response(stream.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=verteiler-{stamp}.csv"})
