"""What a committed write changed, as security events: one stream record (the item as it was and as it is, both
read from DynamoDB's stream) in, the events it tells out. Pure: no AWS, no clock but the record's own.

Each event is read from what the write changed, never from what a request asked:
- Lockout Began, Locked Until Unlock: `failures` grew (only a failure write adds to it) and the item is now
  locked, for the window or at the cap. The failure write is refused on a locked item, so a lock begins once.
- Lockout Lifted: the failures are gone while `accepted_by` stayed (an unlock, not an accepted code), and the item
  as it was is locked at the write's time.
- Recovery Code Used (and Recovery Codes Used Up, at the last): `used` grew.
- Key Revoked: `revoked_at` appeared. Revoked Key Tried: `tried_by` changed (state/rules.py: tried_write).
- TOTP Drift Changed: a resync (`resynced_by` changed) stored another drift, or an accepted code moved it by more
  than one step. HOTP Resync: a resync moved `next_counter`.
A REMOVE is DynamoDB's TTL forgetting an item (nothing else deletes one): no event.

Each event's `event_id` is a hash of the item's key, the id of the decision that wrote the change (`decided_by`,
`tried_by`: random, one per write) and the detail-type: the same however often, or wherever (a table's replica in
another region), the record is read. Never the stream record's own id, which another reading need not share.
"""

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from otp_api.events.catalogue import (
    Detail,
    HotpResync,
    KeyRevoked,
    LockedUntilUnlock,
    LockoutBegan,
    LockoutLifted,
    RecoveryCodesUsedUp,
    RecoveryCodeUsed,
    RevokedKeyTried,
    TotpDriftChanged,
)
from otp_api.state.conditions import Item, read_item
from otp_api.state.rules import (
    ACCEPTED_BY,
    DECIDED_BY,
    FAILURES,
    LAST_FAILURE,
    RESYNCED_BY,
    REVOKED,
    SUBJECT,
    TRIED_BY,
    TRIES,
    Lockout,
)

EVENT_ID_DOMAIN = b"otp-api/event/v1\x00"
STATE_ID_DOMAIN = b"otp-api/event-state/v1\x00"
WRITES = frozenset({"INSERT", "MODIFY"})
# The kinds' own attributes, read here by name (kinds/time_based.py, counter_based.py, recovery_codes.py).
DRIFT, NEXT_COUNTER, USED, SET_SIZE = "drift", "next_counter", "used", "set_size"


@dataclass(frozen=True, slots=True)
class Event:
    detail: Detail
    when: datetime

    @property
    def detail_type(self) -> str:
        return self.detail.detail_type


def _hex_id(domain: bytes, *parts: str) -> str:
    return hashlib.sha256(domain + "\x00".join(parts).encode()).hexdigest()[:32]


def state_id(pk: str) -> str:
    """The opaque id of a state item in events: a hash of its key (itself a hash of the key or set id)."""
    return _hex_id(STATE_ID_DOMAIN, pk)


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(created: Any) -> int:
    """A record's creation time, in whole Unix seconds: a number as Lambda delivers it, or ISO 8601 as the AWS CLI
    prints GetRecords' answer (a batch sent again by hand, docs/events.md)."""
    if isinstance(created, str) and not created.replace(".", "", 1).isdigit():
        return math.floor(datetime.fromisoformat(created).timestamp())
    return math.floor(float(created))


def _changed(old: Item, new: Item, name: str) -> bool:
    return name in new and new.get(name) != old.get(name)


def events_of(record: dict[str, Any], lockout: Lockout) -> list[Event]:
    """The events one DynamoDB stream record (as Lambda delivers it) tells, in the catalogue's order."""
    if record.get("eventName") not in WRITES:
        return []
    change = record["dynamodb"]
    old, new = read_item(change.get("OldImage", {})), read_item(change.get("NewImage", {}))
    at = _seconds(change["ApproximateCreationDateTime"])
    pk = str(new.get("pk") or read_item(change["Keys"])["pk"])
    common: dict[str, Any] = {"state_id": state_id(pk), "time": _iso(at)}
    if isinstance(new.get(SUBJECT.name), str):
        common["subject"] = new[SUBJECT.name]
    found: list[Event] = []

    def tell(kind: type[Detail], decision: Any, **fields: Any) -> None:
        event_id = _hex_id(EVENT_ID_DOMAIN, pk, str(decision), kind.detail_type)
        found.append(Event(kind(event_id=event_id, **common, **fields), datetime.fromtimestamp(at, UTC)))

    decision = new.get(DECIDED_BY.name, "")
    failures = int(new.get(FAILURES.name, 0))
    if failures > int(old.get(FAILURES.name, 0)) and LAST_FAILURE.name in new:
        until = lockout.until(new, new[LAST_FAILURE.name])
        if until < 0:
            tell(LockedUntilUnlock, decision, failures=failures)
        elif until:
            tell(LockoutBegan, decision, until=_iso(until), failures=failures)
    unlocked = LAST_FAILURE.name in old and LAST_FAILURE.name not in new
    if unlocked and new.get(ACCEPTED_BY.name) == old.get(ACCEPTED_BY.name) and (was := lockout.until(old, at)):
        tell(LockoutLifted, decision, lock="until_unlock" if was < 0 else "window")
    if len(new.get(USED, ())) > len(old.get(USED, ())) and SET_SIZE in new:
        count, used = int(new[SET_SIZE]), len(new[USED])
        tell(RecoveryCodeUsed, decision, remaining=max(count - used, 0), count=count)
        if used >= count:
            tell(RecoveryCodesUsedUp, decision, count=count)
    if _changed(old, new, REVOKED.name):
        tell(KeyRevoked, decision)
    if _changed(old, new, TRIED_BY.name):
        tell(RevokedKeyTried, new[TRIED_BY.name], tries=int(new.get(TRIES.name, 1)))
    resync = _changed(old, new, RESYNCED_BY.name)
    if DRIFT in new:
        drift, before = int(new[DRIFT]), int(old.get(DRIFT, 0))
        if drift != before and (resync or abs(drift - before) > 1):
            tell(TotpDriftChanged, decision, drift=drift, previous_drift=before, resync=resync)
    if resync and NEXT_COUNTER in new:
        tell(HotpResync, decision, next_counter=int(new[NEXT_COUNTER]))
    return found
