"""Pages of the distribution list: subscribe, confirm, unsubscribe and preferences
for everyone; the list itself (search, import, export) for admins."""

from datetime import UTC, datetime
from email.utils import parseaddr
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
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from ..delivery import outbox
from ..extensions import csrf
from ..shared.districts import all_districts
from ..shared.forms import ButtonForm, district_choices
from ..shared.public_pages import public_page
from ..shared.tokens import TokenError
from ..shared.web import admin_required, carry_out, client_ip, user_agent
from . import consent, csv_io, mails
from . import services as subscribers
from .forms import (
    AddPersonForm,
    EraseForm,
    ImportApplyForm,
    ImportForm,
    OneClickForm,
    PersonForm,
    PreferencesForm,
    SubscribeForm,
    sector_choices,
)
from .models import ConsentSource

bp = Blueprint("subscriptions", __name__)


@bp.route("/", methods=["GET", "POST"])
@csrf.exempt  # a PublicForm: checks its own signed token
@public_page
def index():
    """Home page with the subscribe form. Every valid submission gets the same answer."""
    form = SubscribeForm()
    language = str(get_locale())
    if form.validate_on_submit():
        if form.website.data:  # a bot filled in the honeypot
            return render_template("subscriptions/check_your_mail.html")
        ok, sent = carry_out(lambda: subscribers.subscribe(
            form.email.data, form.name.data, ip=client_ip(), user_agent=user_agent(),
            language=language), field=form.email)
        if ok:
            return render_template("subscriptions/check_your_mail.html", held_back=not sent)
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
            _ok, subscriber = carry_out(
                lambda: subscribers.confirm(token, ip=client_ip(), user_agent=user_agent()))
            return render_template("subscriptions/confirmed.html", subscriber=subscriber)
        subscribers.check_confirm_token(token)
    except TokenError as error:
        return _token_problem(error, token if error.payload else None)
    return render_template("subscriptions/confirm.html", form=form)


@bp.post("/bestaetigen/<token>/neu")
def resend(token):
    """Send a new confirmation link for an expired one."""
    if ButtonForm().validate_on_submit():
        carry_out(lambda: subscribers.resend_confirmation(token, ip=client_ip()))
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
        carry_out(lambda: subscribers.unsubscribe(subscriber, ConsentSource.FORM,
                                                  ip=client_ip(), user_agent=user_agent()))
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
        form.post_delivery.data = subscriber.post_delivery.value
    if form.validate_on_submit():
        ok, _result = carry_out(lambda: subscribers.update_preferences(
            subscriber, name=form.name.data, organisation=form.organisation.data,
            district=form.district.data, sector=form.sector.data, language=form.language.data,
            post_delivery=form.post_delivery.data, follow_up_mail=form.follow_up_mail.data),
            _("Your settings have been saved."))
        if ok:
            return redirect(url_for(".preferences", token=token))
    status = 400 if request.method == "POST" else 200
    return render_template("subscriptions/preferences.html", form=form, subscriber=subscriber,
                           token=token, links=mails.subscriber_links(subscriber),
                           on_the_list=subscribers.is_active(subscriber),
                           button=ButtonForm()), status


@bp.post("/einstellungen/<token>/wieder-anmelden")
def subscribe_again(token):
    """From the settings page of someone who left: the double opt-in, as on the home
    page (a confirmation mail; the answer is the same as there)."""
    try:
        subscriber = subscribers.from_link("preferences", token)
    except TokenError as error:
        return _token_problem(error)
    if not ButtonForm().validate_on_submit():
        return redirect(url_for(".preferences", token=token))
    ok, sent = carry_out(lambda: subscribers.subscribe(
        subscriber.email, ip=client_ip(), user_agent=user_agent(),
        language=subscriber.language))
    if ok:
        return render_template("subscriptions/check_your_mail.html", held_back=not sent)
    return redirect(url_for(".preferences", token=token))


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
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target or not target.isprintable()):
        target = "/"  # never to another site (also not "/\\host"), never a broken header
    response = redirect(target)
    response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


@bp.app_template_global()
def contact_address() -> str:
    """Where people reach the organisers (replies to the list's mail)."""
    config = current_app.config
    return parseaddr(config["MAIL_REPLY_TO"] or config["MAIL_DEFAULT_SENDER"])[1]


@bp.app_template_global()
def consent_label(event) -> str:
    """A step of a person's consent history in words."""
    actions = {"signup": _("signed up"), "confirm": _("confirmed"), "import": _("imported"),
               "add": _("added by an organiser"), "unsubscribe": _("unsubscribed")}
    sources = {"form": _("web form"), "import": _("import"), "organiser": _("organiser"),
               "mail": _("e-mail")}
    return f"{actions.get(event.action, event.action)} ({sources.get(event.source, event.source)})"


