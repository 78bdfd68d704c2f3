"""TOTP, `type: "time_based"`: when its code matches, and what an accepted code moves in the key's state.

- A code matches if it is the code of the previous, current or next time step (RFC 6238 §5.2, one step of clock
  skew either way), compared in constant time (totp.matching_step).
- State (rules.py) is kept per key, in this kind's domain: `last_used`, the start in Unix seconds of the last
  accepted step. With replay protection a code is unused only if its step starts after `last_used`, whatever the
  period, so a code is accepted once and never after a later one.
- The state may be forgotten once no accepted step can be presented again and any lockout has ended (TTL).
- Without a code, the codes around now are listed, as the reference does (unless ListCodes is off, the key is
  sealed, or it is locked). With a code, the answer is the verdict alone, never the secret or codes.
"""

import hashlib
import time

from msgspec import UNSET

from otp_api import totp
from otp_api.errors import MissingParameter, TooManyAttempts
from otp_api.key_sources import key_of
from otp_api.models import MAX_PERIOD, CodesResponse, UnlockRequest, UnlockResponse, VerifyRequest, VerifyResponse
from otp_api.observability import count_outcome
from otp_api.otp_key import OtpKey
from otp_api.settings import VerifySettings, get_verify_settings
from otp_api.verify import rules, store
from otp_api.verify.expressions import AnyOf, Attr, Compare, Missing, Value

DOMAIN = b"otp-api/verify-state/v2\x00"  # v2: keyed by key bytes; v1 items (keyed by text) expired unused
LAST_USED, START = Attr("last_used"), Value(":start")


def state_pk(key: OtpKey) -> str:
    """The state item of a key: a SHA-256 of its bytes, from which the key cannot be recovered."""
    return hashlib.sha256(DOMAIN + key.secret_bytes).hexdigest()


def progress(step_start: int, settings: VerifySettings) -> rules.Progress:
    if not settings.replay_protection:
        return rules.Progress()
    return rules.Progress(
        unused=AnyOf((Missing(LAST_USED), Compare(LAST_USED, "<", START))),
        sets={LAST_USED.name: START},
        values={":start": step_start},
    )


def lifetime(settings: VerifySettings) -> int:
    # Until a lockout begun now has ended and no step accepted now can still be presented (the next step's end).
    return settings.lockout_seconds + 3 * MAX_PERIOD + 60


def verify(request: VerifyRequest) -> VerifyResponse | CodesResponse:
    settings = get_verify_settings()
    if request.code is UNSET and request.sealed_secret is not UNSET:  # before any KMS call
        raise MissingParameter("code is required with a sealed_secret: sealed keys are checked, never listed", "code")
    key = key_of(request)
    now = time.time()
    if request.code is UNSET:
        return _list_codes(key, settings, now)
    step = totp.step_at(now, key.period)
    matched = totp.matching_step(request.code, key, step)
    moved = None if matched is None else progress(matched * key.period, settings)
    valid, reason = rules.settle(state_pk(key), moved, settings, now, lifetime(settings), store.write)
    count_outcome("OtpVerified", result="valid" if valid else str(reason))
    return VerifyResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        period=key.period,
        type="totp",
        valid=valid,
        matched=totp.step_label(matched - step, key.period) if valid and matched is not None else None,
        reason=reason,
    )


def unlock(request: UnlockRequest) -> UnlockResponse:
    """Lift the key's lockout (its replay state stays): after its user proved themselves another way."""
    unlocked = rules.release(state_pk(key_of(request)), get_verify_settings(), time.time(), store.write)
    count_outcome("OtpUnlocked", type="time_based", result="unlocked" if unlocked else "not_locked")
    return UnlockResponse(unlocked=unlocked)


def _list_codes(key: OtpKey, settings: VerifySettings, now: float) -> CodesResponse:
    if not settings.list_codes:
        raise MissingParameter("code is required: this API checks codes and does not list them", "code")
    if settings.max_failed_attempts:
        lockout = rules.Lockout(settings.max_failed_attempts, settings.lockout_seconds)
        if until := lockout.until(store.read(state_pk(key)), now):
            raise TooManyAttempts(until - int(now))
    return CodesResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        otp_codes=totp.codes_around(key, now),
        period=key.period,
        secret=key.base32,
        type="totp",
    )
