"""TOTP, `type: "time_based"` (synonym `totp`, RFC 6238): its requests and answers, when its code is accepted,
what an accepted code moves in the key's state, and its actions (generate, seal, verify, resync, unlock).

- A code matches if it is the code of the step before, at or after the device's step: now plus the key's stored
  `drift` (0 until learnt), compared in constant time (RFC 6238 §5.2, SKEW: one step either way). Every step
  within the resync window of now is compared, so that one conditional write can check the match against the
  stored drift without reading it first.
- State (state/rules.py) is kept per key, in this kind's domain: `last_used`, the start in Unix seconds of the last
  accepted step, and `drift`, in steps. With replay protection a code is unused only if its step starts after
  `last_used`, whatever the period, so a code is accepted once and never after a later one.
- Each accepted code moves `drift` to its own offset (RFC 6238 §6), which stays within the resync window. `resync`
  with two consecutive codes found within `TotpResyncWindow` steps of now sets it outright; both steps count as
  used. Drift needs the state, so without replay protection only the steps around now are accepted.
- The state may be forgotten once no accepted step can be presented again and any lockout has ended (TTL,
  `lifetime`): a key whose drift is forgotten resyncs again.
- Without a code, the codes around now are listed, as the reference does (unless ListCodes is off, the key is
  sealed, or it is locked). With a code, the answer is the verdict alone, never the secret or codes.

The writes each outcome sends are pinned in tests/handler/test_golden_writes.py.
"""

import hashlib
import time
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from otp_api import fields, oath, spellings
from otp_api.errors import MissingParameter
from otp_api.fields import Code, Enrols, NamesAKey, Period
from otp_api.kinds import enrolment
from otp_api.kinds.registry import Keyed, Kind
from otp_api.oath import Algorithm, OtpKey
from otp_api.observability import count_outcome
from otp_api.settings import SETTINGS, VerifySettings, get_verify_settings
from otp_api.state import apply, rules, table
from otp_api.state.conditions import AllOf, AnyOf, Attr, Compare, Cond, Item, Missing, Value
from otp_api.state.rules import Reason

TimeBased = Literal["time_based", "totp"]
SKEW = 1  # steps either side of the device's step whose code is accepted (RFC 6238 §5.2)
DOMAIN = b"otp-api/verify-state/v2\x00"  # v2: keyed by key bytes; v1 items (keyed by text) expired unused
LAST_USED, DRIFT = Attr("last_used"), Attr("drift")
START, NEW_DRIFT, LOW, HIGH = Value(":start"), Value(":drift"), Value(":drift_low"), Value(":drift_high")
USED_STEP = Value(":used")  # the start of the step the code was of


# --- requests and answers -----------------------------------------------------------------------------------------


class GenerateRequest(Enrols, tag="generate", kw_only=True):
    type: TimeBased
    period: Period = oath.DEFAULT_PERIOD


class SealRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="seal", kw_only=True):
    """Import a secret an app already has: its sealed form, as generate with seal would give it."""

    type: TimeBased
    secret: fields.SecretText | UnsetType = UNSET
    otp_url: fields.OtpUrlText | UnsetType = UNSET
    digits: fields.Digits | UnsetType = UNSET
    algorithm: Algorithm | UnsetType = UNSET
    period: Period | UnsetType = UNSET
    subject: fields.Subject | UnsetType = UNSET


class _TotpKey(NamesAKey, kw_only=True):
    type: TimeBased
    period: Period | UnsetType = UNSET


class VerifyRequest(_TotpKey, tag="verify", kw_only=True):
    code: (
        Annotated[
            str,
            Meta(
                max_length=fields.MAX_CODE_LENGTH,
                pattern=fields.CODE_PATTERN,
                description="The code to check (spaces are ignored); without it, the codes around now are listed.",
            ),
        ]
        | UnsetType
    ) = UNSET


class ResyncRequest(_TotpKey, tag="resync", kw_only=True):
    """Two consecutive codes of a device whose clock drifts: its drift is learnt and stored."""

    code: Code
    next_code: Code


class GenerateResponse(enrolment.Enrolled, kw_only=True):
    period: int
    type: Literal["totp"]


class VerifyResponse(Struct):
    """The verdict on a code: never the secret, never codes."""

    algorithm: Algorithm
    digits: int
    period: int
    type: Literal["totp"]
    valid: bool
    matched: Annotated[str | None, Meta(description="The step whose code it was (+30s, current, -30s), when valid.")]
    reason: Annotated[
        Reason | None,
        Meta(
            description="Why the code was refused: it matched no step, its step (or a later one) was accepted, or "
            "the key is revoked."
        ),
    ]


class ResyncResponse(Struct):
    """The verdict on two consecutive codes, with the key's parameters as verify gives them."""

    algorithm: Algorithm
    digits: int
    period: int
    type: Literal["totp"]
    valid: bool
    drift: Annotated[int | None, Meta(description="The device's clock offset learnt, in steps, when valid.")]
    reason: Reason | None


class SealResponse(Struct):
    """An imported secret, sealed: never the secret itself."""

    algorithm: Algorithm
    digits: int
    period: int
    sealed_secret: str
    type: Literal["totp"]