@bp.get("/organisation/verteiler")
@admin_required
def subscriber_list():
    search = (request.args.get("q") or "").strip()
    status = request.args.get("status") or ""
    district = request.args.get("district") or ""
    page = request.args.get("seite", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    found, total = subscribers.search(search, status, district, page)
    return render_template("subscriptions/list.html", subscribers=found, total=total,
                           page=page, pages=max(1, -(-total // subscribers.PAGE_SIZE)),
                           counts=subscribers.counts(), districts=all_districts(),
                           search=search, status=status, district=district, form=ImportForm(),
                           last_errors=outbox.last_errors([s.id for s in found
                                                           if s.status == "bounced"]))


def _person_form(form_class, subscriber=None):
    form = form_class(obj=subscriber)
    form.district.choices = district_choices(all_districts())
    return form


def _person_done(action, success: str, subscriber_id=None):
    """Run an action on a person; commit and say so, or show the user error. Back to
    the person's page (or the list, when the person is gone)."""
    carry_out(action, success)
    if subscriber_id is None:
        return redirect(url_for(".subscriber_list"))
    return redirect(url_for(".person", subscriber_id=subscriber_id))


@bp.route("/organisation/verteiler/neu", methods=["GET", "POST"])
@admin_required
def add_person():
    form = _person_form(AddPersonForm)
    if form.validate_on_submit():
        ok, added = carry_out(lambda: subscribers.add_person(
            form.email.data, actor=g.organiser.email, name=form.name.data,
            organisation=form.organisation.data, district=form.district.data,
            consent_note=form.consent_note.data, confirm_by_mail=form.confirm_by_mail.data),
            lambda added: _("%(email)s has been added.", email=added.email))
        if ok:
            return redirect(url_for(".person", subscriber_id=added.id))
    status = 400 if request.method == "POST" else 200
    return render_template("subscriptions/add_person.html", form=form), status


@bp.route("/organisation/verteiler/<int:subscriber_id>", methods=["GET", "POST"])
@admin_required
def person(subscriber_id):
    """One person: details to correct, consent history, recent mails, actions."""
    subscriber = subscribers.person(subscriber_id)  # UserError: a German page
    form = _person_form(PersonForm, subscriber)
    if form.validate_on_submit():
        return _person_done(lambda: subscribers.correct(
            subscriber, actor=g.organiser.email, name=form.name.data,
            organisation=form.organisation.data, district=form.district.data),
            _("The changes have been saved."), subscriber_id)
    status = 400 if request.method == "POST" else 200
    return render_template("subscriptions/person.html", subscriber=subscriber, form=form,
                           button=ButtonForm(), erase_form=EraseForm(),
                           mails=outbox.history(subscriber.id)), status


@bp.post("/organisation/verteiler/<int:subscriber_id>/<action>")
@admin_required
def person_action(subscriber_id, action):
    """Unsubscribe, resend the confirmation, reactivate, erase."""
    subscriber = subscribers.person(subscriber_id)
    actor = g.organiser.email
    if action == "loeschen":
        form = EraseForm()
        if not (form.validate_on_submit() and form.confirm.data):
            flash(_("Please tick the box to confirm the erasure."), "error")
            return redirect(url_for(".person", subscriber_id=subscriber_id))
        email = subscriber.email
        return _person_done(lambda: subscribers.erase(email, actor=actor),
                            _("%(email)s has been erased.", email=email))
    actions = {
        "abmelden": (lambda: subscribers.unsubscribe_person(subscriber, actor=actor),
                     _("%(email)s has been unsubscribed.", email=subscriber.email)),
        "bestaetigung": (lambda: subscribers.resend_confirmation_for(subscriber, actor=actor),
                         _("The confirmation link has been sent again.")),
        "reaktivieren": (lambda: subscribers.reactivate(subscriber, actor=actor),
                         _("The address is active again.")),
    }
    if action not in actions:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    return _person_done(*actions[action], subscriber_id)


@bp.post("/organisation/verteiler/import")
@admin_required
def subscriber_import():
    """Step one: check the upload and keep it; the report offers step two."""
    form = ImportForm()
    if form.validate_on_submit() and form.file.data:
        ok, kept = carry_out(lambda: csv_io.keep(form.file.data.read(), actor=g.organiser.email))
        if ok:
            pending, report = kept
            apply_form = ImportApplyForm(pending=pending.id)
            return render_template("subscriptions/import_report.html", report=report,
                                   form=apply_form)
    else:
        flash(_("Please choose a CSV file."), "error")
    return redirect(url_for(".subscriber_list"))


@bp.post("/organisation/verteiler/import/anwenden")
@admin_required
def subscriber_import_apply():
    """Step two: import the kept upload."""
    form = ImportApplyForm()
    if form.validate_on_submit():
        ok, added = carry_out(lambda: csv_io.apply_kept(
            form.pending.data, consent_note=form.consent_note.data,
            confirm_by_mail=form.confirm_by_mail.data, actor=g.organiser.email),
            lambda added: _("%(count)d people have been imported.", count=added))
        if ok:
            return redirect(url_for(".subscriber_list"))
        report = csv_io.kept_report(form.pending.data)
        if report is not None:
            return render_template("subscriptions/import_report.html", report=report,
                                   form=form), 400
    return redirect(url_for(".subscriber_list"))


@bp.get("/organisation/verteiler/export.csv")
@admin_required
def subscriber_export():
    """The whole list as CSV, streamed (the audit entry is committed first)."""
    carry_out(lambda: csv_io.record_export(actor=g.organiser.email))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    return Response(stream_with_context(chunk.encode("utf-8") for chunk in csv_io.csv_chunks()),
                    mimetype="text/csv", headers={
                        "Content-Disposition": f"attachment; filename=verteiler-{stamp}.csv",
                        "Cache-Control": "no-store"})
