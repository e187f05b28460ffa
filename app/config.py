"""Settings: embedded defaults, overridden from the environment with the ``FLASK_``
prefix (``FLASK_MAIL_PORT=587``, values read as JSON where they parse) or in
``.env``; README lists them all.

``check`` reads, converts and checks every setting once, when the app is created:
a bad value stops the start with one line naming the setting, instead of failing
on first use. The same checks are the core of a later ``doctor`` command.
"""

import ipaddress
import logging
import os
import re
from datetime import time
from email.utils import parseaddr
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from limits import parse as parse_rate
from limits import parse_many

from .shared import districts

log = logging.getLogger(__name__)

DEFAULTS = {
    # Public address of the service, used in every link that leaves it (mails, calendars).
    "BASE_URL": "http://127.0.0.1:5000",
    "SQLALCHEMY_DATABASE_URI": None,  # None: SQLite in the instance folder
    # Mail: the local catcher started by ``flask serve`` listens here.
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_PORT": 8025,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_TIMEOUT": 30,
    "MAIL_DEFAULT_SENDER": "Stadtteilvernetzer Stuttgart <vernetzer@localhost>",
    # List mail (invitations, announcements) may use its own sender address.
    "MAIL_LIST_SENDER": None,
    "MAIL_LIST_ID": "Stadtteilvernetzer Stuttgart <verteiler.vernetzer.localhost>",
    # Where the mailto: of List-Unsubscribe points; the service reads mail sent there.
    "MAIL_UNSUBSCRIBE_ADDRESS": "abmelden@localhost",
    # The ORGANIZER of meeting requests and the envelope sender of every mail (bounces
    # come back to it with the mail's code after a "+"): an address the service reads
    # (inbound mail), never a person's inbox.
    "MAIL_CALENDAR_ADDRESS": "einladung@localhost",
    # Where a person's reply to list mail goes (Reply-To); None: to the sender.
    "MAIL_REPLY_TO": None,
    # Inbound mail: the mailbox the worker reads (None: no polling; an MTA can pipe
    # each mail into ``flask inbound`` instead). TLS: "ssl", "starttls" or "none".
    "INBOUND_IMAP_HOST": None,
    "INBOUND_IMAP_PORT": 993,
    "INBOUND_IMAP_TLS": "ssl",
    "INBOUND_IMAP_USER": None,
    "INBOUND_IMAP_PASSWORD": None,
    "INBOUND_IMAP_FOLDER": "INBOX",
    "INBOUND_IMAP_DONE_FOLDER": "Erledigt",  # handled mail is moved here
    "INBOUND_FORWARD_TO": None,  # a person who gets the mail the service cannot handle
    "INBOUND_MAX_BYTES": 25 * 1024 * 1024,  # larger mail is kept by its headers only
    # Local mail catcher (development): SMTP port and where captured mails are kept.
    "MAIL_CATCHER": False,
    "MAIL_CATCHER_DIR": None,  # None: instance/mailcatcher
    # Double opt-in and abuse limits.
    "CONFIRM_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "SUBSCRIBER_LINK_MAX_AGE": 400 * 24 * 3600,  # unsubscribe/preferences links in mails
    "UNCONFIRMED_RETENTION_DAYS": 7,
    "CONFIRM_MAILS_PER_ADDRESS": "3/day",
    "CONFIRM_MAILS_PER_IP": "10/hour",
    # When meeting mails go out, in days before the meeting.
    "INVITE_BEFORE_DAYS": 21,
    "REMIND_BEFORE_DAYS": 2,
    # Changes to a meeting within this many minutes go out as one update after the last.
    "MEETING_UPDATE_DELAY_MINUTES": 30,
    # Outbox delivery.
    "OUTBOX_MAX_ATTEMPTS": 8,
    "OUTBOX_RETRY_BASE_SECONDS": 60,
    "OUTBOX_HEARTBEAT_EVERY": 10,  # seconds between a sender's heartbeats
    "OUTBOX_HEARTBEAT_TIMEOUT": 60,  # a sender silent this long is taken for dead
    # The mailbox's ration, as the provider states it ("100/hour;1000/day"); empty: none.
    "MAIL_QUOTA": "",
    "MAIL_QUOTA_PERSONAL_SHARE": 10,  # per cent of each window kept for mail to one person
    "MAIL_RATE_PER_MINUTE": 0,  # deprecated: read once into MAIL_QUOTA ("N/minute")
    "MAIL_CONNECTIONS": 1,  # SMTP connections (senders) of each worker, used in parallel
    "OUTBOX_BATCH": 20,  # mails a sender claims at a time (a confirmation waits at most these)
    "OUTBOX_POLL_SECONDS": 0.5,  # an idle sender looks for new mail this often
    "SQLITE_BUSY_TIMEOUT": 30,  # seconds a writer waits for SQLite's lock
    "BOUNCE_LIMIT": 3,  # hard failures before a subscriber counts as bounced
    # DKIM: sign every mail when selector, domain and key (PEM text) are set.
    "DKIM_SELECTOR": None,
    "DKIM_DOMAIN": None,
    "DKIM_PRIVATE_KEY": None,
    # Optional: a second signature with an Ed25519 key (RFC 8463), beside the RSA one.
    "DKIM_ED25519_SELECTOR": None,
    "DKIM_ED25519_PRIVATE_KEY": None,
    # The DNS server doctor asks for the DKIM record ("192.0.2.53" or "[2001:db8::53]:5353"),
    # say the domain's own, to see a new record before resolvers' caches do; empty: the
    # system's resolver.
    "DKIM_DNS_SERVER": None,
    # Meetings: default weekday (Monday is 0), time, and how many meetings pass before
    # a district may host again.
    "MEETING_WEEKDAY": 1,
    "MEETING_START": "18:00",
    "MEETING_END": "20:00",
    "MEETING_NO_REPEAT": 12,
    "SIGNIN_LINK_MAX_AGE": 15 * 60,
    "PUBLIC_FORM_MAX_AGE": 24 * 3600,  # how long a public page's form may be sent
    "SIGNIN_MAILS_PER_ADDRESS": "5/hour",
    "SIGNIN_MAILS_PER_IP": "10/hour",
    "POSTS_PER_MEMBER": "10/day",  # posts a member may write on the web
    "POST_NOTICES_PER_SENDER": "5/day",  # mails to organisers about one sender's held posts
    "INBOUND_FORWARDS_PER_SENDER": "1/day",  # forwards to INBOUND_FORWARD_TO per sender  # counted apart from sign-ups: purposes never share
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Pages.
    "BABEL_DEFAULT_LOCALE": "de",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
    "LANGUAGES": ["de", "en"],
    "FORCE_HTTPS": False,
    # Logs on standard error: "text" for people, "json" (one object a line) for a
    # collector; LOG_REQUESTS writes a common-log-format line per request.
    "LOG_FORMAT": "text",
    # Public pages are served from memory this long (0: never); see shared.public_pages.
    "PAGE_CACHE_SECONDS": 5,
    "LOG_REQUESTS": True,
    "TRUSTED_PROXIES": 0,  # how many reverse proxies set X-Forwarded-For/-Proto/-Host
    "DISTRICTS_FILE": None,  # None: the Stuttgart districts shipped in app/data
    "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
    # Legal pages: Markdown files (None: the shipped templates, still to be completed).
    "LEGAL_IMPRINT_FILE": None,
    "LEGAL_PRIVACY_FILE": None,
    # The blog widget may be framed by these origins (space-separated), besides this site.
    "WIDGET_FRAME_ANCESTORS": "",
    # Posts by members: the address they write to (None: the list sender's), how long a
    # stranger's post waits for an organiser before it is deleted, the size of all of a
    # post's attachments together, what new members get ("each", "weekly", "monthly" or
    # "none"), and when digests go out (weekday, Monday is 0; hour, local time; a monthly
    # digest on the first such weekday of the month).
    "MAIL_POST_ADDRESS": None,
    "POST_HOLD_DAYS": 14,
    "POST_MAX_BYTES": 5 * 1024 * 1024,
    "POST_DEFAULT_DELIVERY": "each",
    "POST_DIGEST_WEEKDAY": 0,
    "POST_DIGEST_HOUR": 8,
    # Knowledge: a quarterly meeting's invitation carries a line on the topics waiting
    # for votes; the mail with the record goes this many days after a meeting to those
    # who said they would come (once it is closed out).
    "INVITATION_TOPICS_LINE": True,
    "FOLLOW_UP_AFTER_DAYS": 3,
    # NetzWerkStatt: how long an offered place is held, and when registrations are deleted.
    "REGISTRATION_OFFER_HOURS": 48,
    "REGISTRATION_RETENTION_DAYS": 90,
}


