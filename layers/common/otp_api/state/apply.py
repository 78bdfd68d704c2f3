"""The rules (state/rules.py) applied to the table: each decision's conditional writes and reads through a
`Store` (state/table.py's, or a test's), the id that marks them, and what a decision ends in besides its verdict: a
429 for a lock, a 503 when the state changed as fast as it was written, the lockout alarms' metrics. rules.py says
what is written and what an answer means; this says in which order, and how often."""

import contextlib
import math
import secrets
from collections.abc import Callable
from typing import Literal

from msgspec import Struct
from msgspec.structs import replace

from otp_api.errors import InvalidParameter, StateUnavailable, TooManyAttempts
from otp_api.observability import count_for_alarm
from otp_api.settings import VerifySettings
from otp_api.state.conditions import Item
from otp_api.state.rules import (
    DECIDED_BY,
    GROUPS,
    NOW_MS,
    REVOKED,
    SEEN,
    Counted,
    Lockout,
    Place,
    Progress,
    Reason,
    Store,
    Verdict,
    Write,
    Written,
    accept_write,
    adopt_write,
    after_accept,
    after_failure,
    after_unlock,
    failure_write,
    judged_at,
    lockout_of,
    merged,
    naming,
    person_pk,
    person_revoke_write,
    revoke_write,
    tried_write,
    unlock_write,
    within,
)

CHANGED = "verification state changed as fast as it was written; no code was accepted, try again"
ATTEMPTS = 3  # decisions of one request: a key adopted, a period moved on, each at most once (and once more if raced)


def require_state(settings: VerifySettings, what: str, parameter: str) -> None:
    """A kind (or an action) that keeps what it protects in the verify state works only where the stack keeps it:
    with replay protection on. Otherwise a 400 naming `parameter`."""
    if not settings.replay_protection:
        raise InvalidParameter(f"{what} keeps its state in the verify state, and replay protection is off", parameter)


def new_decision() -> str:
    """The id a decision's writes carry (and their retries), to recognise its own write."""
    return secrets.token_hex(8)


def refuse_if_locked(lockout: Lockout, item: Item, at: float) -> None:
    """Refuse a locked item: 429, with the seconds until the lock ends (none: until unlock)."""
    if until := lockout.until(item, at):
        raise TooManyAttempts(None if until < 0 else until - math.floor(at))


def adopt(place: Place, item: Item, settings: VerifySettings, now: float, store: Store) -> None:
    """Carry a key's own items into its person's (adopt_write); a refusal means another request did it first, or
    the group's failures moved meanwhile (the next decision then tries again)."""
    owned = [own for own in (store.read(pk) for pk in place.own) if own]
    lockout, own_cap = lockout_of(settings, place.group), lockout_of(settings).cap
    store.write(place.pk, adopt_write(place, item, owned, lockout, now, own_cap))


def state_of(place: Place, settings: VerifySettings, now: float, store: Store) -> Item:
    """The key's state as it is now, named as in an item of its own, for a kind that must read before it decides
    (HOTP: where the device stands); a locked key is refused first, unless it is revoked (its decision then answers
    revoked, as the refused write says). A key its person's item has not seen yet is read from its own items."""
    item = store.read(place.pk)
    if not place.is_revoked(item):
        refuse_if_locked(lockout_of(settings, place.group), item, now)
    return key_state(place, item, store)


def key_state(place: Place, item: Item, store: Store) -> Item:
    """The key's own attributes in `item` (its person's, or its own item); a key its person's item has not seen yet
    is read from its own items."""
    if place.personal and place.attr(SEEN).name not in item:
        return merged([store.read(pk) for pk in place.own]) | place.view(item)
    return place.view(item)


def unlock(
    place: Place, settings: VerifySettings, now: float, write: Callable[[str, Write], Written]
) -> bool | Literal["revoked"]:
    """Unlock a key (its own item, or its group in its person's): whether a lock was lifted, or "revoked" (nothing
    is, then)."""
    if not settings.max_failed_attempts:
        return False
    lockouts, decision = (lockout_of(settings, place.group),), new_decision()
    change = unlock_write(lockouts, decision, place.unrevoked, now if place.personal else None)
    change = replace(change, values={**change.values, **place.values})
    return after_unlock(write(place.pk, naming(change, place.subject)), lockouts, decision, now, place)


def unlock_person(subject: str, settings: VerifySettings, now: float, write: Callable[[str, Write], Written]) -> bool:
    """Lift every lock of a person (each group's: codes, recovery codes, passkeys): whether one was lifted."""
    if not settings.max_failed_attempts:
        return False
    lockouts, decision = tuple(lockout_of(settings, group) for group in GROUPS), new_decision()
    change = naming(unlock_write(lockouts, decision, None, now), subject)
    return after_unlock(write(person_pk(subject), change), lockouts, decision, now, None) is True


