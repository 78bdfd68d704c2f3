"""When a code is accepted, and what is written to DynamoDB: the rules of verify for every kind of one-time
password, as pure functions of the state as read, what the kind says of the code, and now: the writes each decision
makes and the reading of their answers. state/apply.py applies them to the table (`settle`, `unlock`, `revoke`).

Where the state lives (`Place`):
- A request without a `subject`: each key (or set of recovery codes) has an item of its own, `pk` a hash of its
  bytes in the kind's domain, and every attribute below is named as it is written here.
- A request with one (a sealed token bound to the subject): one item per person (`person_pk`) holds every one of
  their keys, each key's attributes under a prefix of its own (`k` and 20 hex digits of its own item's key, `_`),
  and the failures of each group of factors under the group's prefix: `otp_` for the guessable codes (TOTP and
  HOTP, one budget whatever the key), `rc_` for recovery codes (limits of their own, so that a lock of the codes
  never takes the way back). `revoked_before` (milliseconds) revokes every factor sealed before it. The first
  decision on a key there adopts what the key's own item holds (`adopt_write`: counters, used codes, revocation,
  failures), so that nothing an earlier release wrote is lost.

The attributes:
- the kind's progress (time_based: `last_used`, the start of the last accepted time step, and `drift`);
- the lockout: `f1`..`fN`, when each of the last N failures leaves the window (its time rounded up to the second,
  plus the window), oldest first, and `last_failure`, the newest failure's time rounded down. Locked while the last
  N failures lie within one window (f1 > last_failure) and the newest has not left it (fN > now): N failures less
  than a window apart always lock, for a full window from the Nth (a second more at most);
- `failures`: the failures since the last accepted code or unlock. At MaxConsecutiveFailures the key (a person's
  group) is locked until `unlock` (NIST SP 800-63B-4 3.2.2): however slowly an attacker guesses, no more codes are
  evaluated;
- a person's guessable codes also count failures that no accepted code resets: `tp`, the number of the current 30-day
  period (Unix time / 30 days), `tc`, its failures, and `ts`, its failures and the previous period's. Locked while
  `ts` (or, a period later, `tc`) has reached MaxFailuresInThirtyDays: at most that many failures in any 30 days;
- `revoked_at`: when the key or set was revoked. It never verifies, resyncs or unlocks again;
- `decided_by`: the id of the decision that wrote it last, and `accepted_by`, of the last decision that accepted a
  code (a failure never overwrites it: a retried accept is recognised whatever came in between); a person's
  `accepted_at`, per group, when a code was last accepted;
- `expires_at`: DynamoDB's TTL, for kinds whose state may be forgotten (time_based, after an accepted code, in an
  item of its own). A failure or a revocation removes it: what they protect must outlive any TTL. A person's item
  never expires, and nothing in it relies on TTL;
- what the security events read (otp_api/events, from the table's stream), never a secret: `subject`, the user's
  opaque id when the request named one (every write of such a request sets it); `resynced_by`, the id of the last
  decision that was a resync; `tried_by` and `tries`, the last code presented for a revoked key and how many were.

A decision is one conditional write (UpdateItem), refused as a whole or made as a whole, and a second on the
failure path:
1. the code matched: accept it if it is unused (the kind's condition), the key is not revoked nor locked, and this
   decision has not written yet. The kind's progress moves, the failures are cleared.
2. no match, or an accept refused for being used (a replay, which is what an eavesdropper would try): count a
   failure if the key is not revoked nor locked and this decision has not written yet.
A refused write returns the item as it was (ALL_OLD), read in this order: written by this very decision (a retry
of a write that landed, whose answer was lost: its outcome stands, never a second refusal or a second failure),
not yet seen in a person's item (adopted, then decided again), revoked, locked (429, after the same single call
whatever the code), a new 30-day period (the failure counted again, with the period moved on), used (a replay).
A code presented for a revoked key is then recorded (`tried_write`), a write on that rare path only: a refused write
changes nothing, and the revoked key tried must reach the table's stream to become an event.
"""

