"""A stack pointed at the wrong table or stream (issue 34): the OTP function and the events function say so, in
the logs and on a metric an alarm watches, rather than answer as if DynamoDB were briefly unavailable or tell
events that never happened.

- A verify-state table of another key schema, adopted by mistake: DynamoDB refuses every request with
  ValidationException, "The provided key element does not match the schema" (Amazon DynamoDB API Reference,
  UpdateItem and GetItem, `Key`: "For the primary key, you must provide all of the attributes", with the key's
  names and types; Common Errors: ValidationException, HTTP 400, "The input fails to satisfy the constraints").
  No retry can pass: a 500 `configuration_error` with no Retry-After, nothing accepted.
- The events function reads records whose `eventSourceARN` is the stream's ARN (arn:...:table/<name>/stream/<label>)
  and whose `dynamodb.StreamViewType` is the stream's view type (AWS Lambda Developer Guide, "Using AWS Lambda with
  Amazon DynamoDB": the example event). A record of another table's stream, or of a stream without old images, is
  refused: reported failed (Lambda retries, then parks it), never turned into events."""

import json

import pytest
import time_machine
from support import TABLE, FakeContext, call, handler_module, independent_code, verify_at

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_790_000_010.0
OTHER = "someone-elses-table"


def emitted(output: str, metric: str) -> int:
    """How many EMF records of `metric` (with the service dimension alone, as the alarms read it) were printed."""
    count = 0
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            record = json.loads(line)
            (directive,) = record["_aws"]["CloudWatchMetrics"]
            if [m["Name"] for m in directive["Metrics"]] == [metric]:
                assert directive["Dimensions"] == [["service"]] and record["service"] == "otp-api"
                count += 1
    return count


def errors_logged(caplog) -> list[dict]:
    """The error lines the functions logged, each as its message and its extra keys."""
    return [{"message": r.getMessage(), **vars(r)} for r in caplog.records if r.levelname == "ERROR"]


@pytest.fixture(params=["another key name", "a sort key too"])
def wrong_table(request, aws, verify_settings):
    """A table of another schema, named as the stack's verify-state table (VerifyStateTableName=<it>)."""
    schemas = {
        "another key name": ([("id", "HASH")], [("id", "S")]),
        "a sort key too": ([("pk", "HASH"), ("sk", "RANGE")], [("pk", "S"), ("sk", "S")]),
    }
    keys, attributes = schemas[request.param]
    aws["dynamodb"].create_table(
        TableName=OTHER,
        KeySchema=[{"AttributeName": name, "KeyType": kind} for name, kind in keys],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": kind} for name, kind in attributes],
        BillingMode="PAY_PER_REQUEST",
    )
    verify_settings(VERIFY_STATE_TABLE_NAME=OTHER)
    return aws["dynamodb"]


def test_a_table_of_another_schema_is_a_configuration_error_not_an_outage(wrong_table, capsys, caplog):
    # Given a stack whose VerifyStateTableName names a table of another key schema
    # When a right code is verified
    status, headers, body = verify_at(NOW, secret=SECRET, code=independent_code(SECRET, NOW))
    # Then a 500 that says the verify-state table is misconfigured: not a 503 with Retry-After that looks transient
    assert (status, body["error"]) == (500, "configuration_error")
    assert "Retry-After" not in headers
    assert "verify-state table is misconfigured" in body["message"] and "no code was accepted" in body["message"]
    assert "valid" not in body
    # And an error log line naming the table and DynamoDB's error code, and the metric the alarm watches
    output = capsys.readouterr().out
    (logged,) = errors_logged(caplog)
    assert (logged["message"], logged["error_code"], logged["table"]) == (
        "the verify-state table is misconfigured",
        "ValidationException",
        OTHER,
    )
    assert emitted(output, "StateTableMisconfigured") == 1
    # And nothing was written anywhere
    assert wrong_table.scan(TableName=OTHER)["Items"] == []
    assert wrong_table.scan(TableName=TABLE)["Items"] == []


