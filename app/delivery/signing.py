"""DKIM signatures, made when a mail is sent: big providers honour one-click
unsubscribe only in signed mail whose signature covers the list headers.

RSA-SHA256 with relaxed/relaxed canonicalisation (RFC 6376), and where a second key
is set, Ed25519-SHA256 beside it (RFC 8463: receivers that know Ed25519 check that
one, the others the RSA one). dkimpy canonicalises and selects the header fields,
exactly as its verifier does; the signatures themselves are OpenSSL's
(``cryptography``), some twenty times faster than dkimpy's own. From, Subject,
Reply-To and the one-click unsubscribe fields are oversigned (listed once more than
they occur), so that nobody can add a second one later.
"""

import base64
import hashlib
import time
from functools import lru_cache

import dns.resolver
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils
from dkim import fold, hash_headers, rfc822_parse
from dkim.canonicalization import CanonicalizationPolicy
from flask import current_app

RELAXED = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
OVERSIGNED = (b"from", b"subject", b"list-unsubscribe", b"list-unsubscribe-post", b"reply-to")
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"list-id",
                  b"list-unsubscribe", b"list-unsubscribe-post", b"reply-to", b"mime-version",
                  b"content-type") + OVERSIGNED


@lru_cache(maxsize=4)
def _private_key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def enabled() -> bool:
    config = current_app.config
    return bool(config["DKIM_PRIVATE_KEY"] and config["DKIM_SELECTOR"] and config["DKIM_DOMAIN"])


def sign(message: bytes) -> bytes:
    """``message`` with DKIM-Signature fields in front, if DKIM is configured."""
    if not enabled():
        return message
    config = current_app.config
    headers, body = rfc822_parse(message)
    body_hash = base64.b64encode(hashlib.sha256(RELAXED.canonicalize_body(body)).digest())
    headers = RELAXED.canonicalize_headers(headers)
    rsa_key = _private_key(config["DKIM_PRIVATE_KEY"])
    signatures = _signature(headers, body_hash, b"rsa-sha256", config["DKIM_SELECTOR"],
                            lambda digest: rsa_key.sign(digest, padding.PKCS1v15(),
                                                        utils.Prehashed(hashes.SHA256())))
    if config["DKIM_ED25519_SELECTOR"]:
        ed25519_key = _private_key(config["DKIM_ED25519_PRIVATE_KEY"])
        signatures += _signature(headers, body_hash, b"ed25519-sha256",
                                 config["DKIM_ED25519_SELECTOR"], ed25519_key.sign)
    return signatures + message


def _signature(headers, body_hash: bytes, algorithm: bytes, selector: str, sign_digest) -> bytes:
    """One DKIM-Signature field over the canonical ``headers`` and ``body_hash``;
    ``sign_digest`` signs the SHA-256 digest of the header hash input."""
    fields = [(b"v", b"1"), (b"a", algorithm), (b"c", b"relaxed/relaxed"),
              (b"d", current_app.config["DKIM_DOMAIN"].encode()), (b"s", selector.encode()),
              (b"t", str(int(time.time())).encode()), (b"h", b" : ".join(SIGNED_HEADERS)),
              (b"bh", body_hash)]
    # Folded as it is hashed; b= (empty while hashing) goes on lines of its own.
    value = fold(b"; ".join(b"=".join(pair) for pair in fields),
                 namelen=len(b"DKIM-Signature")) + b";\r\n b="
    hasher = hashlib.sha256()
    hash_headers(hasher, RELAXED, headers, SIGNED_HEADERS, (b"DKIM-Signature", b" " + value),
                 dict(fields))
    signature = base64.b64encode(sign_digest(hasher.digest()))
    folded = b"\r\n ".join(signature[i:i + 72] for i in range(0, len(signature), 72))
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
