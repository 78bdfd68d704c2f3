"""Init opens the connections its first requests need (at_init.py, aws.warm_up), where no snapshot is restored:
the first request after init reuses them, and a warm-up that fails or hangs never fails nor holds up the init.
Each init runs in a fresh interpreter against the bench's loopback stand-in of AWS (bench/standin.py), which
counts the connections it accepts and records each request; over TLS too, where the CA bundle is parsed once per
process however many connections are made (aws.trust_context)."""

import json
import logging
import os
import subprocess
import sys
import time
from typing import NamedTuple

import pytest
from support import ROOT, load_event

from bench import standin
from otp_api import aws

PROBE = """
import importlib.util, json, ssl, sys, time
from otp_api import aws
warm_up, waited, loads = aws.warm_up, [], []
load_verify_locations = ssl.SSLContext.load_verify_locations

def counted(self, *args, **kwargs):
    loads.append(1)
    return load_verify_locations(self, *args, **kwargs)

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

status = app.lambda_handler(event, Context())["statusCode"]
print(len(loads), status, flush=True)
"""


@pytest.fixture(scope="module")
def stand_in():
    server = standin.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def tls_stand_in():
    server = standin.start(tls=True)
    yield server
    server.shutdown()


class Probe(NamedTuple):
    at_init: list[str]  # what init sent
    opened: int  # the connections open after init
    waited: float  # seconds init waited for the warm-up
    first: list[str]  # what the first request sent
    after: int  # the connections open after it
    status: int  # its status code
    loads: int  # CA bundles loaded into a TLS context in the whole process, init and first request


def first_request(stand_in, **env: str) -> Probe:
    """Init the OTP function, then verify a code."""
    stand_in.seen.clear()
    stand_in.connections = 0
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers" / "common"),
        "AWS_ENDPOINT_URL": stand_in.url,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **env,
    }
    body = {"type": "time_based", "action": "verify", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "code": "123456"}
    event = {**load_event("otp-verify"), "body": json.dumps(body)}
    process = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(ROOT / "functions" / "otp" / "app.py"), json.dumps(event)],
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
    loads, status = map(int, answer.strip().splitlines()[-1].split())
    return Probe(at_init, opened, waited, stand_in.seen[len(at_init) :], stand_in.connections, status, loads)


def test_init_opens_the_connections_and_the_first_request_reuses_them(stand_in):
    probe = first_request(stand_in)
    # a GetItem and a refused UpdateItem on DynamoDB, an Encrypt and a refused Decrypt on KMS: one connection each,
    # and each operation's first call made (botocore's first call of an operation costs more than the next)
    dynamodb = [call for call in probe.at_init if call.startswith("DynamoDB")]
    assert dynamodb == ["DynamoDB_20120810.GetItem", "DynamoDB_20120810.UpdateItem"]
    assert [call for call in probe.at_init if call.startswith("Trent")] == [
        "TrentService.Encrypt",
        "TrentService.Decrypt",
    ]
    assert probe.opened == 2
    # the verify's conditional write goes over the DynamoDB connection already open
    assert probe.first == ["DynamoDB_20120810.UpdateItem"] and probe.after == 2 and probe.status == 200


def test_over_tls_the_ca_bundle_is_parsed_once_for_every_connection(tls_stand_in):
    # Given AWS over TLS, trusted through AWS_CA_BUNDLE (botocore's own bundle and the stand-in's CA)
    probe = first_request(tls_stand_in, AWS_CA_BUNDLE=tls_stand_in.ca_bundle)
    # Then DynamoDB's and KMS's connections are open after init, the verify reuses one, and the bundle was parsed
    # once in all (botocore has urllib3 load it into a context of its own for every new connection)
    assert probe.opened == 2 and probe.first == ["DynamoDB_20120810.UpdateItem"] and probe.after == 2
    assert probe.status == 200 and probe.loads == 1


def test_over_tls_a_server_the_bundle_does_not_trust_is_refused(tls_stand_in):
    # Given a bundle without the stand-in's CA (botocore's own): the certificate is still checked
    from botocore.httpsession import get_cert_path

    probe = first_request(tls_stand_in, AWS_CA_BUNDLE=get_cert_path(True), SEALING_KEY_ARN="")
    # Then nothing reaches the stand-in, and the verify is the documented 503, accepting nothing
    assert probe.at_init == [] and probe.first == [] and probe.status == 503


def test_a_bundle_that_does_not_load_fails_the_connections_not_the_init(tls_stand_in):
    # Given an AWS_CA_BUNDLE that is no file: botocore makes its clients, and each connection fails, as before
    probe = first_request(tls_stand_in, AWS_CA_BUNDLE="/nonexistent/ca-bundle.pem", SEALING_KEY_ARN="")
    assert probe.at_init == [] and probe.first == [] and probe.status == 503


def test_without_sealing_only_dynamodb_is_warmed_up(stand_in):
    probe = first_request(stand_in, SEALING_KEY_ARN="")
    assert probe.at_init == ["DynamoDB_20120810.GetItem", "DynamoDB_20120810.UpdateItem"] and probe.opened == 1


def test_a_snapshot_is_taken_without_connections(stand_in):
    # With SnapStart, connections made at init would be restored dead: none is opened
    probe = first_request(stand_in, ENABLE_SNAP_START="true")
    assert probe.at_init == [] and probe.opened == 0
    assert probe.first == ["DynamoDB_20120810.UpdateItem"] and probe.after == 1


def test_init_does_not_wait_for_a_service_that_does_not_answer(stand_in, monkeypatch):
    # Given a DynamoDB that accepts connections and never answers
    monkeypatch.setattr(standin._StandIn, "do_POST", lambda self: time.sleep(5))
    probe = first_request(stand_in, SEALING_KEY_ARN="")
    # Then init waits WARM_UP_SECONDS for it, not the read timeout (2 s), and does not fail
    assert probe.opened == 1 and aws.WARM_UP_SECONDS <= probe.waited < aws.WARM_UP_SECONDS + 0.5
    assert probe.status == 503  # the request's own write timed out: the documented answer


def test_a_warm_up_is_bounded_in_time_and_never_fails(caplog):
    def hangs() -> None:
        time.sleep(3)

    def fails() -> None:
        raise ConnectionError("https://kms.eu-west-1.amazonaws.com/ refused (a detail not to log)")

    caplog.set_level(logging.DEBUG)
    start = time.monotonic()
    aws.warm_up(hangs, fails)
    assert time.monotonic() - start < aws.WARM_UP_SECONDS + 0.5
    records = [record for record in caplog.records if record.getMessage() == "connection warm-up failed"]
    assert len(records) == 1 and records[0].levelno == logging.DEBUG
    assert records[0].error_type == "ConnectionError"
    assert "refused" not in caplog.text and "amazonaws" not in caplog.text
