"""``/healthz`` and ``flask doctor``, as a monitor and an installing volunteer use them."""

import secrets
import shutil
import subprocess

import dkim
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from app import create_app
from app.delivery import signing
from app.extensions import db
from app.subscriptions.models import Subscriber, SubscriberStatus
from tests.conftest import CommandLine, base_config, free_port, required, worker_sends

READY = {"SECRET_KEY": secrets.token_hex(32), "BASE_URL": "https://vernetzer.example",
         "TRUSTED_PROXIES": 1, "MAIL_DEFAULT_SENDER": "Vernetzer <info@vernetzer.example>",
         "MAIL_REPLY_TO": "orga@vernetzer.example"}


@pytest.fixture
def install(live_database, smtp_server, tmp_path):
    """``install(**settings)``: a runner for an installation with its own database,
    set up as a production one is (``READY``), changed by ``settings``."""
    def installed(**settings):
        app = create_app({**base_config(live_database, smtp_server.port, tmp_path), **READY,
                          **settings})
        return app, CommandLine(app)
    return installed


def lines(result) -> dict[str, str]:
    """The doctor's output: check name -> the line's state."""
    found = {}
    for line in result.output.splitlines():
        state, _, rest = line.partition("  ")
        if ":" in rest:
            found[rest.split(":")[0].strip()] = state.strip()
    return found


def test_healthz_tells_a_monitor_about_database_and_worker(app, client):
    waiting = client.application.test_client()  # no worker has run yet on this database
    answer = waiting.get("/healthz")
    assert answer.status_code == 503 and answer.json["worker"] == "never seen"
    assert answer.json["database"] == "ok" and answer.headers["Cache-Control"] == "no-store"
    worker_sends(app)  # a sender's run: its heartbeat
    healthy = waiting.get("/healthz")
    assert healthy.status_code == 200 and healthy.json["status"] == "ok"
    assert "Set-Cookie" not in healthy.headers


def test_healthz_fails_when_the_worker_went_quiet(app, client):
    worker_sends(app)
    app.config["OUTBOX_HEARTBEAT_TIMEOUT"] = -1
    answer = client.application.test_client().get("/healthz")
    assert answer.status_code == 503 and answer.json["worker"] == "stale"


def test_doctor_passes_a_ready_installation(install):
    app, runner = install()
    worker_sends(app)
    result = runner.invoke(args=["doctor"])
    found = lines(result)
    assert result.exit_code == 0, result.output
    ready = ("secret key", "base URL", "reverse proxy", "database", "SMTP relay", "sender",
             "worker")
    assert {name: found[name] for name in ready} == dict.fromkeys(ready, "ok")
    # Not set up in tests, and said so: no mailbox, no DKIM.
    assert found["reply mailbox"] == found["DKIM"] == "warn"


@pytest.mark.parametrize("setting, value, check", [
    ("SECRET_KEY", "change-me", "secret key"),
    ("BASE_URL", "http://vernetzer.example", "base URL"),
    ("MAIL_DEFAULT_SENDER", "vernetzer@localhost", "sender"),
])
def test_doctor_names_what_is_wrong_and_exits_non_zero(install, setting, value, check):
    app, runner = install(**{setting: value})
    worker_sends(app)
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1
    assert lines(result)[check] == "FAIL"
    assert result.output.strip().splitlines()[-1] == f"Error: 1 checks failed: {check}"


