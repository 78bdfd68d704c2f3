"""POST /otp through the handler: events in, responses out, checked against independent clients."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import time_machine
from support import BUCKET, b32bytes, call, decode_image, event_with, independent_code, invoke, load_event, verify_at

NOW = 1_790_000_000  # a fixed moment, 20 s into its 30 s step


def stored_object(s3, url: str) -> dict:
    return s3.get_object(Bucket=BUCKET, Key=unquote(urlsplit(url).path.lstrip("/")))


def test_generate_from_event_file(s3):
    # Given the sample event of events/otp-generate.json
    status, headers, body = invoke("otp", load_event("otp-generate"))
    # Then the reference's fields are there, with a 160-bit secret
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"] == "application/json"
    assert set(body) == {
        "algorithm",
        "digits",
        "issuer",
        "label",
        "otp_url",
        "period",
        "qrcode_url",
        "qrcode_expires_at",
        "secret",
        "type",
    }
    assert (body["type"], body["algorithm"], body["digits"], body["period"]) == ("totp", "SHA1", 6, 30)
    assert (body["label"], body["issuer"]) == ("alice@example.com", "Example Corp")
    assert len(b32bytes(body["secret"])) == 20
    assert body["otp_url"] == (
        f"otpauth://totp/Example%20Corp:alice%40example.com?secret={body['secret']}"
        "&issuer=Example%20Corp&algorithm=SHA1&digits=6&period=30"
    )


def test_qr_code_decodes_to_the_otp_url(s3):
    status, _, body = call("otp", {"type": "time_based", "action": "generate", "label": "bob", "issuer": "Acme"})
    assert status == 200
    obj = stored_object(s3, body["qrcode_url"])
    assert obj["ContentType"] == "image/png"
    assert obj["CacheControl"] == "no-store"
    assert decode_image(obj["Body"].read()) == body["otp_url"]


def test_presigned_url_is_sigv4_short_lived_and_says_nothing_of_the_secret(s3):
    with time_machine.travel(NOW, tick=False):
        _, _, body = call("otp", {"type": "time_based", "action": "generate", "label": "carol"})
    url = body["qrcode_url"]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    assert "Signature" not in query  # no SigV2
    assert urlsplit(url).hostname == f"{BUCKET}.s3.eu-west-1.amazonaws.com"  # regional: no redirect
    assert body["secret"] not in url and "otpauth" not in unquote(url) and "carol" not in url
    expected = datetime.fromtimestamp(NOW + 300, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["qrcode_expires_at"] == expected
    assert urlsplit(url).path.endswith(".png")


def test_default_issuer_from_the_stack_and_no_issuer_on_request(s3):
    _, _, body = call("otp", {"type": "time_based", "action": "generate", "label": "dave"})
    assert body["issuer"] == "otp-api"
    assert body["otp_url"].startswith("otpauth://totp/otp-api:dave?")
    _, _, body = call("otp", {"type": "time_based", "action": "generate", "label": "dave", "issuer": ""})
    assert body["issuer"] == ""
    assert body["otp_url"].startswith("otpauth://totp/dave?secret=")
    assert "issuer=" not in body["otp_url"]


@pytest.mark.parametrize(("algorithm", "size"), [("SHA256", 32), ("SHA512", 64), ("sha512", 64)])
def test_generate_with_longer_hashes(s3, algorithm, size):
    status, _, body = call(
        "otp", {"type": "time_based", "action": "generate", "algorithm": algorithm, "digits": 8, "period": 60}
    )
    assert status == 200, body
    assert body["algorithm"] == algorithm.upper()
    assert len(b32bytes(body["secret"])) == size
    assert "algorithm=" + algorithm.upper() in body["otp_url"] and "digits=8" in body["otp_url"]
    assert "period=60" in body["otp_url"]


def test_parameters_from_the_query_string_with_numbers_as_text(s3):
    query = {"type": "time_based", "action": "generate", "digits": "8", "period": "45", "label": "q"}
    status, _, body = invoke("otp", event_with("otp-generate", query=query))
    assert status == 200, body
    assert (body["digits"], body["period"]) == (8, 45)


def test_body_wins_over_query_string(s3):
    event = event_with(
        "otp-generate", body={"type": "time_based", "action": "generate", "digits": 6}, query={"digits": "8"}
    )
    status, _, body = invoke("otp", event)
    assert status == 200 and body["digits"] == 6


def test_generated_secret_verifies_with_an_independent_client(s3):
    with time_machine.travel(NOW, tick=False):
        _, _, made = call("otp", {"type": "time_based", "action": "generate", "algorithm": "SHA256", "digits": 8})
        code = independent_code(made["secret"], NOW, 8, "SHA256")
        status, _, body = call(
            "otp",
            {
                "type": "time_based",
                "action": "verify",
                "secret": made["secret"],
                "algorithm": "SHA256",
                "digits": 8,
                "code": code,
            },
        )
    assert status == 200
    assert body["valid"] is True and body["matched"] == "current"


def test_verify_event_file_answers_the_verdict_only():
    # With a code: the verdict and the parameters, never the secret and never codes (a failed guess whose answer
    # reaches a log must not reveal a working code).
    status, headers, body = invoke("otp", load_event("otp-verify"))
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert set(body) == {"algorithm", "digits", "period", "type", "valid", "matched", "reason"}
    assert (body["type"], body["valid"], body["matched"], body["reason"]) == ("totp", False, None, "no_match")


def test_verify_without_code_lists_codes_like_the_reference():
    secret = "JBSWY3DPEHPK3PXPJBSWY3DP"
    with time_machine.travel(NOW, tick=False):
        status, _, body = call("otp", {"type": "time_based", "action": "verify", "secret": secret})
    assert status == 200
    assert "valid" not in body and "matched" not in body
    assert body["otp_codes"] == {
        "+30s": independent_code(secret, NOW + 30),
        "current": independent_code(secret, NOW),
        "-30s": independent_code(secret, NOW - 30),
        "-60s": independent_code(secret, NOW - 60),
    }


SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def verify(code: str, moment: float, **extra) -> dict:
    status, _, body = verify_at(moment, secret=SECRET, code=code, **extra)
    assert status == 200, body
    return body


@pytest.mark.parametrize(("offset", "matched"), [(-30, "-30s"), (0, "current"), (30, "+30s")])
def test_codes_of_adjacent_steps_are_accepted(offset, matched):
    body = verify(independent_code(SECRET, NOW + offset), NOW)
    assert (body["valid"], body["matched"]) == (True, matched)


@pytest.mark.parametrize("offset", [-60, 60, -90])
def test_codes_further_away_are_refused(offset):
    body = verify(independent_code(SECRET, NOW + offset), NOW)
    assert (body["valid"], body["matched"]) == (False, None)


def test_window_edges_with_frozen_time(stateless):
    # Stateless, so the same code can be tried at several moments (replay protection has its own tests)
    step_start = (NOW // 30) * 30
    code = independent_code(SECRET, step_start)
    # the last instant of the step after, and the first instant of the step before, still accept it ...
    assert verify(code, step_start + 59.999)["matched"] == "-30s"
    assert verify(code, step_start - 30)["matched"] == "+30s"
    # ... one step further on either side does not
    assert verify(code, step_start + 60)["valid"] is False
    assert verify(code, step_start - 30.001)["valid"] is False


def test_code_with_spaces_and_pasted_secret_forms():
    code = independent_code(SECRET, NOW)
    with time_machine.travel(NOW, tick=False):
        _, _, body = call(
            "otp",
            {
                "type": "time_based",
                "action": "verify",
                "code": f"{code[:3]} {code[3:]}",
                "secret": "gezd gnbv gy3t qojq gezd gnbv gy3t qojq====",
            },
        )
    assert body["valid"] is True


def test_code_of_wrong_length_is_refused_naming_the_keys_digits():
    # (test_code_length.py: every kind and spelling, and that such codes never count towards a lockout)
    for code in (independent_code(SECRET, NOW)[:5], independent_code(SECRET, NOW, digits=8)):
        status, _, body = verify_at(NOW, secret=SECRET, code=code)
        assert (status, body["parameter"]) == (400, "code"), body
        assert body["message"] == "code must be 6 digits: this key's codes have 6"


def test_eight_digit_sha512_codes_with_custom_period():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    code = independent_code(secret, NOW, 8, "SHA512", 60)
    with time_machine.travel(NOW, tick=False):
        _, _, body = call(
            "otp",
            {
                "type": "time_based",
                "action": "verify",
                "secret": secret,
                "code": code,
                "digits": 8,
                "algorithm": "SHA512",
                "period": 60,
            },
        )
    assert (body["valid"], body["matched"], body["period"]) == (True, "current", 60)
    listed = call("otp", {"type": "time_based", "action": "verify", "secret": secret, "digits": 8, "period": 60})[2]
    assert list(listed["otp_codes"]) == ["+60s", "current", "-60s", "-120s"]
