"""`make dev` as a developer meets it, through its own command: the commands its banner prints, pasted into another
terminal (bash, the system's curl) in each auth mode; a port in use or a bad PORT told in one line, with no process
left behind; and a quiet terminal, one line per request and one short line per refusal, the functions' logs and
metrics in full only with VERBOSE=1 (--verbose); one line per security event."""

import http.client
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from local.dev_process import DevServer, needs_proc, run
from support import ROOT

pytestmark = needs_proc

GENERATE = {"type": "time_based", "action": "generate", "label": "terminal@example.com", "qrcode": "none"}
# The botocore example of docs/operations.md (Calling with IAM), as a user runs it with what the banner exported.
BOTOCORE = """
import json, os, sys, urllib.request, boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

session = boto3.Session()
body = json.dumps({"type": "time_based", "action": "generate"}).encode()
request = AWSRequest("POST", f"{os.environ['API']}/otp", data=body, headers={"Content-Type": "application/json"})
SigV4Auth(session.get_credentials(), "execute-api", session.region_name).add_auth(request)
answer = urllib.request.urlopen(urllib.request.Request(request.url, body, dict(request.headers), method="POST"))
print("answered", answer.status, file=sys.stderr)
"""


def call(base: str, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> int:
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        data = json.dumps(body) if body is not None else None
        connection.request(method, path, data, {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def try_commands(banner: list[str]) -> str:
    """The banner's "Try" lines, as pasted: their two-space indent off."""
    start = banner.index("Try, in another terminal:") + 1
    return "\n".join(line.removeprefix("  ") for line in banner[start:-1])


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
@pytest.mark.parametrize(
    "settings",
    [{}, {"OTP_API_KEY": "it's $HOME, not a variable"}, {"OTP_API_AUTH": "iam"}],
    ids=["no-auth", "api-key", "iam"],
)
def test_the_banners_commands_work_pasted_into_another_terminal(settings, tmp_path):
    # Another terminal has none of the server's environment (no OTP_API_KEY, no AWS variables): bash with PATH and
    # HOME only. curl is the system's (7.88 on Debian 12 signs a query string as written); each answer's status is
    # recorded beside the command as it was printed.
    with DevServer(settings) as server:
        commands = try_commands(server.banner)
        record = "curl() { command curl -w '%{stderr}answered %{http_code}\\n' \"$@\"; }"
        script = f"set -euo pipefail\n{record}\n{commands}\n"
        if "OTP_API_AUTH" in settings:  # an SDK, with what the banner exported
            script += f"API={server.base} {shlex.quote(sys.executable)} -c {shlex.quote(BOTOCORE)}\n"
        terminal = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
        result = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=terminal, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 0, (commands, result.stderr)
    statuses = [int(status) for status in re.findall(r"^answered (\d+)$", result.stderr, re.MULTILINE)]
    expected = commands.count("curl ") + ("OTP_API_AUTH" in settings)
    assert len(statuses) == expected and all(200 <= status < 400 for status in statuses), (commands, result.stderr)
    assert '"secret":' in result.stdout  # the enrolment answered
    assert (tmp_path / "code.png").read_bytes().startswith(b"\x89PNG")  # the barcode, by its redirect


def test_a_port_in_use_is_one_line_and_leaves_no_process():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result, left = run({"PORT": str(port)})
    assert result.returncode == 1 and not left, (result.stderr, left)
    assert result.stderr.splitlines() == [
        f"127.0.0.1:{port} is in use (another make dev?): stop it, or choose another port: PORT={port + 1} make dev"
    ]


@pytest.mark.parametrize("port", ["abc", "70000", "30.5", "-1"])
def test_a_bad_port_is_one_line_and_leaves_no_process(port):
    result, left = run({"PORT": port})
    assert result.returncode == 1 and not left, (result.stderr, left)
    assert result.stderr.splitlines() == [f"PORT must be a port number, 0 to 65535 (0: any free port), not {port!r}"]


def test_the_terminal_shows_one_line_per_request_and_a_short_line_per_refusal():
    with DevServer() as server:
        assert call(server.base, "POST", "/otp", GENERATE) == 200
        refused = {"type": "time_based", "action": "verify", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "code": "x"}
        assert call(server.base, "POST", "/otp", refused) == 400
        assert call(server.base, "GET", "/barcodes?data=hello&type=qr_code") == 302
        assert call(server.base, "GET", "/nothing-here?x=1") == 403
        url = urlsplit(server.base)
        with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
            connection.sendall(b"HELLO\r\n\r\n")
            assert connection.recv(100).startswith(b"HTTP/1.1 400 ")
    terminal = [re.sub(r" \d+ ms$", " (ms) ms", line) for line in server.after_banner()]
    assert terminal == [
        "POST /otp 200 (ms) ms",
        "OtpFunction request refused: invalid_parameter (code)",
        "POST /otp 400 (ms) ms",
        "GET /barcodes 302 (ms) ms",
        "GET /nothing-here 403 (ms) ms",
        "- - 400 (ms) ms",
        "stopped",
    ]
    assert "make dev VERBOSE=1" in server.banner[-1]  # where the rest is


def test_each_security_event_is_one_line_in_the_terminal():
    # The same path as deployed, on moto: the table's stream, the events function, PutEvents to the bus; the
    # server reads the bus as a consumer would and prints each event once.
    from support import wrong_code

    key = {"type": "time_based", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}
    with DevServer() as server:
        for _ in range(5):
            code = wrong_code(key["secret"], time.time())
            assert call(server.base, "POST", "/otp", {**key, "action": "verify", "code": code}) == 200
        assert call(server.base, "POST", "/otp", {**key, "action": "unlock"}) == 200
        server.wait_for("event Lockout Lifted: ")
    events = [line for line in server.after_banner() if line.startswith("event ")]
    assert [line.split(": ")[0] for line in events] == ["event Lockout Began", "event Lockout Lifted"], events
    assert re.fullmatch(r"event Lockout Began: state=[0-9a-f]{8} until=\S+Z failures=5", events[0]), events
    assert "Security events: one line each below" in "\n".join(server.banner)


def test_verbose_shows_the_functions_logs_and_metrics_in_full():
    with DevServer({}, "--verbose") as server:
        assert call(server.base, "POST", "/otp", GENERATE) == 200
        assert call(server.base, "POST", "/otp", {"type": "time_based", "action": "verify"}) == 400
    terminal = server.after_banner()
    records = [json.loads(line) for line in terminal if line.startswith("{")]
    assert any("OtpGenerated" in record for record in records)  # the EMF metric, as CloudWatch gets it
    assert any(record.get("message") == "request refused" for record in records)  # the JSON log record
    assert [line for line in terminal if re.fullmatch(r"POST /otp \d+ \d+ ms", line)] != []


def test_make_dev_verbose_1_is_the_verbose_option():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}

    def dry_run(*args: str) -> str:
        out = subprocess.run(["make", "-n", "dev", *args], cwd=ROOT, env=env, capture_output=True, text=True).stdout
        return next(line for line in out.splitlines() if "-m devserver" in line).strip()

    assert dry_run("VERBOSE=1").endswith("-m devserver --verbose")
    assert dry_run().endswith("-m devserver") and dry_run("VERBOSE=0").endswith("-m devserver")


def answer(base: str, body: dict) -> tuple[int, dict, dict]:
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("POST", "/otp", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def test_a_token_sealed_before_a_restart_still_opens_and_the_state_starts_afresh():
    # Given a sealed secret from one `make dev`, and its code accepted there
    from support import independent_code

    made = {"type": "time_based", "action": "generate", "seal": True, "qrcode": "none", "subject": "user-1"}
    with DevServer() as server:
        status, _, enrolled = answer(server.base, made)
        assert status == 200, enrolled
        check = {"type": "totp", "action": "verify", "sealed_secret": enrolled["sealed_secret"], "subject": "user-1"}
        code = independent_code(enrolled["secret"], time.time())
        assert answer(server.base, {**check, "code": code})[2]["valid"] is True
    # When the server is started again: the same sealing key (moto_server.py), and none of the state
    with DevServer() as server:
        status, headers, verdict = answer(
            server.base, {**check, "code": independent_code(enrolled["secret"], time.time())}
        )
    # Then the token opens (never a 503 with Retry-After), and its code is accepted again: local state is lost
    assert (status, verdict["valid"]) == (200, True), verdict
    assert "Retry-After" not in headers


@pytest.mark.parametrize(
    ("parameters", "line"),
    [
        ("MaxConsecutiveFailures=0", "MaxConsecutiveFailures=0: MaxConsecutiveFailures must be at least 1 (MinValue)"),
        ("LockoutWindowSeconds=86401", "LockoutWindowSeconds=86401: LockoutWindowSeconds must be at most 86400"),
        ("HotpLookAhead=ten", "HotpLookAhead=ten: HotpLookAhead must be a whole number"),
        ("ReplayProtection=yes", "ReplayProtection=yes: ReplayProtection must be one of true, false"),
        ("DefaultIssuer=a:b", "DefaultIssuer=a:b: DefaultIssuer must match ^[^:]*$ (AllowedPattern)"),
        ("MaxConsecutiveFailure=3", "MaxConsecutiveFailure is not a parameter of template.yaml (did you mean"),
        ("MaxConsecutiveFailures", "'MaxConsecutiveFailures' is not Name=Value"),
        ("SealingKeyArn=arn:aws:kms:eu-west-1:123456789012:key/k", "SealingKeyArn is not for the local server"),
    ],
)
def test_a_parameter_the_template_refuses_is_one_line_and_exit_1(parameters, line):
    # Given make dev PARAMETERS='...' with a value template.yaml's own rules refuse
    result, left = run({"PARAMETERS": parameters})
    # Then one line says which and why, nothing started, nothing left behind
    assert result.returncode == 1 and not left, (result.stderr, left)
    (said,) = result.stderr.splitlines()
    assert said.startswith(f"PARAMETERS: {line}"), said


def test_parameters_reach_the_functions_as_sam_deploy_would_set_them():
    # Given make dev PARAMETERS='MaxConsecutiveFailures=3 LockoutWindowSeconds=60', as the docs spell it
    key = {"type": "time_based", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}
    with DevServer({"PARAMETERS": "MaxConsecutiveFailures=3 LockoutWindowSeconds=60"}) as server:
        # When three wrong codes are sent: the third locks the key until it is unlocked
        from support import wrong_code

        for _ in range(3):
            status, _, body = answer(
                server.base, {**key, "action": "verify", "code": wrong_code(key["secret"], time.time())}
            )
            assert (status, body["valid"]) == (200, False), body
        status, headers, body = answer(server.base, {**key, "action": "verify", "code": "123456"})
    # Then the fourth is a 429 without Retry-After whose message names unlock, and the banner said what was set
    assert (status, body["error"], "Retry-After" in headers) == (429, "too_many_attempts", False), body
    assert "(action unlock)" in body["message"]
    said = (
        "Template parameters: MaxConsecutiveFailures=3 LockoutWindowSeconds=60 (the others at template.yaml's defaults)"
    )
    assert said in server.banner
