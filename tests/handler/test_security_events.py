"""Security events through the path they take deployed, on moto: the handler writes, DynamoDB's stream records
the committed changes (moto's DynamoDB Streams, read with GetRecords), the mapping delivers them as the template
says (devserver/streams.py: Lambda's record shape, FilterCriteria, batches, retries from the first failure), the
events function puts them on the default bus (moto's EventBridge), and a rule sends them to an SQS queue, where the
test reads them back. Each scenario produces exactly the documented events, once each, their details valid against
docs/events.schema.json; refused writes produce none; replays produce no new ids; PutEvents' partial failures are
retried from the record that failed; and verify's own request path makes no call for any of it."""

import json
import threading

import jsonschema
import pytest
import time_machine
from botocore.config import Config
from support import ROOT, TABLE, FakeContext, call, handler_module, independent_code, independent_hotp

from devserver.streams import Mapping, StreamReader
from otp_api import aws
from otp_api.events import bus
from tooling import template

NOW = 1_790_000_010.25
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 4226's "12345678901234567890"
SCHEMAS = json.loads((ROOT / "docs" / "events.schema.json").read_text())


class Bus:
    """What reaches the default bus from source otp-api, read back through a rule and an SQS queue."""

    def __init__(self, aws_clients) -> None:
        import boto3

        self.sqs, events = boto3.client("sqs", region_name="eu-west-1"), boto3.client("events", region_name="eu-west-1")
        self.queue = self.sqs.create_queue(QueueName="security-events")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all-otp-api", EventPattern=json.dumps({"source": ["otp-api"]}))
        events.put_targets(Rule="all-otp-api", Targets=[{"Id": "queue", "Arn": arn}])

    def received(self) -> list[dict]:
        found = []
        while messages := self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return found


class Stream:
    """The verify-state table's stream as the template's mapping delivers it to the events function."""

    def __init__(self, aws_clients) -> None:
        import boto3

        # botocore 1.44 sends DynamoDB Streams calls to an account endpoint moto 5.2 does not answer
        streams = boto3.client(
            "dynamodbstreams", region_name="eu-west-1", config=Config(account_id_endpoint_mode="disabled")
        )
        arn = aws_clients["dynamodb"].describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        self.reader = StreamReader(streams, arn)
        (mapping,) = template.load().stream_mappings
        self.mapping = Mapping(mapping)
        self.records: list[dict] = []  # every record read, for replays

    def deliver(self) -> None:
        records = self.reader.read()
        self.records += records
        self.mapping.feed(records)
        self.mapping.deliver(events_function)


def events_function(event: dict) -> dict:
    return handler_module("events").lambda_handler(event, FakeContext(function_name="otp-api-events"))


@pytest.fixture
def events(aws):
    """`events()`: the events the requests since the last call produced, as the bus's rule delivered them."""
    stream, received = Stream(aws), Bus(aws)

    def published() -> list[dict]:
        stream.deliver()
        return received.received()

    published.stream = stream  # type: ignore[attr-defined]
    return published


def otp(moment: float, **params) -> dict:
    with time_machine.travel(moment, tick=False):
        status, _, body = call("otp", params)
    assert status in (200, 429), body
    return body


def told(events: list[dict]) -> list[tuple[str, dict]]:
    """Each event's detail-type and detail, checked against its schema and the envelope's source and time."""
    found = []
    for event in events:
        assert event["source"] == "otp-api"
        detail = event["detail"]
        jsonschema.validate(detail, SCHEMAS["detail-types"][event["detail-type"]])
        assert event["time"] == detail["time"]
        found.append((event["detail-type"], detail))
    return found


def fields(events: list[tuple[str, dict]], *names: str) -> list[tuple]:
    return [(kind, *(detail.get(name) for name in names)) for kind, detail in events]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def sealed_for(subject: str) -> tuple[str, dict]:
    """A new TOTP key sealed for `subject`: its secret, and what names it in a request."""
    made = otp(NOW, type="time_based", action="generate", seal=True, subject=subject, qrcode="none")
    return made["secret"], {"type": "time_based", "sealed_secret": made["sealed_secret"], "subject": subject}


# --- each scenario, its events ---------------------------------------------------------------------------------


