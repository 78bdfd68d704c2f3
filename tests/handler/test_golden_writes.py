"""Golden writes: the literal DynamoDB requests each kind sends for each outcome of verify (accepted, replay, no
match, locked, revoked: the refused write, then the try recorded for the events), for resync, unlock and revoke,
for a request that names its user (`subject`) and for one factor of a person (its unlock, revoke and status, an HOTP
key beside it), driven through the handler with frozen time and recorded
as botocore sends them. docs/verification.md quotes them. A change here is a change to what every deployed table
holds: make it on purpose, and say so in the docs.

Settings (tests/conftest.py): replay protection on, MaxFailedAttempts 5, LockoutWindowSeconds 900,
MaxConsecutiveFailures 100, TotpResyncWindow 10."""

import itertools

import pytest
import time_machine
from support import call, independent_code, independent_hotp

from otp_api.state import apply, table

NOW = 1_790_000_010.25
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 4226's "12345678901234567890"
SENT: list[tuple[str, dict]] = []


@pytest.fixture(autouse=True)
def recorded(monkeypatch, aws):
    """Every GetItem and UpdateItem the handler sends, as (operation, what it says); decisions' ids d1, d2, ..."""
    numbers = itertools.count(1)
    monkeypatch.setattr(apply, "new_decision", lambda: f"d{next(numbers)}")
    client = table._client()
    for operation in ("get_item", "update_item"):
        original = getattr(client, operation)

        def record(original=original, operation=operation, **request):
            SENT.append((operation, literal(request)))
            return original(**request)

        monkeypatch.setattr(client, operation, record)
    SENT.clear()


def literal(request: dict) -> dict:
    if "UpdateExpression" not in request:
        return {"consistent": request["ConsistentRead"]}
    values = {}
    for name, typed in request["ExpressionAttributeValues"].items():
        ((kind, value),) = typed.items()
        values[name] = int(value) if kind == "N" else sorted(int(n) for n in value) if kind == "NS" else value
    return {"update": request["UpdateExpression"], "if": request["ConditionExpression"], "values": values}


def otp(moment: float = NOW, **params) -> dict:
    """The answer's verdict (status and the fields that tell it) and the calls made for it."""
    start = len(SENT)
    with time_machine.travel(moment, tick=False):
        status, _, body = call("otp", params)
    told = {name: body[name] for name in ("valid", "reason", "unlocked", "revoked", "drift", "counter") if name in body}
    return {"status": status, **told, "calls": SENT[start:]}


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def totp_story() -> list[tuple[str, dict]]:
    code = independent_code(SECRET, NOW)
    key = {"type": "time_based", "secret": SECRET}
    story = [
        ("accepted", otp(action="verify", code=code, **key)),
        ("replay", otp(action="verify", code=code, **key)),
        ("no_match", otp(action="verify", code=wrong(code), **key)),
    ]
    for _ in range(3):
        otp(action="verify", code=wrong(code), **key)
    later = independent_code(SECRET, NOW + 30)
    story += [
        ("locked", otp(NOW + 1, action="verify", code=later, **key)),
        ("unlock", otp(NOW + 2, action="unlock", **key)),
        (
            "resync",
            otp(
                NOW + 3,
                action="resync",
                code=independent_code(SECRET, NOW + 3 * 30),
                next_code=independent_code(SECRET, NOW + 4 * 30),
                **key,
            ),
        ),
        ("revoke", otp(NOW + 4, action="revoke", **key)),
        ("revoked", otp(NOW + 5 * 30, action="verify", code=independent_code(SECRET, NOW + 5 * 30), **key)),
    ]
    return story


def hotp_story() -> list[tuple[str, dict]]:
    key = {"type": "counter_based", "secret": SECRET}
    first = independent_hotp(SECRET, 0)
    story = [
        ("accepted", otp(action="verify", code=first, **key)),
        ("replay", otp(action="verify", code=first, **key)),
        ("no_match", otp(action="verify", code=wrong(independent_hotp(SECRET, 1)), **key)),
    ]
    for _ in range(4):
        otp(action="verify", code=wrong(independent_hotp(SECRET, 1)), **key)
    story += [
        ("locked", otp(NOW + 1, action="verify", code=independent_hotp(SECRET, 1), **key)),
        ("unlock", otp(NOW + 2, action="unlock", **key)),
        (
            "resync",
            otp(
                NOW + 3,
                action="resync",
                code=independent_hotp(SECRET, 20),
                next_code=independent_hotp(SECRET, 21),
                **key,
            ),
        ),
        ("revoke", otp(NOW + 4, action="revoke", **key)),
        ("revoked", otp(NOW + 5, action="verify", code=independent_hotp(SECRET, 22), **key)),
    ]
    return story


def recovery_story() -> list[tuple[str, dict]]:
    _, _, made = call("otp", {"type": "recovery_codes", "action": "generate", "count": 3})
    key = {"type": "recovery_codes", "sealed_codes": made["sealed_codes"]}
    story = [
        ("accepted", otp(action="verify", code=made["codes"][0], **key)),
        ("replay", otp(action="verify", code=made["codes"][0], **key)),
        ("no_match", otp(action="verify", code="0000-0000-00", **key)),
    ]
    for _ in range(4):
        otp(action="verify", code="0000-0000-00", **key)
    story += [
        ("locked", otp(NOW + 1, action="verify", code=made["codes"][1], **key)),
        ("unlock", otp(NOW + 2, action="unlock", **key)),
        ("revoke", otp(NOW + 4, action="revoke", **key)),
        ("revoked", otp(NOW + 5, action="verify", code=made["codes"][1], **key)),
    ]
    return story


