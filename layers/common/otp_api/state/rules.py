"""When a code is accepted, and what is written to DynamoDB: the rules of verify for every kind of one-time
password, as pure functions of the state as read, what the kind says of the code, and now. `settle`, `unlock` and
`revoke` are where they meet the table, which they are handed.

The state of one key (or one set of recovery codes) is one item, `pk` a hash of its bytes in the kind's domain:
- the kind's progress (time_based: `last_used`, the start of the last accepted time step, and `drift`);
- the lockout: `f1`..`fN`, when each of the last N failures leaves the window (its time rounded up to the second,
  plus the window), oldest first, and `last_failure`, the newest failure's time rounded down. The key is locked
  while the last N failures lie within one window (f1 > last_failure) and the newest has not left it (fN > now):
  N failures less than a window apart always lock, for a full window from the Nth (a second more at most);
- `failures`: the failures since the last accepted code or unlock. At MaxConsecutiveFailures the key is locked
  until `unlock` (NIST SP 800-63B §5.2.2): however slowly an attacker guesses, no more codes are evaluated;
- `revoked_at`: when the key or set was revoked. It never verifies, resyncs or unlocks again;
- `decided_by`: the id of the decision that wrote it last, and `accepted_by`, of the last decision that accepted a
  code (a failure never overwrites it: a retried accept is recognised whatever came in between);
- `expires_at`: DynamoDB's TTL, for kinds whose state may be forgotten (time_based, after an accepted code). A
  failure or a revocation removes it: what they protect must outlive any TTL;
- what the security events read (otp_api/events, from the table's stream), never a secret: `subject`, the user's
  opaque id when the request named one (every write of such a request sets it); `resynced_by`, the id of the last
  decision that was a resync; `tried_by` and `tries`, the last code presented for a revoked key and how many were.

A decision is at most two conditional writes (UpdateItem), each refused as a whole or made as a whole:
1. the code matched: accept it if it is unused (the kind's condition), the key is not revoked nor locked, and this
   decision has not written yet. The kind's progress moves, the failures are cleared.
2. no match, or an accept refused for being used (a replay, which is what an eavesdropper would try): count a
   failure if the key is not revoked nor locked and this decision has not written yet.
A refused write returns the item as it was (ALL_OLD), read in this order: written by this very decision (a retry
of a write that landed, whose answer was lost: its outcome stands, never a second refusal or a second failure),
revoked, locked (429, after the same single call whatever the code), used (a replay).
A code presented for a revoked key is then recorded (`tried_write`), a second write on that rare path only: a
refused write changes nothing, and the revoked key tried must reach the table's stream to become an event.
"""

import contextlib
import itertools
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from otp_api.errors import InvalidParameter, StateUnavailable, TooManyAttempts
from otp_api.observability import count_for_alarm
from otp_api.settings import EventSettings, VerifySettings
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

DECIDED_BY, ACCEPTED_BY, EXPIRES_AT = Attr("decided_by"), Attr("accepted_by"), Attr("expires_at")
LAST_FAILURE, FAILURES, REVOKED = Attr("last_failure"), Attr("failures"), Attr("revoked_at")
SUBJECT, RESYNCED_BY, TRIED_BY, TRIES = Attr("subject"), Attr("resynced_by"), Attr("tried_by"), Attr("tries")
NOW, DECISION, ZERO, ONE, CAP = Value(":now"), Value(":decision"), Value(":zero"), Value(":one"), Value(":cap")
Reason = Literal["no_match", "already_used", "revoked"]  # why a code was refused


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
    cap: int  # consecutive failures that lock until unlock (with a limit)

    @property
    def slots(self) -> tuple[Attr, ...]:
        return tuple(Attr(f"f{i}") for i in range(1, self.limit + 1))

    @property
    def values(self) -> Values:
        return {":cap": self.cap} if self.limit else {}

    @property
    def capped(self) -> Cond:
        return Compare(FAILURES, ">=", CAP)

    @property
    def locked(self) -> Cond:
        first, last = self.slots[0], self.slots[-1]
        window = AllOf((Exists(LAST_FAILURE), Compare(first, ">", LAST_FAILURE), Compare(last, ">", NOW)))
        return AnyOf((window, self.capped))

    def until(self, item: Item, now: float) -> int:
        """When the lock on this item ends (Unix seconds), or 0 if it is not locked; -1: only unlock ends it."""
        values = {":now": math.floor(now), **self.values}
        if not self.limit or not self.locked.holds(item, values):
            return 0
        return -1 if self.capped.holds(item, values) else int(item[self.slots[-1].name])

    def check(self, item: Item, now: float) -> None:
        """Refuse a locked item: 429, with the seconds until the lock ends (none: until unlock)."""
        if until := self.until(item, now):
            raise TooManyAttempts(None if until < 0 else until - math.floor(now))


def lockout_of(settings: VerifySettings | EventSettings) -> Lockout:
    return Lockout(settings.max_failed_attempts, settings.lockout_seconds, settings.max_consecutive_failures)


def read_unlocked(pk: str, settings: VerifySettings, now: float, read: Callable[[str], Item]) -> Item:
    """The state `pk` as it is now, for a kind that must read before it decides; a locked key is refused first,
    unless it is revoked (its decision then answers revoked, as the refused write says)."""
    item = read(pk)
    if REVOKED.name not in item:
        lockout_of(settings).check(item, now)
    return item


@dataclass(frozen=True, slots=True)
class Progress:
    """What an accepted code moves in its key's state, and on what condition (`unused`: it was not used)."""

    unused: Cond | None = None
    sets: dict[str, Value] = field(default_factory=dict)
    adds: dict[str, Value] = field(default_factory=dict)  # ADD to a number, or to a number set (recovery codes)
    values: Values = field(default_factory=dict)
    # Why an accept was refused, read from the item, when the condition says more than "used" (time_based: a code
    # outside the window the stored drift allows matched nothing).
    why_refused: Callable[[Item], Reason] | None = None


def resynced(progress: Progress) -> Progress:
    """The progress of a resync: the decision's id is kept as `resynced_by`, so that its write tells itself from a
    verify's (the events read it)."""
    return replace(progress, sets={**progress.sets, RESYNCED_BY.name: DECISION})


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
    parts.append(Missing(REVOKED))
    if lockout.limit:
        parts.append(Not(lockout.locked))
    return AllOf((*parts, _not_yet_by(decision)))


def _failure_names(lockout: Lockout) -> tuple[str, ...]:
    return (*(slot.name for slot in lockout.slots), LAST_FAILURE.name, FAILURES.name) if lockout.limit else ()


def accept_write(progress: Progress, lockout: Lockout, now: float, decision: str, lifetime: int | None) -> Write:
    sets: dict[str, Value | IfNotExists] = {DECIDED_BY.name: DECISION, ACCEPTED_BY.name: DECISION}
    values: Values = {":decision": decision, ":now": math.floor(now), **lockout.values}
    if lifetime is not None:
        sets[EXPIRES_AT.name] = Value(":ttl")
        values[":ttl"] = math.ceil(now) + lifetime
    return Write(
        condition=_guards(lockout, decision, progress.unused),
        sets={**progress.sets, **sets},
        removes=_failure_names(lockout),
        adds=progress.adds,
        values={**progress.values, **values},
    )


def failure_write(lockout: Lockout, now: float, decision: str, lifetime: int | None) -> Write:
    """Queue a failure: the slots shift towards f1 (each takes its newer neighbour's value) and fN is this one;
    one more consecutive failure. A state that may expire (`lifetime`) no longer does: the failures are what the
    attempt limits count."""
    slots = lockout.slots
    sets: dict[str, Value | IfNotExists] = {
        slot.name: IfNotExists(newer, ZERO) for slot, newer in itertools.pairwise(slots)
    }
    sets |= {slots[-1].name: Value(":leaves"), LAST_FAILURE.name: NOW, DECIDED_BY.name: DECISION}
    values: Values = {":decision": decision, ":now": math.floor(now), ":zero": 0, ":one": 1, **lockout.values}
    values[":leaves"] = math.ceil(now) + lockout.window
    return Write(
        condition=_guards(lockout, decision),
        sets=sets,
        removes=(EXPIRES_AT.name,) if lifetime is not None else (),
        adds={FAILURES.name: ONE},
        values=values,
    )


Outcome = Literal["accepted", "used", "revoked"]


def after_accept(written: Written, lockout: Lockout, decision: str, now: float) -> Outcome:
    if written.applied or written.item.get(ACCEPTED_BY.name) == decision:
        return "accepted"
    if REVOKED.name in written.item:
        return "revoked"
    lockout.check(written.item, now)
    return "used"


Counted = Literal["counted", "locked", "capped", "revoked"]


def after_failure(written: Written, lockout: Lockout, decision: str, now: float) -> Counted:
    """What this failure did: counted, began a lock (for a window, or until unlock at the cap), or found the key
    revoked. Raises TooManyAttempts if the key was locked already."""
    if written.applied or written.item.get(DECIDED_BY.name) == decision:
        until = lockout.until(written.item, now)
        return "capped" if until < 0 else "locked" if until else "counted"
    if REVOKED.name in written.item:
        return "revoked"
    lockout.check(written.item, now)  # a failure is refused only by a revocation or a lock (or itself, above)
    return "counted"  # pragma: no cover


def unlock_write(lockout: Lockout, decision: str) -> Write:
    """Clear the failures, and so any lockout, if there are any: never the kind's progress (replay state, used
    codes), never a revocation. Answers with the item as it was, to tell whether it was locked."""
    condition = AllOf((Missing(REVOKED), AnyOf((Exists(LAST_FAILURE), Compare(DECIDED_BY, "=", DECISION)))))
    return Write(
        condition,
        {DECIDED_BY.name: DECISION},
        _failure_names(lockout),
        values={":decision": decision},
        returns="ALL_OLD",
    )


def after_unlock(written: Written, lockout: Lockout, decision: str, now: float) -> bool | Literal["revoked"]:
    """Whether a lockout was lifted (failures short of one are cleared too, and answer false)."""
    if written.applied:
        return bool(lockout.until(written.item, now))
    if written.item.get(DECIDED_BY.name) == decision:  # an earlier attempt of this very unlock landed
        return True
    return "revoked" if REVOKED.name in written.item else False


def revoke_write(now: float, decision: str) -> Write:
    """Revoke for good: whatever the lockout, and never to expire."""
    return Write(
        AllOf((Missing(REVOKED), _not_yet_by(decision))),
        {REVOKED.name: NOW, DECIDED_BY.name: DECISION},
        (EXPIRES_AT.name,),
        values={":now": math.floor(now), ":decision": decision},
        returns="ALL_OLD",
    )


def tried_write(decision: str) -> Write:
    """A code presented for a revoked key: `tries` counts it and `tried_by` names this decision, so that the try
    reaches the table's stream (the refused write before it changed nothing). Made only when the key is revoked."""
    condition = AllOf((Exists(REVOKED), AnyOf((Missing(TRIED_BY), Compare(TRIED_BY, "<>", DECISION)))))
    return Write(
        condition, {TRIED_BY.name: DECISION}, adds={TRIES.name: ONE}, values={":decision": decision, ":one": 1}
    )


def naming(change: Write, subject: str | None) -> Write:
    """`change`, also setting `subject` when the request named one (the user's opaque id, for the events)."""
    if subject is None:
        return change
    sets: dict[str, Value | IfNotExists] = {**change.sets, SUBJECT.name: Value(":subject")}
    return replace(change, sets=sets, values={**change.values, ":subject": subject})


def new_decision() -> str:
    """The id a decision's writes carry (and their retries), to recognise its own write."""
    return secrets.token_hex(8)


def unlock(
    pk: str,
    settings: VerifySettings,
    now: float,
    write: Callable[[str, Write], Written],
    subject: str | None = None,
) -> bool | Literal["revoked"]:
    """Unlock the state `pk`: whether a lockout was lifted, or "revoked" (nothing is, then)."""
    if not settings.max_failed_attempts:
        return False
    lockout, decision = lockout_of(settings), new_decision()
    return after_unlock(write(pk, naming(unlock_write(lockout, decision), subject)), lockout, decision, now)


def revoke(pk: str, now: float, write: Callable[[str, Write], Written], subject: str | None = None) -> bool:
    """Revoke the state `pk`: whether this call revoked it (false: it was already)."""
    decision = new_decision()
    written = write(pk, naming(revoke_write(now, decision), subject))
    return written.applied or written.item.get(DECIDED_BY.name) == decision


def _tried(pk: str, decision: str, subject: str | None, write: Callable[[str, Write], Written]) -> None:
    """Record a code presented for a revoked key (tried_write). Best effort: the answer is `revoked` whatever
    becomes of this write, which fails only when DynamoDB does (that try then goes unrecorded)."""
    with contextlib.suppress(StateUnavailable):
        write(pk, naming(tried_write(decision), subject))


def settle(
    pk: str,
    progress: Progress | None,
    settings: VerifySettings,
    now: float,
    lifetime: int | None,
    write: Callable[[str, Write], Written],
    subject: str | None = None,
) -> tuple[bool, Reason | None, Item]:
    """The verdict on one code: (valid, why not, the item as the accept left it). `progress` is None when the code
    matched nothing; a progress with nothing to record and no lockout (time_based without replay protection)
    writes nothing. `subject`: the user the request named, if it did (written beside the state, for events)."""
    lockout, decision = lockout_of(settings), new_decision()
    reason: Reason = "no_match"
    if progress is not None:
        if not (progress.unused or progress.sets or progress.adds or lockout.limit):
            return True, None, {}
        written = write(pk, naming(accept_write(progress, lockout, now, decision, lifetime), subject))
        outcome = after_accept(written, lockout, decision, now)
        if outcome == "accepted":
            return True, None, written.item
        if outcome == "revoked":
            _tried(pk, decision, subject, write)
            return False, "revoked", {}
        reason = progress.why_refused(written.item) if progress.why_refused else "already_used"
    if not lockout.limit:
        return False, reason, {}
    failure = naming(failure_write(lockout, now, decision, lifetime), subject)
    counted = after_failure(write(pk, failure), lockout, decision, now)
    if counted == "revoked":
        _tried(pk, decision, subject, write)
        return False, "revoked", {}
    if counted != "counted":
        count_for_alarm("OtpLockout")  # this failure locked the key
    if counted == "capped":
        count_for_alarm("OtpLockedUntilUnlock")  # a key under sustained attack: only unlock lets it in again
    return False, reason, {}
