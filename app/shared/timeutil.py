"""Local time: the network meets in Europe/Berlin; the database keeps UTC."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import format_datetime
from flask_babel import gettext as _

from .errors import UserError

LOCAL = ZoneInfo("Europe/Berlin")


# What people type: ISO as date pickers send it (with "T" or a space), and the German way.
FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M")


def parse_local(text: str | None, label: str) -> datetime:
    """``"2027-03-09 18:00"`` or ``"09.03.2027 18:00"`` (Berlin wall-clock time) as an
    aware UTC datetime.

    A time that does not exist on the day clocks go forward is refused, and so is one
    that happens twice in the night they go back (readers would place it an hour
    apart); and a year before 2000 or after 2100 (no meeting is planned there, and year
    1 does not even fit into UTC).
    """
    typed = " ".join((text or "").replace("T", " ").split())
    for pattern in FORMATS:
        try:
            naive = datetime.strptime(typed, pattern)
            break
        except ValueError:
            continue
    else:
        raise UserError(_("%(field)s: please give date and time as YYYY-MM-DD HH:MM or "
                          "DD.MM.YYYY HH:MM.", field=label))
    if not 2000 <= naive.year <= 2100:
        raise UserError(_("%(field)s: please give a date between the years 2000 and 2100.",
                          field=label))
    aware = naive.replace(tzinfo=LOCAL)
    if aware.astimezone(UTC).astimezone(LOCAL).replace(tzinfo=None) != naive:
        raise UserError(
            _("%(field)s: this time does not exist (the clocks go forward).", field=label)
        )
    if aware.utcoffset() != aware.replace(fold=1).utcoffset():
        raise UserError(_("%(field)s: this time happens twice in the night the clocks go back; "
                          "please choose another.", field=label))
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