def named_story() -> list[tuple[str, dict]]:
    """Requests that name the user (`subject`, with a sealed secret bound to it): the person's item. The key's first
    decision adopts what its own item holds (none here), the first failure starts the 30-day budget's period,
    later ones count in it; status reads; unlock and revoke act on the person."""
    with time_machine.travel(NOW - 60, tick=False):
        _, _, made = call("otp", {"type": "time_based", "action": "seal", "secret": SECRET, "subject": "user-7"})
    code = independent_code(SECRET, NOW)
    key = {"type": "time_based", "sealed_secret": made["sealed_secret"], "subject": "user-7"}
    return [
        ("accepted", otp(action="verify", code=code, **key)),
        ("replay", otp(action="verify", code=code, **key)),
        ("no_match", otp(action="verify", code=wrong(code), **key)),
        ("status", otp(action="status", **key)),
        ("unlock", otp(action="unlock", subject="user-7")),
        ("revoke", otp(action="revoke", subject="user-7")),
        ("revoked", otp(NOW + 30, action="verify", code=independent_code(SECRET, NOW + 30), **key)),
    ]


def person_key_story() -> list[tuple[str, dict]]:
    """One factor of a person, named by its sealed secret and subject: a failure, then status, unlock and revoke of
    that key alone (its attributes in the person's item, its group's lock); and an HOTP key's first accepted code in
    the same person's item. (A recovery set's attributes are named by its random set id: its writes are pinned
    without a subject above.)"""
    with time_machine.travel(NOW - 60, tick=False):
        _, _, totp = call("otp", {"type": "time_based", "action": "seal", "secret": SECRET, "subject": "user-8"})
        _, _, hotp = call("otp", {"type": "counter_based", "action": "seal", "secret": SECRET, "subject": "user-8"})
    code = independent_code(SECRET, NOW)
    key = {"type": "time_based", "sealed_secret": totp["sealed_secret"], "subject": "user-8"}
    return [
        ("no_match", otp(action="verify", code=wrong(code), **key)),
        ("status", otp(NOW + 1, action="status", **key)),
        ("unlock", otp(NOW + 2, action="unlock", **key)),
        ("revoke", otp(NOW + 3, action="revoke", **key)),
        ("revoked", otp(NOW + 30, action="verify", code=independent_code(SECRET, NOW + 30), **key)),
        (
            "hotp accepted",
            otp(
                NOW + 31,
                action="verify",
                code=independent_hotp(SECRET, 0),
                type="counter_based",
                sealed_secret=hotp["sealed_secret"],
                subject="user-8",
            ),
        ),
    ]


# --- what they send (regenerate with care: each line is what a deployed table receives) --------------------------

