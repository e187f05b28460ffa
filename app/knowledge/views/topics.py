"""Pages of topics: the public list with interest counts and the proposal form, a
member's own topics page (vote, propose), and the organisers' decisions.

Thin views: they read the form, call a service, and commit through ``carry_out``.
"""

from flask import Blueprint, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from ...extensions import csrf
from ...shared.districts import all_districts, by_name, by_slug
from ...shared.forms import ButtonForm, district_choices
from ...shared.tokens import TokenError
from ...shared.urls import external_url
from ...shared.web import carry_out, client_ip, or_404, organiser_required
from .. import inquiries, projects
from .. import services as topics
from ..forms import (
    AdoptionForm,
    InquiryForm,
    LinkRequestForm,
    MemberProposalForm,
    PlanTopicForm,
    PresentedForm,
    ProjectForm,
    ProposalForm,
)

bp = Blueprint("knowledge", __name__)


@bp.get("/bezirke")
def district_map():
    """Stuttgart's districts as a map of tiles drawn here (no outside requests), each a
    link to its page."""
    return render_template("knowledge/districts.html", districts=all_districts(),
                           held=topics.meetings_by_district())


@bp.get("/bezirke/<slug>")
def district(slug):
    found = or_404(by_slug(slug))
    return render_template("knowledge/district.html", district=found,
                           page=topics.district_page(found.name),
                           projects=projects.by_district(found.name))


@bp.app_template_filter()
def district_slug(name: str) -> str:
    """A district's name as its page's address part."""
    found = by_name(name)
    return found.slug if found else ""


@bp.app_template_global()
def wanted_topics(limit: int = 3):
    """The topics with the most interest that wait for a meeting (the planner)."""
    return topics.most_wanted(limit)


def _link_problem():
    return render_template("error.html", message=_(
        "This link is not valid (any more). Please ask for a new one on the topics page.")), 400


def _fields(form) -> dict:
    return {"title": form.title.data, "description": form.description.data,
            "can_tell": form.can_tell.data}


@bp.route("/themen", methods=["GET", "POST"])
@csrf.exempt  # PublicForms: each checks its own signed token
def public_topics():
    """The published topics by interest; a visitor proposes one (confirmed by mail) or
    asks for their voting link."""
    proposal, link = ProposalForm(prefix="proposal"), LinkRequestForm(prefix="link")
    if proposal.submit.data and proposal.validate_on_submit():
        ok, topic = carry_out(lambda: topics.propose(
            **_fields(proposal), name=proposal.name.data, email=proposal.email.data,
            ip=client_ip()), form=proposal)
        if ok:
            return render_template("knowledge/check_your_mail.html", held_back=topic is None)
    elif link.submit.data and link.validate_on_submit():
        ok, sent = carry_out(lambda: topics.request_link(link.email.data, ip=client_ip()),
                             field=link.email)
        if ok:
            return render_template("knowledge/check_your_mail.html", held_back=not sent)
    status = 400 if request.method == "POST" else 200
    return render_template("knowledge/topics.html", ranked=topics.ranked(), proposal=proposal,
                           link=link), status


@bp.route("/themen/bestaetigen/<token>", methods=["GET", "POST"])
def confirm(token):
    """A GET only shows the button (mail scanners open links); the POST confirms."""
    form = ButtonForm()
    try:
        if form.validate_on_submit():
            carry_out(lambda: topics.confirm(token))
            return render_template("knowledge/confirmed.html")
        topics.confirm_check(token)
    except TokenError:
        return _link_problem()
    return render_template("knowledge/confirm.html", form=form)


@bp.route("/themen/mitglied/<token>", methods=["GET", "POST"])
def member_topics(token):
    """A member's own page: "Interessiert mich" per topic (a button, so a link in a
    mail scanner's hands counts nothing), and a proposal without confirmation."""
    try:
        member = topics.member_from_link(token)
    except TokenError:
        return _link_problem()
    form, button = MemberProposalForm(), ButtonForm()
    if request.method == "POST" and "topic_id" in request.form:
        if button.validate_on_submit():
            carry_out(lambda: topics.toggle_vote(member, request.form["topic_id"]),
                      lambda counts: _("Your interest is noted.") if counts
                      else _("Your interest is withdrawn."))
        return redirect(url_for(".member_topics", token=token))
    if form.validate_on_submit():
        ok, _topic = carry_out(lambda: topics.propose_as_member(member, **_fields(form)),
                               _("Thank you: your topic goes to the organisers."), form=form)
        if ok:
            return redirect(url_for(".member_topics", token=token))
    status = 400 if request.method == "POST" else 200
    return render_template("knowledge/member_topics.html", ranked=topics.ranked(),
                           votes=topics.votes_of(member), form=form, button=button,
                           member=member), status


