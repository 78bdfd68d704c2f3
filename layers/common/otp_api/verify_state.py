"""Per-secret verification state in DynamoDB: the last accepted time step (replay protection, RFC 6238 §5.2) and
failed attempts in a fixed window (lockout, RFC 4226 §7.3).

One item per secret, keyed by a hash of it (the secret itself is never stored). Every write is conditional, so the
decisions hold across concurrent Lambda instances. Any DynamoDB failure raises StateUnavailable: the caller
answers 503 and accepts nothing.
"""

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from otp_api import aws
from otp_api.errors import StateUnavailable
from otp_api.settings import get_verify_settings

KEY_DOMAIN = b"otp-api/verify-state/v1\x00"
UNAVAILABLE = "verification state is unavailable; no code was accepted, try again"


def secret_key(secret: str) -> str:
    """The item key of a (normalised) secret: a SHA-256 of it, from which the secret cannot be recovered."""
    return hashlib.sha256(KEY_DOMAIN + secret.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class Attempt:
    accepted: bool
    reason: Literal["already_used"] | None = None  # when refused as a replay
    locked_for: int = 0  # seconds until the lockout ends, when refused for it
    failures: int = 0


@cache
def _client() -> Any:
    return aws.client("dynamodb")


def connect() -> None:
    """Create the client now (at init, for SnapStart) rather than on the first request."""
    if get_verify_settings().stateful:
        _client()


def _numbers(item: dict[str, Any]) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items() if "N" in value}


def _update(key: str, expression: str, values: dict[str, int], condition: str | None = None) -> dict[str, int] | None:
    """One atomic UpdateItem; the item's attributes after it, or None if `condition` did not hold."""
    from botocore.exceptions import BotoCoreError, ClientError

    request: dict[str, Any] = {
        "TableName": get_verify_settings().table,
        "Key": {"pk": {"S": key}},
        "UpdateExpression": expression,
        "ExpressionAttributeValues": {name: {"N": str(value)} for name, value in values.items()},
        "ReturnValues": "ALL_NEW",
    }
    if condition:
        request["ConditionExpression"] = condition
    try:
        return _numbers(_client().update_item(**request).get("Attributes", {}))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None
        raise StateUnavailable(UNAVAILABLE) from None
    except BotoCoreError:
        raise StateUnavailable(UNAVAILABLE) from None


def _get(key: str) -> dict[str, int]:
    from botocore.exceptions import BotoCoreError, ClientError

    request = {"TableName": get_verify_settings().table, "Key": {"pk": {"S": key}}, "ConsistentRead": True}
    try:
        return _numbers(_client().get_item(**request).get("Item", {}))
    except (BotoCoreError, ClientError):
        raise StateUnavailable(UNAVAILABLE) from None


def _expiry(now: int, period: int) -> int:
    # Long enough for the lockout window and for the last accepted step to stop mattering (next step + slack).
    return now + get_verify_settings().lockout_seconds + 3 * period + 60


def _locked_for(item: dict[str, int], now: int) -> int:
    settings = get_verify_settings()
    if not settings.max_failed_attempts or item.get("failures", 0) < settings.max_failed_attempts:
        return 0
    return max(0, item.get("window_start", 0) + settings.lockout_seconds - now)


def accept(key: str, step: int, now: int, period: int) -> Attempt:
    """Record a matching code for time step `step`, unless that step (or a later one) was accepted already or the
    secret is locked out. A success resets the failure count. Called only with replay protection or lockout on."""
    settings = get_verify_settings()
    conditions, values = [], {":zero": 0, ":ttl": _expiry(now, period)}
    update = "SET failures = :zero, expires_at = :ttl"
    if settings.replay_protection:
        conditions.append("(attribute_not_exists(last_step) OR last_step < :step)")
        update += ", last_step = :step"
        values[":step"] = step
    if settings.max_failed_attempts:
        conditions.append("(attribute_not_exists(failures) OR failures < :max OR window_start <= :cutoff)")
        values[":max"] = settings.max_failed_attempts
        values[":cutoff"] = now - settings.lockout_seconds
    if _update(key, update + " REMOVE window_start", values, " AND ".join(conditions)) is not None:
        return Attempt(accepted=True)
    # Refused: tell a lockout from a replay by reading what is there now.
    locked_for = _locked_for(_get(key), now)
    if locked_for:
        return Attempt(accepted=False, locked_for=locked_for)
    # A replayed code counts as a failed attempt: it is what an eavesdropper would try.
    failed = record_failure(key, now, period)
    return Attempt(accepted=False, reason="already_used", locked_for=failed.locked_for, failures=failed.failures)


def record_failure(key: str, now: int, period: int) -> Attempt:
    """Count a failed attempt in the current window (a new window starts once the old one has passed).

    `locked_for` is set when the secret was locked before this attempt: the caller answers 429 for it."""
    settings = get_verify_settings()
    if not settings.max_failed_attempts:
        return Attempt(accepted=False)
    # DynamoDB refuses attribute values that an expression does not use: one set for each write.
    reset = {":one": 1, ":now": now, ":ttl": _expiry(now, period), ":cutoff": now - settings.lockout_seconds}
    increment = {**reset, ":zero": 0}
    item = None
    for _ in range(3):  # a concurrent failure may open the new window between our two writes: count in it then
        item = _update(
            key,
            "SET failures = if_not_exists(failures, :zero) + :one, window_start = if_not_exists(window_start, :now), "
            "expires_at = :ttl",
            increment,
            "attribute_not_exists(window_start) OR window_start > :cutoff",
        )
        if item is not None:
            break
        # The old window has passed: this failure opens a new one, unless another request just did.
        item = _update(
            key, "SET failures = :one, window_start = :now, expires_at = :ttl", reset, "window_start <= :cutoff"
        )
        if item is not None:
            break
    if item is None:
        raise StateUnavailable(UNAVAILABLE)
    failures = item["failures"]
    locked_for = _locked_for(item, now) if failures > settings.max_failed_attempts else 0
    return Attempt(accepted=False, failures=failures, locked_for=locked_for)
