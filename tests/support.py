"""Helpers shared by the tests: events from events/*.json, handlers loaded from functions/, images decoded."""

import base64
import copy
import importlib.util
import io
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The functions' resources in the in-process tests (conftest.py gives them to the functions as their environment).
BUCKET = "otp-api-test-images"
TABLE = "otp-api-test-verify-state"
SEALING_KEY_ARN = "alias/otp-api-test-sealed-secrets"


@dataclass
class FakeContext:
    function_name: str = "otp-api-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:otp-api-test"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    remaining_millis: int = 10_000  # the template's Timeout

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def load_event(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / f"{name}.json").read_text())


@cache
def handler_module(function: str) -> ModuleType:
    """functions/<function>/app.py, loaded under a name of its own (every function's module is called `app`)."""
    spec = importlib.util.spec_from_file_location(f"{function}_app", ROOT / "functions" / function / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event_with(
    base: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An event file with its body and query string replaced."""
    event = copy.deepcopy(load_event(base))
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    else:
        event["body"] = None
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    if headers is not None:
        event["headers"] = headers
        event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    return event


def invoke(function: str, event: dict[str, Any], context: FakeContext | None = None) -> tuple[int, dict[str, str], Any]:
    """Run a handler; return status, headers and the decoded JSON body."""
    response = handler_module(function).lambda_handler(event, context or FakeContext())
    headers = response.get("headers") or {}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(key, values[0])
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], headers, json.loads(body) if body else None


def call(function: str, params: dict[str, Any], base: str | None = None) -> tuple[int, dict[str, str], Any]:
    base = base or {"otp": "otp-generate", "barcodes": "barcodes-post"}[function]
    return invoke(function, event_with(base, body=params))


def decode_image(data: bytes) -> str:
    """Read a PNG back with zxing-cpp (an independent reader for every symbology we write)."""
    import zxingcpp
    from PIL import Image

    # Only the 2D symbologies we write: with every format on, zxing-cpp sometimes also "finds" a short linear code
    # in a QR code's modules.
    formats = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Aztec, zxingcpp.BarcodeFormat.DataMatrix)
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)), formats=formats)
    assert len(results) == 1, f"expected exactly one symbol, found {len(results)}"
    return results[0].text


def b32bytes(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def independent_code(secret: str, moment: float, digits: int = 6, algorithm: str = "SHA1", period: int = 30) -> str:
    """A code from `cryptography`'s TOTP, not from pyotp, which the service uses."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    otp = TOTP(b32bytes(secret), digits, getattr(hashes, algorithm)(), period, enforce_key_length=False)
    return otp.generate(int(moment)).decode()


def independent_hotp(secret: str, counter: int, digits: int = 6, algorithm: str = "SHA1") -> str:
    """A code from `cryptography`'s HOTP (RFC 4226), not from pyotp, which the service uses."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.twofactor.hotp import HOTP

    return (
        HOTP(b32bytes(secret), digits, getattr(hashes, algorithm)(), enforce_key_length=False)
        .generate(counter)
        .decode()
    )


def verify_at(moment: float, **params: Any) -> tuple[int, dict[str, str], Any]:
    """POST /otp, action=verify, at a frozen `moment`: `params` name the key (secret, sealed_secret or otp_url) and
    whatever else the request carries (code, digits, ...)."""
    import time_machine

    with time_machine.travel(moment, tick=False):
        return call("otp", {"type": "time_based", "action": "verify", **params})


def wrong_code(secret: str, moment: float) -> str:
    """A 6-digit code that none of the steps verify accepts at `moment` (previous, current, next) has."""
    valid = {independent_code(secret, moment + offset) for offset in (-30, 0, 30)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in valid)


def concurrently(count: int, submit: Any) -> list[Any]:
    """`submit()` from `count` threads released together (they stand for Lambda instances), its answers in a list."""
    import threading

    results, barrier = [], threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        results.append(submit())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