def test_a_lockout_begins_once_and_unlock_lifts_it(events):
    secret, key = sealed_for("user-1")
    code = independent_code(secret, NOW)
    assert otp(NOW, action="verify", code=code, **key)["valid"] is True
    for _ in range(4):
        otp(NOW, action="verify", code=wrong(code), **key)
    assert events() == []  # an accepted code and four failures: no event
    otp(NOW, action="verify", code=wrong(code), **key)  # the fifth locks
    otp(NOW + 1, action="verify", code=independent_code(secret, NOW + 30), **key)  # refused while locked: 429
    began = told(events())
    assert fields(began, "subject", "until", "failures", "time") == [
        ("Lockout Began", "user-1", "2026-09-21T14:28:31Z", 5, "2026-09-21T14:13:30Z")
    ]
    assert otp(NOW + 2, action="unlock", **key) == {"unlocked": True}
    assert otp(NOW + 3, action="unlock", **key) == {"unlocked": False}  # nothing left to lift
    lifted = told(events())
    assert fields(lifted, "subject", "lock") == [("Lockout Lifted", "user-1", "window")]
    assert lifted[0][1]["state_id"] == began[0][1]["state_id"]  # the same key's state, named opaquely


def test_the_attempt_cap_locks_until_unlock_and_tells_it_once(events, verify_settings):
    verify_settings(MAX_CONSECUTIVE_FAILURES="3")
    secret, key = sealed_for("user-2")
    for moment in (NOW, NOW + 1000, NOW + 2000):  # slow guesses: never five in a window
        otp(moment, action="verify", code=wrong(independent_code(secret, moment)), **key)
    assert fields(told(events()), "subject", "failures") == [("Locked Until Unlock", "user-2", 3)]
    otp(NOW + 3000, action="verify", code=independent_code(secret, NOW + 3000), **key)  # 429: no write, no event
    assert otp(NOW + 3001, action="unlock", **key) == {"unlocked": True}
    assert fields(told(events()), "lock") == [("Lockout Lifted", "until_unlock")]


def test_recovery_codes_used_then_used_up(events):
    made = otp(NOW, type="recovery_codes", action="generate", count=2, subject="user-3")
    codes = {"type": "recovery_codes", "sealed_codes": made["sealed_codes"], "subject": "user-3"}
    assert otp(NOW, action="verify", code=made["codes"][0], **codes)["remaining"] == 1
    assert fields(told(events()), "remaining", "count", "subject") == [("Recovery Code Used", 1, 2, "user-3")]
    otp(NOW, action="verify", code=made["codes"][0], **codes)  # a replay: refused, counted as a failure
    assert events() == []
    assert otp(NOW + 1, action="verify", code=made["codes"][1], **codes)["remaining"] == 0
    assert fields(told(events()), "remaining", "count") == [
        ("Recovery Code Used", 0, 2),
        ("Recovery Codes Used Up", None, 2),
    ]


def test_a_revocation_and_each_code_tried_after_it(events):
    key = {"type": "counter_based", "secret": SECRET}
    assert otp(NOW, action="revoke", **key) == {"revoked": True}
    assert otp(NOW + 1, action="revoke", **key) == {"revoked": False}  # refused: no change, no event
    assert otp(NOW + 2, action="unlock", **key) == {"unlocked": False, "reason": "revoked"}  # no try: no code
    assert fields(told(events()), "subject") == [("Key Revoked", None)]
    for moment in (NOW + 3, NOW + 4):
        assert otp(moment, action="verify", code=independent_hotp(SECRET, 0), **key)["reason"] == "revoked"
    assert fields(told(events()), "tries") == [("Revoked Key Tried", 1), ("Revoked Key Tried", 2)]


def test_an_hotp_resync_and_not_a_verify(events):
    key = {"type": "counter_based", "secret": SECRET}
    assert otp(NOW, action="verify", code=independent_hotp(SECRET, 3), **key)["valid"] is True  # look-ahead
    assert events() == []
    resync = otp(NOW, action="resync", code=independent_hotp(SECRET, 40), next_code=independent_hotp(SECRET, 41), **key)
    assert resync["valid"] is True
    assert fields(told(events()), "next_counter") == [("HOTP Resync", 42)]


def test_a_totp_drift_learnt_by_resync_and_not_by_a_step(events):
    key = {"type": "time_based", "secret": SECRET}
    assert otp(NOW, action="verify", code=independent_code(SECRET, NOW + 30), **key)["valid"] is True  # +1 step
    assert events() == []  # a step of drift, as RFC 6238 allows every code: no event
    pair = {"code": independent_code(SECRET, NOW + 300 + 120), "next_code": independent_code(SECRET, NOW + 300 + 150)}
    assert otp(NOW + 300, action="resync", **pair, **key)["drift"] == 5
    assert fields(told(events()), "drift", "previous_drift", "resync") == [("TOTP Drift Changed", 5, 1, True)]
    assert otp(NOW + 600, action="verify", code=independent_code(SECRET, NOW + 600 + 150), **key)["valid"] is True
    assert events() == []  # verified at the learnt drift: unchanged


