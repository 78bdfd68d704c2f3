"""TOTP (RFC 6238) on top of pyotp: new secrets, codes around a moment, and the step a code belongs to."""

import base64
import hashlib
import hmac
import secrets

import pyotp

from otp_api.otp_key import OtpKey

# RFC 6238 §5.1: the key should be as long as the HMAC output; RFC 4226 §4 asks for at least 160 bits.
SECRET_BYTES = {"SHA1": 20, "SHA256": 32, "SHA512": 64}
DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
LISTED_OFFSETS = (1, 0, -1, -2)  # listed as in the reference; the last is shown, never accepted
ACCEPTED_OFFSETS = (1, 0, -1)  # the next, current and previous step: a clock off by one step still works


def new_secret(algorithm: str) -> str:
    """A fresh CSPRNG key as base32 without padding."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES[algorithm])).decode("ascii").rstrip("=")


def step_at(now: float, period: int) -> int:
    return int(now // period)


def step_label(offset: int, period: int) -> str:
    """How the answer names the step `offset` steps from now: "+30s", "current", "-30s", "-60s"."""
    return "current" if offset == 0 else f"{offset * period:+d}s"


def _otp(key: OtpKey) -> pyotp.OTP:
    return pyotp.OTP(key.base32, digits=key.digits, digest=DIGESTS[key.algorithm])


def codes_around(key: OtpKey, now: float) -> dict[str, str]:
    """Codes for the next, current, previous and second previous time step (steps before 1970 have none)."""
    otp, step = _otp(key), step_at(now, key.period)
    return {step_label(o, key.period): otp.generate_otp(step + o) for o in LISTED_OFFSETS if step + o >= 0}


def matching_step(code: str, key: OtpKey, step: int) -> int | None:
    """The step (next, current or previous of `step`) whose code is `code` (spaces ignored), or None.

    Not pyotp's `TOTP.verify`: it answers only yes or no, and stops at the first match, so its timing tells which
    step matched. Here every candidate is compared, in constant time."""
    candidate = "".join(code.split()).encode()
    otp = _otp(key)
    matched = None
    for offset in ACCEPTED_OFFSETS:
        same = hmac.compare_digest(candidate, otp.generate_otp(max(step + offset, 0)).encode())
        if same and step + offset >= 0 and matched is None:  # (no steps before 1970)
            matched = step + offset
    return matched
