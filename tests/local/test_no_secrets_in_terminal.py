"""What `make dev` prints while it serves, quiet and verbose, searched for every secret, code and otp URL the
requests carried or got: the local server's own lines (the path, never the query string) and the functions' (a short
line per refusal, or their logs and metrics in full). tests/handler/test_no_secrets_in_logs.py searches the
functions' output in process; this searches the terminal."""

import http.client
import json
import re
import socket
from urllib.parse import quote, urlsplit

from local.dev_process import DevServer, needs_proc

pytestmark = needs_proc


def test_no_secret_code_or_otp_url_in_the_terminal_quiet_or_verbose():
    sensitive: list[str] = []
    codes: list[str] = []
    output = {}
    for mode, args in (("quiet", ()), ("verbose", ("--verbose",))):
        with DevServer({}, *args) as server:
            exercise(server.base, sensitive, codes)
            server.wait_for("event Lockout Began: ")  # the events' lines too, printed as they come
        output[mode] = "\n".join(server.lines)
    assert "OtpFunction request refused: too_many_attempts" in output["quiet"]  # refusals reached the terminal
    assert "event Lockout Began: " in output["quiet"]  # and so did the security events
    assert '"message":"request refused"' in output["verbose"] and "OtpVerified" in output["verbose"]
    for mode, text in output.items():
        for value in sensitive:
            assert value not in text, mode
        for code in codes:  # a code as a whole word, not digits inside a timestamp or an id
            assert not re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", text), mode
        assert "otpauth" not in text, mode


def exercise(base: str, sensitive: list[str], codes: list[str]) -> None:
    """Every kind of request, right and wrong, with its secrets, codes and URLs collected."""
    url = urlsplit(base)

    def post(body: dict | str, path: str = "/otp") -> tuple[int, dict]:
        return send("POST", path, body if isinstance(body, str) else json.dumps(body))

    def send(method: str, path: str, body: str | None = None) -> tuple[int, dict]:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            connection.request(method, path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, {}

    def raw(request: bytes) -> None:  # a request the server refuses itself; its answer read, whatever it is
        with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
            connection.sendall(request)
            connection.recv(100)

    for algorithm in ("SHA1", "SHA512"):
        status, made = post(
            {"type": "time_based", "action": "generate", "label": "leak@example.com", "algorithm": algorithm}
        )
        assert status == 200, made
        secret = made["secret"]
        sensitive += [secret, made["otp_url"], made["qrcode_url"]]
        verify = {"type": "time_based", "action": "verify", "secret": secret, "algorithm": algorithm}
        _, listed = post(verify)
        codes += list(listed["otp_codes"].values())
        post({**verify, "code": listed["otp_codes"]["current"]})
        post({**verify, "code": listed["otp_codes"]["current"]})  # a replay
        post({**verify, "code": "12x456"})
        post({**verify, "secret": secret[:-3] + "111"})
        post('{"type": "time_based", "action": "verify", "secret": "' + secret + '"')  # malformed JSON
        post({"type": "time_based", "action": "verify", secret: "x"})  # a secret pasted as a parameter name
        wrong = "999999" if "999999" not in listed["otp_codes"].values() else "999998"
        for _ in range(6):  # up to a lockout, then 429
            post({**verify, "code": wrong})
        post({"type": "time_based", "action": "unlock", "secret": secret, "algorithm": algorithm})
        _, sealed = post({"type": "time_based", "action": "generate", "seal": True, "qrcode": "inline"})
        sensitive += [sealed["secret"], sealed["sealed_secret"], sealed["qrcode_data_uri"][22:]]
        post({"type": "time_based", "action": "verify", "sealed_secret": sealed["sealed_secret"], "code": "000000"})
        post({"type": "time_based", "action": "verify", "sealed_secret": sealed["sealed_secret"][:-2], "code": "0"})
        _, imported = post({"type": "time_based", "action": "seal", "secret": secret})
        sensitive.append(imported["sealed_secret"])
        # the secret in a query string and a body of the barcode routes, as an otp URL may be
        send("GET", f"/barcodes?data={quote(made['otp_url'], safe='')}&type=qr_code")
        send("GET", f"/barcodes?data={secret}&type=nothing")
        post({"data": made["otp_url"], "type": "qr_code"}, "/barcodes")
        # the secret in the query string of requests the server refuses itself
        send("GET", f"/nothing-here?secret={secret}")
        raw(f"GET /otp?secret={secret} HTTP/9.9\r\nHost: {url.netloc}\r\n\r\n".encode())
        raw(f"GET /otp?secret={secret}\r\n".encode())
        raw(f"POST /otp?secret={secret} HTTP/1.1 extra\r\nHost: {url.netloc}\r\n\r\n".encode())
        raw(f"GET /otp?secret={secret}&pad={'a' * 70_000} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
        raw(f"GET /?secret={secret} HTTP/1.1\r\nHost: evil.example\r\n\r\n".encode())
    _, recovery = post({"type": "recovery_codes", "action": "generate", "count": 3})
    sensitive += [*recovery["codes"], *(code.replace("-", "") for code in recovery["codes"]), recovery["sealed_codes"]]
    redeem = {"type": "recovery_codes", "action": "verify", "sealed_codes": recovery["sealed_codes"]}
    post({**redeem, "code": recovery["codes"][0]})
    post({**redeem, "code": recovery["codes"][0]})  # used
    for _ in range(6):
        post({**redeem, "code": "ZZZZ-ZZZZ-ZZ"})
    post({**redeem, "code": recovery["codes"][1]})  # refused while locked
    post({"type": "recovery_codes", "action": "unlock", "sealed_codes": recovery["sealed_codes"]})
    assert sensitive and codes
