"""The actions every kind offers the same way once it has named its state item: unlock and revoke."""

import time
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from otp_api.observability import count_outcome
from otp_api.settings import get_verify_settings
from otp_api.state import rules, table


class UnlockResponse(Struct):
    unlocked: Annotated[bool, Meta(description="Whether a lockout (or failures towards one) was cleared.")]
    reason: (
        Annotated[Literal["revoked"], Meta(description="Present when the key or set is revoked: never unlocked.")]
        | UnsetType
    ) = UNSET


class RevokeResponse(Struct):
    revoked: Annotated[bool, Meta(description="Whether this request revoked it (false: it was revoked already).")]


def unlock(pk: str, kind: str, subject: str | None = None) -> UnlockResponse:
    """Lift the lockout of the state `pk` (its progress stays): after its user proved themselves another way."""
    unlocked = rules.unlock(pk, get_verify_settings(), time.time(), table.write, subject)
    result = "revoked" if unlocked == "revoked" else "unlocked" if unlocked else "not_locked"
    count_outcome("OtpUnlocked", type=kind, result=result)
    if unlocked == "revoked":
        return UnlockResponse(unlocked=False, reason="revoked")
    return UnlockResponse(unlocked=unlocked)


def revoke(pk: str, kind: str, subject: str | None = None) -> RevokeResponse:
    """Retire the key or set of the state `pk` for good: it never verifies, resyncs or unlocks again."""
    rules.require_state(get_verify_settings(), "revoke", "action")
    revoked = rules.revoke(pk, time.time(), table.write, subject)
    count_outcome("OtpRevoked", type=kind, result="revoked" if revoked else "already_revoked")
    return RevokeResponse(revoked=revoked)
