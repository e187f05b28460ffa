"""``topics list|publish|decline``: topic proposals on the command line."""

import click

from ..extensions import db
from ..shared.audit import CLI
from ..shared.commands import Commands
from ..shared.errors import UserError
from . import services as topics

group = Commands("topics", help="Decide on proposed topics.")


def _topic(topic_id: int):
    topic = topics.find(topic_id)
    if topic is None:
        raise UserError(f"no topic {topic_id}")
    return topic


@group.command("list")
def list_():
    """Proposals waiting, then the published topics by interest."""
    for topic in topics.waiting():
        click.echo(f"{topic.id}\twaiting\t{topic.title}")
    for entry in topics.ranked():
        planned = f"\tplanned for meeting {entry.meeting.id}" if entry.meeting else ""
        click.echo(f"{entry.topic.id}\t{entry.votes} interested\t{entry.topic.title}{planned}")


@group.command("publish")
@click.argument("topic_id", type=int)
def publish(topic_id):
    """Publish a proposal on /themen."""
    topics.publish(_topic(topic_id), actor=CLI)
    db.session.commit()
    click.echo(f"published: topic {topic_id}")


@group.command("decline")
@click.argument("topic_id", type=int)
def decline(topic_id):
    """Decline a proposal."""
    topics.decline(_topic(topic_id), actor=CLI)
    db.session.commit()
    click.echo(f"declined: topic {topic_id}")