import hashlib
import itertools
import math
import re
from collections.abc import Callable
from typing import Any, Literal

from msgspec import Struct, field
from msgspec.structs import replace

from otp_api.settings import EventSettings, VerifySettings
from otp_api.state.conditions import (
    AllOf,
    AnyOf,
    Attr,
    Compare,
    Cond,
    Contains,
    Exists,
    IfNotExists,
    Item,
    Missing,
    Not,
    Value,
    Values,
)

DECIDED_BY, ACCEPTED_BY, EXPIRES_AT = Attr("decided_by"), Attr("accepted_by"), Attr("expires_at")
LAST_FAILURE, FAILURES, REVOKED = Attr("last_failure"), Attr("failures"), Attr("revoked_at")
SUBJECT, RESYNCED_BY, TRIED_BY, TRIES = Attr("subject"), Attr("resynced_by"), Attr("tried_by"), Attr("tries")
SEEN, ACCEPTED_AT, REVOKED_BEFORE = Attr("seen"), Attr("accepted_at"), Attr("revoked_before")
UNLOCKED_AT = Attr("unlocked_at")  # a person's group: when it was last unlocked (adoption carries no older failure)
PERIOD_NUMBER, PERIOD_FAILURES, TOTAL_FAILURES = Attr("tp"), Attr("tc"), Attr("ts")
NOW, DECISION, ZERO, ONE, CAP = Value(":now"), Value(":decision"), Value(":zero"), Value(":one"), Value(":cap")
SEALED_AT, TOTAL, PERIOD, PREVIOUS = Value(":sealed_at"), Value(":total"), Value(":period"), Value(":previous")
TTL, LEAVES, BOTH, WAS, NOW_MS = Value(":ttl"), Value(":leaves"), Value(":both"), Value(":was"), Value(":now_ms")
OWN_FAILURES, WAS_FAILURES = Value(":own_failures"), Value(":was_failures")
OWN_LAST_FAILURE, WAS_LAST_FAILURE = Value(":own_last_failure"), Value(":was_last_failure")
NAMED = Value(":subject")  # each placeholder declared once, here: its value is set by its `placeholder`
Reason = Literal["no_match", "already_used", "revoked"]  # why a code was refused

PERSON_DOMAIN = b"otp-api/person/v1\x00"
TOTAL_PERIOD = 30 * 86_400  # seconds: the period of MaxFailuresInThirtyDays
CODES, RECOVERY = "otp_", "rc_"  # a person's groups of factors: the guessable codes, and the way back
PASSKEYS = "pk_"  # a person's passkeys: nothing to guess, so never the codes' budget (kinds/passkey.py)
GROUPS = (CODES, RECOVERY, PASSKEYS)  # each with limits of its own: a lock in one leaves the others open
# A person's recovery codes: no window lock (a few requests every quarter of an hour would keep them locked), and a
# cap that costs an attacker 100 times what locking the codes does: 10,000 guesses at a set of 20 codes of 50 bits
# succeed with a chance of 10,000 x 20 / 2^50, 1.8e-10 (docs/verification.md).
RECOVERY_CAP = 10_000
KEY_PREFIX = re.compile(r"^k[0-9a-f]{20}_")


def person_pk(subject: str) -> str:
    """The item of a person's state: a hash of their subject."""
    return hashlib.sha256(PERSON_DOMAIN + subject.encode("utf-8", "surrogatepass")).hexdigest()


def key_prefix(own_pk: str) -> str:
    """Where a key's attributes sit in its person's item: named by its own item's key."""
    return f"k{own_pk[:20]}_"


def place(
    own: tuple[str, ...], subject: str | None, group: str, sealed_at: int, lifetime: int | None = None
) -> "Place":
    """Where a key's state is: its own item (`own[0]`; HOTP may have an older one too), kept `lifetime` seconds
    after its last write (None: kept), or with a subject its person's item, in `group`, kept."""
    if subject is not None:
        return Place.of_person(subject, own, group, sealed_at)
    return Place(own[0], own=own, lifetime=lifetime)


