"""Settings are read, converted and checked once, when the app starts: a bad value
stops the start with one line naming the setting, instead of failing on first use
(a wrong rate used to give a 500 on the first sign-up)."""

import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app import create_app
from app.config import SettingsError
from tests.conftest import ROOT, process_env

RSA_DKIM = {"DKIM_SELECTOR": "vz2026", "DKIM_DOMAIN": "vernetzer.example",
            "DKIM_PRIVATE_KEY": rsa.generate_private_key(65537, 2048).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()}


def settings(**values) -> dict:
    return {"SECRET_KEY": "settings-test", "SQLALCHEMY_DATABASE_URI": "sqlite://", **values}


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("SECRET_KEY", "", "is not set"),
    ("BASE_URL", "vernetzer.example.org", "is not an address"),
    ("MAIL_PORT", "abc", "is not a whole number"),
    ("MAIL_PORT", 70000, "is not a whole number"),
    ("MAIL_USE_TLS", "vielleicht", "neither true nor false"),
    ("MAIL_TIMEOUT", 0, "number of seconds"),
    ("CONFIRM_MAILS_PER_IP", "ten", "not a rate such as 10/hour"),
    ("SIGNIN_MAILS_PER_ADDRESS", "5 per fortnight", "not a rate"),
    ("MAIL_DEFAULT_SENDER", "Stadtteilvernetzer", "is not an e-mail address"),
    ("MAIL_LIST_SENDER", "a@b\nBcc: c@d", "is not an e-mail address"),
    ("MEETING_START", "6 pm", "not a time"),
    ("MEETING_WEEKDAY", 7, "is not a whole number between 0 and 6"),
    ("DKIM_DOMAIN", None, "DKIM needs"),
    ("DKIM_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nkaputt\n-----END PRIVATE KEY-----",
     "is not an RSA private key"),
    ("DKIM_DNS_SERVER", "dns.example", "is not an IP address"),
    ("DKIM_DNS_SERVER", "192.0.2.53:0", "is not an IP address"),
    ("DKIM_DNS_SERVER", "[2001:db8::53", "is not an IP address"),
    ("DISTRICTS_FILE", "/nowhere/districts.csv", "cannot read the districts"),
    ("SQLALCHEMY_DATABASE_URI", "postgres on the other machine", "not a database address"),
])
def test_a_bad_setting_stops_the_start_naming_it(name, value, problem):
    # DKIM is all or nothing: with selector and key set, the missing domain is named.
    dkim = {"DKIM_DOMAIN": {"DKIM_SELECTOR": "vz2026", "DKIM_PRIVATE_KEY": "x"},
            "DKIM_PRIVATE_KEY": {"DKIM_SELECTOR": "vz2026", "DKIM_DOMAIN": "vernetzer.example"},
            }.get(name, {})
    with pytest.raises(SettingsError) as stop:
        create_app(settings(**dkim, **{name: value}))
    message = str(stop.value)
    assert message.startswith(f"FLASK_{name}: ") and problem in message
    assert "\n" not in message


def test_good_settings_are_converted_once():
    app = create_app(settings(MAIL_PORT="2525", MAIL_USE_TLS="true", OUTBOX_HEARTBEAT_EVERY="0.5",
                              BASE_URL="https://vernetzer.example.org/"))
    assert app.config["MAIL_PORT"] == 2525 and app.config["MAIL_USE_TLS"] is True
    assert app.config["OUTBOX_HEARTBEAT_EVERY"] == 0.5
    assert app.config["BASE_URL"] == "https://vernetzer.example.org"
    # List mail goes out from the default sender unless it has its own.
    assert app.config["MAIL_LIST_SENDER"] == app.config["MAIL_DEFAULT_SENDER"]


def test_the_command_line_says_it_in_one_line(tmp_path):
    env = process_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", 25,
                      CONFIRM_MAILS_PER_IP="zehn pro Stunde")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "outbox", "status"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "FLASK_CONFIRM_MAILS_PER_IP: 'zehn pro Stunde' is not a rate such as 10/hour")


@pytest.mark.parametrize(("values", "name", "problem"), [
    ({"DKIM_ED25519_SELECTOR": "ed"}, "DKIM_SELECTOR", "beside the RSA one"),
    ({"DKIM_ED25519_PRIVATE_KEY": "x"}, "DKIM_SELECTOR", "beside the RSA one"),
    ({**RSA_DKIM, "DKIM_ED25519_SELECTOR": "ed"}, "DKIM_ED25519_PRIVATE_KEY", "is not set"),
    ({**RSA_DKIM, "DKIM_ED25519_SELECTOR": "ed", "DKIM_ED25519_PRIVATE_KEY": "-----BEGIN "
      "PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----"}, "DKIM_ED25519_PRIVATE_KEY",
     "is not an Ed25519 private key"),
    ({**RSA_DKIM, "DKIM_ED25519_SELECTOR": "ed", "DKIM_ED25519_PRIVATE_KEY":
      RSA_DKIM["DKIM_PRIVATE_KEY"]}, "DKIM_ED25519_PRIVATE_KEY", "is not an Ed25519"),
    ({**RSA_DKIM, "DKIM_ED25519_SELECTOR": "vz2026", "DKIM_ED25519_PRIVATE_KEY": "x"},
     "DKIM_ED25519_SELECTOR", "must differ"),
])
def test_a_bad_ed25519_setting_stops_the_start_naming_it(values, name, problem):
    with pytest.raises(SettingsError) as stop:
        create_app(settings(**values))
    assert str(stop.value).startswith(f"FLASK_{name}: ") and problem in str(stop.value)
