"""Golden writes: the literal UpdateItem each kind sends for each outcome (accepted, replay, no match, locked) and
for unlock, pinned as DynamoDB receives them (state/table.update_item), with the pure rules driven by a scripted
table: no moto. docs/verification.md quotes these. A change here is a change to what every deployed table holds:
make it on purpose, and say so in the docs.

Settings: replay protection on, MaxFailedAttempts 3, LockoutWindowSeconds 900, the TOTP resync window 10."""

import pytest

from otp_api.errors import TooManyAttempts
from otp_api.kinds import counter_based, recovery_codes, time_based
from otp_api.settings import VerifySettings
from otp_api.state import rules, table
from otp_api.state.rules import Written

NOW = 1_790_000_010.25
SETTINGS = VerifySettings("t", True, 3, 900, True, 10, 10, 100)
STEP_START = int(NOW // 30) * 30
LOCKED = {"f1": int(NOW) + 500, "f2": int(NOW) + 550, "f3": int(NOW) + 600, "last_failure": int(NOW) - 300}

# What every decision's write also holds: the key is not locked, and this decision has not written yet.
UNLOCKED_AND_FIRST = (
    "(NOT ((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f3 > :now)))"
    " AND ((attribute_not_exists(decided_by)) OR (decided_by <> :decision))"
)
TOTP_ACCEPT = {
    "update": "SET last_used = :start, drift = :drift, decided_by = :decision, expires_at = :ttl"
    " REMOVE f1, f2, f3, last_failure",
    "condition": "(((attribute_not_exists(last_used)) OR (last_used < :start))"
    " AND ((attribute_not_exists(drift)) OR ((drift > :drift_low) AND (drift < :drift_high))))"
    f" AND {UNLOCKED_AND_FIRST}",
    "values": {
        ":start": 1790000010,
        ":drift": 0,
        ":drift_low": -2,
        ":drift_high": 2,
        ":decision": "d1",
        ":now": 1790000010,
        ":ttl": 1790001871,  # now + LockoutWindowSeconds + 3 x 300 + 60 (time_based.lifetime)
    },
}
HOTP_ACCEPT = {
    "update": "SET next_counter = :next, decided_by = :decision REMOVE f1, f2, f3, last_failure",
    "condition": f"((attribute_not_exists(next_counter)) OR (next_counter < :after)) AND {UNLOCKED_AND_FIRST}",
    "values": {":after": 8, ":next": 8, ":decision": "d1", ":now": 1790000010},
}
RECOVERY_ACCEPT = {
    "update": "SET decided_by = :decision ADD used :index_set REMOVE f1, f2, f3, last_failure",
    "condition": f"(NOT (contains(used, :index))) AND {UNLOCKED_AND_FIRST}",
    "values": {":index": 2, ":index_set": [2], ":decision": "d1", ":now": 1790000010},
}
FAILURE = {
    "update": "SET f1 = if_not_exists(f2, :zero), f2 = if_not_exists(f3, :zero), f3 = :leaves, last_failure = :now,"
    " decided_by = :decision",
    "condition": UNLOCKED_AND_FIRST,
    "values": {":decision": "d1", ":now": 1790000010, ":zero": 0, ":leaves": 1790000911},
}
FAILURE_WITH_TTL = {
    "update": FAILURE["update"] + ", expires_at = :ttl",
    "condition": UNLOCKED_AND_FIRST,
    "values": {**FAILURE["values"], ":ttl": 1790001871},
}

# kind: (what accepting its code moves, its lifetime, the item of a used code, its accept write, its failure write)
KINDS = {
    "time_based": (
        lambda: time_based.progress(STEP_START, SETTINGS, 0),
        time_based.lifetime(SETTINGS),
        {"last_used": STEP_START, "drift": 0},
        TOTP_ACCEPT,
        FAILURE_WITH_TTL,
    ),
    "counter_based": (lambda: counter_based.progress(7, 8), None, {"next_counter": 9}, HOTP_ACCEPT, FAILURE),
    "recovery_codes": (lambda: recovery_codes.progress(2), None, {"used": {2}}, RECOVERY_ACCEPT, FAILURE),
}


def literal(request: dict) -> dict:
    """An UpdateItem request as the tables here write it: DynamoDB's typed values as plain ones."""
    values = {}
    for name, typed in request["ExpressionAttributeValues"].items():
        ((kind, value),) = typed.items()
        values[name] = int(value) if kind == "N" else sorted(int(n) for n in value) if kind == "NS" else value
    assert request["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    return {"update": request["UpdateExpression"], "condition": request["ConditionExpression"], "values": values}


@pytest.fixture
def decided(monkeypatch):
    """`decided(progress, lifetime, refused_with)`: the verdict and the writes sent, the first refused with the
    item `refused_with` (None: every write is made)."""
    monkeypatch.setattr(rules, "new_decision", lambda: "d1")

    def decide(progress, lifetime, refused_with):
        sent: list[dict] = []

        def write(pk, change):
            sent.append(literal(table.update_item(pk, change)))
            refused = refused_with is not None and len(sent) == 1
            return Written(applied=not refused, item=refused_with if refused else {})

        try:
            verdict = rules.settle("pk", progress, SETTINGS, NOW, lifetime, write)[:2]
        except TooManyAttempts as locked:
            verdict = (429, locked.retry_after)
        return verdict, sent

    return decide


@pytest.mark.parametrize("kind", KINDS)
def test_an_accepted_code_moves_the_kind_and_clears_the_failures(decided, kind):
    progress, lifetime, _, accept, _ = KINDS[kind]
    assert decided(progress(), lifetime, None) == ((True, None), [accept])


@pytest.mark.parametrize("kind", KINDS)
def test_a_replay_is_refused_by_the_accept_and_counted_as_a_failure(decided, kind):
    progress, lifetime, used, accept, failure = KINDS[kind]
    assert decided(progress(), lifetime, used) == ((False, "already_used"), [accept, failure])


@pytest.mark.parametrize("kind", KINDS)
def test_a_code_that_matches_nothing_is_one_failure(decided, kind):
    _, lifetime, _, _, failure = KINDS[kind]
    assert decided(None, lifetime, None) == ((False, "no_match"), [failure])


@pytest.mark.parametrize("kind", KINDS)
def test_a_locked_key_is_refused_after_the_same_single_write_whatever_the_code(decided, kind):
    progress, lifetime, _, accept, _ = KINDS[kind]
    assert decided(progress(), lifetime, LOCKED) == ((429, 600), [accept])
    assert decided(None, lifetime, LOCKED) == ((429, 600), [KINDS[kind][4]])


def test_unlock_clears_the_failures_and_never_the_kinds_progress(monkeypatch):
    monkeypatch.setattr(rules, "new_decision", lambda: "d1")
    sent: list[dict] = []

    def write(pk, change):
        sent.append({**literal(table.update_item(pk, change)), "returns": change.returns})
        return Written(True, LOCKED)  # the item as it was: locked

    assert rules.unlock("pk", SETTINGS, NOW, write) is True
    assert sent == [
        {
            "update": "SET decided_by = :decision REMOVE f1, f2, f3, last_failure",
            "condition": "(attribute_exists(last_failure)) OR (decided_by = :decision)",
            "values": {":decision": "d1"},
            "returns": "ALL_OLD",
        }
    ]


# --- the pure rules, table-driven ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "now", "until"),
    [
        ({}, NOW, 0),  # never failed
        (LOCKED, NOW, int(NOW) + 600),  # three failures within the window, the newest not yet left it
        (LOCKED, NOW + 600, 0),  # the newest has left the window
        ({**LOCKED, "f1": int(NOW) - 301}, NOW, 0),  # the oldest of the three left before the newest came
        ({"f3": int(NOW) + 600, "last_failure": int(NOW)}, NOW, 0),  # one failure is no lock
    ],
)
def test_when_an_item_is_locked(item, now, until):
    assert rules.lockout_of(SETTINGS).until(item, now) == until


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