class Place(Struct, frozen=True):
    """Where a decision reads and writes: the item, the prefix of the key's attributes in it and the group whose
    failures it counts. `sealed_at` (a person's factor, in milliseconds; 0 for a token sealed before tokens carried
    it) is judged against the person's `revoked_before`; `own` are the key's own items, adopted at first sight.
    `subject`: the user the request named, written beside the state for the events. `lifetime`: the seconds a key's
    own item outlives its last write (None: kept; a person's item is always kept)."""

    pk: str
    key: str = ""
    group: str = ""
    sealed_at: int | None = None
    own: tuple[str, ...] = ()
    subject: str | None = None
    lifetime: int | None = None

    @classmethod
    def of_person(cls, subject: str, own: tuple[str, ...], group: str, sealed_at: int) -> "Place":
        return cls(person_pk(subject), key_prefix(own[0]), group, sealed_at, own, subject)

    @property
    def personal(self) -> bool:
        return self.sealed_at is not None

    @property
    def expires_after(self) -> int | None:
        """The `lifetime` of a key's own item; a person's item never expires (its revocations and budget hold)."""
        return None if self.personal else self.lifetime

    def attr(self, name: Attr) -> Attr:
        return Attr(self.key + name.name)

    @property
    def values(self) -> Values:
        return {SEALED_AT.placeholder: self.sealed_at} if self.personal else {}

    @property
    def revoked(self) -> Cond:
        """The key is revoked: itself, or (a person's) by a revocation of every factor sealed before it."""
        own = Exists(self.attr(REVOKED))
        return AnyOf((own, Compare(REVOKED_BEFORE, ">=", SEALED_AT))) if self.personal else own

    @property
    def unrevoked(self) -> Cond:
        own = Missing(self.attr(REVOKED))
        if not self.personal:
            return own
        return AllOf((own, AnyOf((Missing(REVOKED_BEFORE), Compare(REVOKED_BEFORE, "<", SEALED_AT)))))

    def is_revoked(self, item: Item) -> bool:
        return self.revoked.holds(item, self.values)

    def view(self, item: Item) -> Item:
        """The key's own attributes in `item`, named as in an item of its own."""
        if not self.key:
            return item
        return {name[len(self.key) :]: value for name, value in item.items() if name.startswith(self.key)}


