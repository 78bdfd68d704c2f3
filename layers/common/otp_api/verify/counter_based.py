"""HOTP, `type: "counter_based"` (RFC 4226), for hardware and counter tokens: when a code matches, and what an
accepted code moves.

- State (rules.py) is kept per key, in this kind's domain: `next_counter`, the counter the server expects next
  (the token's first counter until a code is accepted: the request's `counter`, or the sealed secret's or URI's).
- A code matches if it is the code of a counter in the look-ahead window `[next, next + HotpLookAhead)` (RFC 4226
  §7.4; every candidate compared in constant time). Accepting it moves `next_counter` to the matched counter + 1,
  in one conditional write that holds only if `next_counter` is still at most the matched counter: two concurrent
  requests can never both succeed, and the counter never moves back. Codes at or below a used counter are refused
  as `already_used` (within a look-ahead's length behind), codes beyond the window as `no_match`.
- `resync`: two consecutive codes within `HotpResyncWindow` counters of `next` move it past both.
- HOTP verifies read the state first (one consistent read: the window starts where the token stands), then make
  the one write. The state never expires: a counter forgotten would let used codes in again. HOTP needs the
  verify-state table: with replay protection off, its requests are a 400 naming `type`.
"""

import hashlib
import time

from otp_api import totp
from otp_api.errors import InvalidParameter, TooManyAttempts
from otp_api.key_sources import key_of
from otp_api.models import HotpResyncRequest, HotpUnlockRequest, HotpVerifyRequest, HotpVerifyResponse, UnlockResponse
from otp_api.observability import count_outcome
from otp_api.otp_key import OtpKey
from otp_api.settings import VerifySettings, get_verify_settings
from otp_api.verify import rules, store
from otp_api.verify.expressions import AnyOf, Attr, Compare, Missing, Value

DOMAIN = b"otp-api/hotp-state/v1\x00"
NEXT, AFTER, MOVED = Attr("next_counter"), Value(":after"), Value(":next")


def state_pk(key: OtpKey) -> str:
    return hashlib.sha256(DOMAIN + key.secret_bytes).hexdigest()


def progress(counter: int, moved_to: int) -> rules.Progress:
    """Accept `counter`'s code: unless a counter past it was accepted, `next_counter` moves to `moved_to`."""
    return rules.Progress(
        unused=AnyOf((Missing(NEXT), Compare(NEXT, "<", AFTER))),  # next_counter <= counter
        sets={NEXT.name: MOVED},
        values={":after": counter + 1, ":next": moved_to},
    )


def _settings() -> VerifySettings:
    settings = get_verify_settings()
    if not settings.replay_protection:
        raise InvalidParameter("counter_based needs the verify state, and replay protection is off", "type")
    return settings


def _where_it_stands(key: OtpKey, settings: VerifySettings, now: float) -> int:
    """The counter the server expects next, after refusing a locked key (the read a window needs)."""
    item = store.read(state_pk(key))
    lockout = rules.Lockout(settings.max_failed_attempts, settings.lockout_seconds)
    if until := lockout.until(item, now):
        raise TooManyAttempts(until - int(now))
    return int(item.get(NEXT.name, key.counter or 0))


def verify(request: HotpVerifyRequest) -> HotpVerifyResponse:
    settings, key, now = _settings(), key_of(request), time.time()
    expected = _where_it_stands(key, settings, now)
    counter = totp.hotp_match(request.code, key, range(expected, expected + settings.hotp_look_ahead))
    moved = None if counter is None else progress(counter, counter + 1)
    valid, reason, _ = rules.settle(state_pk(key), moved, settings, now, None, store.write)
    if reason == "no_match":  # a code of a counter already passed is a replay, as a used TOTP code is
        behind = range(max(expected - settings.hotp_look_ahead, key.counter or 0), expected)
        if totp.hotp_match(request.code, key, behind) is not None:
            reason = "already_used"
    count_outcome("OtpVerified", result="valid" if valid else str(reason))
    return HotpVerifyResponse(type="hotp", valid=valid, counter=counter if valid else None, reason=reason)


def resync(request: HotpResyncRequest) -> HotpVerifyResponse:
    settings, key, now = _settings(), key_of(request), time.time()
    expected = _where_it_stands(key, settings, now)
    window = range(expected, expected + settings.hotp_resync_window)
    counter = totp.hotp_pair(request.code, request.next_code, key, window)
    moved = None if counter is None else progress(counter, counter + 2)
    valid, reason, _ = rules.settle(state_pk(key), moved, settings, now, None, store.write)
    count_outcome("OtpResynced", result="valid" if valid else str(reason))
    return HotpVerifyResponse(
        type="hotp", valid=valid, counter=counter + 1 if valid and counter is not None else None, reason=reason
    )


def unlock(request: HotpUnlockRequest) -> UnlockResponse:
    unlocked = rules.release(state_pk(key_of(request)), _settings(), time.time(), store.write)
    count_outcome("OtpUnlocked", type="counter_based", result="unlocked" if unlocked else "not_locked")
    return UnlockResponse(unlocked=unlocked)