@bp.get("/organisation/themen/")
@organiser_required
def moderation():
    choices = [SelectChoice(str(m.id), f"{m.start_at:%d.%m.%Y} {m.district}")
               for m in topics.meetings_ahead()]
    plan_form = PlanTopicForm()
    plan_form.meeting_id.choices = choices
    return render_template("knowledge/moderation.html", waiting=topics.waiting(),
                           ranked=topics.ranked(), button=ButtonForm(), plan_form=plan_form)


@bp.post("/organisation/themen/<int:topic_id>/<any(veroeffentlichen, ablehnen):action>")
@organiser_required
def decide(topic_id, action):
    topic = or_404(topics.find(topic_id))
    if ButtonForm().validate_on_submit():
        if action == "veroeffentlichen":
            carry_out(lambda: topics.publish(topic, actor=g.organiser.email),
                      _("The topic is published."))
        else:
            carry_out(lambda: topics.decline(topic, actor=g.organiser.email),
                      _("The topic is declined."))
    return redirect(url_for(".moderation"))


@bp.post("/organisation/themen/<int:topic_id>/einplanen")
@organiser_required
def choose(topic_id):
    topic = or_404(topics.find(topic_id))
    form = PlanTopicForm()
    if form.validate_on_submit():
        carry_out(lambda: topics.choose_for(topic, form.meeting_id.data,
                                            actor=g.organiser.email),
                  _("The topic is planned for the meeting."))
    return redirect(url_for(".moderation"))


def _search_text(name: str, limit: int) -> str:
    return "".join(ch for ch in request.args.get(name, "")[:limit] if ch.isprintable()).strip()


@bp.get("/projekte")
def atlas():
    """The projects on the district map, what spread from where, by phase and word."""
    phase, word = _search_text("phase", 30), _search_text("q", 200)
    found, spread = projects.atlas(phase=phase, word=word)
    names = {project.id: project for project in found}
    per_district: dict[str, int] = {}
    for name in [project.district for project in found] + [a.district for a in spread]:
        per_district[name] = per_district.get(name, 0) + 1
    arrows = [(names[a.project_id].district, a.district,
               _("%(project)s: taken up in %(district)s %(year)d",
                 project=names[a.project_id].name, district=a.district, year=a.year))
              for a in spread]
    return render_template("knowledge/atlas.html", projects=found, spread=spread, names=names,
                           districts=all_districts(), per_district=per_district, phase=phase,
                           word=word, phases=projects.PHASE_LABELS, arrows=arrows)


def _project_form() -> ProjectForm:
    form = ProjectForm(prefix="project")
    form.district.choices = district_choices(all_districts())
    form.phases.choices = [SelectChoice(key, str(label))
                           for key, label in projects.PHASE_LABELS.items()]
    return form


@bp.route("/projekte/vorschlagen", methods=["GET", "POST"])
@csrf.exempt  # a PublicForm: checks its own signed token
def propose_project():
    form = _project_form()
    if form.validate_on_submit():
        ok, project = carry_out(lambda: projects.propose(
            name=form.name.data, district=form.district.data,
            description=form.description.data, phases=form.phases.data,
            contact_name=form.contact_name.data, contact_email=form.contact_email.data,
            email=form.email.data, ip=client_ip()), form=form)
        if ok:
            return render_template("knowledge/check_your_mail.html", held_back=project is None)
    status = 400 if request.method == "POST" else 200
    return render_template("knowledge/propose_project.html", form=form), status


def _ask(subject, template: str, **context):
    """A page with "Ich möchte das auch machen": the request waits for its asker's
    confirmation by mail."""
    form = InquiryForm(prefix="ask")
    if form.validate_on_submit():
        ok, inquiry = carry_out(lambda: inquiries.ask(
            subject, name=form.name.data, email=form.email.data, message=form.message.data,
            ip=client_ip()), form=form)
        if ok:
            return render_template("knowledge/check_your_mail.html", held_back=inquiry is None)
    status = 400 if request.method == "POST" else 200
    return render_template(template, ask=form, **context), status


@bp.route("/projekte/<int:project_id>", methods=["GET", "POST"])
@csrf.exempt  # a PublicForm: checks its own signed token
def project(project_id):
    found = or_404(projects.page(project_id))
    return _ask(found.project, "knowledge/project.html", page=found,
                phases=projects.PHASE_LABELS)