class Lockout(Struct, frozen=True):
    """The limits of one group of failures, once: their conditions for DynamoDB and their reading of an item both
    come from `locked`. `limit` failures within `window` seconds lock for the window; `cap` consecutive failures
    lock until unlock; `total` failures within a 30-day period and the one before lock until they age out."""

    limit: int  # N: failures within a window that lock; 0: no window
    window: int  # seconds
    cap: int  # consecutive failures that lock until unlock; 0: none
    group: str = ""  # the prefix of its attributes
    total: int = 0  # failures in any 30 days; 0: not counted

    def attr(self, name: Attr) -> Attr:
        return Attr(self.group + name.name)

    @property
    def on(self) -> bool:
        return bool(self.limit or self.cap or self.total)

    @property
    def slots(self) -> tuple[Attr, ...]:
        return tuple(Attr(f"{self.group}f{i}") for i in range(1, self.limit + 1))

    def values(self, now: float, period: int | None = None) -> Values:
        """The placeholders' values at `now`; `period`: a 30-day period the item already holds that is later than
        now's (another instance's clock a little ahead at the boundary): periods only move forwards."""
        values: Values = {NOW.placeholder: math.floor(now)}
        if self.cap:
            values[CAP.placeholder] = self.cap
        if self.total:
            period = max(math.floor(now) // TOTAL_PERIOD, period or 0)
            values |= {TOTAL.placeholder: self.total, PERIOD.placeholder: period, PREVIOUS.placeholder: period - 1}
        return values

    @property
    def capped(self) -> Cond:
        return Compare(self.attr(FAILURES), ">=", CAP)

    @property
    def windowed(self) -> Cond:
        first, last, newest = self.slots[0], self.slots[-1], self.attr(LAST_FAILURE)
        return AllOf((Exists(newest), Compare(first, ">", newest), Compare(last, ">", NOW)))

    @property
    def spent(self) -> Cond:
        """The 30-day budget is spent: this period's and the last's failures, or (read a period on) the last's."""
        number = self.attr(PERIOD_NUMBER)
        this = AllOf((Compare(number, "=", PERIOD), Compare(self.attr(TOTAL_FAILURES), ">=", TOTAL)))
        last = AllOf((Compare(number, "=", PREVIOUS), Compare(self.attr(PERIOD_FAILURES), ">=", TOTAL)))
        return AnyOf((this, last))

    @property
    def locked(self) -> Cond:
        parts = [self.windowed] if self.limit else []
        parts += [self.capped] if self.cap else []
        parts += [self.spent] if self.total else []
        return AnyOf(tuple(parts))

    @property
    def consecutive(self) -> tuple[str, ...]:
        """The attributes of the failures an accepted code clears: the window's and the consecutive ones."""
        if not self.on:
            return ()
        return (*(slot.name for slot in self.slots), self.attr(LAST_FAILURE).name, self.attr(FAILURES).name)

    @property
    def names(self) -> tuple[str, ...]:
        """Every attribute the group's failures are kept in (an unlock removes them all)."""
        totals = (PERIOD_NUMBER, PERIOD_FAILURES, TOTAL_FAILURES) if self.total else ()
        return (*self.consecutive, *(self.attr(name).name for name in totals))

    def until(self, item: Item, now: float) -> int:
        """When the lock on this item ends (Unix seconds), or 0 if it is not locked; -1: only unlock ends it."""
        values = self.values(now)
        if not self.on or not self.locked.holds(item, values):
            return 0
        if self.cap and self.capped.holds(item, values):
            return -1
        ends = [int(item[self.slots[-1].name])] if self.limit and self.windowed.holds(item, values) else []
        if self.total and self.spent.holds(item, values):
            period = values[PERIOD.placeholder]
            this = item[self.attr(PERIOD_NUMBER).name] == period
            later = 2 if this and item.get(self.attr(PERIOD_FAILURES).name, 0) >= self.total else 1
            ends.append((period + later) * TOTAL_PERIOD)
        return max(ends)

    def left(self, item: Item, now: float) -> dict[str, int | None]:
        """The failures left before each lock (None: that lock is off)."""
        values = self.values(now)
        counted = int(item.get(self.attr(FAILURES).name, 0))
        in_window = 0
        if self.limit and self.attr(LAST_FAILURE).name in item:
            in_window = sum(1 for slot in self.slots if int(item.get(slot.name, 0)) > values[NOW.placeholder])
        spent = 0
        if self.total:
            number = item.get(self.attr(PERIOD_NUMBER).name)
            if number == values[PERIOD.placeholder]:
                spent = int(item.get(self.attr(TOTAL_FAILURES).name, 0))
            elif number == values[PREVIOUS.placeholder]:
                spent = int(item.get(self.attr(PERIOD_FAILURES).name, 0))
        return {
            "window": max(self.limit - in_window, 0) if self.limit else None,
            "until_unlock": max(self.cap - counted, 0) if self.cap else None,
            "in_30_days": max(self.total - spent, 0) if self.total else None,
        }


def lockout_of(settings: VerifySettings | EventSettings, group: str = "") -> Lockout:
    """The limits of a group of failures: a key's own (""), a person's codes, or a person's recovery codes. With
    MaxFailedAttempts 0 nothing is counted."""
    if not settings.max_failed_attempts:
        return Lockout(0, settings.lockout_seconds, 0, group)
    if group in (RECOVERY, PASSKEYS):  # failures counted; a lock only at a cap no honest user reaches
        return Lockout(0, settings.lockout_seconds, RECOVERY_CAP, group)
    total = settings.max_failures_in_thirty_days if group == CODES else 0
    return Lockout(
        settings.max_failed_attempts, settings.lockout_seconds, settings.max_consecutive_failures, group, total
    )


class Progress(Struct, frozen=True):
    """What an accepted code moves in its key's state, and on what condition (`unused`: it was not used)."""

    unused: Cond | None = None
    sets: dict[str, Value] = field(default_factory=dict)
    adds: dict[str, Value] = field(default_factory=dict)  # ADD to a number, or to a number set (recovery codes)
    values: Values = field(default_factory=dict)
    # Why an accept was refused, read from the item, when the condition says more than "used" (time_based: a code
    # outside the window the stored drift allows matched nothing).
    why_refused: Callable[[Item], Reason] | None = None
    # Attributes kept once in a person's item for all their keys of the kind, never under a key's prefix (a
    # passkey challenge is used once whichever of the person's credentials signs it).
    personal: frozenset[str] = frozenset()


def resynced(progress: Progress) -> Progress:
    """The progress of a resync: the decision's id is kept as `resynced_by`, so that its write tells itself from a
    verify's (the events read it)."""
    return replace(progress, sets={**progress.sets, RESYNCED_BY.name: DECISION})


def _prefixed(cond: Any, prefix: str, kept: frozenset[str] = frozenset()) -> Any:
    """`cond` with every attribute it names, but those `kept`, moved under `prefix` (a key's, in its person's
    item)."""
    if isinstance(cond, Attr):
        return cond if cond.name in kept else Attr(prefix + cond.name)
    if isinstance(cond, AllOf | AnyOf):
        return type(cond)(tuple(_prefixed(part, prefix, kept) for part in cond.parts))
    if isinstance(cond, Not):
        return Not(_prefixed(cond.part, prefix, kept))
    if isinstance(cond, Exists | Missing):
        return type(cond)(_prefixed(cond.attr, prefix, kept))
    if isinstance(cond, Contains):
        return Contains(_prefixed(cond.attr, prefix, kept), cond.value)
    if isinstance(cond, Compare):
        return Compare(_prefixed(cond.left, prefix, kept), cond.op, _prefixed(cond.right, prefix, kept))
    return cond  # a Value


def within(progress: Progress, place: Place) -> Progress:
    """A kind's progress, its attributes named where `place` keeps the key's."""
    if not place.key:
        return progress
    why, kept = progress.why_refused, progress.personal

    def named(name: str) -> str:
        return name if name in kept else place.key + name

    return Progress(
        unused=_prefixed(progress.unused, place.key, kept) if progress.unused is not None else None,
        sets={named(name): value for name, value in progress.sets.items()},
        adds={named(name): value for name, value in progress.adds.items()},
        values=progress.values,
        why_refused=(lambda item: why({**place.view(item), **{n: item[n] for n in kept if n in item}}))
        if why
        else None,
    )


class Write(Struct, frozen=True):
    """One conditional UpdateItem."""

    condition: Cond
    sets: dict[str, Value | IfNotExists]
    removes: tuple[str, ...] = ()
    adds: dict[str, Value] = field(default_factory=dict)
    values: Values = field(default_factory=dict)
    returns: Literal["ALL_NEW", "ALL_OLD"] = "ALL_NEW"  # the item a made write answers with


class Written(Struct, frozen=True):
    """A write's outcome: made, with the item after it, or refused, with the item as it was."""

    applied: bool
    item: Item


class Store(Struct, frozen=True):
    """The table, as the rules use it: a conditional write, and a consistent read."""

    write: Callable[[str, Write], Written]
    read: Callable[[str], Item]


class Verdict(Struct, frozen=True):
    """The verdict on one code: accepted or not, why not, and the key's state as the accept left it."""

    valid: bool
    reason: Reason | None = None
    state: Item = field(default_factory=dict)


def _not_yet_by() -> Cond:
    return AnyOf((Missing(DECIDED_BY), Compare(DECIDED_BY, "<>", DECISION)))


def _guards(place: Place, lockout: Lockout, *conditions: Cond | None) -> Cond:
    parts = [c for c in conditions if c is not None]
    parts.append(place.unrevoked)
    if place.personal:
        parts.append(Exists(place.attr(SEEN)))
    if lockout.on:
        parts.append(Not(lockout.locked))
    return AllOf((*parts, _not_yet_by()))


def accept_write(progress: Progress, lockout: Lockout, now: float, decision: str, place: Place = Place("")) -> Write:
    sets: dict[str, Value | IfNotExists] = {DECIDED_BY.name: DECISION, ACCEPTED_BY.name: DECISION}
    values: Values = {DECISION.placeholder: decision, **lockout.values(now), **place.values}
    if place.personal:
        sets[lockout.attr(ACCEPTED_AT).name] = NOW
    if place.expires_after is not None:
        sets[EXPIRES_AT.name] = TTL
        values[TTL.placeholder] = math.ceil(now) + place.expires_after
    return Write(
        condition=_guards(place, lockout, progress.unused),
        sets={**progress.sets, **sets},
        removes=lockout.consecutive,
        adds=progress.adds,
        values={**progress.values, **values},
    )


def failure_write(
    lockout: Lockout,
    now: float,
    decision: str,
    place: Place = Place(""),
    moved_from: Item | None = None,
) -> Write:
    """Queue a failure: the slots shift towards f1 (each takes its newer neighbour's value) and fN is this one;
    one more consecutive failure, and one more in the 30-day budget. A state that may expire (`place.expires_after`) no
    longer does: the failures are what the attempt limits count. `moved_from`: the item as it was when its 30-day period
    is not this one (the budget then moves on: this period's failures become the last's)."""
    slots = lockout.slots
    sets: dict[str, Value | IfNotExists] = {
        slot.name: IfNotExists(newer, ZERO) for slot, newer in itertools.pairwise(slots)
    }
    if slots:
        sets[slots[-1].name] = LEAVES
    sets |= {lockout.attr(LAST_FAILURE).name: NOW, DECIDED_BY.name: DECISION}
    number, this, both = (lockout.attr(a) for a in (PERIOD_NUMBER, PERIOD_FAILURES, TOTAL_FAILURES))
    was = moved_from.get(number.name) if moved_from is not None else None
    values: Values = {DECISION.placeholder: decision, ZERO.placeholder: 0, ONE.placeholder: 1}
    values |= {**lockout.values(now, was), **place.values, LEAVES.placeholder: math.ceil(now) + lockout.window}
    adds = {lockout.attr(FAILURES).name: ONE}
    where: list[Cond] = []
    if lockout.total:
        if moved_from is None or was == values[PERIOD.placeholder]:  # the item's period is this one: count in it
            where.append(Compare(number, "=", PERIOD))
            adds |= {this.name: ONE, both.name: ONE}
        else:  # an earlier period, or none: move it on (never back), this period's failures becoming the last's
            carried = int(moved_from.get(this.name, 0)) if was == values[PREVIOUS.placeholder] else 0
            sets |= {number.name: PERIOD, this.name: ONE, both.name: BOTH}
            values |= {BOTH.placeholder: carried + 1, WAS.placeholder: was}
            where.append(Missing(number) if was is None else Compare(number, "=", WAS))
    return Write(
        condition=_guards(place, lockout, *where),
        sets=sets,
        removes=(EXPIRES_AT.name,) if place.expires_after is not None else (),
        adds=adds,
        values=values,
    )


def adopt_write(place: Place, item: Item, owned: list[Item], lockout: Lockout, now: float, own_cap: int = 0) -> Write:
    """A key's first decision in its person's item: what its own items hold (written by a release that kept state
    per key) is carried over, so that a used code stays used, a counter never moves back, a revocation holds and
    failures still count. Numbers are taken at their largest and number sets joined (HOTP may have two items)."""
    sets: dict[str, Value | IfNotExists] = {place.attr(SEEN).name: NOW}
    values: Values = {NOW.placeholder: math.floor(now)}
    for number, (name, value) in enumerate(sorted(merged(owned).items())):
        own = sets[place.key + name] = Value(f":own{number}")
        values[own.placeholder] = value
    conditions: list[Cond] = [Missing(place.attr(SEEN))]
    unlocked = int(item.get(lockout.attr(UNLOCKED_AT).name, 0))
    owned = [own for own in owned if int(own.get(LAST_FAILURE.name, 0)) >= unlocked]  # failures since an unlock
    if lockout.on and owned:
        failures, newest = lockout.attr(FAILURES), lockout.attr(LAST_FAILURE)
        carried = max(int(own.get(FAILURES.name, 0)) for own in owned)
        if own_cap and carried >= own_cap:  # locked until unlock in its own item: so in the group, whatever its cap
            carried = max(carried, lockout.cap)
        if carried > int(item.get(failures.name, 0)):
            sets[failures.name] = OWN_FAILURES
            values[OWN_FAILURES.placeholder] = carried
            conditions.append(_as_read(failures, item, WAS_FAILURES, values))
        latest = max(owned, key=lambda own: int(own.get(LAST_FAILURE.name, 0)))
        if lockout.limit and int(latest.get(LAST_FAILURE.name, 0)) > int(item.get(newest.name, 0)):
            for slot, own_slot in zip(lockout.slots, (f"f{i}" for i in range(1, lockout.limit + 1)), strict=True):
                own = sets[slot.name] = Value(f":own_{own_slot}")
                values[own.placeholder] = int(latest.get(own_slot, 0))
            sets[newest.name] = OWN_LAST_FAILURE
            values[OWN_LAST_FAILURE.placeholder] = int(latest[LAST_FAILURE.name])
            conditions.append(_as_read(newest, item, WAS_LAST_FAILURE, values))
    return Write(AllOf(tuple(conditions)), sets, values=values)


_NOT_ADOPTED = frozenset(
    {"pk", "decided_by", "accepted_by", "expires_at", "subject", "tried_by", "tries", "resynced_by"}
    | {"last_failure", "failures"}
)


def merged(owned: list[Item]) -> Item:
    """The key's own state in its own items, as one: numbers at their largest, number sets joined."""
    merged: Item = {}
    for own in owned:
        for name, value in own.items():
            if name in _NOT_ADOPTED or re.fullmatch(r"f\d+", name):
                continue
            if isinstance(value, set):
                merged[name] = merged.get(name, set()) | value
            elif isinstance(value, int):
                merged[name] = max(merged.get(name, value), value)
    return merged


def _as_read(attr: Attr, item: Item, was: Value, values: Values) -> Cond:
    if attr.name not in item:
        return Missing(attr)
    values[was.placeholder] = item[attr.name]
    return Compare(attr, "=", was)


Outcome = Literal["accepted", "used", "revoked", "unseen", "locked"]  # locked: refused for a lock


def after_accept(written: Written, lockout: Lockout, decision: str, now: float, place: Place = Place("")) -> Outcome:
    if written.applied or written.item.get(ACCEPTED_BY.name) == decision:
        return "accepted"
    if place.personal and place.attr(SEEN).name not in written.item:
        return "unseen"
    if place.is_revoked(written.item):
        return "revoked"
    return "locked" if lockout.until(written.item, now) else "used"


# counted; began a lock (for a window or the 30 days, or until unlock at the cap); or refused: the key revoked, not
# yet adopted, already locked (`refused`), or its 30-day period past (`moved`)
Counted = Literal["counted", "locked", "capped", "revoked", "unseen", "refused", "moved"]


def after_failure(written: Written, lockout: Lockout, decision: str, now: float, place: Place = Place("")) -> Counted:
    """What this failure did (`Counted`)."""
    if written.applied or written.item.get(DECIDED_BY.name) == decision:
        until = lockout.until(written.item, judged_at(lockout, written.item, now))
        return "capped" if until < 0 else "locked" if until else "counted"
    if place.personal and place.attr(SEEN).name not in written.item:
        return "unseen"
    if place.is_revoked(written.item):
        return "revoked"
    if lockout.until(written.item, judged_at(lockout, written.item, now)):
        return "refused"
    # Refused for its 30-day period alone (the item's was another, or another request moved it on meanwhile): the
    # failure is written again as the item now stands. Never "counted" unwritten.
    return "moved"


def judged_at(lockout: Lockout, item: Item, now: float) -> float:
    """When to judge an item's lock: now, or the start of its 30-day period where another instance, its clock a
    little ahead at the boundary, moved it on already (periods only move forwards)."""
    period = item.get(lockout.attr(PERIOD_NUMBER).name)
    return max(now, period * TOTAL_PERIOD) if lockout.total and isinstance(period, int) else now


def unlock_write(
    lockouts: tuple[Lockout, ...], decision: str, unrevoked: Cond | None, now: float | None = None
) -> Write:
    """Clear the failures, and so any lock: never the kind's progress (replay state, used codes), never a
    revocation. Answers with the item as it was, to tell whether it was locked. A key's own item is written only if
    it has failures; a person's always is, keeping when (`now`, per group), so that a key adopted later carries
    none of its failures from before."""
    sets: dict[str, Value | IfNotExists] = {DECIDED_BY.name: DECISION}
    values: Values = {DECISION.placeholder: decision}
    if now is None:
        failed = tuple(Exists(lockout.attr(LAST_FAILURE)) for lockout in lockouts)
        condition: Cond = AnyOf((*failed, Compare(DECIDED_BY, "=", DECISION)))
    else:
        condition = _not_yet_by()
        sets |= {lockout.attr(UNLOCKED_AT).name: NOW for lockout in lockouts}
        values[NOW.placeholder] = math.floor(now)
    if unrevoked is not None:
        condition = AllOf((unrevoked, condition))
    return Write(
        condition,
        sets,
        tuple(name for lockout in lockouts for name in lockout.names),
        values=values,
        returns="ALL_OLD",
    )


def after_unlock(
    written: Written, lockouts: tuple[Lockout, ...], decision: str, now: float, place: Place | None
) -> bool | Literal["revoked"]:
    """Whether a lock was lifted (failures short of one are cleared too, and answer false)."""
    if written.applied:
        return any(lockout.until(written.item, now) for lockout in lockouts)
    if written.item.get(DECIDED_BY.name) == decision:  # an earlier attempt of this very unlock landed
        return True
    return "revoked" if place is not None and place.is_revoked(written.item) else False


def revoke_write(now: float, decision: str, place: Place = Place("")) -> Write:
    """Revoke for good: whatever the lockout, and never to expire."""
    revoked = place.attr(REVOKED)
    return Write(
        AllOf((Missing(revoked), _not_yet_by())),
        {revoked.name: NOW, DECIDED_BY.name: DECISION},
        () if place.personal else (EXPIRES_AT.name,),
        values={NOW.placeholder: math.floor(now), DECISION.placeholder: decision},
        returns="ALL_OLD",
    )


def person_revoke_write(now: float, decision: str) -> Write:
    """Revoke every factor of a person sealed before now (milliseconds): a later enrolment is not."""
    return Write(
        _not_yet_by(),
        {REVOKED_BEFORE.name: NOW_MS, DECIDED_BY.name: DECISION},
        values={NOW_MS.placeholder: math.floor(now * 1000), DECISION.placeholder: decision},
        returns="ALL_OLD",
    )


def tried_write(decision: str, place: Place = Place("")) -> Write:
    """A code presented for a revoked key: `tries` counts it and `tried_by` names this decision, so that the try
    reaches the table's stream (the refused write before it changed nothing). Made only when the key is revoked."""
    tried_by, tries = place.attr(TRIED_BY), place.attr(TRIES)
    condition = AllOf((place.revoked, AnyOf((Missing(tried_by), Compare(tried_by, "<>", DECISION)))))
    return Write(
        condition,
        {tried_by.name: DECISION},
        adds={tries.name: ONE},
        values={DECISION.placeholder: decision, ONE.placeholder: 1, **place.values},
    )


def naming(change: Write, subject: str | None) -> Write:
    """`change`, also setting `subject` when the request named one (the user's opaque id, for the events)."""
    if subject is None:
        return change
    sets: dict[str, Value | IfNotExists] = {**change.sets, SUBJECT.name: NAMED}
    return replace(change, sets=sets, values={**change.values, NAMED.placeholder: subject})
