"""CORS: off unless the operator lists origins; then only those origins get CORS headers, preflights included."""

import importlib.util
import os
from unittest import mock

import pytest
from support import ROOT, FakeContext, event_with


@pytest.fixture
def cors_handler():
    """functions/otp/app.py loaded afresh with CORS_ALLOWED_ORIGINS set (the resolver reads it at cold start)."""
    env = {"CORS_ALLOWED_ORIGINS": "https://app.example.com, https://admin.example.com"}
    with mock.patch.dict(os.environ, env):
        spec = importlib.util.spec_from_file_location("otp_app_cors", ROOT / "functions" / "otp" / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.lambda_handler


def with_origin(origin: str, method: str = "POST") -> dict:
    body = {"type": "time_based", "action": "verify", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}
    event = event_with("otp-verify", body=body, headers={"Content-Type": "application/json", "Origin": origin})
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    return event


def headers_of(response: dict) -> dict:
    return {key: values[0] for key, values in (response.get("multiValueHeaders") or {}).items()} | (
        response.get("headers") or {}
    )


def test_listed_origin_gets_cors_headers(cors_handler):
    response = cors_handler(with_origin("https://admin.example.com"), FakeContext())
    assert response["statusCode"] == 200
    assert headers_of(response)["Access-Control-Allow-Origin"] == "https://admin.example.com"


def test_other_origin_gets_none(cors_handler):
    response = cors_handler(with_origin("https://evil.example.net"), FakeContext())
    assert "Access-Control-Allow-Origin" not in headers_of(response)


def test_preflight_is_answered_without_a_key(cors_handler):
    response = cors_handler(with_origin("https://app.example.com", "OPTIONS"), FakeContext())
    headers = headers_of(response)
    assert response["statusCode"] == 204
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "X-Api-Key" in headers["Access-Control-Allow-Headers"]
    # a preflight is never stored, and shared caches key it by the origin it answered
    assert headers["Cache-Control"] == "no-store" and headers["Vary"] == "Origin"


def test_answers_vary_by_origin_with_cors_on(cors_handler):
    for origin in ("https://app.example.com", "https://evil.example.net"):
        headers = headers_of(cors_handler(with_origin(origin), FakeContext()))
        assert headers["Vary"] == "Origin" and headers["Cache-Control"] == "no-store"


def test_cors_is_off_by_default():
    from support import handler_module

    response = handler_module("otp").lambda_handler(with_origin("https://app.example.com"), FakeContext())
    assert "Access-Control-Allow-Origin" not in headers_of(response)
