"""Venues: where the network can meet."""

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..shared import audit, validation
from ..shared.database import by_id
from ..shared.errors import Problems, UserError
from ..shared.validation import clean_district, clean_text, required
from .models import Meeting, Venue


def _validated(*, name, address, district, host_organisation=None, contact=None,
               step_free=None, transit_stop=None, accessibility_notes=None,
               capacity=None) -> dict:
    """Every field checked; all their problems are raised together."""
    problems = Problems()
    values = {
        "name": problems.check("name", lambda: required(clean_text(name, 150, _("Name")),
                                                        _("Name"))),
        "address": problems.check("address", lambda: required(
            clean_text(address, 300, _("Address")), _("Address"))),
        "district": problems.check("district", lambda: required(clean_district(district),
                                                                _("District"))),
        "host_organisation": problems.check("host_organisation", clean_text, host_organisation,
                                            150, _("Host organisation")),
        "contact": problems.check("contact", clean_text, contact, 300, _("Contact")),
        "step_free": step_free,
        "transit_stop": problems.check("transit_stop", clean_text, transit_stop, 150,
                                       _("Public transport stop")),
        "accessibility_notes": (accessibility_notes or "").strip()[:2000] or None,
        "capacity": problems.check("capacity", validation.capacity, capacity),
    }
    problems.done()
    return values


def add_venue(*, actor: str, **fields) -> Venue:
    """Validate everything, then add the venue (and its audit entry)."""
    venue = Venue(**_validated(**fields))
    db.session.add(venue)
    db.session.flush()
    audit.record(actor, "venue.add", f"venue {venue.id}", name=venue.name,
                 district=venue.district)
    return venue


def update_venue(venue: Venue, *, actor: str, **fields) -> Venue:
    """Change a venue; it cannot move to another district while meetings use it."""
    values = _validated(**fields)
    if values["district"] != venue.district and db.session.scalar(
            sa.select(Meeting.id).where(Meeting.venue_id == venue.id).limit(1)):
        raise UserError(_("Meetings take place at this venue in %(district)s; it cannot "
                             "move to another district.", district=venue.district))
    for key, value in values.items():
        setattr(venue, key, value)
    audit.record(actor, "venue.update", f"venue {venue.id}", **{
        key: value for key, value in values.items() if key in ("name", "district", "address")})
    return venue



def all_venues() -> list[Venue]:
    return list(db.session.scalars(sa.select(Venue).order_by(Venue.district, Venue.name)))


def venue_by_district() -> dict[str, int]:
    """One venue per district (the first added), for the planner."""
    found = {}
    for venue in db.session.scalars(sa.select(Venue).order_by(Venue.id)):
        found.setdefault(venue.district, venue.id)
    return found


def find(venue_id) -> Venue | None:
    return by_id(Venue, venue_id)