def test_doctor_finds_a_relay_that_does_not_answer_and_a_silent_worker(install):
    _app, runner = install(MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    result = runner.invoke(args=["doctor"])
    found = lines(result)
    assert result.exit_code == 1
    assert found["SMTP relay"] == "FAIL" and found["worker"] == "FAIL"
    assert "ConnectionRefusedError" in result.output


def test_doctor_warns_without_a_trusted_proxy_and_fails_on_a_wrong_one(install):
    _app, runner = install(TRUSTED_PROXIES=0)
    assert lines(runner.invoke(args=["doctor"]))["reverse proxy"] == "warn"
    app, runner = install()
    app.config["TRUSTED_PROXIES"] = 2  # says two, but the app trusts one
    result = runner.invoke(args=["doctor"])
    assert lines(result)["reverse proxy"] == "FAIL" and "seen from 127.0.0.1" in result.output


def test_the_dkim_record_doctor_asks_for_verifies_a_signed_mail(app):
    """What doctor prints as the TXT record to publish is the key that verifies the
    mails (dkimpy as the verifier, with that record as its DNS answer)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    app.config.update(DKIM_SELECTOR="mail", DKIM_DOMAIN="vernetzer.example",
                      DKIM_PRIVATE_KEY=key)
    with app.app_context():
        record = signing.dns_records()["mail"]
        signed = signing.sign(b"From: a@vernetzer.example\r\nTo: b@example.org\r\n"
                              b"Subject: Test\r\n\r\nHallo\r\n")
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: record.encode())


def private_key() -> str:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()


@pytest.fixture
def dns_server(tmp_path):
    """``dns_server(records)``: Debian's dnsmasq on a port of its own, answering the TXT
    records given (name -> text) and no other name of their domains; returns its
    address for DKIM_DNS_SERVER."""
    binary = shutil.which("dnsmasq") or shutil.which("dnsmasq", path="/usr/sbin")
    if binary is None:
        required("the DNS test needs dnsmasq (apt-get install dnsmasq-base)")
    servers = []

    def serve(records: dict[str, str]) -> str:
        port = free_port()
        # A TXT record carries its text in strings of at most 255 octets (a comma
        # separates them here; the records hold none).
        texts = [f"--txt-record={name}," + ",".join(text[i:i + 250]
                                                    for i in range(0, len(text), 250))
                 for name, text in records.items()]
        # Other names in those domains do not exist (NXDOMAIN), as a real server says.
        texts += sorted({"--local=/" + ".".join(name.split(".")[-2:]) + "/" for name in records})
        server = subprocess.Popen(
            [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
             f"--port={port}", "--user=nobody", "--group=nogroup", "--pid-file=", *texts],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        servers.append(server)
        import dns.resolver

        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = ["127.0.0.1"], port
        for _ in range(100):  # until it answers
            try:
                resolver.resolve(next(iter(records)), "TXT", lifetime=0.2)
                return f"127.0.0.1:{port}"
            except Exception:
                if server.poll() is not None:
                    raise AssertionError(server.stdout.read().decode()) from None
        raise AssertionError("dnsmasq did not answer")

    yield serve
    for server in servers:
        server.terminate()
        server.wait(10)


def test_doctor_compares_the_dkim_keys_with_those_in_dns(install, dns_server):
    """Asked of a real DNS server: each published key (RSA, and Ed25519 beside it)
    matches, is another one, or is missing; each with what to publish."""
    dkim_settings = {"DKIM_SELECTOR": "mail", "DKIM_DOMAIN": "vernetzer.example",
                     "DKIM_PRIVATE_KEY": private_key(), "DKIM_ED25519_SELECTOR": "ed",
                     "DKIM_ED25519_PRIVATE_KEY": ed25519.Ed25519PrivateKey.generate()
                     .private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()}
    app, _runner = install(**dkim_settings)
    with app.app_context():
        records = signing.dns_records()
    wrong = records["mail"].replace(records["mail"].split("p=")[1],
                                    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A")
    server = dns_server({"mail._domainkey.vernetzer.example": records["mail"],
                         "ed._domainkey.vernetzer.example": records["ed"],
                         "alt._domainkey.vernetzer.example": wrong})

    def doctor(**settings):
        return install(**{**dkim_settings, "DKIM_DNS_SERVER": server, **settings})

    result = doctor()[1].invoke(args=["doctor"])
    assert lines(result)["DKIM"] == "ok" and "match" in result.output
    app, runner = doctor(DKIM_PRIVATE_KEY=private_key())
    result = runner.invoke(args=["doctor"])
    assert lines(result)["DKIM"] == "FAIL" and "another one" in result.output
    with app.app_context():
        assert signing.dns_records()["mail"] in result.output  # what to publish instead
    assert lines(doctor(DKIM_SELECTOR="alt")[1].invoke(args=["doctor"]))["DKIM"] == "FAIL"
    result = doctor(DKIM_ED25519_SELECTOR="neu")[1].invoke(args=["doctor"])
    assert lines(result)["DKIM"] == "FAIL" and "no key at neu._domainkey" in result.output
    assert "k=ed25519" in result.output and result.exit_code != 0


def test_doctor_prints_the_mail_quota_and_what_a_meeting_costs(install):
    app, runner = install(MAIL_QUOTA="100/hour;1000/day")
    with app.app_context():
        db.session.execute(sa.insert(Subscriber), [
            {"email": f"m{n}@example.org", "language": "de", "status": SubscriberStatus.ACTIVE,
             "source": "import", "hard_bounces": 0} for n in range(140)])
        db.session.commit()
    worker_sends(app)
    result = runner.invoke(args=["doctor"])
    assert lines(result)["mail quota"] == "ok", result.output
    line = next(line for line in result.output.splitlines() if "mail quota" in line)
    assert "100 Mails je 1 Stunde, 1.000 Mails je 1 Tag" in line
    # 420 mails, 90 list mails an hour (10 % stay free for mail to one person): the
    # first 90 at once, the last ones four hours later.
    assert "one meeting costs the list about 420 mails (140 members" in line
    assert "4.0 hours of the quota" in line
    _app, unset = install()
    assert lines(unset.invoke(args=["doctor"]))["mail quota"] == "warn"
