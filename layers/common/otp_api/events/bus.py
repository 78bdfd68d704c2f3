"""Send the events of a batch of stream records to EventBridge (PutEvents, ten entries a call), and say which
record to start again from when some could not be sent.

Lambda's partial batch response for streams: `batchItemFailures` names the sequence number of the first record
whose events were not all delivered; Lambda retries the batch from that record (the records before it are done),
bisecting and at most as often as the template's event source mapping says, then hands the batch to the failure
queue. PutEvents answers 200 even when some entries failed: `FailedEntryCount` says how many, and each failed
entry of `Entries` carries an `ErrorCode` (Amazon EventBridge API Reference, PutEvents). An entry sent again is
the same event with the same `event_id`: delivery is at least once, and consumers deduplicate by it.

Each record must come from the verify-state table's own stream, of view type NEW_AND_OLD_IMAGES: the events are
read from the item as it was and as it is (changes.py), so a NEW_IMAGE stream would lose some (Lockout Lifted) and
invent others (TOTP Drift Changed), and another table's stream would tell of writes this API never made. Such a
record is refused loudly (an error log line and the EventsStreamMisconfigured metric, which an alarm watches) and
reported failed like an unreadable one: Lambda retries, then parks its place in the failure queue. Nothing is
invented, nothing silently skipped.

Three Regions (StateRegions): every replica's stream carries every write, and each Region's events function reads
its own. Each tells only the writes its own Region made (the item's `written_in`, state/table.py), so each event
is put on one bus in all, the writer's, with the id it would have anywhere (changes.py). An item without a writer
(none is written so; an item copied in by hand) is told by the first Region named.
"""

import itertools
from functools import cache
from typing import Any

import msgspec

from otp_api import aws
from otp_api.events.catalogue import SOURCE
from otp_api.events.changes import Event, events_of
from otp_api.observability import count_for_alarm, logger
from otp_api.settings import get_event_settings, own_region, replica_regions
from otp_api.state.table import WRITTEN_IN

MAX_ENTRIES = 10  # PutEvents takes at most ten entries a call
VIEW_TYPE = "NEW_AND_OLD_IMAGES"  # template.yaml, VerifyStateTable's StreamSpecification


@cache
def _client() -> Any:
    return aws.client("events")


def connect() -> None:
    """Create the client now (at init) rather than on the first batch."""
    _client()


def entry(event: Event, bus: str) -> dict[str, Any]:
    """The PutEvents entry of an event."""
    return {
        "Source": SOURCE,
        "DetailType": event.detail_type,
        "Detail": msgspec.json.encode(event.detail).decode(),
        "Time": event.when,
        "EventBusName": bus,
    }


def _first_undelivered(chunk: list[tuple[str, dict[str, Any]]]) -> str | None:
    """Send one PutEvents call; the sequence number of the record of its first entry not delivered, if any."""
    try:
        answer = aws.call(_client().put_events, Entries=[sent for _, sent in chunk])
    except aws.AwsFailure as failure:
        logger.warning("events not delivered", extra={"error_code": failure.code, "entries": len(chunk)})
        return chunk[0][0]
    if not answer.get("FailedEntryCount"):
        return None
    results = answer.get("Entries", [])
    codes = [result.get("ErrorCode") for result in results]
    logger.warning(
        "events not delivered", extra={"error_code": next(filter(None, codes), ""), "entries": sum(map(bool, codes))}
    )
    failed = [sequence for (sequence, _), code in zip(chunk, codes, strict=False) if code]
    return failed[0] if failed else chunk[0][0]


def table_of(stream_arn: str) -> str:
    """The table a stream belongs to, from the stream's ARN (arn:<partition>:dynamodb:<region>:<account>:table/<table
    name>/stream/<label>: DynamoDB's resource type `stream`, Service Authorization Reference); "" if not one."""
    resource = stream_arn.split(":", 5)[5] if stream_arn.count(":") >= 5 else ""
    kind, _, rest = resource.partition("/")
    table, _, stream = rest.partition("/stream/")
    return table if kind == "table" and stream else ""


def misread(record: dict[str, Any], table: str) -> dict[str, str] | None:
    """Why a record is not one this function may read (another table's stream, or not NEW_AND_OLD_IMAGES), or None.
    Lambda gives each DynamoDB record the stream's `StreamViewType`; a MODIFY without `OldImage` is a NEW_IMAGE
    stream's record too, whatever it says."""
    change = record.get("dynamodb", {})
    source = table_of(str(record.get("eventSourceARN", "")))
    if source != table:
        return {"reason": "another table's stream", "expected_table": table, "source_table": source}
    view = change.get("StreamViewType", VIEW_TYPE)
    if view != VIEW_TYPE or (record.get("eventName") == "MODIFY" and "OldImage" not in change):
        return {"reason": f"a stream of view type {view} without old images", "expected_view_type": VIEW_TYPE}
    return None


def told_elsewhere(record: dict[str, Any], state_regions: str) -> bool:
    """Whether another Region's events function tells this record's events: its write was made there."""
    if not state_regions:
        return False
    writer = record.get("dynamodb", {}).get("NewImage", {}).get(WRITTEN_IN, {}).get("S")
    return (writer or replica_regions(state_regions)[0]) != own_region()


def publish(records: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Put the events of `records` (a Lambda DynamoDB stream batch) on the bus; Lambda's partial batch response."""
    settings = get_event_settings()
    pending: list[tuple[str, dict[str, Any]]] = []  # (the record's sequence number, its entry), in stream order
    unreadable = None
    for record in records:
        sequence = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
        if (why := misread(record, settings.table)) is not None:  # a misconfiguration: refused, retried, parked
            logger.error("stream record refused: not the verify-state table's NEW_AND_OLD_IMAGES stream", extra=why)
            count_for_alarm("EventsStreamMisconfigured")
            unreadable = sequence
            break
        if told_elsewhere(record, settings.state_regions):
            continue
        try:
            events = events_of(record, settings)
        except (KeyError, TypeError, ValueError) as exc:  # never seen: let Lambda retry, bisect, then park it
            logger.error("stream record not understood", extra={"error_type": type(exc).__name__})
            unreadable = sequence
            break
        pending += [(sequence, entry(event, settings.event_bus)) for event in events]
    for chunk in itertools.batched(pending, MAX_ENTRIES, strict=False):
        if (failed := _first_undelivered(list(chunk))) is not None:
            return {"batchItemFailures": [{"itemIdentifier": failed}]}
    return {"batchItemFailures": [{"itemIdentifier": unreadable}] if unreadable is not None else []}
