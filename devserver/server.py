"""The local HTTP front: routes from template.yaml, API Gateway events to the function processes, and the local
pages: the enrolment demo at /, Swagger UI at /swagger (served from the venv, no internet needed).

HTTP itself is werkzeug's (moto brings it): its server reads bodies by Content-Length or chunked encoding, drains
what a refused request left unread and closes every connection after its answer, so no body is ever read as the
next request; a slow client is dropped after REQUEST_TIMEOUT; a client that hangs up is no traceback. A request it
cannot read (a request line that is no HTTP/1.x, a URL over 64 KB, headers too long) is answered too, as every
answer the server makes itself: a JSON message and `Cache-Control: no-store`, as API Gateway's own answers.

The terminal gets one line per request: method, path (never the query string, which may carry a secret), status
and milliseconds; the demo page's polls of its security events (/local/events) none, since each event has its own
line (stack.py).
"""

import errno
import hmac
import json
import selectors
import sys
import time
import traceback
from http import HTTPStatus
from pathlib import Path
from typing import Any

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from devserver import gateway, sigv4
from devserver.functions import FunctionError
from devserver.stack import LocalCloud, eprint
from tooling.sigv4 import KeyPair
from tooling.template import ROOT, gateway_responses

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit
REQUEST_TIMEOUT = 30  # seconds a client may take to send its request
DEMO_PAGE = Path(__file__).with_name("demo.html")
EVENTS_PATH = "/local/events"  # a local page of the server's own: no such route exists deployed
SWAGGER_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>otp-api: Swagger UI</title>
<link rel="icon" type="image/png" href="/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="/swagger-ui/swagger-ui.css">
<style>/* a phone's width: Swagger UI's responses table has a "Links" column (empty here) that would push it wider */
@media (max-width: 600px) { .swagger-ui .response-col_links { display: none; } }</style></head>
<body><div id="ui"></div><script src="/swagger-ui/swagger-ui-bundle.js"></script>
<script>
const key = /*API_KEY*/null;  // the local server's own key (OTP_API_KEY): authorised once the document is in
const ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui",
                            onComplete: () => { if (key) ui.preauthorizeApiKey("apiKey", key); }});
</script></body></html>
"""
KEY_SLOT = "/*API_KEY*/null"  # in a page's script: the local key (OTP_API_KEY) goes here
SIGV4_SLOT = "/*SIGV4*/null"  # in the demo's script: with OTP_API_AUTH=iam, curl's options that sign
SWAGGER_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".png": "image/png"}
# API Gateway's own answers, byte for byte, where no function runs. An unknown path or a method the path has not
# (and, with IAM, no signature), and a missing or wrong API key: template.yaml's GatewayResponses (LocalApi).
TOO_LARGE = b'{"message":"Request Too Long"}'
BAD_REQUEST = b'{"message":"Bad Request"}'
FUNCTION_FAILED = b'{"message": "Internal server error"}'  # (sic: API Gateway's spacing)
NO_STORE = {"Cache-Control": "no-store"}  # on every answer of API Gateway's own (template.yaml: GatewayResponses)
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


def _status(code: int) -> str:
    """The status line's words as API Gateway writes them ("403 Forbidden"; werkzeug's own are upper case)."""
    return f"{code} {HTTP_STATUS_CODES.get(code, 'Unknown')}"


def _json(status: int, body: bytes) -> Response:
    """An answer the server makes itself, as API Gateway makes its own."""
    return Response(body, _status(status), content_type="application/json", headers=NO_STORE)


def _message(status: int) -> bytes:
    """API Gateway's shape of answer for a status it has no words of its own for: its standard phrase."""
    return json.dumps({"message": HTTPStatus(status).phrase}, separators=(",", ":")).encode()