TOTP = {
    "accepted": {
        "status": 200,
        "valid": True,
        "reason": None,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET last_used = :start, drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, expires_at = :ttl REMOVE f1, f2, f3, f4, f5, "
                    "last_failure, failures",
                    "if": "(((attribute_not_exists(last_used)) OR (last_used < :start)) AND "
                    "((attribute_not_exists(drift)) OR ((drift > :drift_low) AND (drift < "
                    ":drift_high)))) AND (attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) "
                    "OR (failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":start": 1790000010,
                        ":drift": 0,
                        ":drift_low": -2,
                        ":drift_high": 2,
                        ":decision": "d1",
                        ":now": 1790000010,
                        ":cap": 100,
                        ":ttl": 1790037871,
                    },
                },
            )
        ],
    },
    "replay": {
        "status": 200,
        "valid": False,
        "reason": "already_used",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET last_used = :start, drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, expires_at = :ttl REMOVE f1, f2, f3, f4, f5, "
                    "last_failure, failures",
                    "if": "(((attribute_not_exists(last_used)) OR (last_used < :start)) AND "
                    "((attribute_not_exists(drift)) OR ((drift > :drift_low) AND (drift < "
                    ":drift_high)))) AND (attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) "
                    "OR (failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":start": 1790000010,
                        ":drift": 0,
                        ":drift_low": -2,
                        ":drift_high": 2,
                        ":decision": "d2",
                        ":now": 1790000010,
                        ":cap": 100,
                        ":ttl": 1790037871,
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET f1 = if_not_exists(f2, :zero), f2 = if_not_exists(f3, :zero), f3 = "
                    "if_not_exists(f4, :zero), f4 = if_not_exists(f5, :zero), f5 = :leaves, "
                    "last_failure = :now, decided_by = :decision ADD failures :one REMOVE "
                    "expires_at",
                    "if": "(attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) "
                    "OR (failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":decision": "d2",
                        ":zero": 0,
                        ":one": 1,
                        ":now": 1790000010,
                        ":cap": 100,
                        ":leaves": 1790000911,
                    },
                },
            ),
        ],
    },
    "no_match": {
        "status": 200,
        "valid": False,
        "reason": "no_match",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET last_used = :start, drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, expires_at = :ttl REMOVE f1, f2, f3, f4, f5, "
                    "last_failure, failures",
                    "if": "(((attribute_not_exists(last_used)) OR (last_used < :start)) AND ((drift > "
                    ":drift_low) AND (drift < :drift_high))) AND "
                    "(attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) "
                    "OR (failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":start": 1790001900,
                        ":drift": 10,
                        ":drift_low": 61,
                        ":drift_high": 65,
                        ":decision": "d3",
                        ":now": 1790000010,
                        ":cap": 100,
                        ":ttl": 1790037871,
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET f1 = if_not_exists(f2, :zero), f2 = if_not_exists(f3, :zero), f3 = "
                    "if_not_exists(f4, :zero), f4 = if_not_exists(f5, :zero), f5 = :leaves, "
                    "last_failure = :now, decided_by = :decision ADD failures :one REMOVE "
                    "expires_at",
                    "if": "(attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) "
                    "OR (failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":decision": "d3",
                        ":zero": 0,
                        ":one": 1,
                        ":now": 1790000010,
                        ":cap": 100,
                        ":leaves": 1790000911,
                    },
                },
            ),
        ],
    },
    "locked": {
        "status": 429,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET last_used = :start, drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, expires_at = :ttl REMOVE f1, f2, f3, f4, f5, "
                    "last_failure, failures",
                    "if": "(((attribute_not_exists(last_used)) OR (last_used < :start)) AND "
                    "((attribute_not_exists(drift)) OR ((drift > :drift_low) AND (drift < "
                    ":drift_high)))) AND (attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) "
                    "OR (failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":start": 1790000040,
                        ":drift": 1,
                        ":drift_low": -1,
                        ":drift_high": 3,
                        ":decision": "d7",
                        ":now": 1790000011,
                        ":cap": 100,
                        ":ttl": 1790037872,
                    },
                },
            )
        ],
    },
    "unlock": {
        "status": 200,
        "unlocked": True,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET decided_by = :decision REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "(attribute_not_exists(revoked_at)) AND ((attribute_exists(last_failure)) OR "
                    "(decided_by = :decision))",
                    "values": {":decision": "d8"},
                },
            )
        ],
    },
    "resync": {
        "status": 200,
        "valid": True,
        "reason": None,
        "drift": 4,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET last_used = :used, drift = :drift, resynced_by = :decision, "
                    "decided_by = :decision, accepted_by = :decision, expires_at = :ttl REMOVE "
                    "f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "((attribute_not_exists(last_used)) OR (last_used < :start)) AND "
                    "(attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) "
                    "OR (failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":start": 1790000100,
                        ":used": 1790000130,
                        ":drift": 4,
                        ":decision": "d9",
                        ":now": 1790000013,
                        ":cap": 100,
                        ":ttl": 1790037874,
                    },
                },
            )
        ],
    },
    "revoke": {
        "status": 200,
        "revoked": True,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET revoked_at = :now, decided_by = :decision REMOVE expires_at",
                    "if": "(attribute_not_exists(revoked_at)) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {":now": 1790000014, ":decision": "d10"},
                },
            )
        ],
    },
    "revoked": {
        "status": 200,
        "valid": False,
        "reason": "revoked",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET last_used = :start, drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, expires_at = :ttl REMOVE f1, f2, f3, f4, f5, "
                    "last_failure, failures",
                    "if": "(((attribute_not_exists(last_used)) OR (last_used < :start)) AND "
                    "((attribute_not_exists(drift)) OR ((drift > :drift_low) AND (drift < "
                    ":drift_high)))) AND (attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) "
                    "OR (failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":start": 1790000160,
                        ":drift": 0,
                        ":drift_low": -2,
                        ":drift_high": 2,
                        ":decision": "d11",
                        ":now": 1790000160,
                        ":cap": 100,
                        ":ttl": 1790038021,
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET tried_by = :decision ADD tries :one",
                    "if": "(attribute_exists(revoked_at)) AND ((attribute_not_exists(tried_by)) OR "
                    "(tried_by <> :decision))",
                    "values": {":decision": "d11", ":one": 1},
                },
            ),
        ],
    },
}

