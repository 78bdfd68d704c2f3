"""What a committed write changed, as security events: one stream record (the item as it was and as it is, both
read from DynamoDB's stream) in, the events it tells out. Pure: no AWS, no clock but the record's own.

Each event is read from what the write changed, never from what a request asked:
- Lockout Began, Locked Until Unlock: `failures` grew (only a failure write adds to it) and the item is now
  locked, for the window or at the cap. The failure write is refused on a locked item, so a lock begins once.
- Lockout Lifted: the failures are gone while `accepted_by` stayed (an unlock, not an accepted code), and the item
  as it was is locked at the write's time.
- Recovery Code Used (and Recovery Codes Used Up, at the last): `used` grew.
- Key Revoked: `revoked_at` appeared. Revoked Key Tried: `tried_by` changed (state/rules.py: tried_write).
- Person Revoked: a person's `revoked_before` changed.
- TOTP Drift Changed: a resync (`resynced_by` changed) stored another drift, or an accepted code moved it by more
  than one step. HOTP Resync: a resync moved `next_counter`.
A REMOVE is DynamoDB's TTL forgetting an item (nothing else deletes one): no event.

A person's item (state/rules.py, `Place`) tells the same events: the locks of each group of factors (with
`factors`: codes, or recovery codes), and each key's own events under the key's prefix (`state_id` then names the
key in the person's item). A key adopted into its person's item is no event: what it carries was told when it
happened.

Each event's `event_id` is a hash of the item's key, the id of the decision that wrote the change (`decided_by`,
`tried_by`: random, one per write) and the detail-type: the same however often, or wherever (a table's replica in
another region), the record is read. Never the stream record's own id, which another reading need not share.
"""

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from msgspec import Struct

from otp_api.events.catalogue import (
    Detail,
    HotpResync,
    KeyRevoked,
    LockedUntilUnlock,
    LockoutBegan,
    LockoutLifted,
    PersonRevoked,
    RecoveryCodesUsedUp,
    RecoveryCodeUsed,
    RevokedKeyTried,
    TotpDriftChanged,
)
from otp_api.settings import EventSettings
from otp_api.state.conditions import Item, read_item
from otp_api.state.rules import (
    ACCEPTED_BY,
    CODES,
    DECIDED_BY,
    FAILURES,
    KEY_PREFIX,
    LAST_FAILURE,
    RECOVERY,
    RESYNCED_BY,
    REVOKED,
    REVOKED_BEFORE,
    SEEN,
    SUBJECT,
    TRIED_BY,
    TRIES,
    Lockout,
    Place,
    lockout_of,
)

EVENT_ID_DOMAIN = b"otp-api/event/v1\x00"
STATE_ID_DOMAIN = b"otp-api/event-state/v1\x00"
WRITES = frozenset({"INSERT", "MODIFY"})
# The kinds' own attributes, read here by name (kinds/time_based.py, counter_based.py, recovery_codes.py).
DRIFT, NEXT_COUNTER, USED, SET_SIZE = "drift", "next_counter", "used", "set_size"


class Event(Struct, frozen=True):
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