class LocalApi:
    """The WSGI application: a local page, or API Gateway's part (routing, auth, the event) and the function's
    answer. `api_key` (requests must carry it in x-api-key, as with ApiAuth=api_key) or `signed_by` (requests must
    be signed with that key pair, as with ApiAuth=iam) make it refuse requests without them. `http_api`: the
    functions get an HTTP API's payload 2.0 events (ApiType=HTTP), not a REST API's."""

    def __init__(
        self, stack: LocalCloud, port: int, api_key: str | None, signed_by: KeyPair | None, http_api: bool = False
    ) -> None:
        self.stack, self.port, self.api_key, self.key_pair = stack, port, api_key, signed_by
        answers = gateway_responses(iam=signed_by is not None)
        self.no_route, self.forbidden = answers["MISSING_AUTHENTICATION_TOKEN"], answers["INVALID_API_KEY"]
        self.http_api = http_api

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        try:
            response = self.answer(request)
        except Exception as exc:  # the server's own fault: one line (the traceback with --verbose), and an answer
            eprint(f"the local server failed: {type(exc).__name__} (make dev VERBOSE=1 shows where)")
            if self.stack.verbose:
                traceback.print_exc()
            response = _json(500, FUNCTION_FAILED)
        return response(environ, start_response)

    def answer(self, request: Request) -> Response:
        if request.host.lower() not in {f"{host}:{self.port}" for host in LOCAL_HOSTS}:
            return _json(421, MISDIRECTED)
        if request.method == "GET" and (page := self._page(request.path)):
            return page
        length = request.headers.get("Content-Length")
        if length is not None and not (length.isascii() and length.isdigit()):
            return _json(400, BAD_REQUEST)  # "abc", "-1": no length to read a body by
        try:
            body = request.get_data()
        except RequestEntityTooLarge:
            return _json(413, TOO_LARGE)
        except ClientDisconnected:  # the body stopped short of its length: gone, or too slow (REQUEST_TIMEOUT)
            return _json(400, BAD_REQUEST)
        return self._api(request, body)

    def _page(self, path: str) -> Response | None:
        """The local server's own pages: the demo, Swagger UI and its files, the OpenAPI document."""
        if path == "/":
            signing = sigv4.curl_options(self.key_pair) if self.key_pair else None
            html = DEMO_PAGE.read_text().replace(KEY_SLOT, _script_value(self.api_key), 1)
            html = html.replace(SIGV4_SLOT, _script_value(signing), 1)
        elif path == "/swagger":
            html = SWAGGER_HTML.replace(KEY_SLOT, _script_value(self.api_key), 1)
        elif path == "/openapi.json":
            return Response((ROOT / "openapi.json").read_bytes(), content_type="application/json")
        elif path == EVENTS_PATH:  # the security events the local bus received, latest last (the demo polls it)
            body = json.dumps({"events": list(self.stack.events)})
            return Response(body, content_type="application/json", headers={"Cache-Control": "no-store"})
        elif path.startswith("/swagger-ui/") and (name := path.removeprefix("/swagger-ui/")) in SWAGGER_FILES:
            file = _swagger_ui_dir() / name
            return Response(file.read_bytes(), content_type=STATIC_TYPES[file.suffix])
        else:
            return None
        return Response(html, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})

    def _api(self, request: Request, body: bytes) -> Response:
        function = self.stack.route(request.method, request.path)
        if function is None:  # an HTTP API has no gateway responses: its own 404 (docs/operations.md)
            return _json(404, _message(404)) if self.http_api else _json(403, self.no_route)
        if (
            self.api_key
            and request.method != "OPTIONS"
            and not hmac.compare_digest(request.headers.get("x-api-key", "").encode(), self.api_key.encode())
        ):
            return _json(403, self.forbidden)
        if self.key_pair and request.method != "OPTIONS":
            url = f"http://{request.host}{request.environ.get('REQUEST_URI', request.path)}"  # as sent
            lowered = {name.lower(): value for name, value in request.headers.items()}
            if refused := sigv4.refusal(self.key_pair, request.method, url, lowered, body):
                return _json(403, self.no_route if refused == sigv4.MISSING else refused)
        query = request.query_string.decode("latin-1")
        event = (gateway.to_event_v2 if self.http_api else gateway.to_event)(
            request.method, request.path, request.path, query, list(request.headers.items()), body,
            request.remote_addr or "127.0.0.1",
        )  # fmt: skip
        try:
            status, headers, data = gateway.from_response(function.invoke(event))
        except FunctionError as exc:  # it raised, died or ran past its Timeout: API Gateway answers 502
            eprint(f"{function.name} failed: {exc}")
            return _json(502, FUNCTION_FAILED)
        response = Response(data, _status(status))
        response.headers.clear()
        for key, value in headers:
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                response.headers.add(key, value)
        return response