class SettingsError(SystemExit):
    """A setting that cannot be used. A ``SystemExit``: the process stops with this
    one line naming the setting (and exit status 1), whatever started it."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"FLASK_{name}: {problem}")


def _whole(config, name: str, minimum: int = 0, maximum: int | None = None) -> None:
    value = config[name]
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
            maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise SettingsError(name, f"{value!r} is not a whole number between {minimum}"
                                  f"{upper or ' and more'}")
    config[name] = value


def _seconds(config, name: str) -> None:
    value = config[name]
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise SettingsError(name, f"{value!r} is not a number of seconds above 0")
    config[name] = value


def _flag(config, name: str) -> None:
    value = config[name]
    words = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    if isinstance(value, str) and value.strip().lower() in words:
        value = words[value.strip().lower()]
    if value in (0, 1) and not isinstance(value, bool):
        value = bool(value)
    if not isinstance(value, bool):
        raise SettingsError(name, f"{value!r} is neither true nor false")
    config[name] = value


def _rate(config, name: str) -> None:
    try:
        parse_rate(str(config[name]))
    except ValueError:
        raise SettingsError(name, f"{config[name]!r} is not a rate such as 10/hour") from None


def _quota(config) -> None:
    """``MAIL_QUOTA`` in the limits library's notation, kept as (mails, seconds) pairs.
    The old ``MAIL_RATE_PER_MINUTE`` becomes "N/minute" when no quota is set."""
    value = config["MAIL_QUOTA"]
    if isinstance(value, list | tuple):  # checked already (a second create_app)
        return
    value = str(value or "").strip()
    if config["MAIL_RATE_PER_MINUTE"]:
        log.warning("FLASK_MAIL_RATE_PER_MINUTE is deprecated: set FLASK_MAIL_QUOTA=%s/minute",
                    config["MAIL_RATE_PER_MINUTE"])
        value = value or f"{config['MAIL_RATE_PER_MINUTE']}/minute"
    try:
        windows = [(item.amount, item.get_expiry()) for item in parse_many(value)] if value else []
    except ValueError:
        windows = None
    if windows is None or any(amount < 1 for amount, _seconds in windows):
        raise SettingsError("MAIL_QUOTA", f"{value!r} is not a quota such as 100/hour;1000/day "
                                          "or 20 per 10 seconds")
    config["MAIL_QUOTA"] = windows


def _address(config, name: str) -> None:
    value = str(config[name] or "")
    _display, address = parseaddr(value)
    # Structure only: local hosts (vernetzer@localhost) are fine for development.
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", address) or "\n" in value or "\r" in value:
        raise SettingsError(name, f"{value!r} is not an e-mail address "
                                  "(such as Name <name@example.org>)")


def _clock(config, name: str) -> None:
    try:
        time.fromisoformat(str(config[name]))
    except ValueError:
        raise SettingsError(name, f"{config[name]!r} is not a time such as 18:00") from None


def _origins(config, name: str) -> None:
    """Space-separated web origins (https://blog.example.org), as a CSP source list."""
    value = str(config[name] or "")
    for origin in value.split():
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or \
                parts.path not in ("", "/") or parts.query or ";" in origin or "," in origin:
            raise SettingsError(name, f"{origin!r} is not an origin such as "
                                      "https://blog.example.org")
    config[name] = " ".join(origin.rstrip("/") for origin in value.split())


def _ed25519(config) -> None:
    """The Ed25519 signature is a second one, beside the RSA one: it needs DKIM set up,
    a selector of its own and an Ed25519 key."""
    settings = ("DKIM_ED25519_SELECTOR", "DKIM_ED25519_PRIVATE_KEY")
    if not any(config[name] for name in settings):
        return
    missing = [name for name in ("DKIM_SELECTOR", "DKIM_DOMAIN", "DKIM_PRIVATE_KEY", *settings)
               if not config[name]]
    if missing:
        raise SettingsError(missing[0], "is not set: the Ed25519 signature goes beside the RSA "
                                        "one (FLASK_DKIM_SELECTOR, _DOMAIN, _PRIVATE_KEY) and "
                                        "needs FLASK_DKIM_ED25519_SELECTOR and _PRIVATE_KEY")
    if config["DKIM_ED25519_SELECTOR"] == config["DKIM_SELECTOR"]:
        raise SettingsError("DKIM_ED25519_SELECTOR", "must differ from FLASK_DKIM_SELECTOR: "
                                                     "each key has its own DNS record")
    _key(config, "DKIM_ED25519_PRIVATE_KEY", ed25519.Ed25519PrivateKey,
         "an Ed25519 private key in PEM (openssl genpkey -algorithm ed25519)")


def _key(config, name: str, kind: type, what: str) -> None:
    """The setting ``name`` must be a PEM private key of ``kind`` (``what``, for people)."""
    try:
        key = serialization.load_pem_private_key(str(config[name]).encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, kind):
        raise SettingsError(name, f"is not {what}")


def _dns_server(value: str) -> tuple[str, int]:
    """``address`` or ``address:port`` (an IPv6 address in brackets) as (address, port)."""
    address, port = value, "53"
    if value.startswith("["):
        address, closed, rest = value[1:].partition("]")
        address = address if closed else value
        port = rest.removeprefix(":") or port
    elif value.count(":") == 1:
        address, port = value.split(":")
    try:
        ipaddress.ip_address(address)
        number = int(port)
    except ValueError:
        number = 0
    if not 0 < number < 65536:
        raise SettingsError("DKIM_DNS_SERVER", f"{value!r} is not an IP address with an optional "
                                               "port, such as 192.0.2.53 or 192.0.2.53:5353")
    return address, number


def _secret_key(config, name: str) -> None:
    if not config.get(name):
        raise SettingsError(name, "is not set: put it in the environment or in .env "
                                  "(python3 dev.py serve writes one for local use)")


def _key_list(config, name: str) -> None:
    keys = config.get(name) or []
    if not isinstance(keys, list) or not all(isinstance(key, str) and key for key in keys):
        raise SettingsError(name, "must be a JSON list of the old keys")
    config[name] = keys


def _base_url(config, name: str) -> None:
    base = urlsplit(str(config[name]))
    if base.scheme not in ("http", "https") or not base.hostname or base.query:
        raise SettingsError(name, f"{config[name]!r} is not an address such as "
                                  "https://vernetzer.example.org")
    config[name] = str(config[name]).rstrip("/")


def _database_url(config, name: str) -> None:
    try:
        sa.make_url(config[name])
    except sa.exc.ArgumentError:
        raise SettingsError(name, "is not a database address such as "
                                  "postgresql+psycopg://user@host/vernetzer") from None


def _whole_between(minimum: int, maximum: int | None = None):
    return lambda config, name: _whole(config, name, minimum, maximum)


def _one_of(*choices: str):
    def checked(config, name: str) -> None:
        if config[name] not in choices:
            raise SettingsError(name, f"{config[name]!r} is not one of {', '.join(choices)}")
    return checked


def _optional(checker):
    """``checker`` for a setting that may be left empty."""
    return lambda config, name: checker(config, name) if config[name] else None


def _districts(config, name: str) -> None:
    try:
        districts.load(config[name])
    except ValueError as error:
        raise SettingsError(name, str(error)) from None


def _markdown_file(config, name: str) -> None:
    if not os.path.isfile(config[name]):
        raise SettingsError(name, f"{config[name]!r} is not a readable Markdown file")


def _dns(config, name: str) -> None:
    config[name] = _dns_server(str(config[name]))


def _deprecated_rate_storage(config, name: str) -> None:
    if name in config:
        log.warning("FLASK_RATELIMIT_STORAGE_URI is no longer used: limits are counted in "
                    "the database, which every process shares")


# Every setting that is checked on its own, in order: its name and the check, which
# converts the value in place (a number from the environment's text) or stops the
# start with one line (``SettingsError``). ``RULES`` below then check settings that
# must fit each other.
SETTINGS = (
    ("SECRET_KEY", _secret_key), ("SECRET_KEY_FALLBACKS", _key_list), ("BASE_URL", _base_url),
    ("SQLALCHEMY_DATABASE_URI", _database_url),
    *((name, _whole_between(minimum, maximum)) for name, minimum, maximum in (
        ("MAIL_PORT", 1, 65535),
        ("CONFIRM_TOKEN_MAX_AGE", 60, None), ("SUBSCRIBER_LINK_MAX_AGE", 60, None),
        ("UNCONFIRMED_RETENTION_DAYS", 1, None), ("INVITE_BEFORE_DAYS", 0, 365),
        ("REMIND_BEFORE_DAYS", 0, 365), ("OUTBOX_MAX_ATTEMPTS", 1, None),
        ("OUTBOX_RETRY_BASE_SECONDS", 1, None), ("MAIL_RATE_PER_MINUTE", 0, None),
        ("MAIL_QUOTA_PERSONAL_SHARE", 0, 50), ("MEETING_UPDATE_DELAY_MINUTES", 0, 24 * 60),
        ("MAIL_CONNECTIONS", 1, 256), ("OUTBOX_BATCH", 1, 10000),
        ("BOUNCE_LIMIT", 1, None), ("MEETING_WEEKDAY", 0, 6), ("MEETING_NO_REPEAT", 0, None),
        ("SIGNIN_LINK_MAX_AGE", 60, None), ("PUBLIC_FORM_MAX_AGE", 60, None),
        ("PAGE_CACHE_SECONDS", 0, 3600), ("PERMANENT_SESSION_LIFETIME", 60, None),
        ("TRUSTED_PROXIES", 0, 10), ("MAX_CONTENT_LENGTH", 1024, None),
        ("INBOUND_IMAP_PORT", 1, 65535), ("INBOUND_MAX_BYTES", 1024, None),
        ("REGISTRATION_OFFER_HOURS", 1, 24 * 30), ("REGISTRATION_RETENTION_DAYS", 1, 3650),
        ("POST_HOLD_DAYS", 1, 365), ("POST_MAX_BYTES", 1024, 100 * 1024 * 1024),
        ("POST_DIGEST_WEEKDAY", 0, 6), ("POST_DIGEST_HOUR", 0, 23),
        ("FOLLOW_UP_AFTER_DAYS", 0, 60))),
    *((name, _seconds) for name in ("MAIL_TIMEOUT", "OUTBOX_HEARTBEAT_EVERY",
                                    "OUTBOX_HEARTBEAT_TIMEOUT", "OUTBOX_POLL_SECONDS",
                                    "SQLITE_BUSY_TIMEOUT")),
    *((name, _flag) for name in ("MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_CATCHER", "FORCE_HTTPS",
                                 "LOG_REQUESTS", "INVITATION_TOPICS_LINE")),
    ("LOG_FORMAT", _one_of("text", "json")),
    ("POST_DEFAULT_DELIVERY", _one_of("each", "weekly", "monthly", "none")),
    *((name, _address) for name in ("MAIL_DEFAULT_SENDER", "MAIL_LIST_SENDER",
                                    "MAIL_UNSUBSCRIBE_ADDRESS", "MAIL_CALENDAR_ADDRESS")),
    *((name, _optional(_address)) for name in ("MAIL_REPLY_TO", "INBOUND_FORWARD_TO",
                                               "MAIL_POST_ADDRESS")),
    ("INBOUND_IMAP_TLS", _one_of("ssl", "starttls", "none")),
    ("MAIL_QUOTA", lambda config, _name: _quota(config)),
    *((name, _rate) for name in ("CONFIRM_MAILS_PER_ADDRESS", "CONFIRM_MAILS_PER_IP",
                                 "SIGNIN_MAILS_PER_ADDRESS", "SIGNIN_MAILS_PER_IP",
                                 "INBOUND_FORWARDS_PER_SENDER", "POSTS_PER_MEMBER",
                                 "POST_NOTICES_PER_SENDER")),
    ("RATELIMIT_STORAGE_URI", _deprecated_rate_storage),
    *((name, _clock) for name in ("MEETING_START", "MEETING_END")),
    ("DKIM_DNS_SERVER", _optional(_dns)),
    ("DISTRICTS_FILE", _districts),
    *((name, _optional(_markdown_file)) for name in ("LEGAL_IMPRINT_FILE", "LEGAL_PRIVACY_FILE")),
    ("WIDGET_FRAME_ANCESTORS", _origins),
)


def _mail_security(config) -> None:
    if config["MAIL_USE_TLS"] and config["MAIL_USE_SSL"]:
        raise SettingsError("MAIL_USE_SSL", "cannot be used together with FLASK_MAIL_USE_TLS")


def _heartbeat(config) -> None:
    if config["OUTBOX_HEARTBEAT_TIMEOUT"] <= config["OUTBOX_HEARTBEAT_EVERY"]:
        raise SettingsError("OUTBOX_HEARTBEAT_TIMEOUT",
                            "must be longer than FLASK_OUTBOX_HEARTBEAT_EVERY")


def _mailbox(config) -> None:
    if config["INBOUND_IMAP_HOST"] and not (config["INBOUND_IMAP_USER"]
                                            and config["INBOUND_IMAP_PASSWORD"]):
        raise SettingsError("INBOUND_IMAP_USER", "and FLASK_INBOUND_IMAP_PASSWORD are needed "
                                                 "with FLASK_INBOUND_IMAP_HOST")


def _evening(config) -> None:
    if config["MEETING_END"] <= config["MEETING_START"]:
        raise SettingsError("MEETING_END", "must be later than FLASK_MEETING_START")


def _dkim(config) -> None:
    dkim = ("DKIM_SELECTOR", "DKIM_DOMAIN", "DKIM_PRIVATE_KEY")
    missing = [name for name in dkim if not config[name]]
    if missing and len(missing) < len(dkim):
        raise SettingsError(missing[0], "is not set: DKIM needs FLASK_DKIM_SELECTOR, "
                                        "FLASK_DKIM_DOMAIN and FLASK_DKIM_PRIVATE_KEY")
    if config["DKIM_PRIVATE_KEY"]:
        _key(config, "DKIM_PRIVATE_KEY", rsa.RSAPrivateKey,
             "an RSA private key in PEM (openssl genrsa 2048)")


def _language(config) -> None:
    if config["BABEL_DEFAULT_LOCALE"] not in config["LANGUAGES"]:
        raise SettingsError("BABEL_DEFAULT_LOCALE",
                            f"must be one of {', '.join(config['LANGUAGES'])}")


RULES = (_mail_security, _heartbeat, _mailbox, _evening, _dkim, _ed25519, _language)


def check(config) -> None:
    """Convert and check every setting in ``config`` (a Flask config), in place."""
    # List mail goes out from the default sender unless it has its own.
    config["MAIL_LIST_SENDER"] = config["MAIL_LIST_SENDER"] or config["MAIL_DEFAULT_SENDER"]
    # Members write to the list sender's address unless posts have their own.
    config["MAIL_POST_ADDRESS"] = config["MAIL_POST_ADDRESS"] or parseaddr(
        config["MAIL_LIST_SENDER"])[1]
    for name, checked in SETTINGS:
        checked(config, name)
    for rule in RULES:
        rule(config)
