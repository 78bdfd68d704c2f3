"""HOTP, `type: "counter_based"` (synonym `hotp`, RFC 4226), for hardware and counter devices: its requests and
answers, when a code is accepted, what an accepted code moves, and its actions (generate, seal, verify, resync,
unlock, revoke).

- State (state/rules.py) is kept per key, in this kind's domain: `next_counter`, the counter the server expects next
  (the device's first counter until a code is accepted: the request's `counter`, or the sealed secret's or URI's).
- A code matches if it is the code of a counter in the look-ahead window `[next, next + HotpLookAhead)` (RFC 4226
  §7.4; every candidate compared in constant time). Accepting it moves `next_counter` to the matched counter + 1,
  in one conditional write that holds only if `next_counter` is still at most the matched counter: two concurrent
  requests can never both succeed, and the counter never moves back. Codes at or below a used counter are refused
  as `already_used` (within a look-ahead's length behind), codes beyond the window as `no_match`.
- `resync`: two consecutive codes within `HotpResyncWindow` counters of `next` move it past both (and keep the
  decision's id as `resynced_by`, which tells a resync from a verify to the events).
- HOTP verifies read the state first (one consistent read: the window starts where the device stands), then make
  the one write. The state never expires: a counter forgotten would let used codes in again. HOTP needs the
  verify state: with replay protection off, its requests are a 400 naming `type`.

The writes each outcome sends are pinned in tests/handler/test_golden_writes.py.
"""

import hashlib
import time
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from otp_api import fields, oath, spellings
from otp_api.fields import Code, Counter, Enrols, NamesAKey
from otp_api.kinds import enrolment
from otp_api.kinds.registry import Keyed, Kind
from otp_api.oath import Algorithm, OtpKey
from otp_api.observability import count_outcome
from otp_api.settings import VerifySettings, get_verify_settings
from otp_api.state import apply, rules, table
from otp_api.state.conditions import AnyOf, Attr, Compare, Missing, Value
from otp_api.state.rules import Reason

CounterBased = Literal["counter_based", "hotp"]
DOMAIN = b"otp-api/hotp-state/v1\x00"
NEXT, AFTER, MOVED = Attr("next_counter"), Value(":after"), Value(":next")


# --- requests and answers -----------------------------------------------------------------------------------------


class HotpGenerateRequest(Enrols, tag="generate", kw_only=True):
    """An HOTP key for a counter device (or an app's counter-based account): its otpauth://hotp URI starts at
    `counter`, which is where the server expects the device to begin."""

    type: CounterBased
    counter: Counter = 0


class HotpSealRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="seal", kw_only=True):
    """Import an HOTP secret an app already holds (a hardware token's): its sealed form, as generate with seal would
    give it, with the token's current counter (`counter`, default 0) as its first."""

    type: CounterBased
    secret: fields.SecretText | UnsetType = UNSET
    otp_url: fields.OtpUrlText | UnsetType = UNSET
    digits: fields.Digits | UnsetType = UNSET
    algorithm: Algorithm | UnsetType = UNSET
    counter: Counter | UnsetType = UNSET
    subject: fields.Subject | UnsetType = UNSET


class _HotpKey(NamesAKey, kw_only=True):
    type: CounterBased
    counter: Counter | UnsetType = UNSET  # with a secret: the device's first counter, if the server knows none yet


class HotpVerifyRequest(_HotpKey, tag="verify", kw_only=True):
    code: Code


class HotpResyncRequest(_HotpKey, tag="resync", kw_only=True):
    code: Code
    next_code: Code


class HotpGenerateResponse(enrolment.Enrolled, kw_only=True):
    counter: int
    type: Literal["hotp"]


class HotpSealResponse(Struct):
    """An imported HOTP secret, sealed with its first counter: never the secret itself."""

    algorithm: Algorithm
    digits: int
    counter: int
    sealed_secret: str
    type: Literal["hotp"]


class HotpVerifyResponse(Struct):
    """The verdict on an HOTP code (or, for resync, on two), with the key's parameters: never the secret, never
    codes."""

    algorithm: Algorithm
    digits: int
    type: Literal["hotp"]
    valid: bool
    counter: Annotated[int | None, Meta(description="The counter of the code accepted (resync: of next_code).")]
    reason: Reason | None


# --- the state: when a code is unused, and what accepting it writes -----------------------------------------------


def state_pk(key: OtpKey) -> str:
    """The state item of a key: a SHA-256 of its bytes whatever the algorithm (oath.state_bytes)."""
    return hashlib.sha256(DOMAIN + oath.state_bytes(key)).hexdigest()


def _kept_before(key: OtpKey) -> tuple[str, ...]:
    """Where the state of a key was kept before, where that differs: by its bytes as they are (a key ending in a zero
    byte, before keys were told apart as HMAC uses them), and by the hash HMAC takes of a key longer than its hash's
    block under any algorithm (before keys were kept whatever the algorithm). Read too, so that its counter never
    moves back."""
    forms = {key.secret_bytes, *oath.hmac_keys(key)} - {oath.state_bytes(key)}
    return tuple(hashlib.sha256(DOMAIN + form).hexdigest() for form in sorted(forms))


