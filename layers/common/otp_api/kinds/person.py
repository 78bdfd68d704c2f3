"""A person: requests that name a `subject` and no `type` act on everything the API knows of them, in one item
(state/rules.py, `Place`). status answers where their limits stand, unlock lifts every lock of theirs (after they
proved themselves another way), revoke retires every factor sealed for them before now (after a compromise: a
factor enrolled afterwards works)."""

import time
from datetime import UTC, datetime
from typing import Annotated

from msgspec import Meta, Struct

from otp_api.fields import Subject
from otp_api.kinds import actions
from otp_api.kinds.actions import Limits
from otp_api.kinds.registry import Kind
from otp_api.observability import count_outcome
from otp_api.settings import get_verify_settings
from otp_api.state import apply, rules, table


class PersonStatusRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="status"):
    """Where a person stands: the limits of their codes, recovery codes and passkeys, and whether they were revoked."""

    subject: Subject


class PersonUnlockRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="unlock"):
    """Lift every lock of a person, once they proved themselves another way (a recovery code, support)."""

    subject: Subject


class PersonRevokeRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="revoke"):
    """Retire every factor sealed for a person before now (a compromise): no token needed."""

    subject: Subject


class PersonStatusResponse(Struct):
    """Never a secret, a code or a token."""

    subject: str
    revoked_before: Annotated[
        str | None,
        Meta(description="Every factor sealed for the person before this time (UTC, ISO 8601) is revoked; null: none."),
    ]
    codes: Annotated[Limits, Meta(description="TOTP and HOTP: one budget for all of the person's keys.")]
    recovery_codes: Annotated[Limits, Meta(description="Limits of their own: the way back stays open.")]
    passkeys: Annotated[Limits, Meta(description="Limits of their own: nothing to guess, never the codes' budget.")]


class PersonUnlockResponse(Struct):
    unlocked: Annotated[bool, Meta(description="Whether a lock was lifted.")]


class PersonRevokeResponse(Struct):
    revoked_before: Annotated[str, Meta(description="Factors sealed before this time (UTC, ISO 8601) are revoked.")]


def _iso_ms(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def status(request: PersonStatusRequest) -> PersonStatusResponse:
    settings, now = get_verify_settings(), time.time()
    apply.require_state(settings, "status", "action")
    item = table.read(rules.person_pk(request.subject))
    revoked = item.get(rules.REVOKED_BEFORE.name)
    count_outcome("OtpStatus", type="person")
    return PersonStatusResponse(
        subject=request.subject,
        revoked_before=_iso_ms(revoked) if isinstance(revoked, int) else None,
        codes=actions.limits(rules.lockout_of(settings, rules.CODES), item, now),
        recovery_codes=actions.limits(rules.lockout_of(settings, rules.RECOVERY), item, now),
        passkeys=actions.limits(rules.lockout_of(settings, rules.PASSKEYS), item, now),
    )


def unlock(request: PersonUnlockRequest) -> PersonUnlockResponse:
    settings = get_verify_settings()
    apply.require_state(settings, "unlock", "action")
    unlocked = apply.unlock_person(request.subject, settings, time.time(), table.write)
    count_outcome("OtpUnlocked", type="person", result="unlocked" if unlocked else "not_locked")
    return PersonUnlockResponse(unlocked=unlocked)


def revoke(request: PersonRevokeRequest) -> PersonRevokeResponse:
    apply.require_state(get_verify_settings(), "revoke", "action")
    now = time.time()
    revoked_before = apply.revoke_person(request.subject, now, table.write)
    count_outcome("OtpRevoked", type="person", result="revoked")
    return PersonRevokeResponse(revoked_before=_iso_ms(revoked_before))


# Not a type: the registry routes a request with no `type` and one of these actions here (kinds/registry.py).
KIND = Kind(
    type="person",
    synonyms=(),
    actions={PersonStatusRequest: status, PersonUnlockRequest: unlock, PersonRevokeRequest: revoke},
    responses=(PersonStatusResponse, PersonUnlockResponse, PersonRevokeResponse),
)
