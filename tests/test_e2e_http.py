"""End to end over HTTP: the local server (as `make dev` runs it) with the real handlers and moto's S3 server."""

import json
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from support import decode_image

pytestmark = pytest.mark.local_stack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devserver.server import serve  # noqa: E402
from devserver.stack import LocalStack  # noqa: E402


@pytest.fixture(scope="module")
def api():
    with LocalStack() as stack:
        server = serve(stack, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        server.server_close()


def request(url: str, body: dict | None = None, method: str | None = None, raw: bytes | None = None,
            content_type: str = "application/json") -> tuple[int, Any, bytes]:  # fmt: skip
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_generate_fetch_qr_decode_and_verify(api):
    # Given a new enrolment
    status, headers, raw = request(f"{api}/otp", {"type": "time_based", "action": "generate", "label": "e2e"})
    assert status == 200, raw
    assert headers["Cache-Control"] == "no-store"
    made = json.loads(raw)
    # When the QR code is fetched over HTTP from its presigned URL and decoded
    status, headers, png = request(made["qrcode_url"])
    assert status == 200 and headers["Content-Type"] == "image/png"
    otp_url = decode_image(png)
    assert otp_url == made["otp_url"]
    # Then a code computed by an independent implementation from the decoded secret verifies
    import base64
    import time
    from urllib.parse import parse_qs, urlsplit

    secret = parse_qs(urlsplit(otp_url).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    code = TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(int(time.time())).decode()
    status, _, raw = request(f"{api}/otp", {"type": "time_based", "action": "verify", "secret": secret, "code": code})
    assert status == 200
    assert json.loads(raw)["valid"] is True


def test_barcode_get_follows_redirect_to_the_image(api):
    status, headers, png = request(f"{api}/barcodes?type=data_matrix&data=over%20HTTP%20%E2%9C%93&scale=3")
    assert status == 200
    assert headers["Content-Type"] == "image/png"
    assert decode_image(png) == "over HTTP ✓"


def test_barcode_post_returns_url(api):
    status, _, raw = request(f"{api}/barcodes", {"type": "aztec_code", "data": "posted", "scale": 4})
    assert status == 200
    body = json.loads(raw)
    assert decode_image(request(body["url"])[2]) == "posted"


def test_malformed_request_gets_the_json_error(api):
    status, headers, raw = request(f"{api}/otp", raw=b'{"type": "time_based",')
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert json.loads(raw)["error"] == "malformed_request"
    status, _, raw = request(f"{api}/barcodes?type=qr_code&data=abcd&scale=11")
    assert (status, json.loads(raw)["parameter"]) == (400, "scale")


def test_unknown_route_and_method(api):
    assert request(f"{api}/nothing-here")[0] == 404
    assert request(f"{api}/otp", method="GET")[0] == 405


def test_swagger_ui_and_openapi_document(api):
    status, _, html = request(f"{api}/swagger")
    assert status == 200 and b"SwaggerUIBundle" in html
    status, _, raw = request(f"{api}/openapi.json")
    assert status == 200 and set(json.loads(raw)["paths"]) == {"/otp", "/barcodes"}


def test_local_server_can_require_an_api_key():
    # As `OTP_API_KEY=... make dev` runs it: without the key or with a wrong one, API Gateway's 403.
    with LocalStack() as stack:
        server = serve(stack, "127.0.0.1", 0, api_key="local-test-key")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            body = {"type": "time_based", "action": "verify", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}
            assert request(f"{base}/otp", body)[0] == 403
            headers = {"Content-Type": "application/json", "x-api-key": "wrong"}
            req = urllib.request.Request(f"{base}/otp", data=json.dumps(body).encode(), method="POST", headers=headers)
            with pytest.raises(urllib.error.HTTPError) as denied:
                urllib.request.urlopen(req, timeout=30)
            assert denied.value.code == 403
            req.headers["X-api-key"] = "local-test-key"
            with urllib.request.urlopen(req, timeout=30) as resp:
                assert resp.status == 200
        finally:
            server.shutdown()
            server.server_close()
