"""Checks for what people type, shared by every form and command. Each returns the
value as it is stored or raises ``UserError`` with a message naming the field."""

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import format_number
from flask_babel import gettext as _

from .districts import by_name as district_by_name
from .errors import UserError


def normalise_email(raw: str | None) -> str:
    """Validate an address (international domains allowed) and return its stored form."""
    raw = (raw or "").strip()
    if not raw:
        raise UserError(_("Please enter your e-mail address."))
    if len(raw) > 254:
        raise UserError(_("This e-mail address is too long."))
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise UserError(_("This does not look like a valid e-mail address.")) from None
    return result.normalized.lower()


def clean_text(value: str | None, max_length: int, label: str) -> str | None:
    """A single-line field: spaces trimmed and runs of them made one ("88,   70188"
    pasted from somewhere); control characters (header injection) and overlong values
    refused. Empty becomes None."""
    value = (value or "").strip()
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise UserError(_("%(field)s must be a single line of plain text.", field=label))
    value = " ".join(value.split())
    if len(value) > max_length:
        raise UserError(
            _("%(field)s is too long (at most %(max)d characters).", field=label, max=max_length)
        )
    return value or None


# A web address in a name field: a scheme, "www." or a word ending in a common
# top-level domain ("example.com"). "St.Anna" or "e.V." stay names.
_WEB_ADDRESS = re.compile(r"://|\bwww\.|\w\.(?:com|net|org|info|biz|de|eu|io|ru|cn|xyz|top|"
                          r"online|site|link|click|app|me|co)\b", re.IGNORECASE)


def person_name(value: str | None, max_length: int = 100) -> str | None:
    """A person's name (optional): one line of text and no web address, so that a
    name field cannot carry a link into mail."""
    label = _("Name")
    value = clean_text(value, max_length, label)
    if value and _WEB_ADDRESS.search(value):
        raise UserError(_("Please enter a name, not a web address."))
    return value


def required(value, label: str):
    """``value`` unless it is empty."""
    if not value:
        raise UserError(_("%(field)s is required.", field=label))
    return value


def clean_district(value: str | None) -> str | None:
    """The district's name as the city writes it, or None when none was given."""
    if not (value or "").strip():
        return None
    district = district_by_name(value)
    if district is None:
        raise UserError(_("There is no district called %(name)s.", name=value.strip()))
    return district.name


def _count(value, low: int, high: int, label: str) -> int | None:
    """A whole number from ``low`` to ``high``, None when none was given; a message
    naming ``label`` says which of the two it is not."""
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise UserError(_("%(field)s: please give a whole number, such as 20.",
                          field=label)) from None
    if not low <= number <= high:
        raise UserError(_("%(field)s: at least %(low)s and at most %(high)s.", field=label,
                          low=format_number(low), high=format_number(high)))
    return number


def capacity(value) -> int | None:
    """A number of people (1 to 10,000), or None when none was given."""
    return _count(value, 1, 10_000, _("Places"))


def childcare_places(value) -> int | None:
    """A number of child-care places (0 to 1,000), or None when none was given."""
    return _count(value, 0, 1_000, _("Child-care places"))
