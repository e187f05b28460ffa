"""Local time: the network meets in Europe/Berlin; the database keeps UTC."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import format_datetime
from flask_babel import gettext as _

from .errors import UserError

LOCAL = ZoneInfo("Europe/Berlin")


def parse_local(text: str | None, label: str) -> datetime:
    """``"2027-03-09 18:00"`` (Berlin wall-clock time) as an aware UTC datetime.

    A time that does not exist on the day clocks go forward is refused, and so is a
    year before 2000 or after 2100 (no meeting is planned there, and year 1 does not
    even fit into UTC).
    """
    try:
        naive = datetime.strptime((text or "").strip().replace("T", " "), "%Y-%m-%d %H:%M")
    except ValueError:
        raise UserError(
            _("%(field)s: please give date and time as YYYY-MM-DD HH:MM.", field=label)
        ) from None
    if not 2000 <= naive.year <= 2100:
        raise UserError(_("%(field)s: please give a date between the years 2000 and 2100.",
                          field=label))
    aware = naive.replace(tzinfo=LOCAL)
    if aware.astimezone(UTC).astimezone(LOCAL).replace(tzinfo=None) != naive:
        raise UserError(
            _("%(field)s: this time does not exist (the clocks go forward).", field=label)
        )
    return aware.astimezone(UTC)


def local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL)


def local_text(moment: datetime | None) -> str:
    """How the command line and forms write a moment (for typing it again, and in
    CSV files for spreadsheets): ``2027-03-09 18:00``. Text for people says
    ``spoken``."""
    return local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def spoken(moment: datetime) -> str:
    """A moment inside a sentence a person reads, as the pages write it (Flask-Babel,
    Berlin time): ``9.3.2027 18:00``."""
    return format_datetime(moment, "d.M.y HH:mm")