class CodesResponse(Struct):
    """The codes around now, as the reference lists them (verify without a code)."""

    algorithm: Algorithm
    digits: int
    otp_codes: dict[str, str]
    period: int
    secret: str
    type: Literal["totp"]


# --- the state: when a code is unused, and what accepting it writes -----------------------------------------------


def state_pk(key: OtpKey) -> str:
    """The state item of a key: a SHA-256 of its bytes whatever the algorithm (oath.state_bytes), from which the
    key cannot be recovered."""
    return hashlib.sha256(DOMAIN + oath.state_bytes(key)).hexdigest()


def _kept_before(key: OtpKey) -> tuple[str, ...]:
    """Where a key longer than a hash's block was kept before keys were kept by their bytes whatever the algorithm
    (by the hash HMAC takes of it, under whichever algorithm requests named it with), where that differs."""
    forms = oath.hmac_keys(key) - {oath.state_bytes(key)}
    return tuple(hashlib.sha256(DOMAIN + form).hexdigest() for form in sorted(forms))


def _unused() -> Cond:
    return AnyOf((Missing(LAST_USED), Compare(LAST_USED, "<", START)))


def _near_drift(offset: int) -> Cond:
    """The stored drift is within SKEW steps of `offset` (no drift stored counts as 0)."""
    near = AllOf((Compare(DRIFT, ">", LOW), Compare(DRIFT, "<", HIGH)))
    return AnyOf((Missing(DRIFT), near)) if abs(offset) <= SKEW else near


def progress(step_start: int, settings: VerifySettings, offset: int = 0) -> rules.Progress:
    """Accept the code of the step starting at `step_start`, `offset` steps from now."""
    if not settings.replay_protection:
        return rules.Progress()
    window = settings.totp_resync_window

    def why_refused(item: Item) -> Reason:
        return "already_used" if _near_drift(offset).holds(item, values) else "no_match"

    values = {START.placeholder: step_start, NEW_DRIFT.placeholder: max(-window, min(window, offset))}
    values |= {LOW.placeholder: offset - SKEW - 1, HIGH.placeholder: offset + SKEW + 1}
    return rules.Progress(
        unused=AllOf((_unused(), _near_drift(offset))),
        sets={LAST_USED.name: START, DRIFT.name: NEW_DRIFT},
        values=values,
        why_refused=why_refused,
    )


def resync_progress(step: int, first: int, period: int) -> rules.Progress:
    """Accept the pair of codes whose first is `first` steps from `step`: both steps used, the drift stored."""
    drift = first + 1
    values = {START.placeholder: (step + first) * period, USED_STEP.placeholder: (step + drift) * period}
    values[NEW_DRIFT.placeholder] = drift
    sets: dict[str, Value] = {LAST_USED.name: USED_STEP, DRIFT.name: NEW_DRIFT}
    return rules.resynced(rules.Progress(unused=_unused(), sets=sets, values=values))


# A code that matched no step is written as a match this far from now, which no stored drift allows (it never
# exceeds the widest resync window): refused as `no_match`, then counted. So a miss costs what a code of a step
# outside the stored drift costs (a refused accept, then the failure), and no answer tells them apart by its time:
# a far match told apart would flag a future step's code, to be played when its step comes.
DECOY = SETTINGS["totp_resync_window"].bounds[1] + SKEW + 2  # type: ignore[index]


def lifetime(settings: VerifySettings) -> int:
    """How long the state of a key outlives its last accepted code (failures and revocations never expire).

    An accepted code's step is at most W + 1 steps ahead of now (W: TotpResyncWindow; a stored drift of W, and one
    step of skew). Once the state is gone, verify takes steps within one of now (no drift is known) and resync
    steps within W of now: a watched code of that step could come back until the server's step has passed it by
    W + 1. So the state lives (2W + 3) of the longest steps, a margin of one step and a minute included, plus the
    lockout window; W is the widest the template allows, not today's, so that an operator who widens the window
    later never brings a watched code back."""
    widest = SETTINGS["totp_resync_window"].bounds[1]  # type: ignore[index]
    return settings.lockout_seconds + (2 * widest + 3) * oath.MAX_PERIOD + 60


def _offsets(settings: VerifySettings) -> range:
    """The steps from now a code may belong to: around any drift the resync window allows, or around now alone
    without the state that remembers a drift."""
    reach = settings.totp_resync_window + SKEW if settings.replay_protection else SKEW
    return range(-reach, reach + 1)


def _nearest(found: list[int], step: int) -> int | None:
    """The offset from `step` of the match nearest to it, if any."""
    return min((counter - step for counter in found), key=abs) if found else None


# --- actions ------------------------------------------------------------------------------------------------------


def generate(request: GenerateRequest) -> GenerateResponse:
    secret = oath.new_secret(request.algorithm)
    key = OtpKey(oath.TOTP, oath.secret_bytes(secret), request.algorithm, request.digits, request.period)
    return enrolment.enrol(request, key, GenerateResponse, period=request.period, type="totp")