def revoke(place: Place, now: float, write: Callable[[str, Write], Written]) -> bool:
    """Revoke a key's state (its item, or its attributes in its person's): whether this call revoked it (false: it
    was already)."""
    decision = new_decision()
    written = write(place.pk, naming(revoke_write(now, decision, place), place.subject))
    return written.applied or written.item.get(DECIDED_BY.name) == decision


def revoke_person(subject: str, now: float, write: Callable[[str, Write], Written]) -> int:
    """Revoke every factor sealed for `subject` before now: when (Unix milliseconds)."""
    change = naming(person_revoke_write(now, new_decision()), subject)
    write(person_pk(subject), change)
    return int(change.values[NOW_MS.placeholder])


def carry_revocation(place: Place, now: float, store: Store) -> None:
    """A key's own item where it was kept before (`place.own[1:]`) revoked it: revoke its item now, once, so that
    the revocation holds wherever the key's state is kept now."""
    if REVOKED.name in store.read(place.pk):
        return
    for before in place.own[1:]:
        if REVOKED.name in store.read(before):
            store.write(place.pk, revoke_write(now, new_decision(), place))
            return


def _tried(place: Place, decision: str, write: Callable[[str, Write], Written]) -> None:
    """Record a code presented for a revoked key (tried_write). Best effort: the answer is `revoked` whatever
    becomes of this write, which fails only when DynamoDB does (that try then goes unrecorded)."""
    with contextlib.suppress(StateUnavailable):
        write(place.pk, naming(tried_write(decision, place), place.subject))


class _Deciding(Struct, frozen=True):
    """What one decision reads and writes with: where, under which lockout, when, through which store, and the id
    its writes carry."""

    place: Place
    lockout: Lockout
    settings: VerifySettings
    now: float
    store: Store
    decision: str

    def write(self, change: Write) -> Written:
        return self.store.write(self.place.pk, naming(change, self.place.subject))


def settle(place: Place, progress: Progress | None, settings: VerifySettings, now: float, store: Store) -> Verdict:
    """The verdict on one code at `place`. `progress` is None when the code matched nothing; a progress with nothing
    to record and no lockout (time_based without replay protection) writes nothing but where a table is kept, which
    still refuses a revoked key."""
    deciding = _Deciding(place, lockout_of(settings, place.group), settings, now, store, new_decision())
    moved = within(progress, place) if progress is not None else None
    for _ in range(ATTEMPTS):
        verdict = _decide(deciding, moved)
        if isinstance(verdict, Verdict):
            return verdict
        adopt(place, verdict, settings, now, store)  # the person's item as the refused write found it
    raise StateUnavailable(CHANGED)


def _decide(deciding: _Deciding, progress: Progress | None) -> Verdict | Item:
    """The verdict, or the person's item as it was if it has not seen the key yet (to adopt it, then decide)."""
    place, lockout, now, decision = deciding.place, deciding.lockout, deciding.now, deciding.decision
    reason: Reason = "no_match"
    if progress is not None:
        if not (progress.unused or progress.sets or progress.adds or lockout.on or deciding.settings.table):
            return Verdict(True)
        written = deciding.write(accept_write(progress, lockout, now, decision, place))
        outcome = after_accept(written, lockout, decision, now, place)
        if outcome == "accepted":
            return Verdict(True, None, place.view(written.item))
        if outcome == "unseen":
            return written.item
        if outcome == "revoked":
            _tried(place, decision, deciding.store.write)
            return Verdict(False, "revoked")
        if outcome == "locked":
            refuse_if_locked(lockout, written.item, now)
        reason = progress.why_refused(written.item) if progress.why_refused else "already_used"
    if not lockout.on:
        return Verdict(False, reason)
    counted: Counted = "moved"
    refused: Item | None = None
    for _ in range(ATTEMPTS + 1):  # again when refused for its 30-day period: moved on, then counted in it
        failed = deciding.write(failure_write(lockout, now, decision, place, refused))
        counted, refused = after_failure(failed, lockout, decision, now, place), failed.item
        if counted != "moved":
            break
    if counted == "moved":
        raise StateUnavailable(CHANGED)
    if counted == "unseen":
        return refused or {}
    if counted == "revoked":
        _tried(place, decision, deciding.store.write)
        return Verdict(False, "revoked")
    if counted == "refused":
        refuse_if_locked(lockout, failed.item, judged_at(lockout, failed.item, now))
    if counted != "counted":
        count_for_alarm("OtpLockout")  # this failure locked the key
    if counted == "capped":
        count_for_alarm("OtpLockedUntilUnlock")  # a key under sustained attack: only unlock lets it in again
    return Verdict(False, reason)
