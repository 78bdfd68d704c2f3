"""The catalogue of security events: `SOURCE`, each `detail-type` and its detail, declared once. docs/events.md
shows each detail's JSON Schema as `schema` gives it (tests/docs/test_docs_facts.py holds the page to this module).

What a detail may hold, and what never: the user's opaque id (`subject`, when a request named one), an opaque id of
the key's state (`state_id`), times and counts. Never a key, a code, a token (sealed or not) or the state item's
own key, and nothing a request carried but its subject.
"""

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

SOURCE = "otp-api"
Hex = Annotated[str, Meta(pattern="^[0-9a-f]{32}$")]
Time = Annotated[
    str,
    Meta(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", description="UTC, ISO 8601, to the second."),
]


class Detail(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """What every event's `detail` holds."""

    detail_type: ClassVar[str]
    event_id: Annotated[
        Hex,
        Meta(
            description="The same for every delivery of this event (retries, replays of the stream): deduplicate by "
            "it. EventBridge's own `id` differs at each delivery."
        ),
    ]
    state_id: Annotated[
        Hex,
        Meta(
            description="The key's (or the set's) state, the same in every event about it: an opaque hash, from "
            "which neither the key nor the state item's key can be learnt."
        ),
    ]
    time: Annotated[Time, Meta(description="When DynamoDB wrote the change (UTC, to the second).")]
    subject: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=128,
                description="The user's opaque id, as the latest request that named one for this key gave it (a "
                "sealed secret or a set of recovery codes bound to it); absent if none did.",
            ),
        ]
        | UnsetType
    ) = UNSET


Factors = Annotated[
    Literal["codes", "recovery_codes"] | UnsetType,
    Meta(
        description="A person's group of factors (requests with a subject): their TOTP and HOTP codes, one budget "
        "for all their keys, or their recovery codes. Absent for a key or set counted on its own."
    ),
]


class LockoutBegan(Detail, kw_only=True):
    """A failure locked the key (or set) for the lockout window: every verify of it answers 429 until `until`."""

    detail_type: ClassVar[str] = "Lockout Began"
    until: Annotated[Time, Meta(description="When the lockout ends, unless unlock lifts it before.")]
    failures: Annotated[int, Meta(ge=1, description="Failures since the last accepted code or unlock.")]
    factors: Factors = UNSET


class LockedUntilUnlock(Detail, kw_only=True):
    """A failure reached MaxConsecutiveFailures: the key is locked until an unlock (a sustained attack)."""

    detail_type: ClassVar[str] = "Locked Until Unlock"
    failures: Annotated[int, Meta(ge=1, description="Failures since the last accepted code or unlock.")]
    factors: Factors = UNSET


class LockoutLifted(Detail, kw_only=True):
    """An unlock lifted a lockout (failures short of one, cleared too, are no event)."""

    detail_type: ClassVar[str] = "Lockout Lifted"
    lock: Annotated[
        Literal["window", "until_unlock"],
        Meta(description="The lock lifted: for the window (Lockout Began), or until unlock (Locked Until Unlock)."),
    ]
    factors: Factors = UNSET


class RecoveryCodeUsed(Detail, kw_only=True):
    """A recovery code of the set was accepted."""

    detail_type: ClassVar[str] = "Recovery Code Used"
    remaining: Annotated[int, Meta(ge=0, description="Codes of the set still unused.")]
    count: Annotated[int, Meta(ge=1, description="Codes in the set.")]


class RecoveryCodesUsedUp(Detail, kw_only=True):
    """The set's last unused code was accepted (after its own Recovery Code Used): the user has none left."""

    detail_type: ClassVar[str] = "Recovery Codes Used Up"
    count: Annotated[int, Meta(ge=1, description="Codes in the set.")]


class KeyRevoked(Detail, kw_only=True):
    """The key (or set) was revoked: it never verifies, resyncs or unlocks again."""

    detail_type: ClassVar[str] = "Key Revoked"


class PersonRevoked(Detail, kw_only=True):
    """Every factor sealed for the person (`subject`) before `revoked_before` was revoked: each answers revoked."""

    detail_type: ClassVar[str] = "Person Revoked"
    revoked_before: Annotated[Time, Meta(description="Factors sealed before this time are revoked.")]


class RevokedKeyTried(Detail, kw_only=True):
    """A code was presented for a revoked key (or set), and refused: verify or resync (listings and unlocks are no
    try)."""

    detail_type: ClassVar[str] = "Revoked Key Tried"
    tries: Annotated[int, Meta(ge=1, description="Codes presented for it since it was revoked, this one included.")]


class TotpDriftChanged(Detail, kw_only=True):
    """A TOTP device's clock drift was learnt by a resync, or moved by more than one step."""

    detail_type: ClassVar[str] = "TOTP Drift Changed"
    drift: Annotated[int, Meta(description="The device's clock offset now, in steps.")]
    previous_drift: Annotated[int, Meta(description="The offset before, in steps (0 if none was known).")]
    resync: Annotated[bool, Meta(description="Whether a resync set it (otherwise an accepted code moved it).")]


class HotpResync(Detail, kw_only=True):
    """An HOTP token was resynchronised: two consecutive codes moved its counter forward."""

    detail_type: ClassVar[str] = "HOTP Resync"
    next_counter: Annotated[int, Meta(ge=0, description="The counter the server expects next.")]


CATALOGUE: dict[str, type[Detail]] = {
    kind.detail_type: kind
    for kind in (
        LockoutBegan,
        LockedUntilUnlock,
        LockoutLifted,
        RecoveryCodeUsed,
        RecoveryCodesUsedUp,
        KeyRevoked,
        PersonRevoked,
        RevokedKeyTried,
        TotpDriftChanged,
        HotpResync,
    )
}


def schema(detail_type: str) -> dict[str, Any]:
    """The JSON Schema of a detail-type's `detail` (as docs/events.md shows it)."""
    _, components = msgspec.json.schema_components([CATALOGUE[detail_type]])
    (found,) = components.values()
    return found