class _Handler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT  # a client that sends nothing is dropped, not waited on for ever
    # TCP_NODELAY: headers and body leave in separate writes; Nagle's algorithm would hold the body back until the
    # client's delayed ACK, about 40 ms per request.
    disable_nagle_algorithm = True
    _started = 0.0

    def handle_one_request(self) -> None:
        self._started = time.monotonic()
        super().handle_one_request()

    def parse_request(self) -> bool:
        words = self.raw_requestline.decode("latin-1").split()
        if len(words) == 2:  # `GET /path`, HTTP/0.9's form: API Gateway speaks HTTP/1.x (and http.server would wait
            self.command, self.path = words  # for headers that 0.9 never sends)
            self.send_error(HTTPStatus.BAD_REQUEST)
            return False
        return super().parse_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's answer to a request it cannot read (400, 414, 431, 505), as API Gateway's own: a JSON
        message and no-store, and never http.server's message, which quotes the request line back."""
        body = _message(code)
        if getattr(self, "request_version", None) not in ("HTTP/1.0", "HTTP/1.1"):  # unread, or 0.9: HTTP/1.1's
            self.request_version = "HTTP/1.1"
        self.send_response(code)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **NO_STORE}.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self._discard_unread()

    def _discard_unread(self) -> None:
        """Read what the client is still sending (the rest of a 70 KB URL, a body) before the connection closes:
        closed with bytes unread, it would be reset, and the client could lose the answer."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            received = 0
            while received < MAX_BODY_BYTES and selector.select(timeout=0.1):
                try:
                    chunk = self.connection.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                received += len(chunk)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Method, path, status, time. The path only: query strings may carry secrets. A request line that could
        # not be read has neither method nor path.
        path = getattr(self, "path", None) or "-"  # unset when the request line was unreadable
        if path == EVENTS_PATH and code == 200:  # the demo page polls it: its events get their own lines
            return
        milliseconds = (time.monotonic() - self._started) * 1000
        eprint(f"{getattr(self, 'command', None) or '-'} {path.split('?', 1)[0]} {code} {milliseconds:.0f} ms")

    def log_error(self, format: str, *args: Any) -> None:
        # Never http.server's message: it quotes the request line, query string (and any secret) included.
        if format.startswith("Request timed out"):
            eprint(f"no whole request in {self.timeout} s: connection closed")
        else:
            eprint("request failed")


class CannotListen(Exception):
    """The port is taken (`in_use`), or not ours to take: the message says which, in one line."""

    def __init__(self, message: str, in_use: bool) -> None:
        super().__init__(message)
        self.in_use = in_use


class _Server(ThreadedWSGIServer):  # its threads are daemons: Ctrl-C waits for no request
    def server_bind(self) -> None:
        # Raised as our own error, not werkzeug's two printed lines and sys.exit (serve's caller has a stack to stop).
        try:
            super().server_bind()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CannotListen(f"{self.host}:{self.port} is in use", in_use=True) from None
            raise CannotListen(f"cannot listen on {self.host}:{self.port}: {exc.strerror}", in_use=False) from None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The last resort (an error in the handler itself): one line, not socketserver's traceback.
        eprint(f"request failed: {type(sys.exception()).__name__}")


def serve(
    stack: LocalCloud,
    host: str,
    port: int,
    api_key: str | None = None,
    signed_by: KeyPair | None = None,
    http_api: bool = False,
) -> BaseWSGIServer:
    """The local API, threaded (`serve_forever`, `shutdown`, `server_close`, `server_address` as http.server's),
    listening as soon as this returns. CannotListen if the port is taken. `http_api`: as ApiType=HTTP."""
    application = LocalApi(stack, port, api_key, signed_by, http_api)
    server = _Server(host, port, application, handler=_Handler)
    application.port = server.server_address[1]
    return server