HOTP = {
    "accepted": {
        "status": 200,
        "valid": True,
        "reason": None,
        "counter": 0,
        "calls": [
            ("get_item", {"consistent": True}),
            (
                "update_item",
                {
                    "update": "SET next_counter = :next, decided_by = :decision, accepted_by = :decision "
                    "REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "((attribute_not_exists(next_counter)) OR (next_counter < :after)) AND "
                    "(attribute_not_exists(revoked_at)) AND (NOT (((attribute_exists(last_failure)) "
                    "AND (f1 > last_failure) AND (f5 > :now)) OR (failures >= :cap))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {":after": 1, ":next": 1, ":decision": "d1", ":now": 1790000010, ":cap": 100},
                },
            ),
        ],
    },
    "replay": {
        "status": 200,
        "valid": False,
        "reason": "already_used",
        "counter": None,
        "calls": [
            ("get_item", {"consistent": True}),
            (
                "update_item",
                {
                    "update": "SET f1 = if_not_exists(f2, :zero), f2 = if_not_exists(f3, :zero), f3 = "
                    "if_not_exists(f4, :zero), f4 = if_not_exists(f5, :zero), f5 = :leaves, "
                    "last_failure = :now, decided_by = :decision ADD failures :one",
                    "if": "(attribute_not_exists(revoked_at)) AND (NOT (((attribute_exists(last_failure)) AND "
                    "(f1 > last_failure) AND (f5 > :now)) OR (failures >= :cap))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d2",
                        ":now": 1790000010,
                        ":zero": 0,
                        ":one": 1,
                        ":cap": 100,
                        ":leaves": 1790000911,
                    },
                },
            ),
        ],
    },
    "no_match": {
        "status": 200,
        "valid": False,
        "reason": "no_match",
        "counter": None,
        "calls": [
            ("get_item", {"consistent": True}),
            (
                "update_item",
                {
                    "update": "SET f1 = if_not_exists(f2, :zero), f2 = if_not_exists(f3, :zero), f3 = "
                    "if_not_exists(f4, :zero), f4 = if_not_exists(f5, :zero), f5 = :leaves, "
                    "last_failure = :now, decided_by = :decision ADD failures :one",
                    "if": "(attribute_not_exists(revoked_at)) AND (NOT (((attribute_exists(last_failure)) "
                    "AND (f1 > last_failure) AND (f5 > :now)) OR (failures >= :cap))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d3",
                        ":now": 1790000010,
                        ":zero": 0,
                        ":one": 1,
                        ":cap": 100,
                        ":leaves": 1790000911,
                    },
                },
            ),
        ],
    },
    "locked": {"status": 429, "calls": [("get_item", {"consistent": True})]},
    "unlock": {
        "status": 200,
        "unlocked": True,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET decided_by = :decision REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "(attribute_not_exists(revoked_at)) AND ((attribute_exists(last_failure)) OR "
                    "(decided_by = :decision))",
                    "values": {":decision": "d7"},
                },
            )
        ],
    },
    "resync": {
        "status": 200,
        "valid": True,
        "reason": None,
        "counter": 21,
        "calls": [
            ("get_item", {"consistent": True}),
            (
                "update_item",
                {
                    "update": "SET next_counter = :next, resynced_by = :decision, decided_by = :decision, "
                    "accepted_by = :decision REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "((attribute_not_exists(next_counter)) OR (next_counter < :after)) AND "
                    "(attribute_not_exists(revoked_at)) AND (NOT (((attribute_exists(last_failure)) AND "
                    "(f1 > last_failure) AND (f5 > :now)) OR (failures >= :cap))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {":after": 21, ":next": 22, ":decision": "d8", ":now": 1790000013, ":cap": 100},
                },
            ),
        ],
    },
    "revoke": {
        "status": 200,
        "revoked": True,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET revoked_at = :now, decided_by = :decision REMOVE expires_at",
                    "if": "(attribute_not_exists(revoked_at)) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {":now": 1790000014, ":decision": "d9"},
                },
            )
        ],
    },
    "revoked": {
        "status": 200,
        "valid": False,
        "reason": "revoked",
        "counter": None,
        "calls": [
            ("get_item", {"consistent": True}),
            (
                "update_item",
                {
                    "update": "SET next_counter = :next, decided_by = :decision, accepted_by = :decision "
                    "REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "((attribute_not_exists(next_counter)) OR (next_counter < :after)) AND "
                    "(attribute_not_exists(revoked_at)) AND (NOT (((attribute_exists(last_failure)) AND "
                    "(f1 > last_failure) AND (f5 > :now)) OR (failures >= :cap))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {":after": 23, ":next": 23, ":decision": "d10", ":now": 1790000015, ":cap": 100},
                },
            ),
            (
                "update_item",
                {
                    "update": "SET tried_by = :decision ADD tries :one",
                    "if": "(attribute_exists(revoked_at)) AND ((attribute_not_exists(tried_by)) OR (tried_by <> "
                    ":decision))",
                    "values": {":decision": "d10", ":one": 1},
                },
            ),
        ],
    },
}

