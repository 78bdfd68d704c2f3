"""Everything the handlers write (logs, metrics) and every security event they cause (the table's stream records,
the events function's logs and the events on the bus) is captured and searched for secrets, codes and otp URLs."""

import base64
import io
import json
import logging
import random
import re
from types import SimpleNamespace

import time_machine
from support import BUCKET, b32bytes, call, event_with, independent_code, invoke

NOW = 1_790_000_000


def seeded(seed: int) -> SimpleNamespace:
    """`secrets` as the code uses it, from a seeded generator: the same secrets, codes and recovery codes on every
    run, so that whether one of them appears in the output by chance (a code's six digits inside a request id, say)
    is decided once, not on each run."""
    generator = random.Random(seed)
    return SimpleNamespace(token_bytes=generator.randbytes, choice=generator.choice)


def appears(value: str, output: str) -> bool:
    """`value` in `output` as a whole word: a code's digits inside a longer number or id are not the code."""
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", output) is not None


def test_no_secret_code_or_otp_url_in_any_output(aws, s3, capsys, caplog, monkeypatch):
    from handler.test_security_events import Bus, Stream

    from otp_api import oath, spellings
    from otp_api.kinds import recovery_codes
    from otp_api.oath import TOTP, OtpKey
    from otp_api.observability import logger

    monkeypatch.setattr(oath, "secrets", seeded(1))
    monkeypatch.setattr(recovery_codes, "secrets", seeded(2))

    caplog.set_level(logging.DEBUG)  # botocore's debug logs too
    # the service's log records as Powertools formats them, extra fields included
    structured = io.StringIO()
    handler = logging.StreamHandler(structured)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    sensitive: list[str] = []
    with time_machine.travel(NOW, tick=False):
        for algorithm in ("SHA1", "SHA512"):
            _, _, made = call(
                "otp", {"type": "time_based", "action": "generate", "label": "leak@example.com", "algorithm": algorithm}
            )
            sensitive += [made["secret"], made["otp_url"], made["qrcode_url"]]
            verify = {"type": "time_based", "action": "verify", "secret": made["secret"], "algorithm": algorithm}
            _, _, listed = call("otp", verify)
            sensitive += list(listed["otp_codes"].values())
            call("otp", {**verify, "code": listed["otp_codes"]["current"]})
            call("otp", {**verify, "code": "000000"})
            call("otp", {**verify, "code": "12x456"})  # an error path
            call("otp", {**verify, "secret": made["secret"][:-3] + "111"})  # an invalid secret
            invoke("otp", event_with("otp-generate", raw_body='{"secret": "' + made["secret"] + '"'))  # malformed
            for _ in range(6):  # failures up to a lockout, then a 429
                call("otp", {**verify, "code": "999999" if listed["otp_codes"]["current"] != "999999" else "999998"})
            call("otp", {**verify, "code": listed["otp_codes"]["+30s"]})  # refused while locked out
            _, _, sealed = call(
                "otp",
                {"type": "time_based", "action": "generate", "algorithm": algorithm, "seal": True, "qrcode": "inline"},
            )
            sensitive += [sealed["secret"], sealed["sealed_secret"], sealed["qrcode_data_uri"][22:]]
            # the key as a KMS Encrypt request carries it (header, sealing time, key bytes), as botocore's DEBUG log
            # would show it (the time is frozen: the payload is the one sealed)
            payload = spellings.sealed_payload(OtpKey(TOTP, b32bytes(sealed["secret"]), algorithm, 6, 30))
            sensitive.append(base64.b64encode(payload).decode())
            sealed_code = independent_code(sealed["secret"], NOW, algorithm=algorithm)
            call(
                "otp",
                {
                    "type": "time_based",
                    "action": "verify",
                    "sealed_secret": sealed["sealed_secret"],
                    "code": sealed_code,
                },
            )
            call(
                "otp",
                {
                    "type": "time_based",
                    "action": "verify",
                    "sealed_secret": sealed["sealed_secret"][:-2],
                    "code": sealed_code,
                },
            )  # a tampered token
            call("otp", {"type": "time_based", "action": "verify", "otp_url": sealed["otp_url"], "code": "000000"})
            # the rest of the lifecycle: import, unlock, recovery codes (each path, right, used, wrong, locked)
            _, _, imported = call("otp", {"type": "time_based", "action": "seal", "secret": made["secret"]})
            sensitive.append(imported["sealed_secret"])
            call("otp", {"type": "time_based", "action": "unlock", "secret": made["secret"]})
            _, _, recovery = call("otp", {"type": "recovery_codes", "action": "generate", "count": 3})
            sensitive += [*recovery["codes"], *(code.replace("-", "") for code in recovery["codes"])]
            sensitive.append(recovery["sealed_codes"])
            redeem = {"type": "recovery_codes", "action": "verify", "sealed_codes": recovery["sealed_codes"]}
            call("otp", {**redeem, "code": recovery["codes"][0]})
            call("otp", {**redeem, "code": recovery["codes"][0]})  # used
            for _ in range(6):
                call("otp", {**redeem, "code": "ZZZZ-ZZZZ-ZZ"})  # up to a lockout, then 429s
            call("otp", {**redeem, "code": recovery["codes"][1]})  # refused while locked
            call("otp", {**redeem, "sealed_codes": recovery["sealed_codes"][:-2], "code": recovery["codes"][2]})
            call("otp", {"type": "recovery_codes", "action": "unlock", "sealed_codes": recovery["sealed_codes"]})
        for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
        s3.delete_bucket(Bucket=BUCKET)
        call("otp", {"type": "time_based", "action": "generate"})  # a storage failure
        # the security events of all of it: the stream's records through the events function to the bus
        bus, stream = Bus(aws), Stream(aws)
        stream.deliver()
        published = bus.received()
    logging.getLogger(logger.name).removeHandler(handler)
    captured = capsys.readouterr()
    events = json.dumps(stream.records, default=str) + json.dumps(published)
    output = captured.out + captured.err + caplog.text + structured.getvalue() + events
    assert {"Lockout Began", "Lockout Lifted", "Recovery Code Used"} <= {e["detail-type"] for e in published}
    assert '"message":"request refused"' in structured.getvalue()  # the logger did write: the test can see it
    assert "OtpVerified" in output  # and so did the metrics
    assert "too_many_attempts" in output and "OtpLockout" in output  # the lockout path ran and logged
    for value in sensitive:
        assert value not in output if len(value) > 12 else not appears(value, output), value
    assert "otpauth" not in output


def test_unknown_parameter_names_are_not_logged(capsys):
    from otp_api.observability import logger

    structured = io.StringIO()
    handler = logging.StreamHandler(structured)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    try:
        name = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # a secret pasted as a parameter name
        status, _, body = call("otp", {"type": "time_based", "action": "verify", name: "x"})
    finally:
        logging.getLogger(logger.name).removeHandler(handler)
    assert (status, body["error"]) == (400, "unknown_parameter")
    assert '"message":"request refused"' in structured.getvalue()
    assert name not in structured.getvalue() + capsys.readouterr().out
