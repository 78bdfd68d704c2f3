"""Everything the handlers write (logs, metrics) and every security event they cause (the table's stream records,
the events function's logs and the events on the bus) is captured and searched for secrets, codes and otp URLs."""

import base64
import io
import json
import logging

import time_machine
from support import BUCKET, b32bytes, call, event_with, independent_code, invoke

NOW = 1_790_000_000


def test_no_secret_code_or_otp_url_in_any_output(aws, s3, capsys, caplog):
    from handler.test_security_events import Bus, Stream

    from otp_api.observability import logger

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
            # the key as a KMS Encrypt request carries it (header, then key bytes), as botocore's DEBUG log would
            header = {"SHA1": b"\x00", "SHA256": b"\x01", "SHA512": b"\x02"}[algorithm] + b"\x06\x00\x1e"
            sensitive.append(base64.b64encode(header + b32bytes(sealed["secret"])).decode())
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
        assert value not in output
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
