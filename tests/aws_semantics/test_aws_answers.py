"""What AWS answers and moto does not: each test puts AWS's documented answer on the wire of one botocore call
(status, headers and body, parsed by botocore as a real response would be) and checks what the API does with it.

moto grants every IAM permission and never throttles, so none of these paths can be reached through it alone.
"""

import json
import re
from urllib.parse import unquote, urlsplit

import pytest
from support import BUCKET, TABLE, call, decode_image, independent_code, verify_at, wrong_code

from otp_api import image_bucket
from otp_api.state import table

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_790_000_010.0


def s3_error(code: str, message: str) -> bytes:
    return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()


def dynamodb_error(error_type: str, message: str) -> bytes:
    return f'{{"__type":"{error_type}","message":"{message}"}}'.encode()


def stored_keys(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def verify_now(code: str):
    return verify_at(NOW, secret=SECRET, code=code)


def test_head_of_a_missing_key_answered_403_is_a_miss(aws_answers, s3):
    """HeadObject: "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403
    Forbidden error" for a key that does not exist (S3 API Reference, HeadObject, Permissions). A HEAD answer has
    no body, so botocore sees only the status. The function's role has no s3:ListBucket (least privilege)."""
    heads = aws_answers(image_bucket._client(), "HeadObject", 403)
    status, _, body = call("barcodes", {"type": "qr_code", "data": "first request of its kind"})
    assert status == 200
    assert len(heads) == 1  # one look, no retry: a 403 is final
    (key,) = stored_keys(s3)
    assert unquote(urlsplit(body["url"]).path).endswith(key)
    image = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert decode_image(image) == "first request of its kind"


def test_head_of_a_missing_key_answered_404_is_a_miss(aws_answers, s3):
    """With s3:ListBucket, the same HEAD answers 404 Not Found (HeadObject, Permissions)."""
    aws_answers(image_bucket._client(), "HeadObject", 404)
    status, _, _ = call("barcodes", {"type": "aztec_code", "data": "first request of its kind"})
    assert status == 200
    assert len(stored_keys(s3)) == 1


@pytest.mark.parametrize("function", ["otp", "barcodes"])
def test_a_put_refused_with_access_denied_is_503_and_hands_out_nothing(aws_answers, s3, function):
    """PutObject refused by IAM or a bucket policy: 403 AccessDenied (S3 API Reference, Error responses). The
    refusal is the real fault: 503, JSON, no secret and no URL handed out."""
    aws_answers(image_bucket._client(), "HeadObject", 403)
    puts = aws_answers(image_bucket._client(), "PutObject", 403, s3_error("AccessDenied", "Access Denied"))
    params = {
        "otp": {"type": "time_based", "action": "generate", "label": "denied"},
        "barcodes": {"type": "data_matrix", "data": "denied"},
    }[function]
    status, headers, body = call(function, params)
    assert (status, body["error"]) == (503, "storage_unavailable")
    assert headers["Content-Type"] == "application/json"
    assert not {"secret", "otp_url", "qrcode_url", "url"} & set(body)
    assert len(puts) == 1  # AccessDenied is not retried
    assert stored_keys(s3) == []


def test_s3_slowdown_is_503_with_retry_after(aws_answers, s3):
    """503 SlowDown: "Please reduce your request rate" (S3 API Reference, Error responses; S3 User Guide,
    Optimizing performance). Tried once more (aws.call: two attempts while the invocation has time, botocore
    retrying nothing itself), then the caller is told to retry."""
    puts = aws_answers(
        image_bucket._client(), "PutObject", 503, s3_error("SlowDown", "Please reduce your request rate.")
    )
    status, headers, body = call("otp", {"type": "time_based", "action": "generate", "label": "slow"})
    assert (status, body["error"]) == (503, "storage_unavailable")
    assert headers["Retry-After"] == "1"
    assert "secret" not in body
    assert len(puts) == 2
    assert stored_keys(s3) == []


@pytest.mark.parametrize(
    "error_type",
    [
        "com.amazon.coral.availability#ThrottlingException",
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    ],
)
@pytest.mark.parametrize("which", ["right", "wrong"])
def test_dynamodb_throttling_is_503_with_retry_after_and_accepts_nothing(aws_answers, aws, error_type, which):
    """DynamoDB answers 400 with ThrottlingException (control-plane or on-demand limits) or
    ProvisionedThroughputExceededException (DynamoDB Developer Guide, Error handling: "Error messages and codes").
    Fail closed: 503 with Retry-After, no `valid`, no state written, and the code still usable afterwards."""
    updates = aws_answers(
        table._client(),
        "UpdateItem",
        400,
        dynamodb_error(error_type, "Rate exceeded"),
        content_type="application/x-amz-json-1.0",
    )
    code = independent_code(SECRET, NOW) if which == "right" else "000000"
    status, headers, body = verify_now(code)
    assert (status, body["error"]) == (503, "state_unavailable")
    assert headers["Retry-After"] == "1"
    assert "valid" not in body and "otp_codes" not in body
    assert len(updates) == 2  # tried once more (aws.call: throttling may pass), then given up
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []


def test_every_dynamodb_write_uses_each_value_it_sends(monkeypatch):
    """DynamoDB refuses a request with an ExpressionAttributeValues entry that no expression uses
    (ValidationException "Value provided in ExpressionAttributeValues unused in expressions"; DynamoDB Developer
    Guide, Expression attribute values). moto accepts it, so this checks every write the verify path makes."""
    client = table._client()
    original = client.update_item
    seen, unused = [], []

    def checked(**request):  # (an assertion here would only become the handler's 500)
        used = set(re.findall(r":\w+", request["UpdateExpression"] + " " + request.get("ConditionExpression", "")))
        unused.extend(set(request["ExpressionAttributeValues"]) - used)
        seen.append(request["UpdateExpression"])
        return original(**request)

    monkeypatch.setattr(client, "update_item", checked)

    def verify_body(code: str, moment: float):
        return verify_at(moment, secret=SECRET, code=code)[2]

    assert verify_body(independent_code(SECRET, NOW), NOW)["valid"] is True  # accept
    assert verify_body(independent_code(SECRET, NOW), NOW + 1)["reason"] == "already_used"  # refused, counted
    later = NOW + 2000
    verify_body(wrong_code(SECRET, later), later)  # a failure after the window passed: a new window
    assert unused == []
    assert len(seen) >= 3


def test_a_refused_write_is_read_from_the_item_dynamodb_returns_with_its_refusal(aws_answers, aws):
    """UpdateItem with ReturnValuesOnConditionCheckFailure=ALL_OLD: a failed condition answers 400
    ConditionalCheckFailedException whose body carries the item as it was, under "Item" (DynamoDB API Reference,
    UpdateItem). Here the item of a key locked until NOW + 600: one call, and the caller told when to come back."""
    now = int(NOW)
    locked = {
        "pk": {"S": "x"},
        "f1": {"N": str(now + 500)},
        "f5": {"N": str(now + 600)},
        "last_failure": {"N": str(now - 300)},
    }
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed",
            "Item": locked,
        }
    ).encode()
    updates = aws_answers(table._client(), "UpdateItem", 400, body, content_type="application/x-amz-json-1.0")
    status, headers, answer = verify_now(independent_code(SECRET, NOW))
    assert (status, answer["error"], headers["Retry-After"]) == (429, "too_many_attempts", "600")
    assert len(updates) == 1
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []
