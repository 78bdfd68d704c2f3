"""TOTP, `type: "time_based"`: when its code matches, and what an accepted code moves in the key's state.

- A code matches if it is the code of the step before, at or after the device's step: now plus the key's stored
  `drift` (0 until learnt), compared in constant time (RFC 6238 §5.2, one step of skew either way). Every step
  within the resync window of now is compared, so that one conditional write can check the match against the
  stored drift without reading it first.
- State (rules.py) is kept per key, in this kind's domain: `last_used`, the start in Unix seconds of the last
  accepted step, and `drift`, in steps. With replay protection a code is unused only if its step starts after
  `last_used`, whatever the period, so a code is accepted once and never after a later one.
- Each accepted code moves `drift` to its own offset (RFC 6238 §6), which stays within the resync window. `resync`
  with two consecutive codes found within `TotpResyncWindow` steps of now sets it outright; both steps count as
  used. Drift needs the state, so without replay protection only the steps around now are accepted.
- The state may be forgotten once no accepted step can be presented again and any lockout has ended (TTL): a key
  whose drift is forgotten resyncs again.
- Without a code, the codes around now are listed, as the reference does (unless ListCodes is off, the key is
  sealed, or it is locked). With a code, the answer is the verdict alone, never the secret or codes.
"""

import hashlib
import time

from msgspec import UNSET

from otp_api import totp
from otp_api.errors import MissingParameter, TooManyAttempts
from otp_api.key_sources import key_of
from otp_api.models import (
    MAX_PERIOD,
    CodesResponse,
    ResyncRequest,
    ResyncResponse,
    UnlockRequest,
    UnlockResponse,
    VerifyRequest,
    VerifyResponse,
)
from otp_api.observability import count_outcome
from otp_api.otp_key import OtpKey
from otp_api.settings import VerifySettings, get_verify_settings
from otp_api.verify import rules, store
from otp_api.verify.expressions import AllOf, AnyOf, Attr, Compare, Cond, Item, Missing, Value

DOMAIN = b"otp-api/verify-state/v2\x00"  # v2: keyed by key bytes; v1 items (keyed by text) expired unused
LAST_USED, DRIFT = Attr("last_used"), Attr("drift")
START, NEW_DRIFT, LOW, HIGH = Value(":start"), Value(":drift"), Value(":drift_low"), Value(":drift_high")


def state_pk(key: OtpKey) -> str:
    """The state item of a key: a SHA-256 of its bytes, from which the key cannot be recovered."""
    return hashlib.sha256(DOMAIN + key.secret_bytes).hexdigest()


def _unused() -> Cond:
    return AnyOf((Missing(LAST_USED), Compare(LAST_USED, "<", START)))


def _near_drift(offset: int) -> Cond:
    """The stored drift is within one step of `offset` (no drift stored counts as 0)."""
    near = AllOf((Compare(DRIFT, ">", LOW), Compare(DRIFT, "<", HIGH)))
    return AnyOf((Missing(DRIFT), near)) if abs(offset) <= 1 else near


def progress(step_start: int, settings: VerifySettings, offset: int = 0) -> rules.Progress:
    """Accept the code of the step starting at `step_start`, `offset` steps from now."""
    if not settings.replay_protection:
        return rules.Progress()
    window = settings.totp_resync_window

    def why_refused(item: Item) -> str:
        return "already_used" if _near_drift(offset).holds(item, values) else "no_match"

    values = {":start": step_start, ":drift": max(-window, min(window, offset))}
    values |= {":drift_low": offset - 2, ":drift_high": offset + 2}
    return rules.Progress(
        unused=AllOf((_unused(), _near_drift(offset))),
        sets={LAST_USED.name: START, DRIFT.name: NEW_DRIFT},
        values=values,
        why_refused=why_refused,  # type: ignore[arg-type]
    )


def lifetime(settings: VerifySettings) -> int:
    # Until a lockout begun now has ended and no step accepted now can still be presented (the next step's end).
    return settings.lockout_seconds + 3 * MAX_PERIOD + 60


def _offsets(settings: VerifySettings) -> range:
    """The steps from now a code may belong to: around any drift the resync window allows, or around now alone
    without the state that remembers a drift."""
    reach = settings.totp_resync_window + 1 if settings.replay_protection else 1
    return range(-reach, reach + 1)


def verify(request: VerifyRequest) -> VerifyResponse | CodesResponse:
    settings = get_verify_settings()
    if request.code is UNSET and request.sealed_secret is not UNSET:  # before any KMS call
        raise MissingParameter("code is required with a sealed_secret: sealed keys are checked, never listed", "code")
    key = key_of(request)
    now = time.time()
    if request.code is UNSET:
        return _list_codes(key, settings, now)
    step = totp.step_at(now, key.period)
    offset = totp.matching_offset(request.code, key, step, _offsets(settings))
    moved = None if offset is None else progress((step + offset) * key.period, settings, offset)
    valid, reason, _ = rules.settle(state_pk(key), moved, settings, now, lifetime(settings), store.write)
    count_outcome("OtpVerified", result="valid" if valid else str(reason))
    return VerifyResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        period=key.period,
        type="totp",
        valid=valid,
        matched=totp.step_label(offset, key.period) if valid and offset is not None else None,
        reason=reason,
    )


def resync(request: ResyncRequest) -> ResyncResponse:
    """Two consecutive codes within the resync window of now: the device's drift is stored, both steps used."""
    settings = get_verify_settings()
    if not settings.replay_protection:
        from otp_api.errors import InvalidParameter

        raise InvalidParameter("resync stores a drift in the verify state, and replay protection is off", "action")
    key = key_of(request)
    now = time.time()
    step, window = totp.step_at(now, key.period), settings.totp_resync_window
    first = totp.matching_pair(request.code, request.next_code, key, step, range(-window, window))
    moved = None
    if first is not None:
        drift = first + 1
        values = {":start": (step + first) * key.period, ":used": (step + drift) * key.period, ":drift": drift}
        moved = rules.Progress(
            unused=_unused(), sets={LAST_USED.name: Value(":used"), DRIFT.name: NEW_DRIFT}, values=values
        )
    valid, reason, _ = rules.settle(state_pk(key), moved, settings, now, lifetime(settings), store.write)
    count_outcome("OtpResynced", result="valid" if valid else str(reason))
    return ResyncResponse(
        type="totp", valid=valid, drift=first + 1 if valid and first is not None else None, reason=reason
    )


def unlock(request: UnlockRequest) -> UnlockResponse:
    """Lift the key's lockout (its replay state and drift stay): after its user proved themselves another way."""
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
