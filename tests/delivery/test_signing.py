"""``delivery.signing``: DKIM signatures that dkimpy, as a receiver, verifies, and that
still verify after what relays do to a mail in transit (relaxed canonicalisation),
but not after anything a forger would change."""

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from app.delivery import signing
from tests.conftest import list_member_mail, member

PEM = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, \
    serialization.NoEncryption()


@pytest.fixture
def keys(app):
    """An RSA and an Ed25519 key set; ``dns`` answers as the domain's DNS would."""
    app.config.update(
        DKIM_SELECTOR="rsa2026", DKIM_DOMAIN="vernetzer.example",
        DKIM_PRIVATE_KEY=rsa.generate_private_key(65537, 2048).private_bytes(*PEM).decode(),
        DKIM_ED25519_SELECTOR="ed2026",
        DKIM_ED25519_PRIVATE_KEY=ed25519.Ed25519PrivateKey.generate().private_bytes(
            *PEM).decode())
    with app.app_context():
        records = {f"{selector}._domainkey.vernetzer.example.".encode(): record.encode()
                   for selector, record in signing.dns_records().items()}
    return lambda name, timeout=5: records.get(name)


def signed_list_mail(app, name="Anna Müller") -> bytes:
    with app.test_request_context():
        person = member("anna@example.org", name=name)
        return signing.sign(list_member_mail(person, "Grüße aus dem Verteiler",
                                             sender="Stadtteilvernetzer <liste@vernetzer.example>"
                                             ).data)


def verifies(raw: bytes, dns) -> list[bool]:
    """Each signature's verdict, RSA first, as dkimpy (a receiver) sees it."""
    def verdict(index):
        try:
            return dkim.DKIM(raw).verify(idx=index, dnsfunc=dns)
        except dkim.ValidationError:  # dkimpy raises for a body that does not match
            return False

    return [verdict(index) for index in (0, 1)]


def test_both_signatures_verify_and_name_their_algorithm(app, keys):
    raw = signed_list_mail(app)
    first, second = raw.split(b"DKIM-Signature:")[1:3]
    assert b"a=rsa-sha256" in first and b"a=ed25519-sha256" in second
    assert verifies(raw, keys) == [True, True]


def test_what_relays_do_in_transit_leaves_them_valid(app, keys):
    """Relaxed canonicalisation (RFC 6376, 3.4.2 and 3.4.4): a relay that unfolds a
    header, changes spaces inside it, or adds empty lines at the end of the body."""
    raw = signed_list_mail(app)
    head, body = raw.split(b"\r\n\r\n", 1)
    head = head.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                        b"List-Unsubscribe-Post:   List-Unsubscribe=One-Click  ")
    head = head.replace(b"Subject: ", b"Subject:\r\n\t ")
    assert verifies(head + b"\r\n\r\n" + body + b"\r\n\r\n", keys) == [True, True]


@pytest.mark.parametrize("forgery", [
    pytest.param(lambda raw: raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                                         b"List-Unsubscribe-Post: nothing"), id="changed-field"),
    pytest.param(lambda raw: raw.replace(b"\r\n\r\n", b"\r\nFrom: boss@bank.example\r\n\r\n",
                                         1), id="a-second-from"),
    pytest.param(lambda raw: raw.replace(b"\r\n\r\n",
                                         b"\r\nReply-To: thief@example.net\r\n\r\n", 1),
                 id="an-added-reply-to"),
    pytest.param(lambda raw: raw + b"Klicken Sie hier.\r\n", id="more-body"),
])
def test_a_forged_change_breaks_both(app, keys, forgery):
    """From, Subject, Reply-To and the one-click fields are oversigned: even one
    added later, of a kind the mail did not have, fails."""
    assert verifies(forgery(signed_list_mail(app)), keys) == [False, False]


def test_without_keys_the_mail_is_left_as_it_is(app):
    with app.test_request_context():
        person = member("ben@example.org")
        data = list_member_mail(person, "Hallo", sender="liste@vernetzer.example").data
        assert signing.sign(data) == data