RECOVERY = {
    "accepted": {
        "status": 200,
        "valid": True,
        "reason": None,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET set_size = :size, decided_by = :decision, accepted_by = :decision ADD used "
                    ":index_set REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "(NOT (contains(used, :index))) AND (attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) OR "
                    "(failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR (decided_by <> "
                    ":decision))",
                    "values": {
                        ":index": 0,
                        ":index_set": [0],
                        ":size": 3,
                        ":decision": "d1",
                        ":now": 1790000010,
                        ":cap": 100,
                    },
                },
            )
        ],
    },
    "replay": {
        "status": 200,
        "valid": False,
        "reason": "already_used",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET set_size = :size, decided_by = :decision, accepted_by = :decision ADD used "
                    ":index_set REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "(NOT (contains(used, :index))) AND (attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) OR "
                    "(failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR (decided_by <> "
                    ":decision))",
                    "values": {
                        ":index": 0,
                        ":index_set": [0],
                        ":size": 3,
                        ":decision": "d2",
                        ":now": 1790000010,
                        ":cap": 100,
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET f1 = if_not_exists(f2, :zero), f2 = if_not_exists(f3, :zero), f3 = "
                    "if_not_exists(f4, :zero), f4 = if_not_exists(f5, :zero), f5 = :leaves, "
                    "last_failure = :now, decided_by = :decision ADD failures :one",
                    "if": "(attribute_not_exists(revoked_at)) AND (NOT (((attribute_exists(last_failure)) AND "
                    "(f1 > last_failure) AND (f5 > :now)) OR (failures >= :cap))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d2",
                        ":now": 1790000010,
                        ":zero": 0,
                        ":one": 1,
                        ":cap": 100,
                        ":leaves": 1790000911,
                    },
                },
            ),
        ],
    },
    "no_match": {
        "status": 200,
        "valid": False,
        "reason": "no_match",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET f1 = if_not_exists(f2, :zero), f2 = if_not_exists(f3, :zero), f3 = "
                    "if_not_exists(f4, :zero), f4 = if_not_exists(f5, :zero), f5 = :leaves, "
                    "last_failure = :now, decided_by = :decision ADD failures :one",
                    "if": "(attribute_not_exists(revoked_at)) AND (NOT (((attribute_exists(last_failure)) "
                    "AND (f1 > last_failure) AND (f5 > :now)) OR (failures >= :cap))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d3",
                        ":now": 1790000010,
                        ":zero": 0,
                        ":one": 1,
                        ":cap": 100,
                        ":leaves": 1790000911,
                    },
                },
            )
        ],
    },
    "locked": {
        "status": 429,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET set_size = :size, decided_by = :decision, accepted_by = :decision ADD used "
                    ":index_set REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "(NOT (contains(used, :index))) AND (attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) OR "
                    "(failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR (decided_by <> "
                    ":decision))",
                    "values": {
                        ":index": 1,
                        ":index_set": [1],
                        ":size": 3,
                        ":decision": "d8",
                        ":now": 1790000011,
                        ":cap": 100,
                    },
                },
            )
        ],
    },
    "unlock": {
        "status": 200,
        "unlocked": True,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET decided_by = :decision REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "(attribute_not_exists(revoked_at)) AND ((attribute_exists(last_failure)) OR "
                    "(decided_by = :decision))",
                    "values": {":decision": "d9"},
                },
            )
        ],
    },
    "revoke": {
        "status": 200,
        "revoked": True,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET revoked_at = :now, decided_by = :decision REMOVE expires_at",
                    "if": "(attribute_not_exists(revoked_at)) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {":now": 1790000014, ":decision": "d10"},
                },
            )
        ],
    },
    "revoked": {
        "status": 200,
        "valid": False,
        "reason": "revoked",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET set_size = :size, decided_by = :decision, accepted_by = :decision ADD used "
                    ":index_set REMOVE f1, f2, f3, f4, f5, last_failure, failures",
                    "if": "(NOT (contains(used, :index))) AND (attribute_not_exists(revoked_at)) AND (NOT "
                    "(((attribute_exists(last_failure)) AND (f1 > last_failure) AND (f5 > :now)) OR "
                    "(failures >= :cap))) AND ((attribute_not_exists(decided_by)) OR (decided_by <> "
                    ":decision))",
                    "values": {
                        ":index": 1,
                        ":index_set": [1],
                        ":size": 3,
                        ":decision": "d11",
                        ":now": 1790000015,
                        ":cap": 100,
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET tried_by = :decision ADD tries :one",
                    "if": "(attribute_exists(revoked_at)) AND ((attribute_not_exists(tried_by)) OR (tried_by <> "
                    ":decision))",
                    "values": {":decision": "d11", ":one": 1},
                },
            ),
        ],
    },
}


def test_what_totp_sends_for_each_outcome():
    assert dict(totp_story()) == TOTP


def test_what_hotp_sends_for_each_outcome():
    assert dict(hotp_story()) == HOTP


def test_what_recovery_codes_send_for_each_outcome():
    assert dict(recovery_story()) == RECOVERY


