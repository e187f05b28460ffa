"""Pages of posts: a member writes one behind their own link, organisers decide on
held posts, and everyone reads the public archive.

Thin views: they read the form, call a service, and commit through ``carry_out``.
"""

from urllib.parse import quote

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..shared.forms import ButtonForm
from ..shared.tokens import TokenError
from ..shared.web import carry_out, or_404, organiser_required
from ..subscriptions import services as subscribers
from . import archive, links, mails
from . import services as posts
from .forms import DecisionForm, PostForm

bp = Blueprint("posts", __name__)


@bp.app_template_global()
def post_writing_url(member) -> str:
    """A member's own link to the form for writing to the list (settings page)."""
    return url_for("posts.write", token=links.write_token(member))


def _link_problem():
    return render_template("error.html", message=_(
        "This link is not valid (any more). Please open your settings through the link "
        "in one of our mails.")), 400


@bp.route("/beitrag/<token>", methods=["GET", "POST"])
def write(token):
    try:
        member = subscribers.from_link("member-post", token)
    except TokenError:
        return _link_problem()
    if not subscribers.is_active(member):
        return _link_problem()
    form = PostForm()
    if form.validate_on_submit():
        files = [posts.File(upload.filename or "", upload.read())
                 for upload in form.attachments.data or [] if upload and upload.filename]
        ok, post = carry_out(lambda: posts.write(
            member, subject=form.subject.data, text=form.text.data, files=files,
            public=form.public.data), form=form)
        if ok:
            return render_template("posts/written.html", post=post)
    status = 400 if request.method == "POST" else 200
    return render_template("posts/write.html", form=form, member=member), status


@bp.get("/organisation/beitraege/")
@organiser_required
def moderation():
    held = archive.held()
    return render_template("posts/moderation.html", held=held, author=archive.author,
                           body=mails.body, forms={post.id: DecisionForm(
                               formdata=None, subject=post.subject) for post in held})


@bp.post("/organisation/beitraege/<int:post_id>")
@organiser_required
def decide(post_id):
    post = or_404(archive.find(post_id))
    form = DecisionForm()
    if not form.validate_on_submit():
        return redirect(url_for(".moderation"))
    actor = g.organiser.email
    if form.discard.data:
        carry_out(lambda: posts.discard(post, actor=actor), _("The post has been discarded."))
    elif form.reject.data:
        carry_out(lambda: posts.reject(post, actor=actor, reason=form.reason.data),
                  _("The post has been rejected; its author is told why."))
    else:
        carry_out(lambda: posts.approve(post, actor=actor, trust=form.approve_and_trust.data,
                                        subject=form.subject.data),
                  lambda reached: _("The post goes to %(count)d members.", count=reached))
    return redirect(url_for(".moderation"))


@bp.get("/beitraege")
def public_archive():
    word = "".join(ch for ch in request.args.get("q", "")[:200] if ch.isprintable()).strip()
    page = request.args.get("seite", "1")
    page = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 10_000 else 1
    found, total = archive.public(word, page)
    return render_template("posts/archive.html", posts=found, total=total, word=word,
                           page=page, pages=max(1, -(-total // 20)), author=archive.author)


@bp.get("/beitraege/<int:post_id>")
@bp.get("/beitraege/<int:post_id>/<token>")
def read(post_id, token=None):
    post = or_404(archive.readable(post_id, token))
    return render_template("posts/post.html", post=post, token=token,
                           author=archive.author(post)[0], **mails.body(post))


@bp.get("/beitraege/<int:post_id>/anhang/<int:attachment_id>")
@bp.get("/beitraege/<int:post_id>/anhang/<int:attachment_id>/<token>")
def attachment(post_id, attachment_id, token=None):
    post = or_404(archive.readable(post_id, token))
    file = next((file for file in post.attachments if file.id == attachment_id), None)
    if file is None:
        abort(404)
    return Response(file.data, headers={
        "Content-Type": file.content_type, "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"attachment; filename*=utf-8''{quote(file.filename, safe='')}"})


@bp.route("/beitraege/zurueckziehen/<token>", methods=["GET", "POST"])
def withdraw(token):
    """The author's link (in their own copy): GET shows a button, the POST takes the
    post out of the public archive."""
    try:
        post = posts.post_for_withdrawal(token)
    except TokenError:
        return _link_problem()
    form = ButtonForm()
    if form.validate_on_submit():
        carry_out(lambda: posts.withdraw(post),
                  _("Your post is no longer in the public archive."))
        return redirect(url_for(".withdraw", token=token))
    return render_template("posts/withdraw.html", post=post, form=form)
