"""When a code is accepted, and what is written to DynamoDB: the rules of verify for every kind of one-time
password, as pure functions of the state as read, what the kind says of the code, and now. `settle` is the one
place they meet the store, which it is handed.

The state of one key (or one set of recovery codes) is one item, `pk` a hash of its bytes in the kind's domain:
- the kind's progress (time_based: `last_used`, the start of the last accepted time step);
- the lockout: `f1`..`fN`, when each of the last N failures leaves the window (its time rounded up to the second,
  plus the window), oldest first, and `last_failure`, the newest failure's time rounded down. The key is locked
  while the last N failures lie within one window (f1 > last_failure) and the newest has not left it (fN > now):
  N failures less than a window apart always lock, for a full window from the Nth (a second more at most);
- `decided_by`: the id of the decision that wrote it last;
- `expires_at`: DynamoDB's TTL, for kinds whose state may be forgotten.

A decision is at most two conditional writes (UpdateItem), each refused as a whole or made as a whole:
1. the code matched: accept it if it is unused (the kind's condition), the key is not locked and this decision has
   not written yet. The kind's progress moves, the failures are cleared.
2. no match, or an accept refused for being used (a replay, which is what an eavesdropper would try): count a
   failure if the key is not locked and this decision has not written yet.
A refused write returns the item as it was (ALL_OLD), read in this order: written by this very decision (a retry
of a write that landed, whose answer was lost: its outcome stands, never a second refusal or a second failure),
locked (429, after the same single call whatever the code), used (a replay).
"""

import itertools
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from otp_api.errors import InvalidParameter, TooManyAttempts
from otp_api.observability import count_for_alarm
from otp_api.settings import VerifySettings
from otp_api.state.conditions import (
    AllOf,
    AnyOf,
    Attr,
    Compare,
    Cond,
    Exists,
    IfNotExists,
    Item,
    Missing,
    Not,
    Value,
    Values,
)

DECIDED_BY, LAST_FAILURE, EXPIRES_AT = Attr("decided_by"), Attr("last_failure"), Attr("expires_at")
NOW, DECISION, ZERO = Value(":now"), Value(":decision"), Value(":zero")
Reason = Literal["no_match", "already_used"]  # why a code was refused


def require_state(settings: VerifySettings, what: str, parameter: str) -> None:
    """A kind (or an action) that keeps what it protects in the verify state works only where the stack keeps it:
    with replay protection on. Otherwise a 400 naming `parameter`."""
    if not settings.replay_protection:
        raise InvalidParameter(f"{what} keeps its state in the verify state, and replay protection is off", parameter)


@dataclass(frozen=True, slots=True)
class Lockout:
    """The lockout rule, once: its condition for DynamoDB and its reading of an item both come from `locked`."""

    limit: int  # N: failures within a window that lock; 0: no lockout
    window: int  # seconds

    @property
    def slots(self) -> tuple[Attr, ...]:
        return tuple(Attr(f"f{i}") for i in range(1, self.limit + 1))

    @property
    def locked(self) -> Cond:
        first, last = self.slots[0], self.slots[-1]
        return AllOf((Exists(LAST_FAILURE), Compare(first, ">", LAST_FAILURE), Compare(last, ">", NOW)))

    def until(self, item: Item, now: float) -> int:
        """When the lock on this item ends (Unix seconds), or 0 if it is not locked."""
        if not self.limit or not self.locked.holds(item, {":now": math.floor(now)}):
            return 0
        return int(item[self.slots[-1].name])

    def check(self, item: Item, now: float) -> None:
        """Refuse a locked item: 429, with the seconds until the lock ends."""
        if until := self.until(item, now):
            raise TooManyAttempts(until - math.floor(now))


def lockout_of(settings: VerifySettings) -> Lockout:
    return Lockout(settings.max_failed_attempts, settings.lockout_seconds)


def read_unlocked(pk: str, settings: VerifySettings, now: float, read: Callable[[str], Item]) -> Item:
    """The state `pk` as it is now, for a kind that must read before it decides; a locked key is refused first."""
    item = read(pk)
    lockout_of(settings).check(item, now)
    return item


@dataclass(frozen=True, slots=True)
class Progress:
    """What an accepted code moves in its key's state, and on what condition (`unused`: it was not used)."""

    unused: Cond | None = None
    sets: dict[str, Value] = field(default_factory=dict)
    adds: dict[str, Value] = field(default_factory=dict)  # ADD to a number set (recovery codes)
    values: Values = field(default_factory=dict)
    # Why an accept was refused, read from the item, when the condition says more than "used" (time_based: a code
    # outside the window the stored drift allows matched nothing).
    why_refused: Callable[[Item], Reason] | None = None


@dataclass(frozen=True, slots=True)
class Write:
    """One conditional UpdateItem."""

    condition: Cond
    sets: dict[str, Value | IfNotExists]
    removes: tuple[str, ...] = ()
    adds: dict[str, Value] = field(default_factory=dict)
    values: Values = field(default_factory=dict)
    returns: Literal["ALL_NEW", "ALL_OLD"] = "ALL_NEW"  # the item a made write answers with


@dataclass(frozen=True, slots=True)
class Written:
    """A write's outcome: made, with the item after it, or refused, with the item as it was."""

    applied: bool
    item: Item