@bp.route("/themen/<int:topic_id>", methods=["GET", "POST"])
@csrf.exempt  # a PublicForm: checks its own signed token
def topic(topic_id):
    found = or_404(topics.published(topic_id))
    return _ask(found.topic, "knowledge/topic.html", entry=found)


@bp.route("/anfrage/bestaetigen/<token>", methods=["GET", "POST"])
def confirm_inquiry(token):
    """A GET only shows the button (mail scanners open links); the POST sends."""
    form = ButtonForm()
    try:
        if form.validate_on_submit():
            carry_out(lambda: inquiries.confirm(token))
            return render_template("knowledge/inquiry_sent.html")
        inquiries.check(token)
    except TokenError:
        return _link_problem()
    return render_template("knowledge/confirm.html", form=form,
                           label=_("Confirm and send the message"))


@bp.route("/projekte/<int:project_id>/uebernommen", methods=["GET", "POST"])
@csrf.exempt  # a PublicForm: checks its own signed token
def propose_adoption(project_id):
    found = or_404(projects.page(project_id))
    form = AdoptionForm(prefix="adoption")
    form.district.choices = district_choices(all_districts())
    if form.validate_on_submit():
        ok, adoption = carry_out(lambda: projects.propose_adoption(
            found.project, district=form.district.data, year=form.year.data,
            how=form.how.data, email=form.email.data, ip=client_ip()), form=form)
        if ok:
            return render_template("knowledge/check_your_mail.html", held_back=adoption is None)
    status = 400 if request.method == "POST" else 200
    return render_template("knowledge/propose_adoption.html", form=form, page=found), status


CONFIRMING = {"projekt": "project-confirm", "uebernahme": "adoption-confirm"}


@bp.route("/projekte/bestaetigen/<any(projekt, uebernahme):kind>/<token>",
          methods=["GET", "POST"])
def confirm_entry(kind, token):
    """A GET only shows the button (mail scanners open links); the POST confirms."""
    purpose = CONFIRMING[kind]
    form = ButtonForm()
    try:
        if form.validate_on_submit():
            carry_out(lambda: projects.confirm(purpose, token))
            return render_template("knowledge/confirmed.html")
        projects.check_confirmation(purpose, token)
    except TokenError:
        return _link_problem()
    return render_template("knowledge/confirm.html", form=form)


@bp.route("/projekte/kontakt/<token>", methods=["GET", "POST"])
def contact_consent(token):
    form = ButtonForm()
    try:
        if form.validate_on_submit():
            _ok, found = carry_out(lambda: projects.agree_as_contact(token))
            return render_template("knowledge/contact_agreed.html", project=found)
        projects.agree_check(token)
    except TokenError:
        return _link_problem()
    return render_template("knowledge/contact_consent.html", form=form)


@bp.get("/api/projekte.json")
def projects_json():
    """The published projects as schema.org Projects, readable from any site (CORS)."""
    response = jsonify({"projects": projects.api_projects(
        lambda found: external_url("knowledge.project", project_id=found.id))})
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/organisation/projekte/")
@organiser_required
def project_moderation():
    waiting_projects, waiting_adoptions = projects.waiting()
    present = PresentedForm()
    present.meeting_id.choices = [SelectChoice(str(m.id), f"{m.start_at:%d.%m.%Y} {m.district}")
                                  for m in topics.meetings_held()]
    found, _spread = projects.atlas()
    return render_template("knowledge/project_moderation.html", projects=waiting_projects,
                           adoptions=waiting_adoptions, published=found, button=ButtonForm(),
                           present=present, find=projects.find)


@bp.post("/organisation/projekte/<any(projekt, uebernahme):kind>/<int:entry_id>/"
         "<any(veroeffentlichen, ablehnen):action>")
@organiser_required
def decide_entry(kind, entry_id, action):
    entry = or_404(projects.find(entry_id) if kind == "projekt"
                   else projects.find_adoption(entry_id))
    if ButtonForm().validate_on_submit():
        carry_out(lambda: projects.decide(entry, publish=action == "veroeffentlichen",
                                          actor=g.organiser.email),
                  _("Published in the atlas.") if action == "veroeffentlichen"
                  else _("Declined."))
    return redirect(url_for(".project_moderation"))


@bp.post("/organisation/projekte/<int:project_id>/vorgestellt")
@organiser_required
def presented(project_id):
    found = or_404(projects.find(project_id))
    form = PresentedForm()
    if form.validate_on_submit():
        carry_out(lambda: projects.present(found, form.meeting_id.data,
                                           actor=g.organiser.email),
                  _("The meeting is noted with the project."))
    return redirect(url_for(".project_moderation"))