def test_listing_codes_from_a_table_of_another_schema_is_the_same_error(wrong_table, capsys):
    # A verify without a code reads the state (GetItem) to list the codes around now: the read says the same.
    with time_machine.travel(NOW, tick=False):
        status, headers, body = call("otp", {"type": "totp", "action": "verify", "secret": SECRET})
    assert (status, body["error"], "Retry-After" in headers) == (500, "configuration_error", False)
    assert emitted(capsys.readouterr().out, "StateTableMisconfigured") == 1


def test_an_outage_is_still_a_503_that_counts_nothing(capsys):
    # The converse: a throttled table is transient (503, Retry-After: 1) and no configuration error.
    from botocore.stub import Stubber

    from otp_api.state import table

    with Stubber(table._client()) as stubber:
        for _ in range(2):
            stubber.add_client_error("update_item", "ThrottlingException", http_status_code=400)
        status, headers, body = verify_at(NOW, secret=SECRET, code=independent_code(SECRET, NOW))
    assert (status, body["error"], headers["Retry-After"]) == (503, "state_unavailable", "1")
    assert emitted(capsys.readouterr().out, "StateTableMisconfigured") == 0


# --- the events function: the records' source and view type ----------------------------------------------------


def stream_of(table: str) -> str:
    return f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/stream/2026-01-02T03:04:05.678"


def revoked(sequence: str, source: str, view: str = "NEW_AND_OLD_IMAGES", old: bool = True) -> dict:
    """A MODIFY that revoked a key, as Lambda hands it over (the stream's ARN and view type with each record)."""
    change = {
        "ApproximateCreationDateTime": NOW,
        "SequenceNumber": sequence,
        "Keys": {"pk": {"S": "p"}},
        "NewImage": {"pk": {"S": "p"}, "revoked_at": {"N": "1790000010"}, "decided_by": {"S": "d"}},
        "StreamViewType": view,
    }
    if old:
        change["OldImage"] = {"pk": {"S": "p"}}
    return {"eventName": "MODIFY", "eventSourceARN": source, "dynamodb": change}


def events_function(records: list[dict]) -> dict:
    return handler_module("events").lambda_handler({"Records": records}, FakeContext(function_name="otp-api-events"))


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (revoked("112", stream_of(OTHER)), "another table's stream"),
        (revoked("112", stream_of(TABLE + "-old")), "another table's stream"),
        (revoked("112", stream_of(TABLE), view="NEW_IMAGE", old=False), "NEW_IMAGE"),
        (revoked("112", stream_of(TABLE), view="KEYS_ONLY", old=False), "KEYS_ONLY"),
        # a MODIFY without its old image cannot be told apart from a NEW_IMAGE stream's, whatever it says
        (revoked("112", stream_of(TABLE), old=False), "without old images"),
    ],
    ids=["another table", "a table of a similar name", "NEW_IMAGE", "KEYS_ONLY", "no OldImage"],
)
def test_records_of_another_stream_are_refused_loudly_and_not_lost(record, reason, capsys, caplog):
    from botocore.stub import Stubber

    from otp_api.events import bus

    good = revoked("111", stream_of(TABLE))
    with Stubber(bus._client()) as stub:
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]})
        # Given a batch whose second record is not from the verify-state table's NEW_AND_OLD_IMAGES stream
        answer = events_function([good, record])
        stub.assert_no_pending_responses()  # the good record's one event was delivered, and nothing else
    # Then Lambda is told to start again from the refused record (then parks it), never to skip it
    assert answer == {"batchItemFailures": [{"itemIdentifier": "112"}]}
    output = capsys.readouterr().out
    (logged,) = errors_logged(caplog)
    assert logged["message"].startswith("stream record refused") and reason in json.dumps(logged, default=str)
    assert emitted(output, "EventsStreamMisconfigured") == 1


def test_the_stream_arn_names_its_table():
    from otp_api.events.bus import table_of

    assert table_of(stream_of(TABLE)) == TABLE
    assert table_of(f"arn:aws-cn:dynamodb:cn-north-1:123456789012:table/{TABLE}/stream/x") == TABLE
    for arn in ("", "arn:aws:dynamodb:eu-west-1:1:table/t", "arn:aws:sqs:eu-west-1:1:q", f"table/{TABLE}/stream/x"):
        assert table_of(arn) == ""
