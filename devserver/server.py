"""The local HTTP front: routes from template.yaml, API Gateway events to the function processes, Swagger UI."""

import hmac
import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from devserver import gateway
from devserver.stack import LocalStack, eprint
from devserver.template import ROOT

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit
SWAGGER_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>otp-api</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div><script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script></body></html>
"""


def make_handler(stack: LocalStack, api_key: str | None = None) -> type[BaseHTTPRequestHandler]:
    """`api_key`: when set, requests must carry it in x-api-key, as API Gateway with RequireApiKey=true asks."""

    class Handler(BaseHTTPRequestHandler):
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

        def _error(self, status: HTTPStatus, code: str, message: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
            body = json.dumps({"error": code, "parameter": None, "message": message}).encode()
            self._send(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store"), *extra], body)

        def _handle(self) -> None:
            url = urlsplit(self.path)
            if self.command == "GET" and url.path == "/swagger":
                self._send(200, [("Content-Type", "text/html; charset=utf-8")], SWAGGER_HTML.encode())
                return
            if self.command == "GET" and url.path == "/openapi.json":
                self._send(200, [("Content-Type", "application/json")], (ROOT / "openapi.json").read_bytes())
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload_too_large", "request body too large")
                return
            body = self.rfile.read(length) if length else b""
            if (
                api_key
                and self.command != "OPTIONS"
                and not hmac.compare_digest(self.headers.get("x-api-key", "").encode(), api_key.encode())
            ):
                # API Gateway's own answer to a missing or wrong key
                self._send(403, [("Content-Type", "application/json")], b'{"message":"Forbidden"}')
                return
            function = stack.routes.get((self.command, url.path))
            if function is None:
                allowed = sorted(method for method, path in stack.routes if path == url.path)
                if allowed:
                    message = f"{self.command} is not allowed here"
                    allow = (("Allow", ", ".join(allowed)),)
                    self._error(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", message, allow)
                else:
                    self._error(HTTPStatus.NOT_FOUND, "not_found", "no such route")
                return
            event = gateway.to_event(self.command, url.path, url.path, url.query, list(self.headers.items()), body,
                                     self.client_address[0])  # fmt: skip
            try:
                status, headers, data = gateway.from_response(function.invoke(event))
            except Exception as exc:  # the function process died or raised: API Gateway answers 502
                self._error(HTTPStatus.BAD_GATEWAY, "bad_gateway", f"{function.name} failed: {exc}")
                return
            self._send(status, headers, data)

        def __getattr__(self, name: str):  # do_GET, do_POST, ... and any other method: 404 or 405 as it applies
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

        def log_message(self, format: str, *args: object) -> None:
            # The path only: query strings may carry secrets.
            eprint(f"{self.command} {urlsplit(self.path).path} -> {args[1] if len(args) > 1 else ''}")

    return Handler


def serve(stack: LocalStack, host: str, port: int, api_key: str | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(stack, api_key))
    server.daemon_threads = True
    return server
