"""The verify state of one key in DynamoDB, changed by single conditional writes.

One item per key, keyed by a hash of the key's bytes (never the key itself, and the same for every spelling of it):
- `last_used`: the start, in Unix seconds, of the time step of the last accepted code (replay protection);
- `f1`..`fN`: when each of the last N failures leaves the lockout window (failure time + window), oldest first,
  and `last_failure`: the time of the newest. The key is locked while the last N failures lie within one window of
  the newest (f1 > last_failure) and the newest is less than a window old (fN > now).
  Times are whole seconds: a failure leaves at its time rounded up plus the window, and is compared at its time
  rounded down, so N failures less than a window apart always lock (a lock may last up to a second longer).

Each change is one UpdateItem whose condition is "not locked" (and, to accept, "step not used"). A refused write
returns the item as it was (ReturnValuesOnConditionCheckFailure), so every decision costs one round trip whatever
the code. Any DynamoDB failure raises StateUnavailable: the caller answers 503 and accepts nothing.
"""

import hashlib
import math
import re
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

from otp_api import aws
from otp_api.errors import StateUnavailable
from otp_api.models import MAX_PERIOD
from otp_api.settings import VerifySettings

KEY_DOMAIN = b"otp-api/verify-state/v2\x00"  # v2: keyed by key bytes; v1 items (keyed by text) expire unused
UNAVAILABLE = "verification state is unavailable; no code was accepted, try again"


def item_key(key: bytes) -> str:
    """The item key of a TOTP key: a SHA-256 of its bytes, from which the key cannot be recovered."""
    return hashlib.sha256(KEY_DOMAIN + key).hexdigest()


@dataclass(frozen=True, slots=True)
class Written:
    """The outcome of one conditional write: whether it was made, and until when (Unix seconds) the key is locked
    after it (or, when refused, as it stood)."""

    applied: bool
    locked_until: int


@cache
def _client() -> Any:
    return aws.client("dynamodb")


def connect(settings: VerifySettings) -> None:
    """Create the client now (at init, for SnapStart) rather than on the first request."""
    if settings.stateful:
        _client()


def _slots(settings: VerifySettings) -> list[str]:
    return [f"f{i}" for i in range(1, settings.max_failed_attempts + 1)]


def _locked_until(item: dict[str, Any], settings: VerifySettings, now: float) -> int:
    """The rule of `_not_locked`'s condition, read from an item: when the lock ends, or 0."""
    numbers = {name: int(value["N"]) for name, value in item.items() if "N" in value}
    slots = _slots(settings)
    if not slots or "last_failure" not in numbers:
        return 0
    oldest, newest = numbers.get(slots[0], 0), numbers.get(slots[-1], 0)
    return newest if oldest > numbers["last_failure"] and newest > math.floor(now) else 0


def _not_locked(settings: VerifySettings) -> str:
    first, last = _slots(settings)[0], _slots(settings)[-1]
    return f"NOT (attribute_exists(last_failure) AND {first} > last_failure AND {last} > :now)"


def _write(
    key: str, settings: VerifySettings, now: float, update: str, condition: str, values: dict[str, int]
) -> Written:
    from botocore.exceptions import BotoCoreError, ClientError

    # DynamoDB refuses values that no expression uses: send only those used.
    named = set(re.findall(r":\w+", f"{update} {condition}"))
    used = {name: {"N": str(value)} for name, value in values.items() if name in named}
    request = {
        "TableName": settings.table,
        "Key": {"pk": {"S": key}},
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": used,
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    try:
        item = _client().update_item(**request).get("Attributes", {})
        return Written(applied=True, locked_until=_locked_until(item, settings, now))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") != "ConditionalCheckFailedException":
            raise StateUnavailable(UNAVAILABLE) from None
        item = exc.response.get("Item", {})
        return Written(applied=False, locked_until=_locked_until(item, settings, now))
    except BotoCoreError:
        raise StateUnavailable(UNAVAILABLE) from None


def _expiry(settings: VerifySettings, now: float) -> int:
    # Until a lockout begun now has ended and no step accepted now can still be presented (the next step's end).
    return math.ceil(now) + settings.lockout_seconds + 3 * MAX_PERIOD + 60


def accept(key: str, settings: VerifySettings, step_start: int, now: float) -> Written:
    """Record an accepted code of the step starting at `step_start`, unless the key is locked or (with replay
    protection) a step starting at or after it was accepted before. Clears the failures."""
    conditions, update = [], ["expires_at = :ttl"]
    if settings.replay_protection:
        conditions.append("(attribute_not_exists(last_used) OR last_used < :start)")
        update.append("last_used = :start")
    removed = ""
    if settings.max_failed_attempts:
        conditions.append(_not_locked(settings))
        removed = " REMOVE " + ", ".join([*_slots(settings), "last_failure"])
    values = {":ttl": _expiry(settings, now), ":start": step_start, ":now": math.floor(now)}
    return _write(key, settings, now, "SET " + ", ".join(update) + removed, " AND ".join(conditions), values)


def record_failure(key: str, settings: VerifySettings, now: float) -> Written:
    """Record a failed attempt at `now`, unless the key is locked. `locked_until` tells whether this failure
    locked it. Only with lockout on (max_failed_attempts > 0)."""
    slots = _slots(settings)
    # Shift the queue. DynamoDB evaluates every right-hand side against the item before the update; moto applies
    # the actions left to right. Shifting towards f1 in this order gives the same queue both ways.
    shifted = [f"{slot} = if_not_exists({newer}, :zero)" for slot, newer in pairwise(slots)]
    update = ", ".join([*shifted, f"{slots[-1]} = :leaves", "last_failure = :now", "expires_at = :ttl"])
    leaves = math.ceil(now) + settings.lockout_seconds
    values = {":zero": 0, ":leaves": leaves, ":now": math.floor(now), ":ttl": _expiry(settings, now)}
    return _write(key, settings, now, "SET " + update, _not_locked(settings), values)


def locked_until(key: str, settings: VerifySettings, now: float) -> int:
    """Until when the key is locked (0: it is not): one consistent read, for listing codes."""
    from botocore.exceptions import BotoCoreError, ClientError

    request = {"TableName": settings.table, "Key": {"pk": {"S": key}}, "ConsistentRead": True}
    try:
        return _locked_until(_client().get_item(**request).get("Item", {}), settings, now)
    except (BotoCoreError, ClientError):
        raise StateUnavailable(UNAVAILABLE) from None
