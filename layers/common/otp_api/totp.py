"""TOTP (RFC 6238) on top of pyotp: secrets, codes around a moment, and constant-time verification."""

import base64
import hashlib
import hmac
import secrets
import time

import pyotp

from otp_api.errors import InvalidParameter

# RFC 6238 §5.1: the key should be as long as the HMAC output; RFC 4226 §4 asks for at least 160 bits.
SECRET_BYTES = {"SHA1": 20, "SHA256": 32, "SHA512": 64}
DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
# Keys made elsewhere must still have 112 bits (NIST SP 800-63B; pyotp refuses shorter ones): 23 base32 characters.
MIN_SECRET_BYTES = 14
MIN_SECRET_CHARS = 23
_BASE32 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def new_secret(algorithm: str) -> str:
    """A fresh CSPRNG key as base32 without padding."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES[algorithm])).decode("ascii").rstrip("=")


def normalise_secret(text: str) -> str:
    """The canonical form of a secret as people paste it (lower case, spaces, '=' padding); never echoed in an
    error message."""
    secret = "".join(text.split()).rstrip("=").upper()
    if len(secret) < MIN_SECRET_CHARS:
        raise InvalidParameter(f"secret must have at least {MIN_SECRET_CHARS} base32 characters", "secret")
    if not _BASE32.issuperset(secret):
        raise InvalidParameter("secret must be base32 (letters A-Z and digits 2-7)", "secret")
    # A length that no encoder produces (1, 3 or 6 past a multiple of 8) ends in bits that make no whole byte:
    # drop them, as authenticator apps do, so the key bytes are the same everywhere.
    if len(secret) % 8 in (1, 3, 6):
        secret = secret[:-1]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    if len(key) < MIN_SECRET_BYTES:
        raise InvalidParameter(f"secret must decode to at least {MIN_SECRET_BYTES * 8} bits", "secret")
    return secret


OFFSETS = (1, 0, -1, -2)  # the steps of window_keys, relative to the current one


def step_at(now: float, period: int) -> int:
    return int(now // period)


def step_of(key: str, now: float, period: int) -> int:
    """The time step whose code is listed under `key` at `now`."""
    return step_at(now, period) + OFFSETS[window_keys(period).index(key)]


def window_keys(period: int) -> tuple[str, str, str, str]:
    """Response keys of the steps around now: next, current, previous, the one before."""
    return f"+{period}s", "current", f"-{period}s", f"-{2 * period}s"


def codes_around(secret: str, digits: int, algorithm: str, period: int, now: float | None = None) -> dict[str, str]:
    """Codes for the next, current, previous and second previous time step (steps before 1970 have none)."""
    now = time.time() if now is None else now
    otp = pyotp.OTP(secret, digits=digits, digest=DIGESTS[algorithm])
    step = step_at(now, period)
    pairs = zip(window_keys(period), OFFSETS, strict=True)
    return {key: otp.generate_otp(step + offset) for key, offset in pairs if step + offset >= 0}


def match(code: str, codes: dict[str, str], period: int) -> str | None:
    """The key of the step (previous, current or next) whose code equals `code`, compared in constant time."""
    candidate = "".join(code.split())
    if not candidate.isdigit() or not candidate.isascii():
        raise InvalidParameter("code must contain digits only", "code")
    matched = None
    for key in window_keys(period)[:3]:  # the step before the previous one is shown, never accepted
        # compare every candidate so timing does not reveal which step matched
        if hmac.compare_digest(candidate.encode(), codes.get(key, "").encode()) and matched is None:
            matched = key
    return matched