def progress(counter: int, moved_to: int) -> rules.Progress:
    """Accept `counter`'s code: unless a counter past it was accepted, `next_counter` moves to `moved_to`."""
    return rules.Progress(
        unused=AnyOf((Missing(NEXT), Compare(NEXT, "<", AFTER))),  # next_counter <= counter
        sets={NEXT.name: MOVED},
        values={AFTER.placeholder: counter + 1, MOVED.placeholder: moved_to},
    )


def _settings() -> VerifySettings:
    settings = get_verify_settings()
    apply.require_state(settings, "counter_based", "type")
    return settings


def place(key: OtpKey, subject: str | None) -> rules.Place:
    """Where a key's state is: its own item (and the one of before, if any), or its person's (a subject), counted
    with their other codes."""
    at = rules.place((state_pk(key), *_kept_before(key)), subject, rules.CODES, key.sealed_at)
    if len(at.own) > 1 and not at.personal:  # a revocation kept where the key was kept before holds here
        apply.carry_revocation(at, time.time(), table.STORE)
    return at


def _where_it_stands(at: rules.Place, key: OtpKey, settings: VerifySettings, now: float) -> int:
    """The counter the server expects next, after refusing a locked key (the read a window needs)."""
    item = apply.state_of(at, settings, now, table.STORE)
    expected = int(item.get(NEXT.name, key.counter or 0))
    if not at.personal:  # (a person's item takes the older items' counters in when it adopts the key)
        for before in at.own[1:]:
            expected = max(expected, int(table.read(before).get(NEXT.name, 0)))
    return expected


def _first(found: list[int]) -> int | None:
    return found[0] if found else None


# --- actions ------------------------------------------------------------------------------------------------------


def generate(request: HotpGenerateRequest) -> HotpGenerateResponse:
    secret = oath.new_secret(request.algorithm)
    key = OtpKey(
        oath.HOTP, oath.secret_bytes(secret), request.algorithm, request.digits, oath.DEFAULT_PERIOD, request.counter
    )
    return enrolment.enrol(request, key, HotpGenerateResponse, counter=request.counter, type="hotp")


def seal(request: HotpSealRequest) -> HotpSealResponse:
    """Import an HOTP secret an app already holds (`secret` with `counter`, or an otpauth://hotp `otp_url`): its
    sealed form, which carries the first counter, as generate with seal gives it. Never answers the secret."""
    key = spellings.key_of(request, oath.HOTP, to_seal=True)
    sealed = spellings.seal(key, spellings.subject_of(request))
    count_outcome("OtpSealed", type="counter_based", algorithm=key.algorithm)
    return HotpSealResponse(
        algorithm=key.algorithm, digits=key.digits, counter=key.counter or 0, sealed_secret=sealed, type="hotp"
    )


def verify(request: HotpVerifyRequest) -> HotpVerifyResponse:
    settings, key, now = _settings(), spellings.key_of(request, oath.HOTP), time.time()
    fields.require_code_length(key, code=request.code)
    subject = spellings.subject_of(request)
    at = place(key, subject)
    expected = _where_it_stands(at, key, settings, now)
    counter = _first(oath.matches(request.code, key, range(expected, expected + settings.hotp_look_ahead)))
    moved = None if counter is None else progress(counter, counter + 1)
    verdict = apply.settle(at, moved, settings, now, table.STORE)
    valid, reason = verdict.valid, verdict.reason
    if reason == "no_match":  # a code of a counter already passed is a replay, as a used TOTP code is
        behind = range(max(expected - settings.hotp_look_ahead, key.counter or 0), expected)
        if oath.matches(request.code, key, behind):
            reason = "already_used"
    count_outcome("OtpVerified", type="counter_based", result="valid" if valid else str(reason))
    return HotpVerifyResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        type="hotp",
        valid=valid,
        counter=counter if valid else None,
        reason=reason,
    )


def resync(request: HotpResyncRequest) -> HotpVerifyResponse:
    settings, key, now = _settings(), spellings.key_of(request, oath.HOTP), time.time()
    fields.require_code_length(key, code=request.code, next_code=request.next_code)
    subject = spellings.subject_of(request)
    at = place(key, subject)
    expected = _where_it_stands(at, key, settings, now)
    window = range(expected, expected + settings.hotp_resync_window)
    counter = _first(oath.pair_matches(request.code, request.next_code, key, window))
    moved = None if counter is None else rules.resynced(progress(counter, counter + 2))
    verdict = apply.settle(at, moved, settings, now, table.STORE)
    valid, reason = verdict.valid, verdict.reason
    count_outcome("OtpResynced", type="counter_based", result="valid" if valid else str(reason))
    return HotpVerifyResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        type="hotp",
        valid=valid,
        counter=counter + 1 if valid and counter is not None else None,
        reason=reason,
    )


def _place_of(request: _HotpKey) -> rules.Place:
    _settings()
    return place(spellings.key_of(request, oath.HOTP), spellings.subject_of(request))


KIND = Kind(
    type="counter_based",
    synonyms=("hotp",),
    actions={
        HotpGenerateRequest: generate,
        HotpSealRequest: seal,
        HotpVerifyRequest: verify,
        HotpResyncRequest: resync,
    },
    responses=(
        HotpGenerateResponse,
        HotpSealResponse,
        HotpVerifyResponse,
    ),
    rules={"counter": f"must be a whole number from 0 to {oath.MAX_COUNTER}: the device's first counter"},
    keyed=Keyed(_HotpKey, _place_of, prefix="Hotp"),  # unlock, revoke and status
    scheme=oath.HOTP,
)
