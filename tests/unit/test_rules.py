"""The verify rules as pure functions, table-driven: when an item is locked, how a refused write is read, why a TOTP
accept was refused. No table: the writes each kind sends are pinned through the handler in
tests/handler/test_golden_writes.py.

Settings: replay protection on, MaxFailedAttempts 3, LockoutWindowSeconds 900, MaxConsecutiveFailures 100."""

import msgspec
import pytest

from otp_api.errors import TooManyAttempts
from otp_api.kinds import time_based
from otp_api.settings import VerifySettings
from otp_api.state import apply, rules
from otp_api.state.rules import Written

NOW = 1_790_000_010.25
SETTINGS = VerifySettings(
    table="t",
    replay_protection=True,
    max_failed_attempts=3,
    lockout_seconds=900,
    max_consecutive_failures=100,
    max_failures_in_thirty_days=100,
    list_codes=True,
    totp_resync_window=10,
    hotp_look_ahead=10,
    hotp_resync_window=100,
)
LOCKOUT = rules.lockout_of(SETTINGS)
STEP_START = int(NOW // 30) * 30
LOCKED = {"f1": int(NOW) + 500, "f2": int(NOW) + 550, "f3": int(NOW) + 600, "last_failure": int(NOW) - 300}

# --- the pure rules, table-driven ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "now", "until"),
    [
        ({}, NOW, 0),  # never failed
        (LOCKED, NOW, int(NOW) + 600),  # three failures within the window, the newest not yet left it
        (LOCKED, NOW + 600, 0),  # the newest has left the window
        ({**LOCKED, "f1": int(NOW) - 301}, NOW, 0),  # the oldest of the three left before the newest came
        ({"f3": int(NOW) + 600, "last_failure": int(NOW)}, NOW, 0),  # one failure is no lock
        ({"failures": 99}, NOW, 0),  # short of MaxConsecutiveFailures
        ({"failures": 100}, NOW, -1),  # at it: locked until unlock, however long ago the failures were
        ({"failures": 100}, NOW + 365 * 86400, -1),
    ],
)
def test_when_an_item_is_locked(item, now, until):
    assert LOCKOUT.until(item, now) == until


def test_a_lock_until_unlock_says_so_and_gives_no_time():
    with pytest.raises(TooManyAttempts) as raised:
        apply.refuse_if_locked(LOCKOUT, {"failures": 100}, NOW)
    assert raised.value.retry_after is None and "unlock" in raised.value.message


MINE, THEIRS = {"decided_by": "me", "accepted_by": "me"}, {"decided_by": "them", "accepted_by": "them"}


@pytest.mark.parametrize(
    ("written", "outcome"),
    [
        (Written(True, {}), "accepted"),
        (Written(False, MINE), "accepted"),  # a retry of this very accept, which landed
        (Written(False, {"decided_by": "them", "accepted_by": "me"}), "accepted"),  # a failure came in between
        (Written(False, {**THEIRS, "revoked_at": 1}), "revoked"),
        (Written(False, {**THEIRS, **LOCKED}), "locked"),  # refused for a lock: a 429 (state/apply.py)
        (Written(False, {**THEIRS, "revoked_at": 1, **LOCKED}), "revoked"),  # revoked reads before locked
        (Written(False, THEIRS), "used"),
    ],
)
def test_how_a_refused_accept_is_read(written, outcome):
    assert rules.after_accept(written, LOCKOUT, "me", NOW) == outcome


@pytest.mark.parametrize(
    ("written", "counted"),
    [
        (Written(True, {"failures": 1}), "counted"),
        (Written(True, {**LOCKED, "failures": 3}), "locked"),  # this failure began a lock for a window
        (Written(True, {"failures": 100}), "capped"),  # this one reached MaxConsecutiveFailures
        (Written(False, {"decided_by": "me", "failures": 1}), "counted"),  # its own retry: counted once
        (Written(False, {"decided_by": "them", "revoked_at": 1}), "revoked"),
        (Written(False, {"decided_by": "them", **LOCKED}), "refused"),  # already locked: a 429 (state/apply.py)
    ],
)
def test_how_a_failure_is_read(written, counted):
    assert rules.after_failure(written, LOCKOUT, "me", NOW) == counted


@pytest.mark.parametrize(
    ("written", "unlocked"),
    [
        (Written(True, LOCKED), True),  # the item as it was: locked
        (Written(True, {"failures": 100}), True),
        (Written(True, {"failures": 2, "last_failure": int(NOW)}), False),  # failures cleared, no lock lifted
        (Written(False, {"decided_by": "me"}), True),  # a retry of this very unlock
        (Written(False, {"decided_by": "them"}), False),  # nothing to clear
        (Written(False, {"decided_by": "them", "revoked_at": 1}), "revoked"),
    ],
)
def test_how_an_unlock_is_read(written, unlocked):
    assert rules.after_unlock(written, (LOCKOUT,), "me", NOW, rules.Place("pk")) == unlocked


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"last_used": STEP_START, "drift": 0}, "already_used"),  # its step was accepted
        ({"last_used": STEP_START + 30, "drift": 1}, "already_used"),  # a later step was
        ({"last_used": STEP_START - 30, "drift": 5}, "no_match"),  # the stored drift puts the device elsewhere
    ],
)
def test_why_a_totp_accept_was_refused(item, reason):
    assert time_based.progress(STEP_START, SETTINGS, 0).why_refused(item) == reason


def test_the_rules_are_pure_and_apply_does_the_rest():
    # rules.py states what is written and what an answer means; errors, metrics, random ids and the table are
    # state/apply.py's (and table.py's): nothing in rules.py raises a status, counts or draws a decision id.
    import ast
    from pathlib import Path

    tree = ast.parse(Path(rules.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"secrets", "otp_api.errors", "otp_api.observability", "otp_api.state.table", "otp_api.aws"}
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Raise)]


def test_a_persons_place_never_writes_a_ttl():
    # A person's item carries every factor's state and `revoked_before`: a TTL on it would expire revocations, so a
    # lifetime is a key's own item's alone, whoever built the place.
    person = msgspec.structs.replace(rules.place(("k" * 64,), "ana", rules.CODES, 1), lifetime=3600)
    lockout = rules.Lockout(5, 900, 100)
    accept = rules.accept_write(rules.Progress(), lockout, 1_790_000_010.0, "d", person)
    failure = rules.failure_write(lockout, 1_790_000_010.0, "d", person)
    assert rules.EXPIRES_AT.name not in accept.sets and rules.EXPIRES_AT.name not in failure.removes
    own = rules.place(("k" * 64,), None, rules.CODES, 0, 3600)
    assert rules.EXPIRES_AT.name in rules.accept_write(rules.Progress(), lockout, 1_790_000_010.0, "d", own).sets
