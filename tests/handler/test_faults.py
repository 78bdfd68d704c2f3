"""Faults injected into DynamoDB and S3: 503 with a clear message, nothing accepted, nothing half-written."""

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from support import BUCKET, TABLE, call, independent_code, verify_at

from otp_api import image_bucket
from otp_api.state import table

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_790_000_010.0


def right_code() -> str:
    return independent_code(SECRET, NOW)


def verify(code: str):
    return verify_at(NOW, secret=SECRET, code=code)


def unreachable(*_args, **_kwargs):
    raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")


@pytest.mark.parametrize(
    "error_code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError", "AccessDeniedException"],
)
@pytest.mark.parametrize("code", ["right", "wrong"])
def test_dynamodb_errors_fail_closed(error_code, code):
    client = table._client()
    with Stubber(client) as stubber:
        stubber.add_client_error("update_item", service_error_code=error_code, http_status_code=400)
        status, headers, body = verify(right_code() if code == "right" else "000000")
    assert status == 503
    assert body["error"] == "state_unavailable"
    assert "valid" not in body and "otp_codes" not in body
    assert headers["Retry-After"] == "1"


def test_dynamodb_unreachable_fails_closed(monkeypatch):
    monkeypatch.setattr(table._client(), "update_item", unreachable)
    status, _, body = verify(right_code())
    assert (status, body["error"]) == (503, "state_unavailable")


def test_missing_table_fails_closed(aws):
    # No table of that name (ResourceNotFoundException) is a configuration error, not an outage: no Retry-After
    # (tests/handler/test_misconfigured_state.py).
    aws["dynamodb"].delete_table(TableName=TABLE)
    status, headers, body = verify(right_code())
    assert (status, body["error"]) == (500, "configuration_error") and "Retry-After" not in headers


def test_after_an_outage_the_code_is_still_usable_once():
    # The failed attempt recorded nothing: the same code is accepted when DynamoDB is back, and only once.
    client = table._client()
    with Stubber(client) as stubber:
        stubber.add_client_error("update_item", service_error_code="ThrottlingException", http_status_code=400)
        assert verify(right_code())[0] == 503
    assert verify(right_code())[2]["valid"] is True
    assert verify(right_code())[2]["reason"] == "already_used"


@pytest.mark.parametrize("error_code", ["SlowDown", "InternalError", "AccessDenied"])
def test_s3_errors_on_generate_give_503_and_leave_nothing(aws, error_code):
    with Stubber(image_bucket._client()) as stubber:
        stubber.add_client_error("put_object", service_error_code=error_code, http_status_code=503)
        status, _, body = call("otp", {"type": "time_based", "action": "generate", "label": "x"})
    assert status == 503
    assert body["error"] == "storage_unavailable"
    assert "secret" not in body and "qrcode_url" not in body
    assert aws["s3"].list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_s3_unreachable_on_barcodes(monkeypatch, aws):
    monkeypatch.setattr(image_bucket._client(), "head_object", unreachable)
    status, _, body = call("barcodes", {"type": "qr_code", "data": "unreachable"})
    assert (status, body["error"]) == (503, "storage_unavailable")
    assert aws["s3"].list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
