"""The verify core (state/rules.py, state/table.py): each condition is written once and read two ways, and here
DynamoDB's reading (moto's, for random items) is proved equal to the Python one; and a write whose answer is lost
after it landed is recognised by its retry, so a right code is never refused as used and a wrong one is counted once.
"""

import math

import pytest
from botocore.exceptions import ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import TABLE, independent_code, verify_at, wrong_code

from otp_api.kinds import counter_based, recovery_codes, time_based
from otp_api.settings import VerifySettings
from otp_api.state import rules, table
from otp_api.state.conditions import read_item

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_790_000_010.0
KEPT = rules.Place("", lifetime=3600)  # a key's own item that expires (TOTP's)

moments = st.integers(min_value=NOW - 2000, max_value=NOW + 2000)
items = st.fixed_dictionaries(
    {},
    optional={
        **{f"f{i}": moments for i in range(1, 6)},
        "last_failure": moments,
        "last_used": moments,
        "drift": st.integers(min_value=-12, max_value=12),
        "next_counter": st.integers(min_value=0, max_value=30),
        "decided_by": st.sampled_from(["mine", "theirs"]),
        "accepted_by": st.sampled_from(["mine", "theirs"]),
        "failures": st.integers(min_value=0, max_value=9),
        "revoked_at": moments,
        "used": st.sets(st.integers(min_value=0, max_value=4), min_size=1),  # (DynamoDB has no empty sets)
        "tried_by": st.sampled_from(["mine", "theirs"]),
    },
)


def _as_dynamodb(item: dict) -> dict:
    def typed(value):
        if isinstance(value, set):
            return {"NS": [str(number) for number in value]}
        return {"S": value} if isinstance(value, str) else {"N": str(value)}

    return {name: typed(value) for name, value in item.items()}