def test_an_expiry_by_ttl_tells_nothing(events, aws):
    key = {"type": "time_based", "secret": SECRET}
    otp(NOW, action="verify", code=independent_code(SECRET, NOW), **key)
    (item,) = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    aws["dynamodb"].delete_item(TableName=TABLE, Key={"pk": item["pk"]})  # as DynamoDB's TTL deletes it
    assert events() == []
    # The template's filter drops the REMOVE before the function; the function itself tells nothing of one either
    # (a TTL deletion as Lambda delivers it: userIdentity names DynamoDB).
    (removal,) = [record for record in events.stream.records if record["eventName"] == "REMOVE"]
    ttl = {**removal, "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}
    assert events_function({"Records": [ttl]}) == {"batchItemFailures": []}


# --- at least once, deduplicable, nothing lost -----------------------------------------------------------------


def _every_scenario(events) -> list[dict]:
    secret, key = sealed_for("user-9")
    for _ in range(5):
        otp(NOW, action="verify", code=wrong(independent_code(secret, NOW)), **key)
    otp(NOW + 1, action="unlock", **key)
    otp(NOW + 2, action="revoke", **key)
    otp(NOW + 3, action="verify", code=independent_code(secret, NOW + 3), **key)
    made = otp(NOW, type="recovery_codes", action="generate", count=1)
    otp(NOW, type="recovery_codes", action="verify", code=made["codes"][0], sealed_codes=made["sealed_codes"])
    return events()


def test_replays_of_the_stream_produce_no_new_ids(events):
    first = _every_scenario(events)
    ids = [event["detail"]["event_id"] for event in first]
    assert len(ids) == len(set(ids)) == 6
    # Read again from the stream's start, each record under another id (as another reading, or a table's
    # replica in another region, would give it): the same events, the same ids.
    again = Mapping(events.stream.mapping.mapping)
    again.feed([{**record, "eventID": f"replayed-{n}"} for n, record in enumerate(events.stream.records)])
    again.deliver(events_function)
    second = events()  # (no new writes: what the replay delivered)
    assert sorted(event["detail"]["event_id"] for event in second) == sorted(ids)
    assert [event["detail"] for event in second] == [event["detail"] for event in first]


def test_putevents_partial_failures_are_retried_from_the_record_that_failed(events, monkeypatch):
    # PutEvents answers 200 with FailedEntryCount and an ErrorCode on each failed entry (Amazon EventBridge API
    # Reference, PutEvents: "Entries ... each entry in this array has an ErrorCode and ErrorMessage if it failed").
    client, real = bus._client(), bus._client().put_events
    refused: list[str] = []

    def throttled_once(**request):
        if refused:
            return real(**request)
        entries = request["Entries"]
        refused.append(entries[-1]["DetailType"])
        answer = real(Entries=entries[:-1]) if len(entries) > 1 else {"FailedEntryCount": 0, "Entries": []}
        failed = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
        return {"FailedEntryCount": 1, "Entries": [*answer["Entries"], failed]}

    monkeypatch.setattr(client, "put_events", throttled_once)
    delivered = _every_scenario(events)  # the batch fails at its last event: all but it delivered
    assert refused == ["Recovery Codes Used Up"] and len(delivered) == 5
    delivered += events()  # Lambda's retry, from the failed event's record
    kinds = [event["detail-type"] for event in delivered]
    # Every event arrived (none lost); the failed record's other event twice, under one id (at least once).
    assert len({event["detail"]["event_id"] for event in delivered}) == 6
    assert kinds.count("Recovery Codes Used Up") == 1 and kinds.count("Recovery Code Used") == 2
    assert len({event["detail"]["event_id"] for event in delivered if event["detail-type"].endswith("Code Used")}) == 1


def test_a_putevents_call_that_fails_whole_reports_the_first_record():
    from botocore.stub import Stubber

    record = {
        "eventName": "MODIFY",
        "eventSourceARN": f"arn:aws:dynamodb:eu-west-1:123456789012:table/{TABLE}/stream/2026-01-02T03:04:05.678",
        "dynamodb": {
            "ApproximateCreationDateTime": NOW,
            "SequenceNumber": "111",
            "Keys": {"pk": {"S": "p"}},
            "OldImage": {"pk": {"S": "p"}},
            "NewImage": {"pk": {"S": "p"}, "revoked_at": {"N": "1790000010"}, "decided_by": {"S": "d"}},
        },
    }
    quiet = {**record, "dynamodb": {**record["dynamodb"], "SequenceNumber": "110", "NewImage": {"pk": {"S": "p"}}}}
    with Stubber(bus._client()) as stub:
        for _ in range(aws.ATTEMPTS):  # throttled, then throttled again: aws.call tries twice
            stub.add_client_error("put_events", "ThrottlingException", http_status_code=400)
        assert events_function({"Records": [quiet, record]}) == {"batchItemFailures": [{"itemIdentifier": "111"}]}
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]})
        assert events_function({"Records": [record]}) == {"batchItemFailures": []}


