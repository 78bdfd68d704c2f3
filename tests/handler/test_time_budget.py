"""Every answer within the function's time (aws.py): with an AWS endpoint that accepts connections and never
answers (how a slow service looks from the client), each path answers the documented JSON 503 with Retry-After
before the template's Timeout, instead of running into it (Lambda stops the function, API Gateway answers 502).

A real socket on loopback stands in for the stalled service; the other services are moto's.
"""

import socket
import threading
import time

import pytest
from support import FakeContext, event_with, independent_code, invoke

from otp_api import aws, image_bucket, kms
from otp_api.state import table

TIMEOUT_MS = 10_000  # template.yaml, Globals.Function.Timeout
NOW = time.time()


@pytest.fixture
def stalled(monkeypatch):
    """`stalled("dynamodb", ...)`: those services' clients talk to a server that never answers."""
    from moto.core.models import botocore_stubber

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(server.accept()[0]) for _ in iter(int, 1)], daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    session = aws._session()
    create = session.create_client

    def past_moto(**_):
        botocore_stubber.enabled = False

    def moto_again(**_):
        botocore_stubber.enabled = True

    def caches_clear():
        for module in (table, kms, image_bucket):
            module._client.cache_clear()

    def stall(*services: str) -> None:
        def create_client(service, *args, **kwargs):
            if service not in services:
                return create(service, *args, **kwargs)
            client = create(service, *args, endpoint_url=url, **kwargs)
            client.meta.events.register_first("before-send", past_moto)
            client.meta.events.register_last("before-send", moto_again)
            return client

        monkeypatch.setattr(session, "create_client", create_client)
        caches_clear()

    yield stall
    monkeypatch.undo()
    caches_clear()
    botocore_stubber.enabled = True
    for connection in held:
        connection.close()
    server.close()


def timed(function: str, body: dict, remaining_ms: int = TIMEOUT_MS) -> tuple[float, dict]:
    event = event_with("otp-generate" if function == "otp" else "barcodes-post", body=body)
    start = time.monotonic()
    status, headers, answer = invoke(function, event, FakeContext(remaining_millis=remaining_ms))
    return time.monotonic() - start, {"statusCode": status, "headers": headers, "json": answer}


def sealed_key() -> tuple[str, str]:
    _, made = timed("otp", {"type": "time_based", "action": "generate", "seal": True, "qrcode": "none", "label": "t"})
    return made["json"]["sealed_secret"], made["json"]["secret"]


def check_503(seconds: float, response: dict, error: str, limit_ms: int = TIMEOUT_MS) -> None:
    assert response["statusCode"] == 503, response["json"]
    assert response["json"]["error"] == error
    assert response["headers"]["Retry-After"] == "1"
    assert seconds < limit_ms / 1000, seconds


def test_sealed_verify_with_dynamodb_stalled_answers_in_time(stalled):
    token, secret = sealed_key()
    stalled("dynamodb")
    code = independent_code(secret, time.time())
    seconds, response = timed("otp", {"type": "time_based", "action": "verify", "sealed_secret": token, "code": code})
    check_503(seconds, response, "state_unavailable")
    # sent and never answered: the caller cannot be told that nothing was accepted
    assert "may have been accepted" in response["json"]["message"]


def test_sealed_generate_with_a_stored_image_and_s3_stalled_answers_in_time(stalled, s3):
    stalled("s3")
    seconds, response = timed("otp", {"type": "time_based", "action": "generate", "seal": True, "label": "slow"})
    check_503(seconds, response, "storage_unavailable")
    assert "secret" not in response["json"]


def test_everything_stalled_answers_in_time(stalled):
    token, secret = sealed_key()
    stalled("dynamodb", "kms", "s3")
    code = independent_code(secret, time.time())
    seconds, response = timed("otp", {"type": "time_based", "action": "verify", "sealed_secret": token, "code": code})
    check_503(seconds, response, "sealing_unavailable")
    seconds, response = timed("barcodes", {"type": "qr_code", "data": "stalled"})
    check_503(seconds, response, "storage_unavailable")


def test_the_budget_is_the_invocations_remaining_time(stalled):
    # Less time left than one attempt takes: no attempt at all, and the 503 says so honestly.
    stalled("dynamodb")
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    body = {"type": "time_based", "action": "verify", "secret": secret, "code": independent_code(secret, time.time())}
    remaining = int((aws.ATTEMPT_SECONDS + aws.MARGIN) * 1000) - 100
    seconds, response = timed("otp", body, remaining_ms=remaining)
    check_503(seconds, response, "state_unavailable", limit_ms=500)
    assert "no code was accepted" in response["json"]["message"]
    # with time for one attempt but not two, one is made and the answer still comes in time
    remaining = int((aws.ATTEMPT_SECONDS * 2 + aws.MARGIN) * 1000) - 100
    seconds, response = timed("otp", body, remaining_ms=remaining)
    check_503(seconds, response, "state_unavailable", limit_ms=remaining)
