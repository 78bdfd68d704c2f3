"""The verify-state table in DynamoDB: one conditional write per step of a decision (`rules`), one consistent read for
listing codes. Nothing here decides anything.

A write carries its decision's id (rules.py), so `aws.call` may send it twice: if the first attempt landed and
its answer was lost, the second is refused with the item the first one wrote, and `rules` reads that as done.
Failures fail closed: a 503 and nothing accepted, saying honestly whether the write may have landed.

Three Regions (StateRegions, a global table in multi-Region strong consistency: docs/operations.md). Each write
records the Region that made it (`written_in`), so that of the three replicas' streams, which all carry every
write, only the writer's Region tells its events (events/bus.py). A write that another Region's write to the same
item raced is refused whole with ReplicatedWriteConflictException, which DynamoDB says may be retried: it is sent
again, unchanged, while the request has time for an attempt, and DynamoDB evaluates its condition again against the
item as the other write left it. So a code the other write accepted is refused here as used (the decision's id and
condition are the same as for any retry), and nothing is accepted twice. Out of time: a 503 that accepted nothing.
"""

import random
import re
import time
from collections.abc import Callable
from functools import cache, partial
from typing import Any

from msgspec.structs import replace

from otp_api import aws
from otp_api.errors import ApiError, StateMisconfigured, StateUnavailable
from otp_api.observability import count_for_alarm, logger
from otp_api.settings import get_verify_settings, writer_region
from otp_api.state.conditions import Item, Value, read_item
from otp_api.state.rules import Store, Write, Written

REFUSED = frozenset({"ConditionalCheckFailedException"})
# Amazon DynamoDB API Reference, UpdateItem, Errors: "The request was rejected because one or more items in the
# request are being modified by a request in another Region" (an MRSC global table); the SDKs mark it retryable.
CONFLICT = "ReplicatedWriteConflictException"
WRITTEN_IN = "written_in"  # the Region whose write this item is (three Regions only)
CONFLICT_PAUSE = (0.01, 0.05)  # seconds, the first pause after a conflict (doubled at each one after)
# Answers that say the table is not this API's (DynamoDB API Reference, UpdateItem and GetItem errors): a key schema
# other than `pk`, a string (ValidationException, "The provided key element does not match the schema"), or no table
# of that name (ResourceNotFoundException). No retry passes: a configuration error, not a 503 to try again.
MISCONFIGURED = frozenset({"ValidationException", "ResourceNotFoundException"})
MISCONFIGURED_MESSAGE = (
    "the verify-state table is misconfigured: it refused this API's request (its key must be pk, a string; "
    "VerifyStateTableName must name a table this API made); no code was accepted"
)
NOT_ACCEPTED = "verification state is unavailable; no code was accepted, try again"
CONFLICTED = (
    "verification state was being written from another Region for as long as this request could wait; no code was "
    "accepted, try again"
)
UNKNOWN = (
    "verification state did not answer in time; the code may have been accepted: treat it as refused and ask for "
    "the next code (verifying this one again cannot tell: a replay answers already_used too)"
)


@cache
def _client() -> Any:
    return aws.client("dynamodb")


PLACEHOLDER = re.compile(r":\w+")  # an expression's value placeholders (compiled at import: not on a first request)
WARM_UP_KEY = {"pk": {"S": "warm-up"}}  # the state items' keys are SHA-256 hex: no item has this one


def connect() -> Callable[[], Any]:
    """Create the client now (at init) rather than on the first request; answer a cheap call that opens its
    connection (a GetItem of an item that cannot exist, which the role may make)."""
    return partial(_client().get_item, TableName=get_verify_settings().table, Key=WARM_UP_KEY)


def _unavailable(failure: aws.AwsFailure) -> ApiError:
    if failure.code in MISCONFIGURED:
        return _misconfigured(failure)
    return StateUnavailable(UNKNOWN if failure.maybe_done else NOT_ACCEPTED)


