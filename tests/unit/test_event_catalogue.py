"""The security events' catalogue (otp_api/events/catalogue.py) and what each change of a state item tells
(changes.py), on items as DynamoDB's stream gives them: docs/events.schema.json is the code's, and the edge cases
the scenarios on moto (tests/handler/test_security_events.py) do not reach."""

import json
import subprocess
import sys

import jsonschema
import msgspec
import pytest
from support import ROOT

from otp_api.events import catalogue
from otp_api.events.changes import events_of, state_id
from otp_api.settings import EventSettings

SCHEMAS = json.loads((ROOT / "docs" / "events.schema.json").read_text())
LOCKOUT = EventSettings("default", 5, 900, 100, 100)
AT = 1_790_000_010


def test_the_schema_file_is_fresh():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "event_schemas.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert SCHEMAS["source"] == catalogue.SOURCE and list(SCHEMAS["detail-types"]) == list(catalogue.CATALOGUE)


def typed(item: dict) -> dict:
    def one(value):
        if isinstance(value, set):
            return {"NS": [str(n) for n in sorted(value)]}
        return {"S": value} if isinstance(value, str) else {"N": str(value)}

    return {name: one(value) for name, value in item.items()}


def record(old: dict | None, new: dict, name: str = "MODIFY") -> dict:
    change = {"ApproximateCreationDateTime": AT + 0.75, "SequenceNumber": "1", "Keys": {"pk": {"S": "p"}}}
    if old is not None:
        change["OldImage"] = typed({"pk": "p", **old})
    change["NewImage"] = typed({"pk": "p", **new})
    return {"eventName": name, "dynamodb": change}


def told(old: dict | None, new: dict, lockout: EventSettings = LOCKOUT) -> list[tuple[str, dict]]:
    found = []
    for event in events_of(record(old, new, "INSERT" if old is None else "MODIFY"), lockout):
        detail = msgspec.to_builtins(event.detail)
        jsonschema.validate(detail, SCHEMAS["detail-types"][event.detail_type])
        found.append((event.detail_type, detail))
    return found


def test_a_first_failure_may_lock_when_one_failure_is_the_limit():
    # An INSERT (the item's first write) with MaxFailedAttempts 1: locked at once.
    new = {"f1": AT + 901, "last_failure": AT, "failures": 1, "decided_by": "d"}
    ((kind, detail),) = told(None, new, EventSettings("default", 1, 900, 100, 100))
    assert (kind, detail["until"], detail["failures"]) == ("Lockout Began", "2026-09-21T14:28:31Z", 1)
    assert detail["time"] == "2026-09-21T14:13:30Z" and detail["state_id"] == state_id("p")
    assert "subject" not in detail


def test_an_accept_that_clears_failures_is_no_unlock():
    old = {"f1": AT - 10, "f5": AT + 500, "last_failure": AT - 10, "failures": 5, "accepted_by": "a", "used": {0}}
    assert told(old, {"accepted_by": "b", "used": {0, 1}, "decided_by": "b"}) == []  # (no set_size: an old write)


def test_a_set_used_up_at_once_and_a_subject_kept():
    new = {"used": {0}, "set_size": 1, "decided_by": "d", "accepted_by": "d", "subject": "user-1"}
    kinds = [(kind, detail.get("remaining"), detail["subject"]) for kind, detail in told({}, new)]
    assert kinds == [("Recovery Code Used", 0, "user-1"), ("Recovery Codes Used Up", None, "user-1")]


def test_each_event_of_one_write_has_its_own_id_and_every_reading_the_same():
    new = {"used": {0}, "set_size": 1, "decided_by": "d", "accepted_by": "d"}
    ids = [detail["event_id"] for _, detail in told({}, new)]
    assert len(set(ids)) == 2 and ids == [detail["event_id"] for _, detail in told({}, new)]
    assert ids != [detail["event_id"] for _, detail in told({}, {**new, "decided_by": "e"})]  # another decision


@pytest.mark.parametrize("name", ["REMOVE", "NOTHING"])
def test_a_removal_tells_nothing(name):
    assert events_of({**record({"revoked_at": AT}, {}), "eventName": name}, LOCKOUT) == []


def test_a_drift_moved_one_step_by_a_verify_tells_nothing_but_a_resync_does():
    assert told({"drift": 1}, {"drift": 2, "decided_by": "d"}) == []
    assert told({"drift": 2}, {"drift": 2, "resynced_by": "r", "decided_by": "r"}) == []  # learnt the same
    ((kind, detail),) = told({"drift": 2}, {"drift": 1, "resynced_by": "r", "decided_by": "r"})
    assert (kind, detail["drift"], detail["previous_drift"], detail["resync"]) == ("TOTP Drift Changed", 1, 2, True)


def test_a_record_as_the_aws_cli_prints_it_tells_the_same():
    # A batch sent again by hand (docs/events.md): `aws dynamodbstreams get-records` prints times in ISO 8601.
    new = {"revoked_at": AT, "decided_by": "d"}
    by_lambda = events_of(record({}, new), LOCKOUT)
    printed = record({}, new)
    printed["dynamodb"]["ApproximateCreationDateTime"] = "2026-09-21T16:13:30.750000+02:00"
    assert events_of(printed, LOCKOUT) == by_lambda