def _not_yet_by(decision: str) -> Cond:
    return AnyOf((Missing(DECIDED_BY), Compare(DECIDED_BY, "<>", DECISION)))


def _guards(lockout: Lockout, decision: str, *conditions: Cond | None) -> Cond:
    parts = [c for c in conditions if c is not None]
    if lockout.limit:
        parts.append(Not(lockout.locked))
    return AllOf((*parts, _not_yet_by(decision)))


def _common(now: float, decision: str, lifetime: int | None) -> tuple[dict[str, Value | IfNotExists], Values]:
    sets: dict[str, Value | IfNotExists] = {DECIDED_BY.name: DECISION}
    values: Values = {":decision": decision, ":now": math.floor(now)}
    if lifetime is not None:
        sets[EXPIRES_AT.name] = Value(":ttl")
        values[":ttl"] = math.ceil(now) + lifetime
    return sets, values


def accept_write(progress: Progress, lockout: Lockout, now: float, decision: str, lifetime: int | None) -> Write:
    sets, values = _common(now, decision, lifetime)
    removes = (*(slot.name for slot in lockout.slots), LAST_FAILURE.name) if lockout.limit else ()
    return Write(
        condition=_guards(lockout, decision, progress.unused),
        sets={**progress.sets, **sets},
        removes=removes,
        adds=progress.adds,
        values={**progress.values, **values},
    )


def failure_write(lockout: Lockout, now: float, decision: str, lifetime: int | None) -> Write:
    """Queue a failure: the slots shift towards f1 (each takes its newer neighbour's value) and fN is this one."""
    sets, values = _common(now, decision, lifetime)
    slots = lockout.slots
    shifted: dict[str, Value | IfNotExists] = {
        slot.name: IfNotExists(newer, ZERO) for slot, newer in itertools.pairwise(slots)
    }
    shifted[slots[-1].name] = Value(":leaves")
    shifted[LAST_FAILURE.name] = NOW
    values |= {":zero": 0, ":leaves": math.ceil(now) + lockout.window}
    return Write(condition=_guards(lockout, decision), sets={**shifted, **sets}, values=values)


Outcome = Literal["accepted", "used"]


def after_accept(written: Written, lockout: Lockout, decision: str, now: float) -> Outcome:
    if written.applied or written.item.get(DECIDED_BY.name) == decision:
        return "accepted"
    lockout.check(written.item, now)
    return "used"


def after_failure(written: Written, lockout: Lockout, decision: str, now: float) -> bool:
    """Whether this failure locked the key. Raises TooManyAttempts if the key was locked already."""
    if written.applied or written.item.get(DECIDED_BY.name) == decision:
        return bool(lockout.until(written.item, now))
    lockout.check(written.item, now)  # a failure is refused only by a lock (or its own decision, above)
    return False  # pragma: no cover


def unlock_write(lockout: Lockout, decision: str) -> Write:
    """Clear the failures, and so any lockout, if there are any: never the kind's progress (replay state, used
    codes). Answers with the item as it was, to tell whether it was locked."""
    names = (*(slot.name for slot in lockout.slots), LAST_FAILURE.name)
    condition = AnyOf((Exists(LAST_FAILURE), Compare(DECIDED_BY, "=", DECISION)))
    return Write(condition, {DECIDED_BY.name: DECISION}, names, values={":decision": decision}, returns="ALL_OLD")


def after_unlock(written: Written, lockout: Lockout, decision: str, now: float) -> bool:
    """Whether a lockout was lifted (failures short of one are cleared too, and answer false)."""
    if written.applied:
        return bool(lockout.until(written.item, now))
    return written.item.get(DECIDED_BY.name) == decision  # an earlier attempt of this very unlock landed


def new_decision() -> str:
    """The id a decision's writes carry (and their retries), to recognise its own write."""
    return secrets.token_hex(8)


def unlock(pk: str, settings: VerifySettings, now: float, write: Callable[[str, Write], Written]) -> bool:
    """Unlock the state `pk`: whether a lockout was lifted."""
    if not settings.max_failed_attempts:
        return False
    lockout, decision = lockout_of(settings), new_decision()
    return after_unlock(write(pk, unlock_write(lockout, decision)), lockout, decision, now)


def settle(
    pk: str,
    progress: Progress | None,
    settings: VerifySettings,
    now: float,
    lifetime: int | None,
    write: Callable[[str, Write], Written],
) -> tuple[bool, Reason | None, Item]:
    """The verdict on one code: (valid, why not, the item as the accept left it). `progress` is None when the code
    matched nothing; a progress with nothing to record and no lockout (time_based without replay protection)
    writes nothing."""
    lockout, decision = lockout_of(settings), new_decision()
    reason: Reason = "no_match"
    if progress is not None:
        if not (progress.unused or progress.sets or progress.adds or lockout.limit):
            return True, None, {}
        written = write(pk, accept_write(progress, lockout, now, decision, lifetime))
        if after_accept(written, lockout, decision, now) == "accepted":
            return True, None, written.item
        reason = progress.why_refused(written.item) if progress.why_refused else "already_used"
    failed = lockout.limit and after_failure(
        write(pk, failure_write(lockout, now, decision, lifetime)), lockout, decision, now
    )
    if failed:
        count_for_alarm("OtpLockout")  # this failure locked the key
    return False, reason, {}
