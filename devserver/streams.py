"""A table's stream as Lambda's event source mapping reads it (template.yaml: EventsFromVerifyState), over moto:
the records in order (DynamoDB Streams' GetRecords), shaped as Lambda hands them to a function, kept or dropped by
the mapping's FilterCriteria, in batches of its BatchSize, and a batch retried from the first record the function
reports failed (ReportBatchItemFailures), at most MaximumRetryAttempts times. `make dev` and the tests read it so.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tooling.template import StreamMapping


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as botocore parses GetRecords' answer, as Lambda delivers it: the stream's ARN added, the creation
    time in epoch seconds (a number, not a timestamp)."""
    change = dict(record["dynamodb"])
    created = change["ApproximateCreationDateTime"]
    change["ApproximateCreationDateTime"] = created.timestamp() if isinstance(created, datetime) else float(created)
    return {**record, "dynamodb": change, "eventSourceARN": stream_arn}


def matches(pattern: Any, value: Any) -> bool:
    """An event filter pattern (its exact-value form: `{"eventName": ["INSERT", "MODIFY"]}`) against a record."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(key in value and matches(p, value[key]) for key, p in pattern.items())
    return value in pattern


class StreamReader:
    """Reads a table's stream from its start: `read()` answers the records written since the last call."""

    def __init__(self, streams: Any, stream_arn: str) -> None:
        self.streams, self.stream_arn = streams, stream_arn
        (shard,) = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        self._iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def read(self) -> list[dict[str, Any]]:
        answer = self.streams.get_records(ShardIterator=self._iterator)
        self._iterator = answer["NextShardIterator"]
        return [lambda_record(record, self.stream_arn) for record in answer["Records"]]


class Mapping:
    """Records to a function as the mapping gives them: `feed()` new records, `deliver(invoke)` the batches.
    `invoke` takes Lambda's event and answers the function's response; `gave_up` hears of a batch dropped after its
    retries (deployed, it would go to the failure queue)."""

    def __init__(self, mapping: StreamMapping, gave_up: Callable[[list[dict[str, Any]]], None] = lambda _: None):
        self.mapping, self.gave_up = mapping, gave_up
        self.pending: list[dict[str, Any]] = []
        self._tries = 0

    def feed(self, records: list[dict[str, Any]]) -> None:
        filters = self.mapping.filters
        self.pending += [record for record in records if not filters or any(matches(f, record) for f in filters)]

    def deliver(self, invoke: Callable[[dict[str, Any]], Any]) -> None:
        while self.pending:
            batch = self.pending[: self.mapping.batch_size]
            try:
                failures = (invoke({"Records": batch}) or {}).get("batchItemFailures") or []
            except Exception:  # the function raised: the whole batch failed
                failures = [{"itemIdentifier": batch[0]["dynamodb"]["SequenceNumber"]}]
            if not failures:
                del self.pending[: len(batch)]
                self._tries = 0
                continue
            first = min(int(failure["itemIdentifier"]) for failure in failures)
            done = [record for record in batch if int(record["dynamodb"]["SequenceNumber"]) < first]
            del self.pending[: len(done)]
            self._tries = 0 if done else self._tries + 1
            if self.mapping.retries >= 0 and self._tries > self.mapping.retries:
                self.gave_up(batch[len(done) :])
                del self.pending[: len(batch) - len(done)]
                self._tries = 0
                continue
            return  # tried again at the next delivery
