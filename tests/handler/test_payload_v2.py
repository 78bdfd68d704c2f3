"""ApiType=HTTP: the functions answer an HTTP API's payload 2.0 events as they answer a REST API's 1.0 events.

Each request is made into both events by the local server's translation (devserver/gateway.py, which follows
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html: no
multi-value fields, repeated query values and headers joined with commas, lower-case header names, rawQueryString,
the $default stage), run through the same handler, and the answers compared: status, headers and body. A 2.0 answer
must not use `multiValueHeaders`, which an HTTP API ignores (the same page, "Lambda function response for format
2.0")."""

import importlib.util
import json
import os
from unittest import mock

import pytest
from support import ROOT, FakeContext, handler_module

from devserver.gateway import to_event, to_event_v2

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
JSON = [("Content-Type", "application/json"), ("User-Agent", "test")]


def events(method: str, path: str, body: object = None, query: str = "", headers=JSON, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    v1 = to_event(method, path, path, query, list(headers), data, "192.0.2.1")
    v2 = to_event_v2(method, path, path, query, list(headers), data, "192.0.2.1")
    return v1, v2


def answer(response: dict) -> tuple[int, dict[str, str], object]:
    headers = {key.lower(): value for key, value in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ",".join(values)
    body = response.get("body") or ""
    return response["statusCode"], headers, json.loads(body) if body else None


def both(function: str, v1: dict, v2: dict, handler=None) -> tuple[tuple, tuple]:
    run = handler or handler_module(function).lambda_handler
    first, second = run(v1, FakeContext()), run(v2, FakeContext())
    assert "multiValueHeaders" not in second  # an HTTP API reads `headers` (and `cookies`) alone
    return answer(first), answer(second)


CASES = {
    "verify listing codes": ("POST", "/otp", {"type": "totp", "action": "verify", "secret": SECRET}, ""),
    "a wrong code": ("POST", "/otp", {"type": "totp", "action": "verify", "secret": SECRET, "code": "000000"}, ""),
    "an unknown parameter": ("POST", "/otp", {"type": "totp", "action": "verify", "secret": SECRET, "colour": 1}, ""),
    "parameters in the query": ("POST", "/otp", None, f"type=totp&action=verify&secret={SECRET}"),
    "a repeated query parameter": ("POST", "/otp", None, "type=totp&type=hotp&action=verify"),
    "the same value twice": ("POST", "/otp", None, f"type=totp&type=totp&action=verify&secret={SECRET}"),
    "no such route": ("GET", "/otp", None, ""),
}


@pytest.mark.parametrize("case", CASES)
def test_otp_answers_both_payloads_alike(case, stateless):
    method, path, body, query = CASES[case]
    v1, v2 = events(method, path, body, query)
    first, second = both("otp", v1, v2)
    assert first == second


def test_a_generate_answers_both_payloads_alike():
    body = {"type": "totp", "action": "generate", "label": "alice@example.com", "qrcode": "none"}
    first, second = both("otp", *events("POST", "/otp", body))
    assert first[:2] == second[:2] and first[2].keys() == second[2].keys()


def test_a_lockout_has_retry_after_in_both(verify_settings):
    wrong = {"type": "totp", "action": "verify", "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "code": "000000"}
    statuses = []
    for _ in range(6):
        first, second = both("otp", *events("POST", "/otp", wrong))
        statuses.append((first[0], second[0]))
    assert statuses[-1] == (429, 429)
    assert "retry-after" in first[1] and "retry-after" in second[1] and first[1]["cache-control"] == "no-store"


def test_malformed_and_base64_bodies_alike(stateless):
    for raw in (b"{not json", b"\xff\xfe"):
        first, second = both("otp", *events("POST", "/otp", raw=raw))
        assert first == second and first[0] in (400, 415)


def test_barcodes_redirect_and_image_in_both():
    query = "type=qr_code&data=hello%20world&scale=4"
    first, second = both("barcodes", *events("GET", "/barcodes", query=query, headers=[("User-Agent", "t")]))
    assert first[0] == second[0] == 302
    assert first[1]["location"].split("?")[0] == second[1]["location"].split("?")[0]
    assert first[1]["cache-control"] == second[1]["cache-control"] == "no-store"
    posted = both("barcodes", *events("POST", "/barcodes", {"type": "aztec_code", "data": "hello world"}))
    assert posted[0][0] == posted[1][0] == 200 and posted[0][2].keys() == posted[1][2].keys()


def test_cors_preflight_and_headers_in_both():
    env = {"CORS_ALLOWED_ORIGINS": "https://app.example.com"}
    with mock.patch.dict(os.environ, env):
        spec = importlib.util.spec_from_file_location("otp_app_cors_v2", ROOT / "functions" / "otp" / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    origin = [("Origin", "https://app.example.com")]
    preflight = events("OPTIONS", "/otp", headers=[*origin, ("Access-Control-Request-Method", "POST")])
    first, second = both("otp", *preflight, handler=module.lambda_handler)
    assert first == second and first[1]["access-control-allow-origin"] == "https://app.example.com"
    body = {"type": "totp", "action": "verify", "secret": SECRET}
    first, second = both("otp", *events("POST", "/otp", body, headers=[*JSON, *origin]), handler=module.lambda_handler)
    assert first[1]["access-control-allow-origin"] == second[1]["access-control-allow-origin"]
    assert first[1]["vary"] == second[1]["vary"] == "Origin"
