"""The OTP function's init and first verify in a fresh interpreter, against the bench's loopback stand-in of AWS
(bench/standin.py), which counts the connections it accepts and records each request: from source, or from the
built package (its function, layer and the runtime's botocore alone, as Lambda runs it). The probe also records
every CA location loaded into a TLS context, in the whole process. Used by unit/test_warm_up_connections.py and
local/test_trust_store.py."""

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from support import ROOT, load_event

PROBE = """
import importlib.util, json, os, ssl, sys, time
if os.environ.get("PROBE_PATHS"):  # the built package (an isolated interpreter: no PYTHONPATH)
    sys.path[:0] = os.environ["PROBE_PATHS"].split(os.pathsep)
from otp_api import aws
warm_up, waited, loads = aws.warm_up, [], []
load_verify_locations = ssl.SSLContext.load_verify_locations

def counted(self, cafile=None, capath=None, cadata=None):
    loads.append({"cafile": cafile, "capath": capath, "cadata": cadata is not None})
    return load_verify_locations(self, cafile, capath, cadata)

ssl.SSLContext.load_verify_locations = counted

def timed(*calls):
    start = time.monotonic()
    warm_up(*calls)
    waited.append(time.monotonic() - start)

aws.warm_up = timed
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
print("after init", len(loads), sum(waited), flush=True)
input()  # the test reads the stand-in, then lets the first request go
event = json.loads(sys.argv[2])

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "probe", 1024, "probe"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:probe"

    def get_remaining_time_in_millis(self):
        return 10_000

answer = app.lambda_handler(event, Context())
error = json.loads(answer["body"]).get("error") if answer["statusCode"] >= 400 else None
print(json.dumps({"loads": loads, "status": answer["statusCode"], "error": error}), flush=True)
"""


class Probe(NamedTuple):
    at_init: list[str]  # what init sent
    opened: int  # the connections open after init
    waited: float  # seconds init waited for the warm-up
    first: list[str]  # what the first request sent
    after: int  # the connections open after it
    status: int  # its status code
    error: str | None  # and its error code, if refused
    loads: list[dict]  # each CA location loaded into a TLS context in the whole process: cafile, capath, cadata


def first_request(stand_in, built: Sequence[Path] = (), **env: str) -> Probe:
    """Init the OTP function, then verify a code; from source, or with `built` the built package's paths
    (function, layer, runtime) in an isolated interpreter. The CA bundle is the one botocore chooses unless `env`
    names one: this run's own AWS_CA_BUNDLE and REQUESTS_CA_BUNDLE (botocore reads both) are left out."""
    stand_in.seen.clear()
    stand_in.connections = 0
    environment = {
        **{name: value for name, value in os.environ.items() if name not in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE")},
        "PYTHONPATH": str(ROOT / "layers" / "common"),
        "AWS_ENDPOINT_URL": stand_in.url,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **env,
    }
    app, flags = ROOT / "functions" / "otp" / "app.py", []
    if built:
        app, flags = Path(built[0]) / "app.py", ["-I", "-S"]
        environment["PROBE_PATHS"] = os.pathsep.join(map(str, built))
    body = {"type": "time_based", "action": "verify", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "code": "123456"}
    event = {**load_event("otp-verify"), "body": json.dumps(body)}
    process = subprocess.Popen(
        [sys.executable, *flags, "-c", PROBE, str(app), json.dumps(event)],
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout and process.stdin
    while not (line := process.stdout.readline()).startswith("after init"):  # (the functions' logs come first)
        assert line, "the init failed"
    at_init, opened, waited = list(stand_in.seen), stand_in.connections, float(line.split()[-1])
    answer, _ = process.communicate("\n", timeout=60)
    found = json.loads(answer.strip().splitlines()[-1])
    first = stand_in.seen[len(at_init) :]
    return Probe(at_init, opened, waited, first, stand_in.connections, found["status"], found["error"], found["loads"])
