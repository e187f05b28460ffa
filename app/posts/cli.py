"""``posts list|approve|reject|discard``: held posts on the command line."""

import click

from ..extensions import db
from ..shared.audit import CLI
from ..shared.commands import Commands
from ..shared.database import utcnow
from ..shared.errors import UserError
from . import archive
from . import services as posts

group = Commands("posts", help="Decide on posts that wait for approval.")


def _held(post_id: int):
    post = archive.find(post_id)
    if post is None:
        raise UserError(f"no post {post_id}")
    return post


@group.command("list")
def list_():
    """One line per held post: ID, sender, subject, age in days."""
    now = utcnow()
    for post in archive.held():
        name, address = archive.author(post)
        member = "" if post.author_id is not None else " (not on the list)"
        days = (now - post.created_at).days
        click.echo(f"{post.id}\t{address or '?'}{member}\t{post.subject}\t{days} d")


@group.command("approve")
@click.argument("post_id", type=int)
@click.option("--trust", is_flag=True, help="Its author's next posts go out without waiting.")
def approve(post_id, trust):
    """Send a held post to the list."""
    reached = posts.approve(_held(post_id), actor=CLI, trust=trust)
    db.session.commit()
    click.echo(f"approved: post {post_id} goes to {reached} members"
               + (" (author trusted)" if trust else ""))


@group.command("reject")
@click.argument("post_id", type=int)
@click.option("--reason", required=True, help="Told to the author.")
def reject(post_id, reason):
    """Refuse a held post; its author is told the reason."""
    posts.reject(_held(post_id), actor=CLI, reason=reason)
    db.session.commit()
    click.echo(f"rejected: post {post_id}")


@group.command("discard")
@click.argument("post_id", type=int)
def discard(post_id):
    """Drop a held post without a word (spam)."""
    posts.discard(_held(post_id), actor=CLI)
    db.session.commit()
    click.echo(f"discarded: post {post_id}")
