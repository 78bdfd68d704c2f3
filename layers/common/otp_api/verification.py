"""Verify a code (POST /otp, action=verify): every rule of it, in this one file.

- A code is valid if it is the code of the previous, current or next time step, compared in constant time.
- Replay protection: a code is accepted once. A code whose step starts at or before the start of the last accepted
  step of the same key (whatever its period) is refused as `already_used`.
- Lockout: wrong codes and replays are failures. The Nth failure within LockoutWindowSeconds locks the key for the
  full window from that failure; while it is locked, every attempt, right or wrong, and every listing answers 429
  with Retry-After, after the same single DynamoDB call, so timing tells nothing about the code.
- State is keyed by the key's bytes: every spelling of a secret shares one replay state and one lockout.
- With a code, the answer is the verdict alone, never the secret or codes. Without one, the codes around now are
  listed as the reference does (unless ListCodes is off, or the key is locked).
"""

import time

from msgspec import UNSET

from otp_api import totp, verify_state
from otp_api.errors import MissingParameter, TooManyAttempts
from otp_api.models import CodesResponse, Reason, VerifyRequest, VerifyResponse
from otp_api.observability import count, count_event
from otp_api.settings import VerifySettings, get_verify_settings


def verify(request: VerifyRequest) -> VerifyResponse | CodesResponse:
    settings = get_verify_settings()
    secret = totp.normalise_secret(request.secret)
    now = time.time()
    if request.code is UNSET:
        return _list_codes(request, secret, settings, int(now))
    step = totp.matching_step(request.code, secret, request.digits, request.algorithm, request.period, now)
    valid, reason = _decide(secret, step, request.period, settings, int(now))
    count("OtpVerified", result="valid" if valid else reason)
    matched = None
    if valid and step is not None:
        matched = totp.window_key(step - totp.step_at(now, request.period), request.period)
    return VerifyResponse(
        algorithm=request.algorithm,
        digits=request.digits,
        period=request.period,
        type="totp",
        valid=valid,
        matched=matched,
        reason=None if valid else reason,
    )


def _decide(secret: str, step: int | None, period: int, settings: VerifySettings, now: int) -> tuple[bool, Reason]:
    """(valid, why not). Raises TooManyAttempts while the key is locked, StateUnavailable if DynamoDB fails."""
    if not settings.stateful:
        return step is not None, "no_match"
    key = verify_state.item_key(totp.key_bytes(secret))
    reason: Reason = "no_match"
    if step is not None:
        written = verify_state.accept(key, settings, step * period, now)
        if written.applied:
            return True, reason
        if written.locked_until:
            raise TooManyAttempts(written.locked_until - now)
        reason = "already_used"  # and a failure: a replay is what an eavesdropper would try
    if not settings.max_failed_attempts:
        return False, reason
    written = verify_state.record_failure(key, settings, now)
    if not written.applied:
        raise TooManyAttempts(written.locked_until - now)
    if written.locked_until:
        count_event("OtpLockout")  # this failure locked the key
    return False, reason


def _list_codes(request: VerifyRequest, secret: str, settings: VerifySettings, now: int) -> CodesResponse:
    if not settings.list_codes:
        raise MissingParameter("code is required: this API checks codes and does not list them", "code")
    if settings.max_failed_attempts:
        locked_until = verify_state.locked_until(verify_state.item_key(totp.key_bytes(secret)), settings, now)
        if locked_until:
            raise TooManyAttempts(locked_until - now)
    return CodesResponse(
        algorithm=request.algorithm,
        digits=request.digits,
        otp_codes=totp.codes_around(secret, request.digits, request.algorithm, request.period, now),
        period=request.period,
        secret=secret,
        type="totp",
    )
