"""The local server's SigV4 check (`OTP_API_AUTH=iam make dev`): what botocore signs passes, and what API Gateway
refuses (no signature, another secret, another body, a stale date, an unsigned host) is refused with API Gateway's
own answer."""

from datetime import UTC, datetime, timedelta

import pytest

from devserver.sigv4 import MISMATCH, MISSING, REGION, refusal
from tooling.sigv4 import KeyPair, sign

PAIR = KeyPair("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
URL = "http://127.0.0.1:3000/barcodes?type=qr_code&data=hello%20world"


def signed(body: bytes = b'{"a": 1}', pair: KeyPair = PAIR, url: str = URL) -> dict[str, str]:
    headers = sign(pair, "POST", url, {"Content-Type": "application/json"}, body, REGION)
    return {name.lower(): value for name, value in {**headers, "Host": "127.0.0.1:3000"}.items()}


def test_a_request_signed_by_botocore_passes():
    assert refusal(PAIR, "POST", URL, signed(), b'{"a": 1}') is None


def test_the_signature_covers_the_query_string_in_any_order():
    # AWS sorts the canonical query string: the same parameters in another order carry the same signature.
    reordered = "http://127.0.0.1:3000/barcodes?data=hello%20world&type=qr_code"
    assert refusal(PAIR, "POST", reordered, signed(), b'{"a": 1}') is None
    changed = "http://127.0.0.1:3000/barcodes?type=qr_code&data=hello%20there"
    assert refusal(PAIR, "POST", changed, signed(), b'{"a": 1}') == MISMATCH


@pytest.mark.parametrize(
    ("headers", "body", "answer"),
    [
        ({"host": "127.0.0.1:3000"}, b'{"a": 1}', MISSING),
        (signed(pair=KeyPair("AKIDEXAMPLE", "another-secret")), b'{"a": 1}', MISMATCH),
        (signed(pair=KeyPair("AKIDOTHER", PAIR.secret_key)), b'{"a": 1}', MISMATCH),
        (signed(), b'{"a": 2}', MISMATCH),
        ({**signed(), "authorization": signed()["authorization"].replace("execute-api", "s3")}, b'{"a": 1}', MISMATCH),
        ({**signed(), "x-amz-date": "yesterday"}, b'{"a": 1}', MISMATCH),
        ({**signed(), "content-type": "text/plain"}, b'{"a": 1}', MISMATCH),
    ],
    ids=["unsigned", "another secret", "another key id", "another body", "another service", "no date", "header"],
)
def test_what_api_gateway_refuses_is_refused(headers, body, answer):
    assert refusal(PAIR, "POST", URL, headers, body) == answer


def test_a_signature_older_than_five_minutes_is_refused(monkeypatch):
    headers = signed()
    later = datetime.now(UTC) + timedelta(minutes=6)

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return later

    monkeypatch.setattr("devserver.sigv4.datetime", Later)
    assert refusal(PAIR, "POST", URL, headers, b'{"a": 1}') == MISMATCH


def test_the_key_pair_never_shows_its_secret():
    assert PAIR.secret_key not in repr(PAIR)
