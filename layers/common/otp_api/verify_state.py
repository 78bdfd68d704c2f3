"""Per-secret verification state in DynamoDB: the last accepted time step (replay protection, RFC 6238 §5.2) and
failed attempts in a fixed window (lockout, RFC 4226 §7.3).

One item per secret, keyed by a hash of it (the secret itself is never stored). Every decision is a conditional
write, so it holds across concurrent Lambda instances. Any DynamoDB failure raises StateUnavailable: the caller
answers 503 and accepts nothing.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from otp_api.errors import StateUnavailable
from otp_api.settings import get_settings, get_verify_settings

KEY_DOMAIN = b"otp-api/verify-state/v1\x00"


def secret_key(secret: str) -> str:
    """The item key of a (normalised) secret: a SHA-256 of it, from which the secret cannot be recovered."""
    return hashlib.sha256(KEY_DOMAIN + secret.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class Attempt:
    accepted: bool
    reason: str | None = None  # "already_used" when refused as a replay
    locked_for: int = 0  # seconds until the lockout ends, when refused for it
    failures: int = 0


@cache
def _table() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=3)
    return boto3.resource("dynamodb", region_name=get_settings().region, config=config).Table(
        get_verify_settings().table
    )


@contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise
        raise StateUnavailable("verification state is unavailable; no code was accepted, try again") from None
    except BotoCoreError:
        raise StateUnavailable("verification state is unavailable; no code was accepted, try again") from None


def _conditional_failed(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _expiry(now: int, period: int) -> int:
    # Long enough for the lockout window and for the last accepted step to stop mattering (next step + slack).
    return now + get_verify_settings().lockout_seconds + 3 * period + 60


def _locked_for(item: dict[str, Any], now: int) -> int:
    settings = get_verify_settings()
    if not settings.max_failed_attempts or int(item.get("failures", 0)) < settings.max_failed_attempts:
        return 0
    return max(0, int(item.get("window_start", 0)) + settings.lockout_seconds - now)


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
    try:
        with _unavailable_on_failure():
            _table().update_item(
                Key={"pk": key},
                UpdateExpression=update + " REMOVE window_start",
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeValues=values,
            )
        return Attempt(accepted=True)
    except Exception as exc:
        if not _conditional_failed(exc):
            raise
    # Refused: tell a lockout from a replay by reading what is there now.
    with _unavailable_on_failure():
        item = _table().get_item(Key={"pk": key}, ConsistentRead=True).get("Item") or {}
    locked_for = _locked_for(item, now)
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
    ttl = _expiry(now, period)
    try:
        with _unavailable_on_failure():
            result = _table().update_item(
                Key={"pk": key},
                UpdateExpression="SET failures = if_not_exists(failures, :zero) + :one, "
                "window_start = if_not_exists(window_start, :now), expires_at = :ttl",
                ConditionExpression="attribute_not_exists(window_start) OR window_start > :cutoff",
                ExpressionAttributeValues={
                    ":zero": 0,
                    ":one": 1,
                    ":now": now,
                    ":ttl": ttl,
                    ":cutoff": now - settings.lockout_seconds,
                },
                ReturnValues="ALL_NEW",
            )
        item = result["Attributes"]
        failures = int(item["failures"])
        locked_for = _locked_for(item, now) if failures > settings.max_failed_attempts else 0
        return Attempt(accepted=False, failures=failures, locked_for=locked_for)
    except Exception as exc:
        if not _conditional_failed(exc):
            raise
    # The old window has passed: this failure opens a new one.
    with _unavailable_on_failure():
        _table().update_item(
            Key={"pk": key},
            UpdateExpression="SET failures = :one, window_start = :now, expires_at = :ttl",
            ExpressionAttributeValues={":one": 1, ":now": now, ":ttl": ttl},
        )
    return Attempt(accepted=False, failures=1)
