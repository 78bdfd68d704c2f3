"""The local HTTP front: routes from template.yaml, API Gateway events to the function processes, and the local
pages: the enrolment demo at /, Swagger UI at /swagger (served from the venv, no internet needed)."""

import hmac
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from devserver import gateway, sigv4
from devserver.stack import LocalCloud, eprint
from devserver.template import ROOT

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit
DEMO_PAGE = Path(__file__).with_name("demo.html")
SWAGGER_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>otp-api: Swagger UI</title>
<link rel="stylesheet" href="/swagger-ui/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/swagger-ui/swagger-ui-bundle.js"></script>
<script>
const key = /*API_KEY*/null;  // the local server's own key (OTP_API_KEY): authorised once the document is in
const ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui",
                            onComplete: () => { if (key) ui.preauthorizeApiKey("apiKey", key); }});
</script></body></html>
"""
KEY_SLOT = "/*API_KEY*/null"  # in a page's script: the local key (OTP_API_KEY) goes here
SWAGGER_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".png": "image/png"}
# API Gateway's own answers, byte for byte, where no function runs.
NO_ROUTE = b'{"message":"Missing Authentication Token"}'  # an unknown path, or a method the path has not
FORBIDDEN = b'{"message":"Forbidden"}'  # a missing or wrong API key
TOO_LARGE = b'{"message":"Request Too Long"}'
FUNCTION_FAILED = b'{"message": "Internal server error"}'  # (sic: API Gateway's spacing)
# Only the server's own names: a DNS-rebinding page (evil.example resolving to 127.0.0.1) sends its own Host, and
# must not read the pages, which carry the local key, nor call the API from the developer's browser.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MISDIRECTED = b'{"message":"Misdirected Request: this server answers only to 127.0.0.1, localhost and [::1]"}'


def _swagger_ui_dir() -> Path:
    """Swagger UI 5's own files from the swagger-ui-py package (pinned in requirements-local.txt): no CDN."""
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


def _script_value(value: str | None) -> str:
    """A JS string literal for a page's script (or null): `</script>` in it cannot end the element."""
    return json.dumps(value).replace("<", "\\u003c")


class ApiHandler(BaseHTTPRequestHandler):
    """One request: a local page, or API Gateway's part (routing, auth, the event) and the function's answer.
    `stack`, `api_key` (when set, requests must carry it in x-api-key, as API Gateway with ApiAuth=api_key asks)
    and `key_pair` (when set, requests must be signed with that key pair, as with ApiAuth=iam) are set on a subclass
    per server (make_handler)."""

    stack: LocalCloud
    api_key: str | None = None
    key_pair: sigv4.KeyPair | None = None

    protocol_version = "HTTP/1.1"
    server_version = "otp-api-local"
    # TCP_NODELAY: headers and body leave in separate writes, and on a kept-alive connection Nagle's algorithm
    # held the body back until the client's delayed ACK, about 40 ms per request.
    disable_nagle_algorithm = True

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, body: bytes) -> None:
        self._send(status, [("Content-Type", "application/json")], body)

    def _page(self, path: str) -> bool:
        """The local server's own pages: the demo, Swagger UI and its files, the OpenAPI document."""
        if path == "/":
            html = DEMO_PAGE.read_text().replace(KEY_SLOT, _script_value(self.api_key), 1)
        elif path == "/swagger":
            html = SWAGGER_HTML.replace(KEY_SLOT, _script_value(self.api_key), 1)
        elif path == "/openapi.json":
            self._send(200, [("Content-Type", "application/json")], (ROOT / "openapi.json").read_bytes())
            return True
        elif path.startswith("/swagger-ui/") and (name := path.removeprefix("/swagger-ui/")) in SWAGGER_FILES:
            file = _swagger_ui_dir() / name
            self._send(200, [("Content-Type", STATIC_TYPES[file.suffix])], file.read_bytes())
            return True
        else:
            return False
        self._send(200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], html.encode())
        return True

    def _own_host(self) -> bool:
        port = cast(tuple[str, int], self.server.server_address)[1]
        return self.headers.get("Host", "").strip().lower() in {f"{host}:{port}" for host in LOCAL_HOSTS}

    def _handle(self) -> None:
        if not self._own_host():
            self.close_connection = True
            self._json(421, MISDIRECTED)
            return
        url = urlsplit(self.path)
        if self.command == "GET" and self._page(url.path):
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._json(413, TOO_LARGE)
            return
        body = self.rfile.read(length) if length else b""
        function = self.stack.routes.get((self.command, url.path))
        if function is None:
            self._json(403, NO_ROUTE)
            return
        if (
            self.api_key
            and self.command != "OPTIONS"
            and not hmac.compare_digest(self.headers.get("x-api-key", "").encode(), self.api_key.encode())
        ):
            self._json(403, FORBIDDEN)
            return
        if self.key_pair and self.command != "OPTIONS":
            url_seen = f"http://{self.headers.get('Host', '')}{self.path}"
            lowered = {name.lower(): value for name, value in self.headers.items()}
            if refused := sigv4.refusal(self.key_pair, self.command, url_seen, lowered, body):
                self._json(403, refused)
                return
        event = gateway.to_event(
            self.command, url.path, url.path, url.query, list(self.headers.items()), body, self.client_address[0]
        )
        try:
            status, headers, data = gateway.from_response(function.invoke(event))
        except Exception as exc:  # the function process died or raised: API Gateway answers 502
            eprint(f"{function.name} failed: {exc}")
            self._json(502, FUNCTION_FAILED)
            return
        self._send(status, headers, data)

    def __getattr__(self, name: str):  # do_GET, do_POST, ... and any other method: routed, or API Gateway's 403
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:
        # The path only: query strings may carry secrets.
        eprint(f"{self.command} {urlsplit(self.path).path} -> {args[1] if len(args) > 1 else ''}")


def make_handler(
    stack: LocalCloud, api_key: str | None = None, signed_by: sigv4.KeyPair | None = None
) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (ApiHandler,), {"stack": stack, "api_key": api_key, "key_pair": signed_by})


def serve(
    stack: LocalCloud, host: str, port: int, api_key: str | None = None, signed_by: sigv4.KeyPair | None = None
) -> ThreadingHTTPServer:
    """The local API; `api_key` or `signed_by` (a SigV4 key pair) make it refuse requests without them."""
    server = ThreadingHTTPServer((host, port), make_handler(stack, api_key, signed_by))
    server.daemon_threads = True
    return server
