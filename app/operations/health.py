"""What a monitor and the ``doctor`` command check. Each check says in one line
what it found and, when something is wrong, what to do."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from werkzeug.test import Client

from ..delivery import outbox, signing
from ..delivery.relay import Relay, RelayError
from ..extensions import db
from ..inbound.imap import MailboxError, check_mailbox
from ..shared.database import utcnow
from ..subscriptions import services as subscriptions

OK, WARN, FAIL = "ok", "warn", "FAIL"
# Values of SECRET_KEY that examples and tutorials use.
WEAK_SECRETS = {"dev", "secret", "change-me", "changeme", "test", "x", "development"}


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # OK, WARN or FAIL
    detail: str  # what was found, and what to do

    def line(self) -> str:
        return f"{self.state:<4}  {self.name}: {self.detail}"


def database_reachable() -> bool:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        db.session.rollback()


def worker_age() -> timedelta | None:
    """How long ago a worker's sender last said it was running (None: never)."""
    seen = outbox.newest_heartbeat()
    db.session.rollback()
    return None if seen is None else utcnow() - seen


def worker_alive(age: timedelta | None) -> bool:
    return age is not None and age.total_seconds() <= current_app.config[
        "OUTBOX_HEARTBEAT_TIMEOUT"]


def _secret_key() -> Check:
    key = str(current_app.config["SECRET_KEY"])
    if key.lower() in WEAK_SECRETS or len(key) < 32 or len(set(key)) < 12:
        return Check("secret key", FAIL, "weak (under 32 characters or an example value); "
                     f"set FLASK_SECRET_KEY to a fresh one, e.g. {secrets.token_hex(32)}")
    return Check("secret key", OK, f"set, {len(key)} characters")


def _base_url() -> Check:
    url = current_app.config["BASE_URL"]
    if not url.startswith("https://"):
        return Check("base URL", FAIL, f"{url} is not https; set FLASK_BASE_URL to the public "
                     "https address (links in mails and calendars use it)")
    return Check("base URL", OK, url)


def _proxies() -> Check:
    """A request seen through the configured proxies must carry the client's address
    and scheme: sent through the whole WSGI stack with the headers a proxy sets."""
    hops = current_app.config["TRUSTED_PROXIES"]
    if not hops:
        return Check("reverse proxy", WARN, "none trusted (FLASK_TRUSTED_PROXIES=0): behind "
                     "nginx or Caddy set it to 1, or every visitor shares the proxy's address")
    client = Client(current_app.wsgi_app)
    answer = client.get("/healthz", headers={"X-Forwarded-For": ", ".join(
        ["203.0.113.7"] + ["127.0.0.1"] * (hops - 1)), "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"})
    seen = answer.json or {}
    if seen.get("client") != "203.0.113.7" or seen.get("scheme") != "https":
        return Check("reverse proxy", FAIL, f"a request through {hops} proxies was seen from "
                     f"{seen.get('client')} ({seen.get('scheme')}); check FLASK_TRUSTED_PROXIES")
    return Check("reverse proxy", OK, f"{hops} trusted: the client's address and https arrive")


def _database() -> Check:
    try:
        current = set(MigrationContext.configure(db.session.connection()).get_current_heads())
    except sa.exc.SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        return Check("database", FAIL, f"cannot connect ({type(cause).__name__}: "
                     f"{str(cause).strip().splitlines()[0]})")
    finally:
        db.session.rollback()
    heads = set(ScriptDirectory(current_app.extensions["migrate"].directory).get_heads())
    if current != heads:
        return Check("database", FAIL, f"at revision {', '.join(sorted(current)) or 'none'}, "
                     f"the code needs {', '.join(sorted(heads))}: run flask --app app db upgrade")
    dialect = db.session.get_bind().dialect.name
    return Check("database", OK, f"{dialect}, migrated to {', '.join(sorted(heads))}")


def _smtp() -> Check:
    config = current_app.config
    where = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
    try:
        offers = Relay.check()
    except RelayError as error:
        return Check("SMTP relay", FAIL, f"{where}: {error}; check FLASK_MAIL_SERVER, _PORT, "
                     "_USE_TLS/_USE_SSL, _USERNAME and _PASSWORD")
    login = "login accepted" if config["MAIL_USERNAME"] else "no login configured"
    return Check("SMTP relay", OK, f"{where} answers ({login}; offers {offers})")