# --- the request path pays nothing ------------------------------------------------------------------------------


def test_verify_makes_no_call_for_events(monkeypatch):
    # Every AWS API call made in this process while the handler runs (botocore's one door for every client, as
    # the golden writes record DynamoDB's): a verify is its one UpdateItem (a replay two), nothing of EventBridge.
    from botocore.client import BaseClient

    made: list[str] = []
    original, this_thread = BaseClient._make_api_call, threading.get_ident()

    def recorded(self, operation, request):
        if threading.get_ident() == this_thread:  # the handler's calls, not a stream reader's in another thread
            made.append(f"{self.meta.service_model.service_name}:{operation}")
        return original(self, operation, request)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    key = {"type": "time_based", "secret": SECRET}
    code = independent_code(SECRET, NOW)
    otp(NOW, action="verify", code=code, **key)
    assert made == ["dynamodb:UpdateItem"]
    otp(NOW, action="verify", code=code, **key)
    assert made == ["dynamodb:UpdateItem"] * 3  # a replay: refused, then its failure counted


def test_the_sample_stream_event_tells_a_lockout_and_its_lifting(events, verify_settings):
    # events/state-stream.json: a batch as Lambda hands it to the function (make invoke FUNCTION=EventsFunction
    # EVENT=events/state-stream.json, or sam local invoke -e), a failure that locks and the unlock after it, from the
    # local server's table's stream (devserver/stack.py names it)
    from support import load_event

    verify_settings(VERIFY_STATE_TABLE_NAME="otp-api-local-verifystatetable")
    assert events_function(load_event("state-stream")) == {"batchItemFailures": []}
    assert fields(told(events()), "subject", "until", "lock") == [
        ("Lockout Began", "user-7f3a", "2026-09-21T14:28:31Z", None),
        ("Lockout Lifted", "user-7f3a", None, "window"),
    ]


def test_a_persons_lock_unlock_and_revocation(events, verify_settings):
    # Two keys of one person share one budget: the third failure, on either, locks the person's codes.
    verify_settings(MAX_CONSECUTIVE_FAILURES="3")
    first, key = sealed_for("user-8")
    second, other = sealed_for("user-8")
    codes = otp(NOW, type="recovery_codes", action="generate", count=2, subject="user-8")
    for moment, (secret, named) in ((NOW, (first, key)), (NOW + 1000, (second, other)), (NOW + 2000, (first, key))):
        otp(moment, action="verify", code=wrong(independent_code(secret, moment)), **named)
    assert fields(told(events()), "subject", "failures", "factors") == [("Locked Until Unlock", "user-8", 3, "codes")]
    redeemed = {"type": "recovery_codes", "sealed_codes": codes["sealed_codes"], "subject": "user-8"}
    assert otp(NOW + 2001, action="verify", code=codes["codes"][0], **redeemed)["valid"] is True  # the way back
    assert fields(told(events()), "subject") == [("Recovery Code Used", "user-8")]
    assert otp(NOW + 2002, action="unlock", subject="user-8") == {"unlocked": True}
    assert fields(told(events()), "lock", "factors") == [("Lockout Lifted", "until_unlock", "codes")]
    assert list(otp(NOW + 2003, action="revoke", subject="user-8")) == ["revoked_before"]
    assert fields(told(events()), "subject", "revoked_before") == [("Person Revoked", "user-8", "2026-09-21T14:46:53Z")]
    assert otp(NOW + 2004, action="verify", code=independent_code(first, NOW + 2004), **key)["reason"] == "revoked"
    assert fields(told(events()), "tries") == [("Revoked Key Tried", 1)]
