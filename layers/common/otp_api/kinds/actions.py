"""The actions every kind offers the same way once it has named where its state is (a `Place`): unlock, revoke and
status; and their answers."""

import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from otp_api.observability import count_outcome
from otp_api.settings import get_verify_settings
from otp_api.state import apply, rules, table
from otp_api.state.conditions import Item


class UnlockResponse(Struct):
    unlocked: Annotated[bool, Meta(description="Whether a lockout (or failures towards one) was cleared.")]
    reason: (
        Annotated[Literal["revoked"], Meta(description="Present when the key or set is revoked: never unlocked.")]
        | UnsetType
    ) = UNSET


class RevokeResponse(Struct):
    revoked: Annotated[bool, Meta(description="Whether this request revoked it (false: it was revoked already).")]


Time = Annotated[str, Meta(description="UTC, ISO 8601, to the second.")]


class AttemptsLeft(Struct):
    """Failures left before each lock; null where that lock is off."""

    window: Annotated[int | None, Meta(description="Before a lockout of LockoutWindowSeconds.")]
    until_unlock: Annotated[int | None, Meta(description="Before a lock that only unlock lifts.")]
    thirty_days: Annotated[
        int | None, Meta(description="Before the person's 30-day budget is spent (TOTP and HOTP with a subject).")
    ]


class Limits(Struct, kw_only=True):
    """Where a key, or a group of a person's factors, stands with its attempt limits."""

    locked: bool
    locked_until: Annotated[Time | None, Meta(description="When the lock ends; null if not locked or until unlock.")]
    until_unlock: Annotated[bool, Meta(description="Locked until an unlock (MaxConsecutiveFailures reached).")]
    failures: Annotated[int, Meta(description="Failures since the last accepted code or unlock.")]
    failures_in_thirty_days: Annotated[
        int | None, Meta(description="A person's TOTP and HOTP failures counted towards MaxFailuresInThirtyDays.")
    ]
    attempts_left: AttemptsLeft
    last_accepted: Annotated[
        Time | None, Meta(description="When a code was last accepted (kept for a person's factors only).")
    ]


class StatusResponse(Limits, kw_only=True):
    """A key's (or set's) state: never a secret, a code or a token. With a subject, the limits are its person's
    group (TOTP and HOTP together, or recovery codes)."""

    type: str
    revoked: bool
    person: Annotated[bool, Meta(description="Whether the limits are its person's (the request named a subject).")]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def limits(lockout: rules.Lockout, item: Item, now: float) -> Limits:
    until = lockout.until(item, now)
    left = lockout.left(item, now)
    accepted = item.get(lockout.attr(rules.ACCEPTED_AT).name)
    spent = None
    if lockout.total:
        spent = lockout.total - (left["in_30_days"] or 0)
    return Limits(
        locked=bool(until),
        locked_until=_iso(until) if until > 0 else None,
        until_unlock=until < 0,
        failures=int(item.get(lockout.attr(rules.FAILURES).name, 0)),
        failures_in_thirty_days=spent,
        attempts_left=AttemptsLeft(left["window"], left["until_unlock"], left["in_30_days"]),
        last_accepted=_iso(accepted) if isinstance(accepted, int) else None,
    )


def unlock(place: rules.Place, kind: str) -> UnlockResponse:
    """Lift the lock on the state at `place` (its progress stays): after its user proved themselves another way."""
    unlocked = apply.unlock(place, get_verify_settings(), time.time(), table.write)
    result = "revoked" if unlocked == "revoked" else "unlocked" if unlocked else "not_locked"
    count_outcome("OtpUnlocked", type=kind, result=result)
    if unlocked == "revoked":
        return UnlockResponse(unlocked=False, reason="revoked")
    return UnlockResponse(unlocked=unlocked)


def revoke(place: rules.Place, kind: str) -> RevokeResponse:
    """Retire the key or set at `place` for good: it never verifies, resyncs or unlocks again."""
    apply.require_state(get_verify_settings(), "revoke", "action")
    revoked = apply.revoke(place, time.time(), table.write)
    count_outcome("OtpRevoked", type=kind, result="revoked" if revoked else "already_revoked")
    return RevokeResponse(revoked=revoked)


def status(place: rules.Place, kind: str) -> StatusResponse:
    """Where the key or set at `place` stands: what support reads before unlocking, what an app shows."""
    settings, now = get_verify_settings(), time.time()
    apply.require_state(settings, "status", "action")
    item = table.read(place.pk)
    revoked = place.is_revoked(item) or rules.REVOKED.name in apply.key_state(place, item, table.STORE)
    count_outcome("OtpStatus", type=kind)
    found = limits(rules.lockout_of(settings, place.group), item, now)
    return StatusResponse(type=kind, revoked=revoked, person=place.personal, **_fields(found))


def _fields(found: Limits) -> dict:
    return {name: getattr(found, name) for name in found.__struct_fields__}
