"""`make dev REGIONS=3` as a developer meets it (its own command, `python -m devserver` with REGIONS=3): three
Regions' APIs, each its own server and functions with its own AWS_REGION, on one state table and one key's
material, each with its own event bus. Sent at once to the three Regions, a code is accepted once; a token sealed in
one Region opens in another; a revocation and a lock made in one hold in the others; each event reaches one bus;
with one Region stopped, the other two serve. And the table under them applies conditional writes one at a time, as
DynamoDB does, which moto's own server does not (moto_server.py)."""

import json
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.request

import boto3
import pytest
from local.dev_process import DevServer, needs_proc
from support import independent_code, wrong_code

from devserver.stack import start_moto

pytestmark = needs_proc
RACES = 300


def post(base: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base}/otp", json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def at_once(calls: list) -> list:
    """Each call on a thread of its own, released together."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class Regions:
    def __init__(self, server: DevServer) -> None:
        self.server = server
        found = re.findall(r"^  (\S+): (http://\S+) \(pid (\d+);", "\n".join(server.lines), re.MULTILINE)
        self.names = [name for name, _, _ in found]
        self.bases = [base for _, base, _ in found]
        self.pids = [int(pid) for _, _, pid in found]

    def enrol(self, region: int, subject: str) -> dict:
        status, body = post(
            self.bases[region],
            {
                "type": "totp",
                "action": "generate",
                "label": "a@example.com",
                "seal": True,
                "subject": subject,
                "qrcode": "none",
            },
        )
        assert status == 200, body
        return body

    def verify(self, region: int, enrolled: dict, subject: str, code: str) -> tuple[int, dict]:
        request = {"type": "totp", "action": "verify", "sealed_secret": enrolled["sealed_secret"], "subject": subject}
        return post(self.bases[region], {**request, "code": code})

    def events(self, region: int) -> list[dict]:
        with urllib.request.urlopen(f"{self.bases[region]}/local/events", timeout=30) as answer:
            return json.loads(answer.read())["events"]


@pytest.fixture(scope="module")
def regions():
    with DevServer({"REGIONS": "3"}) as server:
        yield Regions(server)


def code_now(secret: str) -> str:
    """The current step's code, not within two seconds of a step's end (so that three requests agree on it)."""
    while time.time() % 30 > 28:
        time.sleep(0.5)
    return independent_code(secret, time.time())


def test_the_banner_names_each_region_on_port_port_plus_one_and_plus_two(regions):
    assert regions.names == ["us-east-1", "us-east-2", "us-west-2"]
    ports = [int(base.rsplit(":", 1)[1]) for base in regions.bases]
    assert len(set(ports)) == 3
    for name, base in zip(regions.names, regions.bases, strict=True):
        assert any(line.startswith(f"[{name}] otp-api is running on {base} in {name}") for line in regions.server.lines)


def test_the_same_code_sent_at_once_to_the_three_regions_is_accepted_once(regions):
    for attempt in range(10):
        subject = f"race-{attempt}"
        enrolled = regions.enrol(attempt % 3, subject)
        code = code_now(enrolled["secret"])
        send = [lambda r=r, e=enrolled, s=subject, c=code: regions.verify(r, e, s, c) for r in range(3)]
        answers = at_once(send)
        assert [status for status, _ in answers] == [200, 200, 200], answers
        assert sorted(str(body["reason"]) for _, body in answers) == ["None", "already_used", "already_used"], answers


def test_a_token_sealed_in_one_region_verifies_in_each_other(regions):
    for sealed_in in range(3):
        subject = f"sealed-{sealed_in}"
        enrolled = regions.enrol(sealed_in, subject)
        elsewhere = (sealed_in + 1) % 3
        status, body = regions.verify(elsewhere, enrolled, subject, code_now(enrolled["secret"]))
        assert (status, body["valid"]) == (200, True), body


def test_a_revocation_and_a_lock_made_in_one_region_hold_in_the_others(regions):
    revoked = regions.enrol(0, "revoked")
    status, body = post(
        regions.bases[1],
        {"type": "totp", "action": "revoke", "sealed_secret": revoked["sealed_secret"], "subject": "revoked"},
    )
    assert status == 200, body
    for region in (0, 2):
        status, body = regions.verify(region, revoked, "revoked", code_now(revoked["secret"]))
        assert (status, body["valid"], body["reason"]) == (200, False, "revoked"), body

    locked = regions.enrol(0, "locked")
    for attempt in range(5):  # MaxFailedAttempts (5): the fifth failure locks
        regions.verify(attempt % 3, locked, "locked", wrong_code(locked["secret"], time.time()))
    for region in range(3):
        status, body = regions.verify(region, locked, "locked", code_now(locked["secret"]))
        assert (status, body["error"]) == (429, "too_many_attempts"), body


def test_each_event_reaches_exactly_one_bus(regions):
    subject = "events"
    enrolled = regions.enrol(0, subject)
    for attempt in range(5):  # failures in every Region; the fifth locks: one Lockout Began, on one bus
        regions.verify(attempt % 3, enrolled, subject, wrong_code(enrolled["secret"], time.time()))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        told = [[e for e in regions.events(r) if e["detail"].get("subject") == subject] for r in range(3)]
        if any(told):
            break
        time.sleep(0.5)
    time.sleep(3)  # every Region's events function has read the stream since (it polls every 0.3 s)
    told = [[e for e in regions.events(r) if e["detail"].get("subject") == subject] for r in range(3)]
    assert sorted(len(events) for events in told) == [0, 0, 1], told
    (lockout,) = [event for events in told for event in events]
    assert lockout["detail-type"] == "Lockout Began"
    # the Region that wrote the locking failure (the fifth request's: index 4 % 3) told it
    assert told[4 % 3] == [lockout]
    every_id = [e["detail"]["event_id"] for r in range(3) for e in regions.events(r)]
    assert len(every_id) == len(set(every_id))


def test_with_one_region_stopped_the_other_two_serve(regions):
    os.kill(regions.pids[1], signal.SIGTERM)
    regions.server.wait_for(f"the {regions.names[1]} Region stopped")
    enrolled = regions.enrol(0, "survivor")
    code = code_now(enrolled["secret"])
    status, body = regions.verify(2, enrolled, "survivor", code)
    assert (status, body["valid"]) == (200, True), body
    assert regions.verify(0, enrolled, "survivor", code)[1]["reason"] == "already_used"
    with pytest.raises(urllib.error.URLError):
        post(regions.bases[1], {"type": "totp", "action": "generate", "label": "x"})


def test_the_local_table_applies_conditional_writes_one_at_a_time():
    # Three clients race one conditional write (attribute_not_exists) to a new item, RACES times: DynamoDB makes
    # exactly one. moto's own server lets two through about 3 times in 1,000 (moto_server.py).
    moto, endpoint = start_moto()
    try:
        clients = [
            boto3.client(
                "dynamodb",
                region_name="us-east-1",
                endpoint_url=endpoint,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            for _ in range(3)
        ]
        clients[0].create_table(
            TableName="races",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

        def write(client, pk: str) -> bool:
            try:
                client.update_item(
                    TableName="races",
                    Key={"pk": {"S": pk}},
                    UpdateExpression="SET used = :one",
                    ConditionExpression="attribute_not_exists(used)",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
            except client.exceptions.ConditionalCheckFailedException:
                return False
            return True

        made = [sum(at_once([lambda c=c, n=n: write(c, f"race-{n}") for c in clients])) for n in range(RACES)]
        assert made == [1] * RACES
    finally:
        moto.terminate()
        moto.wait()
