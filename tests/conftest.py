"""Test set-up: the functions' environment as the template gives it, and moto's S3 before any boto3 client exists."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "common"))
sys.path.insert(0, str(ROOT / "tests"))

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "BUCKET_NAME": "otp-api-test-images",
        "DEFAULT_ISSUER": "otp-api",
        "URL_EXPIRY_SECONDS": "300",
        "POWERTOOLS_SERVICE_NAME": "otp-api",
        "POWERTOOLS_METRICS_NAMESPACE": "OtpApi",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",  # the leak tests want to see everything that could be logged
    }
)
for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
    os.environ.pop(name, None)

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402


@pytest.fixture
def s3():
    """A fresh mocked S3 with the image bucket; the service's cached client is rebuilt inside the mock."""
    from otp_api import storage

    with mock_aws():
        import boto3

        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=os.environ["BUCKET_NAME"], CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        storage._client.cache_clear()
        yield client
        storage._client.cache_clear()