def _quota() -> Check:
    """The mailbox's ration, and what one meeting costs the list under it."""
    members = subscriptions.active_count()
    meeting = 3 * members  # invitation, reminder and one update
    if not outbox.quota_in_words():
        return Check("mail quota", WARN, "none set (FLASK_MAIL_QUOTA): if your mailbox is "
                     "rationed (most web hosts' are), set its figures, e.g. 100/hour;1000/day; "
                     f"one meeting costs the list about {meeting} mails")
    hours = outbox.list_mail_duration(meeting).total_seconds() / 3600
    return Check("mail quota", OK, f"{outbox.quota_in_words()}; one meeting costs the list about "
                 f"{meeting} mails ({members} members: invitation, reminder, an update), "
                 f"{hours:.1f} hours of the quota")


def _mailbox() -> Check:
    config = current_app.config
    if not config["INBOUND_IMAP_HOST"]:
        return Check("reply mailbox", WARN, "no IMAP mailbox (FLASK_INBOUND_IMAP_HOST): answers, "
                     "bounces and unsubscribe mails are read only if the MTA pipes them into "
                     "flask --app app inbound")
    try:
        waiting = check_mailbox()
    except MailboxError as error:
        return Check("reply mailbox", FAIL, f"{config['INBOUND_IMAP_HOST']}: {error}")
    return Check("reply mailbox", OK, f"{config['INBOUND_IMAP_USER']}@"
                 f"{config['INBOUND_IMAP_HOST']}, {waiting} mails in "
                 f"{config['INBOUND_IMAP_FOLDER']}")


def _dkim() -> Check:
    if not signing.enabled():
        return Check("DKIM", WARN, "mail is not signed (FLASK_DKIM_SELECTOR, _DOMAIN, "
                     "_PRIVATE_KEY); big providers may file unsigned list mail as spam")
    domain = current_app.config["DKIM_DOMAIN"]
    for selector, expected in signing.dns_records().items():
        name = f"{selector}._domainkey.{domain}"
        try:
            published = signing.published_key(selector)
        except Exception as error:
            return Check("DKIM", WARN, f"could not look up {name} in DNS ({error}); it must "
                         f"read: {expected}")
        if published is None:
            return Check("DKIM", FAIL, f"no key at {name}; publish this TXT record: {expected}")
        if published != expected.split("p=", 1)[1]:
            return Check("DKIM", FAIL, f"the key at {name} is another one; publish: {expected}")
    return Check("DKIM", OK, "the keys in DNS match")


def _senders() -> Check:
    config = current_app.config
    sender = config["MAIL_DEFAULT_SENDER"]
    if sender.rstrip(">").endswith("@localhost") or "@localhost" in sender:
        return Check("sender", FAIL, f"{sender} is the example; set FLASK_MAIL_DEFAULT_SENDER "
                     "(and FLASK_MAIL_LIST_SENDER, FLASK_MAIL_CALENDAR_ADDRESS)")
    if not config["MAIL_REPLY_TO"]:
        return Check("sender", WARN, f"{sender}; no Reply-To (FLASK_MAIL_REPLY_TO): replies to "
                     "list mail go to the sender address")
    return Check("sender", OK, f"{sender}, replies to {config['MAIL_REPLY_TO']}")


def _worker() -> Check:
    age = worker_age()
    if not worker_alive(age):
        last = "never" if age is None else f"{age.total_seconds():.0f} s ago"
        return Check("worker", FAIL, f"last heartbeat {last}: start it (flask --app app worker, "
                     "or the vernetzer-worker service)")
    return Check("worker", OK, f"heartbeat {age.total_seconds():.0f} s ago")


CHECKS = (_secret_key, _base_url, _proxies, _database, _smtp, _quota, _mailbox, _dkim,
          _senders, _worker)


def doctor() -> list[Check]:
    """Every check, in order; the database's first, as the others need it."""
    return [check() for check in CHECKS]
