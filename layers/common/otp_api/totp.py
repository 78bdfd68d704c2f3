"""TOTP (RFC 6238) and HOTP (RFC 4226) on top of pyotp: new secrets, codes around a moment, and the step or counter
a code belongs to, every candidate compared in constant time."""

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


def _same(candidate: bytes, otp: pyotp.OTP, count: int) -> bool:
    return hmac.compare_digest(candidate, otp.generate_otp(max(count, 0)).encode()) and count >= 0  # (none < 0)


def matching_offset(code: str, key: OtpKey, step: int, offsets: range) -> int | None:
    """The offset from `step`, among `offsets`, whose code is `code` (spaces ignored), nearest to 0 if several,
    or None.

    Not pyotp's `TOTP.verify`: it answers only yes or no, and stops at the first match, so its timing tells which
    step matched. Here every candidate is compared, in constant time."""
    candidate, otp = "".join(code.split()).encode(), _otp(key)
    found = [offset for offset in offsets if _same(candidate, otp, step + offset)]
    return min(found, key=abs) if found else None


def matching_pair(code: str, next_code: str, key: OtpKey, step: int, offsets: range) -> int | None:
    """The offset among `offsets` whose code is `code` and whose next step's code is `next_code`, or None."""
    first, second, otp = "".join(code.split()).encode(), "".join(next_code.split()).encode(), _otp(key)
    found = [o for o in offsets if _same(first, otp, step + o) & _same(second, otp, step + o + 1)]
    return min(found, key=abs) if found else None


def hotp_match(code: str, key: OtpKey, counters: range) -> int | None:
    """The first counter among `counters` whose HOTP code is `code`, every one compared in constant time."""
    candidate, otp = "".join(code.split()).encode(), _otp(key)
    found = [counter for counter in counters if _same(candidate, otp, counter)]
    return found[0] if found else None


def hotp_pair(code: str, next_code: str, key: OtpKey, counters: range) -> int | None:
    """The first counter among `counters` whose code is `code` and whose next counter's is `next_code`."""
    first, second, otp = "".join(code.split()).encode(), "".join(next_code.split()).encode(), _otp(key)
    found = [c for c in counters if _same(first, otp, c) & _same(second, otp, c + 1)]
    return found[0] if found else None


def hotp_code(key: OtpKey, counter: int) -> str:
    return _otp(key).generate_otp(counter)
