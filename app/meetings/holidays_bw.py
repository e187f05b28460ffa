"""Days the network does not meet: public holidays in Baden-Württemberg (from the
maintained ``holidays`` library) and the state's school holidays where known (from
``app/data/school-holidays-bw.csv``, published by the Kultusministerium each year)."""

import csv
from datetime import date, timedelta
from functools import cache
from importlib import resources

import holidays
from flask_babel import gettext as _


@cache
def _school_holidays() -> tuple[tuple[date, date, str], ...]:
    text = resources.files("app").joinpath("data/school-holidays-bw.csv").read_text("utf-8")
    return tuple((date.fromisoformat(row["first_day"]), date.fromisoformat(row["last_day"]),
                  row["name"]) for row in csv.DictReader(text.splitlines()))


def school_holidays_known(year: int) -> bool:
    return any(first.year <= year <= last.year for first, last, _name in _school_holidays())


def blocked_days(year: int) -> dict[date, str]:
    """Every day of ``year`` the network should not meet on, with the reason."""
    blocked = {}
    for first, last, name in _school_holidays():
        day = first
        while day <= last:
            if day.year == year:
                blocked[day] = _("school holidays (%(name)s)", name=name)
            day += timedelta(days=1)
    for day, name in holidays.country_holidays("DE", subdiv="BW", years=year,
                                               language="de").items():
        blocked[day] = _("public holiday (%(name)s)", name=name)
    return blocked
