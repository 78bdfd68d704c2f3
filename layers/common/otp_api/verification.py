"""Verify a code (POST /otp, action=verify): every rule of it, in this one file.

- Exactly one of `secret`, `sealed_secret` (from generate with `seal`) and `otp_url` names the key. With a sealed
  secret or a URI the parameters come from it, and giving them as well is a 400; a sealed secret needs a code.
- A code is valid if it is the code of the previous, current or next time step, compared in constant time.
- Replay protection: a code is accepted once. A code whose step starts at or before the start of the last accepted
  step of the same key (whatever its period) is refused as `already_used`.
- Lockout: wrong codes and replays are failures. The Nth failure within LockoutWindowSeconds locks the key for the
  full window from that failure; while it is locked, every attempt, right or wrong, and every listing answers 429
  with Retry-After, after the same single DynamoDB call, so timing tells nothing about the code.
- State is keyed by the key's bytes: every spelling of a secret, and the same key sealed or in an otpauth URI,
  share one replay state and one lockout.
- With a code, the answer is the verdict alone, never the secret or codes. Without one, the codes around now are
  listed as the reference does (unless ListCodes is off, or the key is locked).
"""

import base64
import math
import time
from dataclasses import dataclass

from msgspec import UNSET

from otp_api import totp, verify_state
from otp_api.errors import InvalidParameter, MissingParameter, TooManyAttempts
from otp_api.models import Algorithm, CodesResponse, Reason, VerifyRequest, VerifyResponse
from otp_api.observability import count_for_alarm, count_outcome
from otp_api.settings import VerifySettings, get_verify_settings

KEY_PARAMETERS = ("secret", "sealed_secret", "otp_url")


@dataclass(frozen=True, slots=True)
class Key:
    secret: str  # normalised base32, as pyotp takes it
    algorithm: Algorithm
    digits: int
    period: int


def verify(request: VerifyRequest) -> VerifyResponse | CodesResponse:
    settings = get_verify_settings()
    key = _key_of(request)
    now = time.time()
    if request.code is UNSET:
        return _list_codes(key, settings, int(now))
    step = totp.matching_step(request.code, key.secret, key.digits, key.algorithm, key.period, now)
    valid, reason = _decide(key, step, settings, now)
    count_outcome("OtpVerified", result="valid" if valid else reason)
    matched = None
    if valid and step is not None:
        matched = totp.window_key(step - totp.step_at(now, key.period), key.period)
    return VerifyResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        period=key.period,
        type="totp",
        valid=valid,
        matched=matched,
        reason=None if valid else reason,
    )


def _key_of(request: VerifyRequest) -> Key:
    given = [name for name in KEY_PARAMETERS if getattr(request, name) is not UNSET]
    if not given:
        raise MissingParameter("secret is required (or sealed_secret, or otp_url)", "secret")
    if len(given) > 1:
        raise InvalidParameter(f"give one of secret, sealed_secret or otp_url, not {' and '.join(given)}", given[1])
    if request.subject is not UNSET and given[0] != "sealed_secret":
        raise InvalidParameter("subject belongs to a sealed_secret: leave it out with a secret or otp_url", "subject")
    if isinstance(request.secret, str):
        return Key(
            secret=totp.normalise_secret(request.secret),
            algorithm=request.algorithm or "SHA1",
            digits=request.digits or 6,
            period=request.period or 30,
        )
    for name in ("digits", "algorithm", "period"):
        if getattr(request, name) is not UNSET:
            raise InvalidParameter(f"{name} comes from the {given[0]}: leave it out", name)
    if isinstance(request.otp_url, str):
        from otp_api.otpauth import parse_totp_uri

        secret, algorithm, digits, period = parse_totp_uri(request.otp_url)
        return Key(totp.normalise_secret(secret), algorithm, digits, period)
    if request.code is UNSET:
        raise MissingParameter("code is required with a sealed_secret: sealed keys are checked, never listed", "code")
    from otp_api import sealing

    sealed = sealing.unseal(str(request.sealed_secret), request.subject if isinstance(request.subject, str) else None)
    return Key(base64.b32encode(sealed.key).decode("ascii").rstrip("="), sealed.algorithm, sealed.digits, sealed.period)


def _decide(key: Key, step: int | None, settings: VerifySettings, now: float) -> tuple[bool, Reason]:
    """(valid, why not). Raises TooManyAttempts while the key is locked, StateUnavailable if DynamoDB fails."""
    if not settings.stateful:
        return step is not None, "no_match"
    item = verify_state.item_key(totp.key_bytes(key.secret))
    reason: Reason = "no_match"
    if step is not None:
        written = verify_state.accept(item, settings, step * key.period, now)
        if written.applied:
            return True, reason
        if written.locked_until:
            raise TooManyAttempts(written.locked_until - math.floor(now))
        reason = "already_used"  # and a failure: a replay is what an eavesdropper would try
    if not settings.max_failed_attempts:
        return False, reason
    written = verify_state.record_failure(item, settings, now)
    if not written.applied:
        raise TooManyAttempts(written.locked_until - math.floor(now))
    if written.locked_until:
        count_for_alarm("OtpLockout")  # this failure locked the key
    return False, reason


def _list_codes(key: Key, settings: VerifySettings, now: int) -> CodesResponse:
    if not settings.list_codes:
        raise MissingParameter("code is required: this API checks codes and does not list them", "code")
    if settings.max_failed_attempts:
        locked_until = verify_state.locked_until(verify_state.item_key(totp.key_bytes(key.secret)), settings, now)
        if locked_until:
            raise TooManyAttempts(locked_until - now)
    return CodesResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        otp_codes=totp.codes_around(key.secret, key.digits, key.algorithm, key.period, now),
        period=key.period,
        secret=key.secret,
        type="totp",
    )