NAMED = {
    "accepted": {
        "status": 200,
        "valid": True,
        "reason": None,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_last_used = :start, "
                    "kba27aba9bf6e7c19bbb1_drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, otp_accepted_at = :now, subject = :subject "
                    "REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, otp_last_failure, "
                    "otp_failures",
                    "if": "(((attribute_not_exists(kba27aba9bf6e7c19bbb1_last_used)) OR "
                    "(kba27aba9bf6e7c19bbb1_last_used < :start)) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_drift)) OR "
                    "((kba27aba9bf6e7c19bbb1_drift > :drift_low) AND "
                    "(kba27aba9bf6e7c19bbb1_drift < :drift_high)))) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":start": 1790000010,
                        ":drift": 0,
                        ":drift_low": -2,
                        ":drift_high": 2,
                        ":decision": "d1",
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-7",
                    },
                },
            ),
            ("get_item", {"consistent": True}),
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_seen = :now",
                    "if": "attribute_not_exists(kba27aba9bf6e7c19bbb1_seen)",
                    "values": {":now": 1790000010},
                },
            ),
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_last_used = :start, "
                    "kba27aba9bf6e7c19bbb1_drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, otp_accepted_at = :now, subject = :subject "
                    "REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, otp_last_failure, "
                    "otp_failures",
                    "if": "(((attribute_not_exists(kba27aba9bf6e7c19bbb1_last_used)) OR "
                    "(kba27aba9bf6e7c19bbb1_last_used < :start)) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_drift)) OR "
                    "((kba27aba9bf6e7c19bbb1_drift > :drift_low) AND "
                    "(kba27aba9bf6e7c19bbb1_drift < :drift_high)))) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":start": 1790000010,
                        ":drift": 0,
                        ":drift_low": -2,
                        ":drift_high": 2,
                        ":decision": "d1",
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-7",
                    },
                },
            ),
        ],
    },
    "replay": {
        "status": 200,
        "valid": False,
        "reason": "already_used",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_last_used = :start, kba27aba9bf6e7c19bbb1_drift "
                    "= :drift, decided_by = :decision, accepted_by = :decision, "
                    "otp_accepted_at = :now, subject = :subject REMOVE otp_f1, otp_f2, otp_f3, "
                    "otp_f4, otp_f5, otp_last_failure, otp_failures",
                    "if": "(((attribute_not_exists(kba27aba9bf6e7c19bbb1_last_used)) OR "
                    "(kba27aba9bf6e7c19bbb1_last_used < :start)) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_drift)) OR "
                    "((kba27aba9bf6e7c19bbb1_drift > :drift_low) AND (kba27aba9bf6e7c19bbb1_drift "
                    "< :drift_high)))) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":start": 1790000010,
                        ":drift": 0,
                        ":drift_low": -2,
                        ":drift_high": 2,
                        ":decision": "d2",
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-7",
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET otp_f1 = if_not_exists(otp_f2, :zero), otp_f2 = if_not_exists(otp_f3, "
                    ":zero), otp_f3 = if_not_exists(otp_f4, :zero), otp_f4 = "
                    "if_not_exists(otp_f5, :zero), otp_f5 = :leaves, otp_last_failure = :now, "
                    "decided_by = :decision, subject = :subject ADD otp_failures :one, otp_tc "
                    ":one, otp_ts :one",
                    "if": "(otp_tp = :period) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d2",
                        ":zero": 0,
                        ":one": 1,
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":leaves": 1790000911,
                        ":subject": "user-7",
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET otp_f1 = if_not_exists(otp_f2, :zero), otp_f2 = if_not_exists(otp_f3, "
                    ":zero), otp_f3 = if_not_exists(otp_f4, :zero), otp_f4 = "
                    "if_not_exists(otp_f5, :zero), otp_f5 = :leaves, otp_last_failure = :now, "
                    "decided_by = :decision, otp_tp = :period, otp_tc = :one, otp_ts = :both, "
                    "subject = :subject ADD otp_failures :one",
                    "if": "(attribute_not_exists(otp_tp)) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d2",
                        ":zero": 0,
                        ":one": 1,
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":leaves": 1790000911,
                        ":both": 1,
                        ":subject": "user-7",
                    },
                },
            ),
        ],
    },
    "no_match": {
        "status": 200,
        "valid": False,
        "reason": "no_match",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_last_used = :start, "
                    "kba27aba9bf6e7c19bbb1_drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, otp_accepted_at = :now, subject = :subject "
                    "REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, otp_last_failure, "
                    "otp_failures",
                    "if": "(((attribute_not_exists(kba27aba9bf6e7c19bbb1_last_used)) OR "
                    "(kba27aba9bf6e7c19bbb1_last_used < :start)) AND "
                    "((kba27aba9bf6e7c19bbb1_drift > :drift_low) AND "
                    "(kba27aba9bf6e7c19bbb1_drift < :drift_high))) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":start": 1790001900,
                        ":drift": 10,
                        ":drift_low": 61,
                        ":drift_high": 65,
                        ":decision": "d3",
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-7",
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET otp_f1 = if_not_exists(otp_f2, :zero), otp_f2 = "
                    "if_not_exists(otp_f3, :zero), otp_f3 = if_not_exists(otp_f4, :zero), "
                    "otp_f4 = if_not_exists(otp_f5, :zero), otp_f5 = :leaves, "
                    "otp_last_failure = :now, decided_by = :decision, subject = :subject ADD "
                    "otp_failures :one, otp_tc :one, otp_ts :one",
                    "if": "(otp_tp = :period) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d3",
                        ":zero": 0,
                        ":one": 1,
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":leaves": 1790000911,
                        ":subject": "user-7",
                    },
                },
            ),
        ],
    },
    "status": {"status": 200, "revoked": False, "calls": [("get_item", {"consistent": True})]},
    "unlock": {
        "status": 200,
        "unlocked": False,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET decided_by = :decision, otp_unlocked_at = :now, rc_unlocked_at = :now, "
                    "pk_unlocked_at = :now, subject = :subject REMOVE otp_f1, otp_f2, otp_f3, otp_f4, "
                    "otp_f5, otp_last_failure, otp_failures, otp_tp, otp_tc, otp_ts, rc_last_failure, "
                    "rc_failures, pk_last_failure, pk_failures",
                    "if": "(attribute_not_exists(decided_by)) OR (decided_by <> :decision)",
                    "values": {":decision": "d4", ":now": 1790000010, ":subject": "user-7"},
                },
            )
        ],
    },
    "revoke": {
        "status": 200,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET revoked_before = :now_ms, decided_by = :decision, subject = :subject",
                    "if": "(attribute_not_exists(decided_by)) OR (decided_by <> :decision)",
                    "values": {":now_ms": 1790000010249, ":decision": "d5", ":subject": "user-7"},
                },
            )
        ],
    },
    "revoked": {
        "status": 200,
        "valid": False,
        "reason": "revoked",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_last_used = :start, "
                    "kba27aba9bf6e7c19bbb1_drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, otp_accepted_at = :now, subject = :subject "
                    "REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, otp_last_failure, "
                    "otp_failures",
                    "if": "(((attribute_not_exists(kba27aba9bf6e7c19bbb1_last_used)) OR "
                    "(kba27aba9bf6e7c19bbb1_last_used < :start)) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_drift)) OR "
                    "((kba27aba9bf6e7c19bbb1_drift > :drift_low) AND (kba27aba9bf6e7c19bbb1_drift "
                    "< :drift_high)))) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":start": 1790000040,
                        ":drift": 0,
                        ":drift_low": -2,
                        ":drift_high": 2,
                        ":decision": "d6",
                        ":now": 1790000040,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-7",
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_tried_by = :decision, subject = :subject ADD "
                    "kba27aba9bf6e7c19bbb1_tries :one",
                    "if": "((attribute_exists(kba27aba9bf6e7c19bbb1_revoked_at)) OR (revoked_before >= "
                    ":sealed_at)) AND ((attribute_not_exists(kba27aba9bf6e7c19bbb1_tried_by)) OR "
                    "(kba27aba9bf6e7c19bbb1_tried_by <> :decision))",
                    "values": {":decision": "d6", ":one": 1, ":sealed_at": 1789999950249, ":subject": "user-7"},
                },
            ),
        ],
    },
}