def _dynamodb_says(aws, item: dict, write: rules.Write) -> bool:
    """Whether DynamoDB (moto) makes `write` on `item`: its own reading of the condition."""
    aws["dynamodb"].put_item(TableName=TABLE, Item={"pk": {"S": "p"}, **_as_dynamodb(item)})
    written = table.write("p", write)
    return written.applied


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    item=items,
    now=st.floats(min_value=NOW - 100, max_value=NOW + 1000),
    limit=st.integers(min_value=1, max_value=5),
    which=st.sampled_from(["accept", "recovery", "hotp", "failure", "unlock", "revoke", "tried"]),
    replay=st.booleans(),
    offset=st.integers(min_value=-11, max_value=11),
)
def test_each_write_condition_reads_the_same_in_dynamodb_and_in_python(aws, item, now, limit, which, replay, offset):
    lockout = rules.Lockout(limit, 900, 7)
    verify = VerifySettings(TABLE, replay, limit, 900, 7, 100, True, 10, 10, 100)
    if which == "accept":
        write = rules.accept_write(time_based.progress(int(NOW // 30) * 30, verify, offset), lockout, now, "mine", KEPT)
    elif which == "hotp":
        write = rules.accept_write(counter_based.progress(offset + 11, offset + 12), lockout, now, "mine")
    elif which == "recovery":
        write = rules.accept_write(recovery_codes.progress(2, 5), lockout, now, "mine")
    elif which == "unlock":
        write = rules.unlock_write((lockout,), "mine", rules.Place("").unrevoked)
    elif which == "revoke":
        write = rules.revoke_write(now, "mine")
    elif which == "tried":
        write = rules.tried_write("mine")
    else:
        write = rules.failure_write(lockout, now, "mine", KEPT)
    expected = write.condition.holds(item, write.values)
    assert _dynamodb_says(aws, item, write) is expected


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(item=items, now=st.floats(min_value=NOW - 100, max_value=NOW + 1000), limit=st.integers(1, 5))
def test_the_lockout_read_from_an_item_is_the_condition_dynamodb_refuses_on(aws, item, now, limit):
    # A failure write is refused on a fresh decision exactly when the lockout reads the item as locked.
    lockout = rules.Lockout(limit, 900, 7)
    refused = not _dynamodb_says(
        aws,
        {k: v for k, v in item.items() if k not in ("decided_by", "revoked_at")},
        rules.failure_write(lockout, now, "x", rules.Place("", lifetime=60)),
    )
    assert refused is bool(lockout.until({k: v for k, v in item.items() if k not in ("decided_by", "revoked_at")}, now))


def test_a_lock_is_read_with_its_end_and_a_free_item_reads_zero():
    lockout = rules.Lockout(5, 900, 100)
    locked = {"f1": int(NOW) + 500, "f5": int(NOW) + 600, "last_failure": int(NOW) - 300}
    assert lockout.until(locked, NOW) == int(NOW) + 600
    assert lockout.until({}, NOW) == 0
    assert lockout.until(locked, NOW + 600) == 0  # the newest has left the window
    assert rules.Lockout(0, 900, 0).until(locked, NOW) == 0  # lockout off


def test_the_failure_queue_keeps_the_newest_n():
    lockout = rules.Lockout(3, 900, 100)
    write = rules.failure_write(lockout, NOW + 0.5, "t", rules.Place("", lifetime=60))
    assert write.sets["f1"].text() == "if_not_exists(f2, :zero)"
    assert write.sets["f3"].text() == ":leaves" and write.values[":leaves"] == math.ceil(NOW + 0.5) + 900
    assert write.values[":now"] == math.floor(NOW + 0.5)


def test_read_item_reads_numbers_strings_and_number_sets():
    assert read_item({"a": {"N": "5"}, "b": {"S": "x"}, "c": {"NS": ["1", "3"]}}) == {"a": 5, "b": "x", "c": {1, 3}}


# --- a write that landed, whose answer was lost --------------------------------------------------------------


@pytest.fixture
def answers_lost(monkeypatch):
    """`lose("landed", ...)`: the next UpdateItems, one per word: "landed" reaches DynamoDB and its answer is lost
    (a read timeout, as when DynamoDB is slow to acknowledge); "lost" times out before DynamoDB has it. aws.call
    sends a write again with the same decision id."""
    client = table._client()
    original = client.update_item
    plan: list[str] = []
    sent: list[dict] = []

    def update_item(**request):
        sent.append(request)
        fate = plan.pop(0) if plan else "answered"
        answer = original(**request) if fate != "lost" else None
        if fate != "answered":
            raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")
        return answer

    monkeypatch.setattr(client, "update_item", update_item)

    def lose(*fates: str) -> list[dict]:
        plan[:] = fates
        sent.clear()
        return sent

    return lose


def test_a_right_code_whose_write_is_acknowledged_late_is_accepted(answers_lost):
    # Before: the retry failed the condition the first attempt had just satisfied: valid false, already_used.
    sent = answers_lost("landed")
    code = independent_code(SECRET, NOW)
    status, _, body = verify_at(NOW, secret=SECRET, code=code)
    assert (status, body["valid"], body["reason"]) == (200, True, None)
    assert len(sent) == 2 and sent[0]["ExpressionAttributeValues"] == sent[1]["ExpressionAttributeValues"]
    # and it was accepted once: the same code again is a replay
    assert verify_at(NOW + 1, secret=SECRET, code=code)[2]["reason"] == "already_used"


def test_a_wrong_code_whose_write_is_acknowledged_late_is_counted_once(answers_lost):
    # Before: each wrong code counted twice, and the key locked at the third. Now the fifth locks it, not earlier.
    for attempt in range(4):
        answers_lost("landed")
        status, _, body = verify_at(NOW + attempt, secret=SECRET, code=wrong_code(SECRET, NOW))
        assert (status, body["reason"]) == (200, "no_match"), attempt
    assert verify_at(NOW + 5, secret=SECRET, code=independent_code(SECRET, NOW + 5))[2]["valid"] is True


def test_five_late_acknowledged_failures_lock_at_the_fifth(answers_lost):
    for attempt in range(5):
        answers_lost("landed")
        assert verify_at(NOW + attempt, secret=SECRET, code=wrong_code(SECRET, NOW))[0] == 200, attempt
    assert verify_at(NOW + 6, secret=SECRET, code=independent_code(SECRET, NOW + 6))[0] == 429


def test_a_write_with_every_answer_lost_is_an_honest_503(answers_lost):
    # Both attempts landed (or may have): the caller is told the outcome is unknown and how to find out.
    answers_lost("landed", "lost")
    code = independent_code(SECRET, NOW)
    status, headers, body = verify_at(NOW, secret=SECRET, code=code)
    assert (status, body["error"], headers["Retry-After"]) == (503, "state_unavailable", "1")
    assert "may have been accepted" in body["message"] and "already_used" in body["message"]
    assert verify_at(NOW + 1, secret=SECRET, code=code)[2]["reason"] == "already_used"  # as the message said


def test_a_throttled_write_says_no_code_was_accepted():
    from botocore.stub import Stubber

    with Stubber(table._client()) as stubber:
        for _ in range(2):
            stubber.add_client_error("update_item", service_error_code="ThrottlingException", http_status_code=400)
        status, _, body = verify_at(NOW, secret=SECRET, code=independent_code(SECRET, NOW))
    assert (status, body["error"]) == (503, "state_unavailable") and "no code was accepted" in body["message"]
