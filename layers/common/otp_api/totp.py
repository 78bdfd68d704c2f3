"""TOTP (RFC 6238) on top of pyotp: secrets, codes around a moment, and constant-time verification."""

import base64
import hashlib
import hmac
import secrets
import time

import pyotp

# RFC 6238 §5.1: the key should be as long as the HMAC output; RFC 4226 §4 asks for at least 160 bits.
SECRET_BYTES = {"SHA1": 20, "SHA256": 32, "SHA512": 64}
DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def new_secret(algorithm: str) -> str:
    """A fresh CSPRNG key as base32 without padding."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES[algorithm])).decode("ascii").rstrip("=")


def normalise_secret(text: str) -> str:
    """The canonical spelling of a secret as people paste it: no spaces or '=' padding, upper case. (The request
    model has checked it is base32 of at least 112 bits.)"""
    secret = "".join(text.split()).rstrip("=").upper()
    # A length that no encoder produces (1, 3 or 6 past a multiple of 8) ends in bits that make no whole byte:
    # drop them, as authenticator apps do, so the key bytes are the same everywhere.
    return secret[:-1] if len(secret) % 8 in (1, 3, 6) else secret


def key_bytes(secret: str) -> bytes:
    """The key a normalised secret spells. Several spellings can share it (unused trailing bits): state is keyed by
    these bytes, never by the text."""
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def step_at(now: float, period: int) -> int:
    return int(now // period)


def window_key(offset: int, period: int) -> str:
    """The response key of the step `offset` steps from now: "+30s", "current", "-30s", "-60s"."""
    return "current" if offset == 0 else f"{offset * period:+d}s"


LISTED_OFFSETS = (1, 0, -1, -2)  # listed as in the reference; the last is shown, never accepted
ACCEPTED_OFFSETS = (1, 0, -1)  # the next, current and previous step: a clock off by one step still works


def _otp(secret: str, digits: int, algorithm: str) -> pyotp.OTP:
    return pyotp.OTP(secret, digits=digits, digest=DIGESTS[algorithm])


def codes_around(secret: str, digits: int, algorithm: str, period: int, now: float | None = None) -> dict[str, str]:
    """Codes for the next, current, previous and second previous time step (steps before 1970 have none)."""
    now = time.time() if now is None else now
    otp, step = _otp(secret, digits, algorithm), step_at(now, period)
    return {
        window_key(offset, period): otp.generate_otp(step + offset) for offset in LISTED_OFFSETS if step + offset >= 0
    }


def matching_step(code: str, secret: str, digits: int, algorithm: str, period: int, now: float) -> int | None:
    """The time step (next, current or previous) whose code is `code` (spaces ignored), or None. Every candidate is
    compared, in constant time, so timing does not reveal which step matched or whether one did."""
    candidate = "".join(code.split()).encode()
    otp, step = _otp(secret, digits, algorithm), step_at(now, period)
    matched = None
    for offset in ACCEPTED_OFFSETS:
        same = hmac.compare_digest(candidate, otp.generate_otp(max(step + offset, 0)).encode())
        if same and step + offset >= 0 and matched is None:  # (no steps before 1970)
            matched = step + offset
    return matched
