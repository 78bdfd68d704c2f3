"""The API the end-to-end suite talks to, from the environment (`make e2e` sets it):

- nothing: the local server of `make dev`, started here with an API key of its own;
- E2E_API_URL (and E2E_API_KEY): any running API, a deployed stack or `OTP_API_KEY=k make dev`; the settings the
  suite checks (lockout, replay, CORS) are taken to be template.yaml's defaults;
- E2E_STACK: a deployed stack by name; its URL, key and settings come from CloudFormation and API Gateway (boto3,
  with your usual AWS credentials and region); with ApiAuth=iam, requests are signed with those credentials;
- E2E_LOCAL_AUTH=iam: the local server requires SigV4 (as `OTP_API_AUTH=iam make dev`), and the suite signs.
- E2E_LOCAL_API_TYPE=http: the local server gives the functions an HTTP API's payload 2.0 events (as
  `OTP_API_TYPE=http make dev`, ApiType=HTTP), with no API key (an HTTP API has none).

Nothing here prints a secret: replies show their status and their JSON with secrets, codes and URLs masked.
"""

import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from e2e.target import Target, from_stack, settings_from

from tooling import template

MASKED = {"secret", "otp_url", "qrcode_url", "url", "otp_codes", "matched"}


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    defaults = settings_from(template.load().parameters)
    if os.environ.get("E2E_STACK"):
        yield from_stack(os.environ["E2E_STACK"])
    elif os.environ.get("E2E_API_URL"):
        url = os.environ["E2E_API_URL"].rstrip("/")
        yield Target(url, os.environ.get("E2E_API_KEY") or None, local=False, **defaults)
    else:
        from devserver.__main__ import LOCAL_KEY_PAIR
        from devserver.server import serve
        from devserver.stack import LocalCloud

        signed = os.environ.get("E2E_LOCAL_AUTH") == "iam"
        http_api = os.environ.get("E2E_LOCAL_API_TYPE", "rest").lower() == "http"
        key = None if signed or http_api else secrets.token_urlsafe(16)
        key_pair = LOCAL_KEY_PAIR if signed else None
        with LocalCloud() as stack:
            server = serve(stack, "127.0.0.1", 0, api_key=key, signed_by=key_pair, http_api=http_api)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            try:
                url = f"http://127.0.0.1:{server.server_address[1]}"
                yield Target(url, key, local=True, **defaults, key_pair=key_pair)
            finally:
                server.shutdown()
                server.server_close()


class Masked(Mapping):
    """A JSON object whose repr masks secrets, codes and URLs (what pytest shows of a failed assertion)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr({key: "<masked>" if key in MASKED else value for key, value in self._data.items()})


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Any  # email.message.Message: case-insensitive
    body: bytes

    def json(self) -> Masked:
        import json

        return Masked(json.loads(self.body))

    def __repr__(self) -> str:
        kind = self.headers.get("Content-Type", "")
        return f"Reply({self.status}, {kind}, {len(self.body)} bytes)"


class _NoRedirects:
    """urllib with redirects left to the caller, so a 302 is seen as a 302."""

    def __init__(self) -> None:
        import urllib.request

        class Keep(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.opener = urllib.request.build_opener(Keep)

    def __call__(
        self, method: str, url: str, body: dict | bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        import json
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if isinstance(body, dict) else body
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        request = urllib.request.Request(url, data=data, method=method, headers={**all_headers, **(headers or {})})
        try:
            with self.opener.open(request, timeout=30) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read())


@pytest.fixture(scope="session")
def http() -> _NoRedirects:
    """`http(method, url, body, headers)`: one HTTP request, redirects not followed, any status returned."""
    return _NoRedirects()


def authorised(target: Target, method: str, path: str, body: dict | bytes | None) -> dict[str, str]:
    """The headers that authorise a request to the target: its API key, or a SigV4 signature over the request."""
    import json

    if target.key_pair:
        from tooling.sigv4 import sign

        data = json.dumps(body).encode() if isinstance(body, dict) else body
        content = {"Content-Type": "application/json"} if data is not None else {}
        return sign(target.key_pair, method, f"{target.url}{path}", content, data, target.region)
    return {"x-api-key": target.api_key} if target.api_key else {}


@pytest.fixture(scope="session")
def api(target, http):
    """`api(method, path, body, headers)`: a request to the API with its key. Fails every test if the API refuses
    the key: a wrong key is a failure of the run, not a reason to skip."""

    def call(method: str, path: str, body: dict | bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        return http(method, f"{target.url}{path}", body, {**authorised(target, method, path, body), **(headers or {})})

    probe = call("POST", "/otp", {"type": "time_based", "action": "none"})
    if probe.status == 403:
        what = "signature" if target.key_pair else "API key"
        pytest.fail(f"{target.url} refused the {what} (403): check E2E_API_KEY, the stack's key or your credentials")
    assert probe.status == 400, probe
    return call
