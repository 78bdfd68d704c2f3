"""The security events' part of the stack as CloudFormation receives it (the SAM translator's output, expand.py):
the table's stream, the events function and what it may do (PutEvents on the one bus, read the one stream, park a
batch in its queue), the event source mapping (partial batch responses, bisect, bounded retries, the failure queue,
only writes), the alarms on what could not be delivered, and the sustained-attack rule to the alarm topic. The
behaviour behind it is tested on moto in tests/handler/test_security_events.py."""

import json

import pytest
from test_stack_life import ADOPTED_STREAM, ADOPTED_TABLE, live
from test_template import of_type, transformed

BUS = "arn:aws:events:eu-west-1:123456789012:event-bus/{}"


def statements(resources: dict, role: str) -> list[dict]:
    return [s for policy in resources[role]["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_the_table_streams_every_change_as_it_was_and_as_it_is():
    (table,) = of_type(live(transformed()), "AWS::DynamoDB::Table").values()
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


@pytest.mark.parametrize(("parameters", "bus"), [({}, "default"), ({"EventBusName": "security"}, "security")])
def test_the_events_function_may_put_events_on_the_one_bus_and_read_the_one_stream(parameters, bus):
    resources = live(transformed(parameters))
    function = resources["EventsFunction"]["Properties"]
    assert function["Environment"]["Variables"]["EVENT_BUS_NAME"] == bus
    granted = statements(resources, "EventsFunctionRole")
    puts = [s for s in granted if any(a.lower().startswith("events:") for a in actions(s))]
    assert puts == [
        {"Sid": "PutEventsOnTheOneBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": BUS.format(bus)}
    ]
    by_sid = {s["Sid"]: s for s in granted}
    assert by_sid["ReadTheVerifyStateStream"]["Resource"] == {"Fn::GetAtt": ["VerifyStateTable", "StreamArn"]}
    assert actions(by_sid["ReadTheVerifyStateStream"]) == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    ]
    # ListStreams names no resource (Service Authorization Reference); it lists streams, reads no record.
    assert (actions(by_sid["ListStreams"]), by_sid["ListStreams"]["Resource"]) == (["dynamodb:ListStreams"], "*")
    assert by_sid["ParkWhatCannotBeDelivered"]["Resource"] == {"Fn::GetAtt": ["EventsFailedQueue", "Arn"]}
    assert set(by_sid) == {
        "PutEventsOnTheOneBus",
        "ReadTheVerifyStateStream",
        "ListStreams",
        "ParkWhatCannotBeDelivered",
    }
    # Nothing of the table itself, no key, and no managed policy beyond logs and traces (SAM's DynamoDB event
    # would attach AWSLambdaDynamoDBExecutionRole: every stream of the account).
    assert not [a for s in granted for a in actions(s) if a in ("dynamodb:GetItem", "dynamodb:UpdateItem")]
    managed = resources["EventsFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert [arn.rsplit("/", 1)[1] for arn in managed] == ["AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"]
    # No other role may put events.
    roles = [name for name, role in of_type(resources, "AWS::IAM::Role").items() if role["Properties"].get("Policies")]
    others = [s for role in roles if role != "EventsFunctionRole" for s in statements(resources, role)]
    assert not [a for s in others for a in actions(s) if a.lower().startswith("events:")]


def test_the_stream_reaches_the_function_at_least_once_and_a_batch_that_fails_is_parked():
    """AWS::Lambda::EventSourceMapping: `FunctionResponseTypes: [ReportBatchItemFailures]` lets the function name the
    record to start again from; `BisectBatchOnFunctionError` halves a batch that fails; `MaximumRetryAttempts` and
    `MaximumRecordAgeInSeconds` bound the retries, after which the batch's place in the stream is sent to
    `DestinationConfig.OnFailure` (an SQS queue). `FilterCriteria` keeps the records that match a pattern.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventsourcemapping.html
    """
    resources = live(transformed())
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert properties["FunctionName"] == {"Ref": "EventsFunctionAliaslive"}  # the published version, as the API's
    assert properties["EventSourceArn"] == {"Fn::GetAtt": ["VerifyStateTable", "StreamArn"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BisectBatchOnFunctionError"] is True
    assert 0 < properties["MaximumRetryAttempts"] <= 10
    assert 0 < properties["MaximumRecordAgeInSeconds"] < 24 * 3600  # parked while the stream still holds it
    assert properties["StartingPosition"] == "TRIM_HORIZON"
    queue = properties["DestinationConfig"]["OnFailure"]["Destination"]
    assert queue == {"Fn::GetAtt": ["EventsFailedQueue", "Arn"]}
    assert resources["EventsFailedQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    filters = [json.loads(f["Pattern"]) for f in properties["FilterCriteria"]["Filters"]]
    assert filters == [{"eventName": ["INSERT", "MODIFY"]}]  # a REMOVE is the TTL: never invokes the function


def test_what_could_not_be_delivered_or_lags_alarms_to_alarm_email():
    resources = live(transformed({"AlarmEmail": "ops@example.com"}))
    parked = resources["EventsFailedAlarm"]["Properties"]
    assert (parked["Namespace"], parked["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert parked["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventsFailedQueue", "QueueName"]}}]
    assert (parked["Threshold"], parked["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    lag = resources["EventsDelayedAlarm"]["Properties"]
    assert (lag["MetricName"], lag["Dimensions"][0]["Value"]) == ("IteratorAge", {"Ref": "EventsFunction"})
    for alarm in (parked, lag, resources["EventsFunctionErrorsAlarm"]["Properties"]):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_a_key_locked_until_unlock_reaches_alarm_email_and_nothing_else_may_publish():
    resources = live(transformed({"AlarmEmail": "ops@example.com"}))
    rule = resources["SustainedAttackRule"]["Properties"]
    assert rule["EventBusName"] == "default"
    assert rule["EventPattern"] == {"source": ["otp-api"], "detail-type": ["Locked Until Unlock"]}
    assert rule["Targets"] == [{"Id": "AlarmTopic", "Arn": {"Ref": "AlarmTopic"}}]
    from otp_api.events.catalogue import SOURCE, LockedUntilUnlock

    assert rule["EventPattern"] == {"source": [SOURCE], "detail-type": [LockedUntilUnlock.detail_type]}
    (policy,) = of_type(resources, "AWS::SNS::TopicPolicy").values()
    publishers = {
        s["Principal"]["Service"]: s["Condition"] for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert publishers == {
        "cloudwatch.amazonaws.com": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        "events.amazonaws.com": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["SustainedAttackRule", "Arn"]}}},
    }


@pytest.mark.parametrize(
    ("parameters", "table"),
    [
        ({}, {"Ref": "VerifyStateTable"}),
        ({"VerifyStateTableName": ADOPTED_TABLE, "VerifyStateStreamArn": ADOPTED_STREAM}, ADOPTED_TABLE),
    ],
)
def test_the_events_function_knows_whose_stream_it_reads_and_a_wrong_one_alarms(parameters, table):
    # The function refuses records of another table's stream (tests/handler/test_misconfigured_state.py): it is told
    # the OTP function's table, and the alarm on its refusals notifies AlarmEmail.
    resources = live(transformed({"AlarmEmail": "ops@example.com", **parameters}))
    variables = resources["EventsFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["VERIFY_STATE_TABLE_NAME"] == table
    assert resources["OtpFunction"]["Properties"]["Environment"]["Variables"]["VERIFY_STATE_TABLE_NAME"] == table
    alarm = resources["EventsStreamMisconfiguredAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("OtpApi", "EventsStreamMisconfigured")
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    table_alarm = resources["StateTableMisconfiguredAlarm"]["Properties"]
    assert (table_alarm["MetricName"], table_alarm["Threshold"]) == ("StateTableMisconfigured", 0)


def test_an_adopted_table_publishes_events_only_with_its_stream_named():
    quiet = live(transformed({"VerifyStateTableName": ADOPTED_TABLE}))
    assert not [name for name in quiet if name.startswith("Events") or name == "SustainedAttackRule"]
    (policy,) = of_type(quiet, "AWS::SNS::TopicPolicy").values()  # the alarms still publish
    assert [s["Sid"] for s in policy["Properties"]["PolicyDocument"]["Statement"]] == ["CloudWatchAlarms"]
    adopted = live(transformed({"VerifyStateTableName": ADOPTED_TABLE, "VerifyStateStreamArn": ADOPTED_STREAM}))
    (mapping,) = of_type(adopted, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["EventSourceArn"] == ADOPTED_STREAM
    by_sid = {s["Sid"]: s for s in statements(adopted, "EventsFunctionRole")}
    assert by_sid["ReadTheVerifyStateStream"]["Resource"] == ADOPTED_STREAM