def _misconfigured(failure: aws.AwsFailure) -> StateMisconfigured:
    """Say it where an operator looks: an error log line and the metric StateTableMisconfiguredAlarm watches."""
    table = get_verify_settings().table
    logger.error("the verify-state table is misconfigured", extra={"error_code": failure.code, "table": table})
    count_for_alarm("StateTableMisconfigured")
    return StateMisconfigured(MISCONFIGURED_MESSAGE)


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, set):  # a number set (ADD to one takes a set)
        return {"NS": [str(number) for number in sorted(value)]}
    return {"S": value} if isinstance(value, str) else {"N": str(value)}


def _update_expression(write: Write) -> str:
    clauses = ["SET " + ", ".join(f"{name} = {value.text()}" for name, value in write.sets.items())]
    if write.adds:
        clauses.append("ADD " + ", ".join(f"{name} {value.text()}" for name, value in write.adds.items()))
    if write.removes:
        clauses.append("REMOVE " + ", ".join(write.removes))
    return " ".join(clauses)


def _from_here(change: Write) -> Write:
    """`change`, recording the Region that makes it when the state has three (nothing in one Region)."""
    region = writer_region(get_verify_settings().state_regions)
    if region is None:
        return change
    written_in = Value(f":{WRITTEN_IN}")
    sets = {**change.sets, WRITTEN_IN: written_in}
    return replace(change, sets=sets, values={**change.values, written_in.placeholder: region})


def update_item(pk: str, change: Write) -> dict[str, Any]:
    """The UpdateItem request that makes `change` to the item `pk` (tests/handler/test_golden_writes.py pins them)."""
    change = _from_here(change)
    update, condition = _update_expression(change), change.condition.text()
    # DynamoDB refuses values that no expression uses: send only those used.
    used = set(PLACEHOLDER.findall(f"{update} {condition}"))
    values = {name: _typed(value) for name, value in change.values.items() if name in used}
    return {
        "TableName": get_verify_settings().table,
        "Key": {"pk": {"S": pk}},
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ReturnValues": change.returns,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def write(pk: str, change: Write) -> Written:
    """Make `change` to the item `pk`, or learn that its condition refused it (and the item as it was)."""
    from botocore.exceptions import ClientError

    request, conflicts, maybe_done = update_item(pk, change), 0, False
    while True:
        try:
            answer = aws.call(_client().update_item, final=REFUSED | {CONFLICT}, **request)
            _conflicted(conflicts, "written")
            return Written(applied=True, item=read_item(answer.get("Attributes", {})))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != CONFLICT:  # the condition refused it, with the item
                _conflicted(conflicts, "refused")
                return Written(applied=False, item=read_item(exc.response.get("Item", {})))
            conflicts, maybe_done = conflicts + 1, maybe_done or getattr(exc, "maybe_done", False)
        except aws.AwsFailure as failure:
            raise _unavailable(aws.AwsFailure(failure.code, maybe_done or failure.maybe_done)) from None
        pause = min(random.uniform(*CONFLICT_PAUSE) * 2 ** (conflicts - 1), 0.5)
        if aws.time_left() - pause < aws.ATTEMPT_SECONDS:  # no time for another whole attempt: accept nothing
            _conflicted(conflicts, "out of time")
            raise StateUnavailable(UNKNOWN if maybe_done else CONFLICTED)
        time.sleep(pause)


def _conflicted(conflicts: int, outcome: str) -> None:
    """A write that other Regions' writes raced: how often, and how it ended (a log line, no item or value)."""
    if conflicts:
        logger.info("replicated write conflicts", extra={"conflicts": conflicts, "outcome": outcome})


def read(pk: str) -> Item:
    """The item as it is now (one consistent read), for listing codes."""
    request: dict[str, Any] = {
        "TableName": get_verify_settings().table,
        "Key": {"pk": {"S": pk}},
        "ConsistentRead": True,
    }
    try:
        return read_item(aws.call(_client().get_item, **request).get("Item", {}))
    except aws.AwsFailure as failure:
        raise _misconfigured(failure) if failure.code in MISCONFIGURED else StateUnavailable(NOT_ACCEPTED) from None


STORE = Store(write=write, read=read)
