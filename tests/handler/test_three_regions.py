"""Three Regions (StateRegions) through the handlers: each write records the Region that made it, a write raced by
another Region's (ReplicatedWriteConflictException) is sent again within the request's time and decided once, and
each Region's events function tells only its own Region's writes. The local server races real requests in three
Regions (tests/local/test_make_dev_regions.py); this is what moto cannot answer: DynamoDB's conflict.

DynamoDB's answer, as the stubs give it (Amazon DynamoDB API Reference, UpdateItem, Errors):
ReplicatedWriteConflictException, HTTP status 400, "The request was rejected because one or more items in the
request are being modified by a request in another Region"; the write did not happen, and the SDKs class it as
retryable. The DynamoDB developer guide (Multi-Region strong consistency) says such a write may be retried.
"""

import time

import pytest
import time_machine
from botocore.exceptions import ClientError
from support import TABLE, FakeContext, event_with, independent_code, invoke, verify_at
from test_security_events import Bus, Stream, events_function

from otp_api.state import table

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_790_000_010.0
REGIONS = "eu-west-1,eu-west-2,witness:eu-west-3"  # the tests run in eu-west-1 (tests/conftest.py)
CONFLICT = {
    "Error": {
        "Code": "ReplicatedWriteConflictException",
        "Message": "The request was rejected because one or more items in the request are being modified by a "
        "request in another Region.",
    },
    "ResponseMetadata": {"HTTPStatusCode": 400},
}


@pytest.fixture
def three_regions(verify_settings):
    verify_settings(STATE_REGIONS=REGIONS)


def conflicting(monkeypatch, times: int, meanwhile=lambda: None) -> list[dict]:
    """The state table's UpdateItem answers a conflict `times` times (after `meanwhile`, another Region's request,
    the first time), then as DynamoDB (moto) does; the requests it was sent."""
    client, sent = table._client(), []
    update_item = client.update_item

    def raced(**request):
        sent.append(request)
        if len(sent) == 1:
            monkeypatch.setattr(client, "update_item", update_item)  # the other Region's request goes through
            meanwhile()
            monkeypatch.setattr(client, "update_item", raced)
        if len(sent) <= times:
            raise ClientError(CONFLICT, "UpdateItem")
        return update_item(**request)

    monkeypatch.setattr(client, "update_item", raced)
    return sent


def verify(code: str, **context):
    with time_machine.travel(NOW, tick=False):
        event = event_with(
            "otp-verify", body={"type": "time_based", "action": "verify", "secret": SECRET, "code": code}
        )
        return invoke("otp", event, FakeContext(**context))


def item(aws) -> dict:
    (found,) = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    return found


def test_each_write_records_the_region_that_made_it(aws, three_regions):
    assert verify_at(NOW, secret=SECRET, code=independent_code(SECRET, NOW))[2]["valid"] is True
    assert item(aws)["written_in"] == {"S": "eu-west-1"}


def test_in_one_region_nothing_records_a_region(aws):
    assert verify_at(NOW, secret=SECRET, code=independent_code(SECRET, NOW))[2]["valid"] is True
    assert "written_in" not in item(aws)


def test_a_conflict_is_sent_again_and_decided_once(aws, three_regions, monkeypatch):
    sent = conflicting(monkeypatch, times=2)
    status, _, body = verify(independent_code(SECRET, NOW))
    assert (status, body["valid"]) == (200, True)
    assert len(sent) == 3 and sent[0] == sent[1] == sent[2]  # the same write, its condition evaluated again
    monkeypatch.undo()
    assert verify(independent_code(SECRET, NOW))[2]["reason"] == "already_used"


def test_a_code_another_region_accepted_meanwhile_is_refused_here(aws, three_regions, monkeypatch):
    code, elsewhere = independent_code(SECRET, NOW), []
    sent = conflicting(monkeypatch, times=1, meanwhile=lambda: elsewhere.append(verify(code)))
    status, _, body = verify(code)
    assert elsewhere[0][2]["valid"] is True  # the other Region's request won the race
    assert (status, body["valid"], body["reason"]) == (200, False, "already_used")  # and this one, sent again, lost
    assert len(sent) >= 2


def test_conflicts_for_the_whole_budget_answer_503_and_accept_nothing(aws, three_regions, monkeypatch):
    sent = conflicting(monkeypatch, times=10**6)
    started = time.monotonic()
    status, headers, body = verify(independent_code(SECRET, NOW), remaining_millis=5_000)
    assert time.monotonic() - started < 5.0  # answered within the invocation's time
    assert (status, body["error"], headers["Retry-After"]) == (503, "state_unavailable", "1")
    assert "another Region" in body["message"] and "no code was accepted" in body["message"]
    assert "valid" not in body and len(sent) > 1
    monkeypatch.undo()
    assert verify(independent_code(SECRET, NOW))[2]["valid"] is True  # nothing was accepted: the code still is


def test_each_regions_events_function_tells_only_its_own_regions_writes(aws, three_regions, monkeypatch):
    stream, bus = Stream(aws), Bus(aws)
    for _ in range(5):  # the fifth failure locks the key: one Lockout Began, written in eu-west-1
        verify("000000")
    monkeypatch.setenv("AWS_REGION", "eu-west-2")  # eu-west-2's events function, reading its replica's stream
    stream.deliver()
    assert bus.received() == []
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # eu-west-1's, reading the same records
    stream.mapping.feed(stream.records)
    stream.mapping.deliver(events_function)
    assert [event["detail-type"] for event in bus.received()] == ["Lockout Began"]
