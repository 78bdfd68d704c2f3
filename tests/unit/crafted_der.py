"""Tiny DER helpers for crafting certificates whose subject is arbitrary bytes (the CA directory's tests)."""

import datetime
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(ln))) + ln + content


def parse(data: bytes, at: int = 0):
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[at : at + size], "big")
        at += size
    return tag, at, at + length


def children(data: bytes, start: int, end: int):
    out = []
    while start < end:
        _, _, e = parse(data, start)
        out.append(data[start:e])
        start = e
    return out


CN = b"\x06\x03\x55\x04\x03"
OU = b"\x06\x03\x55\x04\x0b"


def atv(oid: bytes, value: bytes) -> bytes:
    return tlv(0x30, oid + value)


def rdn(*atvs: bytes) -> bytes:
    return tlv(0x31, b"".join(atvs))


def name(*rdns: bytes) -> bytes:
    return tlv(0x30, b"".join(rdns))


def with_subject(raw_name: bytes) -> bytes:
    """A DER certificate (signature not valid afterwards) whose subject Name is `raw_name` (a full TLV)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    placeholder = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "placeholder")])
    der = (
        x509.CertificateBuilder()
        .subject_name(placeholder)
        .issuer_name(placeholder)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    _, c, e = parse(der)
    tbs, alg, sig = children(der, c, e)
    _, tc, te = parse(tbs)
    fields = children(tbs, tc, te)
    fields[5] = raw_name  # [0]version, serial, sigalg, issuer, validity, subject
    return tlv(0x30, tlv(0x30, b"".join(fields)) + alg + sig)


def openssl_hash(der: bytes) -> str | None:
    done = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-subject_hash", "-noout"], input=der, capture_output=True
    )
    return done.stdout.decode().strip() if done.returncode == 0 else None