def seal(request: SealRequest) -> SealResponse:
    """Import a secret an app already has (`secret` or `otp_url`): its sealed form, as generate with seal gives
    it, so that the app can store it and delete the plaintext. Never answers the secret."""
    key = spellings.key_of(request, oath.TOTP, to_seal=True)
    sealed = spellings.seal(key, spellings.subject_of(request))
    count_outcome("OtpSealed", type="time_based", algorithm=key.algorithm)
    return SealResponse(
        algorithm=key.algorithm, digits=key.digits, period=key.period, sealed_secret=sealed, type="totp"
    )


def verify(request: VerifyRequest) -> VerifyResponse | CodesResponse:
    settings = get_verify_settings()
    if request.code is UNSET and request.sealed_secret is not UNSET:  # before any KMS call
        raise MissingParameter("code is required with a sealed_secret: sealed keys are checked, never listed", "code")
    key = spellings.key_of(request, oath.TOTP)
    now = time.time()
    if request.code is UNSET:
        return _list_codes(key, settings, now)
    fields.require_code_length(key, code=request.code)
    step = oath.step_at(now, key.period)
    offsets = _offsets(settings)
    offset = _nearest(oath.matches(request.code, key, range(step + offsets.start, step + offsets.stop)), step)
    moved = None if offset is None else progress((step + offset) * key.period, settings, offset)
    if offset is None and settings.replay_protection:  # a miss, written as a far match is (DECOY)
        moved = progress((step + DECOY) * key.period, settings, DECOY)
    subject = spellings.subject_of(request)
    verdict = _settle(key, moved, settings, now, subject)
    valid, reason = verdict.valid, verdict.reason
    count_outcome("OtpVerified", type="time_based", result="valid" if valid else str(reason))
    return VerifyResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        period=key.period,
        type="totp",
        valid=valid,
        matched=oath.step_label(offset, key.period) if valid and offset is not None else None,
        reason=reason,
    )


def resync(request: ResyncRequest) -> ResyncResponse:
    """Two consecutive codes within the resync window of now: the device's drift is stored, both steps used."""
    settings = get_verify_settings()
    apply.require_state(settings, "resync", "action")
    key = spellings.key_of(request, oath.TOTP)
    fields.require_code_length(key, code=request.code, next_code=request.next_code)
    now = time.time()
    step, window = oath.step_at(now, key.period), settings.totp_resync_window
    first = _nearest(oath.pair_matches(request.code, request.next_code, key, range(step - window, step + window)), step)
    moved = None if first is None else resync_progress(step, first, key.period)
    subject = spellings.subject_of(request)
    verdict = _settle(key, moved, settings, now, subject)
    valid, reason = verdict.valid, verdict.reason
    count_outcome("OtpResynced", type="time_based", result="valid" if valid else str(reason))
    return ResyncResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        period=key.period,
        type="totp",
        valid=valid,
        drift=first + 1 if valid and first is not None else None,
        reason=reason,
    )


def place(key: OtpKey, subject: str | None) -> rules.Place:
    """Where a key's state is: its own item (kept while a code of it can come back: `lifetime`), or its person's (a
    subject), counted with their other codes. A long key's revocation kept where it was kept before is carried to
    its own item first (apply.carry_revocation)."""
    before, kept_for = _kept_before(key), lifetime(get_verify_settings())
    at = rules.place((state_pk(key), *before), subject, rules.CODES, key.sealed_at, kept_for)
    if before and not at.personal:
        apply.carry_revocation(at, time.time(), table.STORE)
    return at


def _settle(
    key: OtpKey, moved: rules.Progress | None, settings: VerifySettings, now: float, subject: str | None
) -> rules.Verdict:
    return apply.settle(place(key, subject), moved, settings, now, table.STORE)


def _place_of(request: _TotpKey) -> rules.Place:
    subject = spellings.subject_of(request)
    return place(spellings.key_of(request, oath.TOTP), subject)


def _list_codes(key: OtpKey, settings: VerifySettings, now: float) -> CodesResponse | VerifyResponse:
    if not settings.list_codes:
        raise MissingParameter("code is required: this API checks codes and does not list them", "code")
    # wherever the stack keeps a table, a revoked key is not listed, whatever the other settings
    if settings.table and rules.REVOKED.name in apply.state_of(rules.Place(state_pk(key)), settings, now, table.STORE):
        return VerifyResponse(key.algorithm, key.digits, key.period, "totp", False, None, "revoked")
    return CodesResponse(
        algorithm=key.algorithm,
        digits=key.digits,
        otp_codes=oath.codes_around(key, now),
        period=key.period,
        secret=key.base32,
        type="totp",
    )


KIND = Kind(
    type="time_based",
    synonyms=("totp",),
    actions={
        GenerateRequest: generate,
        VerifyRequest: verify,
        SealRequest: seal,
        ResyncRequest: resync,
    },
    responses=(
        GenerateResponse,
        VerifyResponse,
        CodesResponse,
        ResyncResponse,
        SealResponse,
    ),
    keyed=Keyed(_TotpKey, _place_of),  # unlock, revoke and status
    scheme=oath.TOTP,
)