def test_what_a_request_naming_its_user_sends():
    assert dict(named_story()) == NAMED


PERSON_KEY = {
    "no_match": {
        "status": 200,
        "valid": False,
        "reason": "no_match",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_last_used = :start, "
                    "kba27aba9bf6e7c19bbb1_drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, otp_accepted_at = :now, subject = :subject "
                    "REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, otp_last_failure, "
                    "otp_failures",
                    "if": "(((attribute_not_exists(kba27aba9bf6e7c19bbb1_last_used)) OR "
                    "(kba27aba9bf6e7c19bbb1_last_used < :start)) AND "
                    "((kba27aba9bf6e7c19bbb1_drift > :drift_low) AND "
                    "(kba27aba9bf6e7c19bbb1_drift < :drift_high))) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":start": 1790001900,
                        ":drift": 10,
                        ":drift_low": 61,
                        ":drift_high": 65,
                        ":decision": "d1",
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-8",
                    },
                },
            ),
            ("get_item", {"consistent": True}),
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_seen = :now",
                    "if": "attribute_not_exists(kba27aba9bf6e7c19bbb1_seen)",
                    "values": {":now": 1790000010},
                },
            ),
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_last_used = :start, "
                    "kba27aba9bf6e7c19bbb1_drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, otp_accepted_at = :now, subject = :subject "
                    "REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, otp_last_failure, "
                    "otp_failures",
                    "if": "(((attribute_not_exists(kba27aba9bf6e7c19bbb1_last_used)) OR "
                    "(kba27aba9bf6e7c19bbb1_last_used < :start)) AND "
                    "((kba27aba9bf6e7c19bbb1_drift > :drift_low) AND "
                    "(kba27aba9bf6e7c19bbb1_drift < :drift_high))) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":start": 1790001900,
                        ":drift": 10,
                        ":drift_low": 61,
                        ":drift_high": 65,
                        ":decision": "d1",
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-8",
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET otp_f1 = if_not_exists(otp_f2, :zero), otp_f2 = "
                    "if_not_exists(otp_f3, :zero), otp_f3 = if_not_exists(otp_f4, :zero), "
                    "otp_f4 = if_not_exists(otp_f5, :zero), otp_f5 = :leaves, "
                    "otp_last_failure = :now, decided_by = :decision, subject = :subject ADD "
                    "otp_failures :one, otp_tc :one, otp_ts :one",
                    "if": "(otp_tp = :period) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d1",
                        ":zero": 0,
                        ":one": 1,
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":leaves": 1790000911,
                        ":subject": "user-8",
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET otp_f1 = if_not_exists(otp_f2, :zero), otp_f2 = "
                    "if_not_exists(otp_f3, :zero), otp_f3 = if_not_exists(otp_f4, :zero), "
                    "otp_f4 = if_not_exists(otp_f5, :zero), otp_f5 = :leaves, "
                    "otp_last_failure = :now, decided_by = :decision, otp_tp = :period, "
                    "otp_tc = :one, otp_ts = :both, subject = :subject ADD otp_failures :one",
                    "if": "(attribute_not_exists(otp_tp)) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d1",
                        ":zero": 0,
                        ":one": 1,
                        ":now": 1790000010,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":leaves": 1790000911,
                        ":both": 1,
                        ":subject": "user-8",
                    },
                },
            ),
        ],
    },
    "status": {"status": 200, "revoked": False, "calls": [("get_item", {"consistent": True})]},
    "unlock": {
        "status": 200,
        "unlocked": False,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET decided_by = :decision, otp_unlocked_at = :now, subject = :subject "
                    "REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, otp_last_failure, "
                    "otp_failures, otp_tp, otp_tc, otp_ts",
                    "if": "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND ((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":decision": "d2",
                        ":now": 1790000012,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-8",
                    },
                },
            )
        ],
    },
    "revoke": {
        "status": 200,
        "revoked": True,
        "calls": [
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_revoked_at = :now, decided_by = :decision, subject = :subject",
                    "if": "(attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {":now": 1790000013, ":decision": "d3", ":subject": "user-8"},
                },
            )
        ],
    },
    "revoked": {
        "status": 200,
        "valid": False,
        "reason": "revoked",
        "calls": [
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_last_used = :start, "
                    "kba27aba9bf6e7c19bbb1_drift = :drift, decided_by = :decision, "
                    "accepted_by = :decision, otp_accepted_at = :now, subject = :subject "
                    "REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, otp_last_failure, "
                    "otp_failures",
                    "if": "(((attribute_not_exists(kba27aba9bf6e7c19bbb1_last_used)) OR "
                    "(kba27aba9bf6e7c19bbb1_last_used < :start)) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_drift)) OR "
                    "((kba27aba9bf6e7c19bbb1_drift > :drift_low) AND (kba27aba9bf6e7c19bbb1_drift "
                    "< :drift_high)))) AND "
                    "((attribute_not_exists(kba27aba9bf6e7c19bbb1_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) "
                    "AND (attribute_exists(kba27aba9bf6e7c19bbb1_seen)) AND (NOT "
                    "(((attribute_exists(otp_last_failure)) AND (otp_f1 > otp_last_failure) AND "
                    "(otp_f5 > :now)) OR (otp_failures >= :cap) OR (((otp_tp = :period) AND "
                    "(otp_ts >= :total)) OR ((otp_tp = :previous) AND (otp_tc >= :total))))) AND "
                    "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                    "values": {
                        ":start": 1790000040,
                        ":drift": 0,
                        ":drift_low": -2,
                        ":drift_high": 2,
                        ":decision": "d4",
                        ":now": 1790000040,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-8",
                    },
                },
            ),
            (
                "update_item",
                {
                    "update": "SET kba27aba9bf6e7c19bbb1_tried_by = :decision, subject = :subject ADD "
                    "kba27aba9bf6e7c19bbb1_tries :one",
                    "if": "((attribute_exists(kba27aba9bf6e7c19bbb1_revoked_at)) OR (revoked_before >= "
                    ":sealed_at)) AND ((attribute_not_exists(kba27aba9bf6e7c19bbb1_tried_by)) OR "
                    "(kba27aba9bf6e7c19bbb1_tried_by <> :decision))",
                    "values": {":decision": "d4", ":one": 1, ":sealed_at": 1789999950249, ":subject": "user-8"},
                },
            ),
        ],
    },
    "hotp accepted": {
        "status": 200,
        "valid": True,
        "reason": None,
        "counter": 0,
        "calls": [
            ("get_item", {"consistent": True}),
            ("get_item", {"consistent": True}),
            (
                "update_item",
                {
                    "update": "SET k22eb98e25951c5b14ede_next_counter = :next, decided_by = "
                    ":decision, accepted_by = :decision, otp_accepted_at = :now, "
                    "subject = :subject REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, "
                    "otp_last_failure, otp_failures",
                    "if": "((attribute_not_exists(k22eb98e25951c5b14ede_next_counter)) OR "
                    "(k22eb98e25951c5b14ede_next_counter < :after)) AND "
                    "((attribute_not_exists(k22eb98e25951c5b14ede_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < "
                    ":sealed_at))) AND (attribute_exists(k22eb98e25951c5b14ede_seen)) AND "
                    "(NOT (((attribute_exists(otp_last_failure)) AND (otp_f1 > "
                    "otp_last_failure) AND (otp_f5 > :now)) OR (otp_failures >= :cap) OR "
                    "(((otp_tp = :period) AND (otp_ts >= :total)) OR ((otp_tp = :previous) "
                    "AND (otp_tc >= :total))))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":after": 1,
                        ":next": 1,
                        ":decision": "d5",
                        ":now": 1790000041,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-8",
                    },
                },
            ),
            ("get_item", {"consistent": True}),
            (
                "update_item",
                {
                    "update": "SET k22eb98e25951c5b14ede_seen = :now",
                    "if": "attribute_not_exists(k22eb98e25951c5b14ede_seen)",
                    "values": {":now": 1790000041},
                },
            ),
            (
                "update_item",
                {
                    "update": "SET k22eb98e25951c5b14ede_next_counter = :next, decided_by = "
                    ":decision, accepted_by = :decision, otp_accepted_at = :now, "
                    "subject = :subject REMOVE otp_f1, otp_f2, otp_f3, otp_f4, otp_f5, "
                    "otp_last_failure, otp_failures",
                    "if": "((attribute_not_exists(k22eb98e25951c5b14ede_next_counter)) OR "
                    "(k22eb98e25951c5b14ede_next_counter < :after)) AND "
                    "((attribute_not_exists(k22eb98e25951c5b14ede_revoked_at)) AND "
                    "((attribute_not_exists(revoked_before)) OR (revoked_before < "
                    ":sealed_at))) AND (attribute_exists(k22eb98e25951c5b14ede_seen)) AND "
                    "(NOT (((attribute_exists(otp_last_failure)) AND (otp_f1 > "
                    "otp_last_failure) AND (otp_f5 > :now)) OR (otp_failures >= :cap) OR "
                    "(((otp_tp = :period) AND (otp_ts >= :total)) OR ((otp_tp = :previous) "
                    "AND (otp_tc >= :total))))) AND ((attribute_not_exists(decided_by)) OR "
                    "(decided_by <> :decision))",
                    "values": {
                        ":after": 1,
                        ":next": 1,
                        ":decision": "d5",
                        ":now": 1790000041,
                        ":cap": 100,
                        ":total": 100,
                        ":period": 690,
                        ":previous": 689,
                        ":sealed_at": 1789999950249,
                        ":subject": "user-8",
                    },
                },
            ),
        ],
    },
}


def test_what_one_factor_of_a_person_sends():
    assert dict(person_key_story()) == PERSON_KEY
