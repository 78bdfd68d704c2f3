"""The local server's HTTP over a real socket, and its supervision of its parts: malformed lengths, chunked bodies,
a refused body never read as the next request, slow and vanishing clients, a function past its Timeout, and a
killed worker or AWS stand-in that comes back without restarting `make dev`."""

import json
import re
import socket
import threading
import time

import pytest
from support import ROOT

from devserver import server as local_server
from devserver.functions import FunctionError, FunctionProcess
from devserver.server import serve
from devserver.stack import LocalCloud
from tooling.sigv4 import KeyPair

GENERATE = b'{"type": "time_based", "action": "generate", "label": "socket", "qrcode": "none"}'
PAIR = KeyPair("AKIDSOCKETTEST", "socket-test-secret")
HEADERS_TOO_LARGE = b'{"message":"Request Header Fields Too Large"}'


@pytest.fixture(scope="module")
def running():
    with LocalCloud() as stack:
        server = serve(stack, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield stack, server.server_address[1]
        server.shutdown()
        server.server_close()


def exchange(port: int, raw: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes the connection (or the timeout passes), return all of it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(raw)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                return received
            received += chunk
        raise AssertionError(f"the server kept the connection open past {timeout} s: {received[:200]!r}")


def request(port: int, head: str, body: bytes = b"") -> bytes:
    return exchange(port, head.replace("{port}", str(port)).replace("\n", "\r\n").encode() + b"\r\n" + body)


def responses_in(data: bytes) -> list[int]:
    return [int(line.split()[1]) for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.")]


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", " "])
def test_a_content_length_that_is_no_length_is_a_400_and_the_connection_closes(running, length):
    _, port = running
    data = request(port, f"POST /otp HTTP/1.1\nHost: 127.0.0.1:{{port}}\nContent-Length: {length}\n\n", GENERATE)
    assert responses_in(data) == [400], data[:300]
    assert data.endswith(b'{"message":"Bad Request"}')


def test_a_chunked_body_is_the_body_and_its_size_lines_are_no_second_request(running):
    _, port = running
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(GENERATE), GENERATE)
    head = "POST /otp HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Type: application/json\nTransfer-Encoding: chunked\n"
    data = request(port, head, chunked)
    assert responses_in(data) == [200], data[:300]
    assert b'"label":"socket"' in data


def test_a_refused_body_is_never_read_as_the_next_request(running):
    # A body over API Gateway's 10 MB whose bytes hold a request of their own: 413, then nothing more, however
    # long the client waits (as curl does, reading the answer by its length).
    _, port = running
    smuggled = b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port
    body = smuggled * (local_server.MAX_BODY_BYTES // len(smuggled) + 10)
    head = f"POST /otp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head.encode() + body)
        connection.settimeout(2)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    assert responses_in(received) == [413], received[:200]
    assert b"openapi" not in received and b"Connection: close" in received


def test_one_request_per_connection_and_the_second_is_not_answered(running):
    _, port = running
    two = f"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode() * 2
    assert responses_in(exchange(port, two)) == [200]


def test_a_client_that_sends_nothing_is_dropped_and_one_that_hangs_up_leaves_no_traceback(running, monkeypatch, capfd):
    _, port = running
    monkeypatch.setattr(local_server._Handler, "timeout", 1)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
        idle.sendall(b"POST /otp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 100\r\n\r\n{" % port)
        started = time.monotonic()
        answer = idle.recv(1000)  # half a body: refused once the client is too slow, never run
        assert responses_in(answer) == [400] and time.monotonic() - started < 5
    with socket.create_connection(("127.0.0.1", port), timeout=10) as gone:
        gone.sendall(b"POST /otp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 1000\r\n\r\n{" % port)
    time.sleep(1.5)
    assert "Traceback" not in capfd.readouterr().err
    assert responses_in(request(port, "GET /openapi.json HTTP/1.1\nHost: 127.0.0.1:{port}\n")) == [200]


def test_a_killed_worker_is_started_again(running, capfd):
    stack, port = running
    head = "POST /otp HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Type: application/json\n"
    head += f"Content-Length: {len(GENERATE)}\n"
    stack.functions["OtpFunction"]._proc.kill()
    stack.functions["OtpFunction"]._proc.wait()
    assert responses_in(request(port, head, GENERATE)) == [200]
    assert "OtpFunction exited" in capfd.readouterr().err


def test_a_killed_aws_stand_in_is_started_again(running, capfd):
    stack, port = running
    head = "POST /otp HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Type: application/json\n"
    generate = GENERATE.replace(b'"none"', b'"url"')  # the image goes to moto's S3
    head += f"Content-Length: {len(generate)}\n"
    stack._moto.kill()
    stack._moto.wait()
    assert responses_in(request(port, head, generate)) == [200]
    assert "moto's server exited" in capfd.readouterr().err


def test_a_function_past_its_timeout_is_stopped_and_started_again(tmp_path):
    # Lambda stops an invocation at the function's Timeout; the next one runs in a fresh environment.
    (tmp_path / "slow.py").write_text(
        "import time\n\ndef handler(event, context):\n    time.sleep(event['sleep'])\n    return {'statusCode': 200}\n"
    )
    process = FunctionProcess("Slow", "slow.handler", [tmp_path], {}, timeout=1)
    try:
        started = time.monotonic()
        with pytest.raises(FunctionError, match="Task timed out"):
            process.invoke({"sleep": 5})
        assert time.monotonic() - started < 4
        assert process.invoke({"sleep": 0}) == {"statusCode": 200}
    finally:
        process.close()


def test_the_template_timeout_reaches_the_workers(running):
    stack, _ = running
    assert {process.timeout for process in stack.functions.values()} == {10}
    assert (ROOT / "template.yaml").read_text().count("Timeout: 10") == 1


def test_with_the_aws_stand_in_paused_every_path_answers_503_within_the_timeout(running):
    # moto's server stopped (SIGSTOP): connections are accepted by the kernel and never answered, as a slow AWS
    # service looks. Each path answers the documented 503 with Retry-After before the function's 10 s Timeout.
    import json
    import os
    import signal

    stack, port = running
    bodies = {
        "sealed generate with a stored image": b'{"type": "time_based", "action": "generate", "seal": true}',
        "verify with state": b'{"type": "time_based", "action": "verify", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",'
        b' "code": "123456"}',
    }
    os.kill(stack._moto.pid, signal.SIGSTOP)
    try:
        for name, body in bodies.items():
            head = "POST /otp HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Type: application/json\n"
            head += f"Content-Length: {len(body)}\n"
            started = time.monotonic()
            data = request(port, head, body)
            seconds = time.monotonic() - started
            assert responses_in(data) == [503], (name, data[:300])
            assert b"Retry-After: 1" in data and seconds < 10, (name, seconds)
            assert json.loads(data.split(b"\r\n\r\n", 1)[1])["error"] in ("sealing_unavailable", "state_unavailable")
    finally:
        os.kill(stack._moto.pid, signal.SIGCONT)


def test_a_malformed_request_line_is_logged_without_its_query_string(running, capfd):
    # http.server quotes a request line it cannot parse in its log message: with a secret in the query string.
    _, port = running
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    exchange(port, f"POST /otp?secret={secret} HTTP/1.1 extra\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    time.sleep(0.2)
    logged = capfd.readouterr().err
    assert re.search(r"^- - 400 \d+ ms$", logged, re.MULTILINE) and secret not in logged


# --- every request read is answered, as API Gateway answers what it refuses itself ---------------------------------


def head_and_body(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def assert_own_answer(data: bytes, status: int, body: bytes) -> None:
    """An answer of the server's own: the status, API Gateway's JSON message, no-store, and the connection closed."""
    answered, headers, received = head_and_body(data)
    assert (answered, received) == (status, body), data[:300]
    assert headers["content-type"] == "application/json" and headers["cache-control"] == "no-store", headers
    assert headers["content-length"] == str(len(body)) and headers["connection"] == "close", headers


@pytest.mark.parametrize(
    ("raw", "status", "body"),
    [
        (b"HELLO\r\n\r\n", 400, b'{"message":"Bad Request"}'),
        (b"GET /otp HTTP/9.9\r\nHost: 127.0.0.1:{port}\r\n\r\n", 505, b'{"message":"HTTP Version Not Supported"}'),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 414, b'{"message":"URI Too Long"}'),
        (b"GET /otp\r\n", 400, b'{"message":"Bad Request"}'),  # HTTP/0.9's form: no headers follow, none awaited
        (b"GET /otp HTTP/1.1 extra\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400, b'{"message":"Bad Request"}'),
        (b"GET /otp HTTP/x.y\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400, b'{"message":"Bad Request"}'),
        (b"GET /otp HTTP/1.1\r\n" + b"X-A: b\r\n" * 150 + b"\r\n", 431, HEADERS_TOO_LARGE),
        (b"GET /otp HTTP/1.1\r\nX-A: " + b"b" * 70_000 + b"\r\n\r\n", 431, HEADERS_TOO_LARGE),
    ],
    ids=["one-word", "http-9.9", "70-kb-url", "http-0.9", "four-words", "no-version", "150-headers", "70-kb-header"],
)
def test_a_request_that_cannot_be_read_is_answered_as_api_gateway_answers(running, capfd, raw, status, body):
    _, port = running
    data = exchange(port, raw.replace(b"{port}", str(port).encode()))
    assert_own_answer(data, status, body)
    time.sleep(0.1)
    logged = capfd.readouterr().err
    assert "Traceback" not in logged and "Error" not in logged, logged
    assert re.search(rf"^\S+ \S+ {status} \d+ ms$", logged, re.MULTILINE), logged  # one access line, as for any


@pytest.fixture(scope="module")
def guarded(running):
    """A second front on the same stack, which requires an API key; and a third, which requires SigV4."""
    stack, _ = running
    servers = [serve(stack, "127.0.0.1", 0, api_key="local-key"), serve(stack, "127.0.0.1", 0, signed_by=PAIR)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tuple(server.server_address[1] for server in servers)
    for server in servers:
        server.shutdown()
        server.server_close()


def test_every_answer_the_server_makes_itself_is_json_and_never_stored(running, guarded, monkeypatch):
    # API Gateway's own answers carry Cache-Control: no-store (template.yaml's GatewayResponses); so do the local
    # server's, whichever refusal it is.
    stack, port = running
    keyed, signed = guarded
    generate = f"POST /otp HTTP/1.1\nHost: 127.0.0.1:{{port}}\nContent-Length: {len(GENERATE)}\n"
    # A wrong route or method, a wrong key, no signature: template.yaml's gateway responses, in the API's error shape
    from tooling.template import gateway_responses

    answers, signing = gateway_responses(iam=False), gateway_responses(iam=True)
    missing = answers["MISSING_AUTHENTICATION_TOKEN"]
    assert json.loads(missing)["error"] == "no_such_route" and "POST /otp" in json.loads(missing)["message"]
    assert_own_answer(request(port, "GET /nothing HTTP/1.1\nHost: 127.0.0.1:{port}\n"), 403, missing)
    assert_own_answer(request(port, "DELETE /otp HTTP/1.1\nHost: 127.0.0.1:{port}\n"), 403, missing)
    assert_own_answer(request(keyed, generate + "x-api-key: not-it\n", GENERATE), 403, answers["INVALID_API_KEY"])
    assert_own_answer(request(keyed, generate, GENERATE), 403, answers["INVALID_API_KEY"])  # no key at all
    assert_own_answer(request(signed, generate, GENERATE), 403, signing["MISSING_AUTHENTICATION_TOKEN"])
    misdirected = request(port, "GET / HTTP/1.1\nHost: evil.example:{port}\n")
    assert_own_answer(misdirected, 421, local_server.MISDIRECTED)
    bad_length = request(port, "POST /otp HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Length: x\n", GENERATE)
    assert_own_answer(bad_length, 400, b'{"message":"Bad Request"}')
    # Over 10 MB by its length: refused before the body is read (the server then drains it, so read by length).
    too_long = b"POST /otp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n\r\n" % (port, 11 * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(too_long + b"x" * 1000)
        received = b""
        while not received.endswith(local_server.TOO_LARGE) and (chunk := connection.recv(65536)):
            received += chunk
    assert_own_answer(received, 413, local_server.TOO_LARGE)

    def fails(event):
        raise FunctionError("it raised")

    monkeypatch.setattr(stack.functions["OtpFunction"], "invoke", fails)
    assert_own_answer(request(port, generate, GENERATE), 502, local_server.FUNCTION_FAILED)


def test_a_fault_of_the_server_itself_is_a_500_and_one_line_not_a_traceback(running, monkeypatch, capfd):
    stack, port = running

    def broken(method, path):
        raise KeyError("a bug")

    monkeypatch.setattr(stack, "route", broken)
    head = f"POST /otp HTTP/1.1\nHost: 127.0.0.1:{{port}}\nContent-Length: {len(GENERATE)}\n"
    assert_own_answer(request(port, head, GENERATE), 500, local_server.FUNCTION_FAILED)
    time.sleep(0.1)
    logged = capfd.readouterr().err
    assert "Traceback" not in logged and "the local server failed: KeyError" in logged, logged
