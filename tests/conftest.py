"""Test set-up: the functions' environment as the template gives it, and moto's S3 before any boto3 client exists."""

import os
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "common"))
sys.path.insert(0, str(ROOT / "tests"))

# Fake credentials and a fixed region for moto, unless the run reads a deployed stack with yours (`make e2e
# STACK=...`, which runs tests/e2e only; moto's mock would still put fake keys around any in-process test).
if not os.environ.get("E2E_STACK"):
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_REGION": "eu-west-1",
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        os.environ.pop(name, None)
os.environ.update(
    {
        "BUCKET_NAME": "otp-api-test-images",
        "TABLE_NAME": "otp-api-test-verify-state",
        "REPLAY_PROTECTION": "true",
        "MAX_FAILED_ATTEMPTS": "5",
        "LOCKOUT_SECONDS": "900",
        "DEFAULT_ISSUER": "otp-api",
        "URL_EXPIRY_SECONDS": "300",
        "POWERTOOLS_SERVICE_NAME": "otp-api",
        "POWERTOOLS_METRICS_NAMESPACE": "OtpApi",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",  # the leak tests want to see everything that could be logged
        "SEALING_KEY": "alias/otp-api-test-sealed-secrets",
    }
)

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402


@cache
def _table_properties() -> dict:
    """The verify-state table as template.yaml defines it, so the tests cannot drift from the infrastructure."""
    sys.path.insert(0, str(ROOT))
    from devserver import template

    (props,) = template.load().tables.values()
    return props


@pytest.fixture(autouse=True)
def aws(request):
    """Fresh mocked S3 and DynamoDB for every test, with the bucket and table. Tests marked `local_stack` run
    against moto's server instead, which an active in-process mock would intercept."""
    if request.node.get_closest_marker("local_stack"):
        yield None
        return
    with mock_aws():
        s3, dynamodb, kms = _test_clients()
        key = kms.create_key(Description="sealed secrets")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=os.environ["SEALING_KEY"], TargetKeyId=key)
        location = {"LocationConstraint": "eu-west-1"}
        s3.create_bucket(Bucket=os.environ["BUCKET_NAME"], CreateBucketConfiguration=location)
        props = _table_properties()
        dynamodb.create_table(
            TableName=os.environ["TABLE_NAME"],
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
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
def s3(aws):
    return aws["s3"]


@pytest.fixture
def verify_settings(monkeypatch):
    """Change the OTP function's replay/lockout settings for one test: call with env values."""
    from otp_api.settings import get_verify_settings

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_verify_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_verify_settings.cache_clear()


@pytest.fixture
def stateless(verify_settings):
    """The reference's stateless verify: no replay protection, no lockout."""
    verify_settings(REPLAY_PROTECTION="false", MAX_FAILED_ATTEMPTS="0")
