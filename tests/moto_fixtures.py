"""moto's in-process mock with the bucket, table and KMS key the functions expect, for the in-process suites
(handler/, aws_semantics/), whose conftest.py makes `aws` automatic. Kept apart so that unit/ never imports moto."""

import os
from functools import cache

import pytest
from moto import mock_aws


@cache
def _table_properties() -> dict:
    """The verify-state table as template.yaml defines it, so the tests cannot drift from the infrastructure."""
    from tooling import template

    (props,) = template.load().tables.values()
    return props


@pytest.fixture
def mocked_aws():
    """Fresh mocked S3, DynamoDB and KMS, with the bucket, the table and the sealing key (by its alias)."""
    with mock_aws():
        s3, dynamodb, kms = _test_clients()
        key = kms.create_key(Description="sealed secrets")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=os.environ["SEALING_KEY_ARN"], TargetKeyId=key)
        location = {"LocationConstraint": "eu-west-1"}
        s3.create_bucket(Bucket=os.environ["IMAGE_BUCKET_NAME"], CreateBucketConfiguration=location)
        props = _table_properties()
        dynamodb.create_table(
            TableName=os.environ["VERIFY_STATE_TABLE_NAME"],
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, **props["StreamSpecification"]},  # the security events' source
        )
        yield {"s3": s3, "dynamodb": dynamodb, "kms": kms}


@cache
def _test_clients() -> tuple:
    """Made once: moto resets boto3's default session at every start, and reloading the service models for each
    test's clients would cost most of the suite's time. moto intercepts these (and the service's own cached
    clients) whenever a mock is active."""
    import boto3

    session = boto3.session.Session(region_name="eu-west-1")
    return session.client("s3"), session.client("dynamodb"), session.client("kms")


@pytest.fixture
def s3(mocked_aws):
    return mocked_aws["s3"]


@pytest.fixture
def verify_settings(monkeypatch):
    """Change the OTP function's replay/lockout settings for one test: call with env values."""
    from otp_api.settings import get_event_settings, get_verify_settings

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_verify_settings.cache_clear()
        get_event_settings.cache_clear()  # the events function reads the same lockout settings

    yield apply
    monkeypatch.undo()
    get_verify_settings.cache_clear()
    get_event_settings.cache_clear()


@pytest.fixture
def stateless(verify_settings):
    """The reference's stateless verify: no replay protection, no lockout."""
    verify_settings(REPLAY_PROTECTION="false", MAX_FAILED_ATTEMPTS="0")