def events_of(record: dict[str, Any], settings: EventSettings) -> list[Event]:
    """The events one DynamoDB stream record (as Lambda delivers it) tells, in the catalogue's order."""
    if record.get("eventName") not in WRITES:
        return []
    change = record["dynamodb"]
    old, new = read_item(change.get("OldImage", {})), read_item(change.get("NewImage", {}))
    at = _seconds(change["ApproximateCreationDateTime"])
    pk = str(new.get("pk") or read_item(change["Keys"])["pk"])
    common: dict[str, Any] = {"time": _iso(at)}
    if isinstance(new.get(SUBJECT.name), str):
        common["subject"] = new[SUBJECT.name]
    found: list[Event] = []
    decision = new.get(DECIDED_BY.name, "")

    def tell(kind: type[Detail], decided: Any, where: str = "", **fields: Any) -> None:
        # a person's group is part of the id: one unlock lifts both groups' locks, two events
        event_id = _hex_id(EVENT_ID_DOMAIN, pk + where + fields.get("factors", ""), str(decided), kind.detail_type)
        detail = kind(event_id=event_id, state_id=state_id(pk + where), **common, **fields)
        found.append(Event(detail, datetime.fromtimestamp(at, UTC)))

    if not _is_person(old, new):
        _locks(tell, old, new, at, lockout_of(settings), decision, {})
        _key(tell, old, new, decision, "")
        return found
    if any(KEY_PREFIX.match(name) and name.endswith("_" + SEEN.name) for name in set(new) - set(old)):
        return []  # a key adopted into its person's item: what it carries was told when it happened
    for group, factors in ((CODES, "codes"), (RECOVERY, "recovery_codes")):
        _locks(tell, old, new, at, lockout_of(settings, group), decision, {"factors": factors})
    if _changed(old, new, REVOKED_BEFORE.name):
        tell(PersonRevoked, decision, revoked_before=_iso(int(new[REVOKED_BEFORE.name]) // 1000))
    for prefix in sorted({match.group(0) for name in new if (match := KEY_PREFIX.match(name))}):
        _key(tell, Place("", prefix).view(old), Place("", prefix).view(new), decision, prefix)
    return found


def _is_person(old: Item, new: Item) -> bool:
    """A person's item: it holds keys under prefixes, groups' failures, or a revocation of the person."""
    return any(
        KEY_PREFIX.match(name) or name.startswith((CODES, RECOVERY)) or name == REVOKED_BEFORE.name
        for name in {*old, *new}
    )


def _locks(
    tell: Callable[..., None], old: Item, new: Item, at: int, lockout: Lockout, decision: Any, extra: dict[str, Any]
) -> None:
    """Lockout Began, Locked Until Unlock, Lockout Lifted: of a key, or of a person's group."""
    failures_name, newest = lockout.attr(FAILURES).name, lockout.attr(LAST_FAILURE).name
    failures = int(new.get(failures_name, 0))
    if failures > int(old.get(failures_name, 0)) and newest in new:
        until = lockout.until(new, new[newest])
        if until < 0:
            tell(LockedUntilUnlock, decision, failures=failures, **extra)
        elif until:
            tell(LockoutBegan, decision, until=_iso(until), failures=failures, **extra)
    unlocked = newest in old and newest not in new
    if unlocked and new.get(ACCEPTED_BY.name) == old.get(ACCEPTED_BY.name) and (was := lockout.until(old, at)):
        tell(LockoutLifted, decision, lock="until_unlock" if was < 0 else "window", **extra)


def _key(tell: Callable[..., None], old: Item, new: Item, decision: Any, where: str) -> None:
    """The events of one key's own attributes (named as in an item of its own)."""
    if len(new.get(USED, ())) > len(old.get(USED, ())) and SET_SIZE in new:
        count, used = int(new[SET_SIZE]), len(new[USED])
        tell(RecoveryCodeUsed, decision, where, remaining=max(count - used, 0), count=count)
        if used >= count:
            tell(RecoveryCodesUsedUp, decision, where, count=count)
    if _changed(old, new, REVOKED.name):
        tell(KeyRevoked, decision, where)
    if _changed(old, new, TRIED_BY.name):
        tell(RevokedKeyTried, new[TRIED_BY.name], where, tries=int(new.get(TRIES.name, 1)))
    resync = _changed(old, new, RESYNCED_BY.name)
    if DRIFT in new:
        drift, before = int(new[DRIFT]), int(old.get(DRIFT, 0))
        if drift != before and (resync or abs(drift - before) > 1):
            tell(TotpDriftChanged, decision, where, drift=drift, previous_drift=before, resync=resync)
    if resync and NEXT_COUNTER in new:
        tell(HotpResync, decision, where, next_counter=int(new[NEXT_COUNTER]))
