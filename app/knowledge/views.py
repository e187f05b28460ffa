"""Pages of topics: the public list with interest counts and the proposal form, a
member's own topics page (vote, propose), and the organisers' decisions.

Thin views: they read the form, call a service, and commit through ``carry_out``.
"""

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from ..extensions import csrf
from ..shared.districts import all_districts, by_slug
from ..shared.forms import ButtonForm
from ..shared.tokens import TokenError
from ..shared.web import carry_out, client_ip, or_404, organiser_required
from . import services as topics
from .forms import LinkRequestForm, MemberProposalForm, PlanTopicForm, ProposalForm

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
                           page=topics.district_page(found.name))


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
