"""DKIM signatures, made when a mail is sent: big providers honour one-click
unsubscribe only in signed mail whose signature covers the list headers.

RSA-SHA256 with relaxed/relaxed canonicalisation (RFC 6376), and where a second key
is set, Ed25519-SHA256 beside it (RFC 8463: receivers that know Ed25519 check that
one, the others the RSA one). The canonicalisation is RFC 6376's (3.4.2 and 3.4.4)
written out; the signatures are OpenSSL's through ``cryptography``'s public API,
some twenty times faster than dkimpy's own pure-Python RSA (bench/invite.py --dkim).
dkimpy verifies what this signs in the tests. From, Subject, Reply-To and the
one-click unsubscribe fields are oversigned (listed once more than they occur), so
that nobody can add a second one later.
"""

import base64
import hashlib
import re
import time
from functools import lru_cache

import dns.resolver
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from flask import current_app

OVERSIGNED = (b"from", b"subject", b"list-unsubscribe", b"list-unsubscribe-post", b"reply-to")
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"list-id",
                  b"list-unsubscribe", b"list-unsubscribe-post", b"reply-to", b"mime-version",
                  b"content-type") + OVERSIGNED
# h=, folded after every fourth name (white space may stand around each colon).
_HEADER_LIST = b":\r\n\t".join(b":".join(SIGNED_HEADERS[i:i + 4])
                                 for i in range(0, len(SIGNED_HEADERS), 4))
_WSP = re.compile(rb"[ \t]+")
_FOLD = re.compile(rb"\r\n(?=[ \t])")
_LINE_END_WSP = re.compile(rb"[ \t]+\r\n")


@lru_cache(maxsize=4)
def _private_key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def enabled() -> bool:
    config = current_app.config
    return bool(config["DKIM_PRIVATE_KEY"] and config["DKIM_SELECTOR"] and config["DKIM_DOMAIN"])


def _relaxed_header(field: bytes) -> bytes:
    """One header field (with its folds, without the final CRLF), relaxed (3.4.2)."""
    name, _colon, value = _FOLD.sub(b"", field).partition(b":")
    return name.strip().lower() + b":" + _WSP.sub(b" ", value).strip(b" \t") + b"\r\n"


def _relaxed_body(body: bytes) -> bytes:
    """The body, relaxed (3.4.4): runs of white space as one space, none at line ends,
    no empty lines at the end."""
    body = _LINE_END_WSP.sub(b"\r\n", _WSP.sub(b" ", body))
    body = body.rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


def _fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header fields of ``head`` as (lower-case name, field), in order."""
    fields = re.split(rb"\r\n(?![ \t])", head)
    return [(field.split(b":", 1)[0].strip().lower(), field) for field in fields if field]


def _header_input(fields, value: bytes) -> bytes:
    """What the signature covers (5.4.2): the signed fields, each name's last unused
    instance first, then the DKIM-Signature field with an empty b=."""
    remaining = list(fields)
    signed = []
    for name in SIGNED_HEADERS:
        for index in range(len(remaining) - 1, -1, -1):
            if remaining[index][0] == name:
                signed.append(_relaxed_header(remaining.pop(index)[1]))
                break
    return b"".join(signed) + _relaxed_header(b"DKIM-Signature: " + value)[:-2]


def sign(message: bytes) -> bytes:
    """``message`` with DKIM-Signature fields in front, if DKIM is configured."""
    if not enabled():
        return message
    config = current_app.config
    head, _blank, body = message.partition(b"\r\n\r\n")
    fields = _fields(head)
    body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(body)).digest())
    rsa_key = _private_key(config["DKIM_PRIVATE_KEY"])
    signatures = _signature(fields, body_hash, b"rsa-sha256", config["DKIM_SELECTOR"],
                            lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    if config["DKIM_ED25519_SELECTOR"]:
        ed25519_key = _private_key(config["DKIM_ED25519_PRIVATE_KEY"])
        signatures += _signature(fields, body_hash, b"ed25519-sha256",
                                 config["DKIM_ED25519_SELECTOR"],
                                 lambda data: ed25519_key.sign(hashlib.sha256(data).digest()))
    return signatures + message


def _signature(fields, body_hash: bytes, algorithm: bytes, selector: str, sign_data) -> bytes:
    """One DKIM-Signature field over ``fields`` and ``body_hash``; ``sign_data``
    signs the header hash input."""
    tags = [(b"v", b"1"), (b"a", algorithm), (b"c", b"relaxed/relaxed"),
            (b"d", current_app.config["DKIM_DOMAIN"].encode()), (b"s", selector.encode()),
            (b"t", str(int(time.time())).encode()), (b"h", _HEADER_LIST),
            (b"bh", body_hash)]
    # Each tag on a line of its own; b= (empty while hashing) last.
    value = b";\r\n\t".join(b"=".join(tag) for tag in tags) + b";\r\n\tb="
    signature = base64.b64encode(sign_data(_header_input(fields, value)))
    folded = b"\r\n\t".join(signature[i:i + 72] for i in range(0, len(signature), 72))
    return b"DKIM-Signature: " + value + folded + b"\r\n"


def dns_records() -> dict[str, str]:
    """The TXT records the DKIM keys need, by selector (``<selector>._domainkey.<domain>``)."""
    config = current_app.config
    public = _private_key(config["DKIM_PRIVATE_KEY"]).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    records = {config["DKIM_SELECTOR"]: f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"}
    if config["DKIM_ED25519_SELECTOR"]:
        raw = _private_key(config["DKIM_ED25519_PRIVATE_KEY"]).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        records[config["DKIM_ED25519_SELECTOR"]] = (
            f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}")
    return records


def published_key(selector: str) -> str | None:
    """The p= of the key published in DNS for ``selector``, asked of
    ``DKIM_DNS_SERVER`` or the system's resolver; None when there is none.
    dnspython's errors (no answer in time, a server failure) are raised."""
    config = current_app.config
    name = f"{selector}._domainkey.{config['DKIM_DOMAIN']}."
    server = config["DKIM_DNS_SERVER"]
    resolver = dns.resolver.Resolver(configure=server is None)
    if server is not None:
        resolver.nameservers, resolver.port = [server[0]], server[1]
    try:
        answer = resolver.resolve(name, "TXT", lifetime=5)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    for record in answer:
        tags = dict(part.strip().split("=", 1)
                    for part in b"".join(record.strings).decode(errors="replace").split(";")
                    if "=" in part)
        if "p" in tags:
            return tags["p"].replace(" ", "")
    return None
