"""The verify-state table in DynamoDB: one conditional write per step of a decision (`rules`), one consistent read for
listing codes. Nothing here decides anything.

A write carries its decision's id (rules.py), so `aws.call` may send it twice: if the first attempt landed and
its answer was lost, the second is refused with the item the first one wrote, and `rules` reads that as done.
Failures fail closed: a 503 and nothing accepted, saying honestly whether the write may have landed.
"""

import re
from collections.abc import Callable
from functools import cache, partial
from typing import Any

from otp_api import aws
from otp_api.errors import ApiError, StateMisconfigured, StateUnavailable
from otp_api.observability import count_for_alarm, logger
from otp_api.settings import get_verify_settings
from otp_api.state.conditions import Item, read_item
from otp_api.state.rules import Store, Write, Written

REFUSED = frozenset({"ConditionalCheckFailedException"})
# Answers that say the table is not this API's (DynamoDB API Reference, UpdateItem and GetItem errors): a key schema
# other than `pk`, a string (ValidationException, "The provided key element does not match the schema"), or no table
# of that name (ResourceNotFoundException). No retry passes: a configuration error, not a 503 to try again.
MISCONFIGURED = frozenset({"ValidationException", "ResourceNotFoundException"})
MISCONFIGURED_MESSAGE = (
    "the verify-state table is misconfigured: it refused this API's request (its key must be pk, a string; "
    "VerifyStateTableName must name a table this API made); no code was accepted"
)
NOT_ACCEPTED = "verification state is unavailable; no code was accepted, try again"
UNKNOWN = (
    "verification state did not answer in time; the code may have been accepted: treat it as refused and ask for "
    "the next code (verifying this one again cannot tell: a replay answers already_used too)"
)


@cache
def _client() -> Any:
    return aws.client("dynamodb")


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


def update_item(pk: str, change: Write) -> dict[str, Any]:
    """The UpdateItem request that makes `change` to the item `pk` (tests/handler/test_golden_writes.py pins them)."""
    update, condition = _update_expression(change), change.condition.text()
    # DynamoDB refuses values that no expression uses: send only those used.
    used = set(re.findall(r":\w+", f"{update} {condition}"))
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

    try:
        answer = aws.call(_client().update_item, final=REFUSED, **update_item(pk, change))
        return Written(applied=True, item=read_item(answer.get("Attributes", {})))
    except ClientError as exc:  # the condition refused it: the item as it was comes with the refusal
        return Written(applied=False, item=read_item(exc.response.get("Item", {})))
    except aws.AwsFailure as failure:
        raise _unavailable(failure) from None


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
