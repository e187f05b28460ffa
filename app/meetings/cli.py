"""``meetings`` and ``venues`` on the command line, for automation.
Times are Europe/Berlin wall-clock time ("2027-03-09 18:00")."""

import json

import click
from flask_babel import gettext as _

from ..extensions import db
from ..shared.audit import CLI
from ..shared.commands import Commands
from ..shared.timeutil import local, local_text, parse_local
from . import holidays_bw, invitations
from . import services as service
from . import venues as venue_service

meetings = Commands("meetings", help="Plan and manage the meetings.")


def _run(action):
    """Run ``action`` and commit; what it queued goes out with the worker."""
    result = action()
    db.session.commit()
    return result


@meetings.command("plan")
@click.argument("year", type=int)
@click.option("--apply", "do_apply", is_flag=True, help="Save the proposal as drafts.")
def plan(year, do_apply):
    """Propose YEAR's four meetings, one per quarter, rotating fairly through the
    districts. Quarters that have their meeting already get no proposal."""
    proposals, unplanned, planned = _run(lambda: service.plan(year))
    if not holidays_bw.school_holidays_known(year):
        click.echo(_("Note: the school holidays of %(year)d are not known yet.", year=year))
    date_title, district_title, why_title = _("Date"), _("District"), _("Why")
    click.echo(f"   {date_title:<16} {district_title:<15} {why_title}")
    for quarter, meeting in sorted(planned.items()):
        click.echo(f"Q{quarter} {local_text(meeting.start_at):<16} {meeting.district:<15} "
                   + _("planned already (meeting %(id)d)", id=meeting.id))
    for p in proposals:
        click.echo(f"Q{p.quarter} {local_text(p.start):<16} {p.district:<15} "
                   f"{service.explain(p)}")
    for quarter in unplanned:
        click.echo(_("Q%(quarter)d: no free date", quarter=quarter))
    if not do_apply:
        click.echo(_("Nothing changed (use --apply to save the drafts)."))
        return
    created = _run(lambda: service.apply_plan(year, actor=CLI))
    if created:
        click.echo(_("saved as drafts: %(ids)s", ids=", ".join(str(m.id) for m in created)))
    else:
        click.echo(_("Nothing new to save: every quarter has its meeting."))


@meetings.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json):
    """List the meetings, newest first."""
    rows = [{"id": m.id, "kind": m.kind.value, "status": m.status.value,
             "start": local(m.start_at).isoformat(), "end": local(m.end_at).isoformat(),
             "district": m.district, "venue_id": m.venue_id, "topic": m.topic,
             "uid": m.uid, "sequence": m.sequence} for m in service.upcoming_and_recent()]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:>4}  {row['start'][:16].replace('T', ' ')}  {row['status']:<10} "
                   f"{row['district']:<15} {row['topic'] or ''}")


def _times(start, end):
    return parse_local(start, "--start"), parse_local(end, "--end")


@meetings.command("create")
@click.option("--district")
@click.option("--start", required=True, help='"YYYY-MM-DD HH:MM", Berlin time')
@click.option("--end", required=True, help='"YYYY-MM-DD HH:MM", Berlin time')
@click.option("--venue", "venue_id", help="Venue ID")
@click.option("--topic")
@click.option("--description", help="Markdown")
@click.option("--workshop", is_flag=True, help="The annual NetzWerkStatt (with registration).")
@click.option("--capacity", help="Places (workshop)")
@click.option("--host", "host_organisation", help="The hosting organisation")
@click.option("--host-contact", help="Its contact person")
@click.option("--same-evening", is_flag=True,
              help="Save even if another meeting is on the same evening.")
@click.option("--held", is_flag=True,
              help="An earlier meeting for the archive: over, public, no mail goes out.")
@click.option("--record", help="With --held: what came out of it (Markdown)")
def create(district, start, end, venue_id, topic, description, workshop, capacity,
           host_organisation, host_contact, same_evening, held, record):
    """Create a draft meeting (or, with --held, one that took place); prints its ID on
    the last line."""
    def action():
        begin, finish = _times(start, end)
        return service.create(actor=CLI, start=begin, end=finish, district=district,
                              venue_id=venue_id, topic=topic, description=description,
                              kind="workshop" if workshop else "meeting", capacity=capacity,
                              host_organisation=host_organisation, host_contact=host_contact,
                              allow_same_evening=same_evening, held=held, record=record)

    click.echo(_run(action).id)


@meetings.command("announce")
@click.argument("meeting_id")
def announce(meeting_id):
    """Publish a draft; from then on invitations go out on schedule."""
    meeting = _run(lambda: service.announce(service.get(meeting_id), actor=CLI))
    click.echo(f"announced: {meeting.id}")
    click.echo(invitations.meeting_forecast(meeting).in_words())


@meetings.command("update")
@click.argument("meeting_id")
@click.option("--start")
@click.option("--end")
@click.option("--district")
@click.option("--venue", "venue_id")
@click.option("--topic")
@click.option("--description")
@click.option("--host", "host_organisation")
@click.option("--host-contact")
@click.option("--same-evening", is_flag=True,
              help="Save even if another meeting is on the same evening.")
@click.option("--notify", is_flag=True,
              help="Send those invited an update even if time and place stay the same.")
def update(meeting_id, start, end, district, venue_id, topic, description, host_organisation,
           host_contact, same_evening, notify):
    """Change time, place, topic, description or hosts of a meeting."""
    def action():
        changes = {}
        if start:
            changes["start"] = parse_local(start, "--start")
        if end:
            changes["end"] = parse_local(end, "--end")
        for key, value in (("district", district), ("venue_id", venue_id), ("topic", topic),
                           ("description", description),
                           ("host_organisation", host_organisation),
                           ("host_contact", host_contact)):
            if value is not None:
                changes[key] = value
        return service.update(service.get(meeting_id), actor=CLI,
                              allow_same_evening=same_evening, notify=notify, **changes)

    meeting = _run(action)
    click.echo(f"updated: {meeting.id} (sequence {meeting.sequence})")


@meetings.command("delete")
@click.argument("meeting_id")
def delete(meeting_id):
    """Delete a draft (an announced meeting is cancelled instead)."""
    _run(lambda: service.delete_draft(service.get(meeting_id), actor=CLI))
    click.echo(f"deleted: {meeting_id}")


@meetings.command("cancel")
@click.argument("meeting_id")
@click.option("--reason", required=True)
def cancel(meeting_id, reason):
    """Cancel a meeting."""
    meeting = _run(lambda: service.cancel(service.get(meeting_id), actor=CLI, reason=reason))
    click.echo(f"cancelled: {meeting.id}")


venues = Commands("venues", help="Manage the venues.")


@venues.command("add")
@click.option("--name", required=True)
@click.option("--district", required=True)
@click.option("--address", required=True)
@click.option("--host", "host_organisation")
@click.option("--contact")
@click.option("--step-free/--not-step-free", default=None)
@click.option("--transit-stop")
@click.option("--capacity")
def add_venue(name, district, address, host_organisation, contact, step_free, transit_stop,
              capacity):
    """Add a venue; prints its ID on the last line."""
    venue = _run(lambda: venue_service.add_venue(
        actor=CLI, name=name, district=district, address=address,
        host_organisation=host_organisation, contact=contact, step_free=step_free,
        transit_stop=transit_stop, capacity=capacity))
    click.echo(venue.id)


@venues.command("list")
def list_venues():
    for venue in venue_service.all_venues():
        click.echo(f"{venue.id:>4}  {venue.district:<15} {venue.name}, {venue.address}")
