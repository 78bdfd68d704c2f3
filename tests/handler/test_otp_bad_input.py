"""Bad requests to POST /otp: each gets a 4xx JSON error that names the parameter, never a 500."""

import base64
import json

import pytest
from support import BUCKET, event_with, invoke

GEN = {"type": "time_based", "action": "generate"}
VER = {"type": "time_based", "action": "verify", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}

BODY_CASES = [
    # (body, status, parameter, error)
    ({"action": "generate"}, 400, "type", "missing_parameter"),
    ({**GEN, "type": "event_based"}, 400, "type", "invalid_parameter"),
    ({"type": "time_based"}, 400, "action", "missing_parameter"),
    ({**GEN, "action": "delete"}, 400, "action", "invalid_parameter"),
    ({**GEN, "action": ["generate"]}, 400, "action", "invalid_parameter"),
    ({**GEN, "digits": 7}, 400, "digits", "invalid_parameter"),
    ({**GEN, "digits": "six"}, 400, "digits", "invalid_parameter"),
    ({**GEN, "digits": 10**400}, 400, "digits", "invalid_parameter"),
    ({**GEN, "digits": 6.5}, 400, "digits", "invalid_parameter"),
    ({**GEN, "digits": None}, 400, "digits", "invalid_parameter"),
    ({**GEN, "algorithm": "MD5"}, 400, "algorithm", "invalid_parameter"),
    ({**GEN, "period": 0}, 400, "period", "invalid_parameter"),
    ({**GEN, "period": 301}, 400, "period", "invalid_parameter"),
    ({**GEN, "period": 1e308}, 400, "period", "invalid_parameter"),
    ({**GEN, "label": "a:b"}, 400, "label", "invalid_parameter"),
    ({**GEN, "issuer": "Acme:Corp"}, 400, "issuer", "invalid_parameter"),
    ({**GEN, "label": "x" * 65}, 400, "label", "invalid_parameter"),
    ({**GEN, "label": "bad\nline"}, 400, "label", "invalid_parameter"),
    ({**GEN, "label": {"nested": True}}, 400, "label", "invalid_parameter"),
    ({**GEN, "colour": "blue"}, 400, None, "unknown_parameter"),  # not a name of the API's: never answered
    ({**GEN, "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}, 400, "secret", "unknown_parameter"),
    ({"type": "time_based", "action": "verify"}, 400, "secret", "missing_parameter"),
    ({**VER, "secret": "short"}, 400, "secret", "invalid_parameter"),
    ({**VER, "secret": "GEZDGNBVGY3TQOJQGEZDGNB1"}, 400, "secret", "invalid_parameter"),
    ({**VER, "secret": "A" * 300}, 400, "secret", "invalid_parameter"),
    ({**VER, "secret": 12345}, 400, "secret", "invalid_parameter"),
    ({**VER, "secret": "JBSWY3DPEHPK3PXP"}, 400, "secret", "invalid_parameter"),  # 80 bits: below 112
    ({**VER, "secret": "GEZDGNBVGY3TQOJQGEZDGN"}, 400, "secret", "invalid_parameter"),  # 22 characters
    ({**VER, "secret": "GEZDGNBVGY3TQOJQGEZDGNBV!"}, 400, "secret", "invalid_parameter"),
    ({**VER, "code": "12345a"}, 400, "code", "invalid_parameter"),
    ({**VER, "code": "-12345"}, 400, "code", "invalid_parameter"),
    ({**VER, "code": "١٢٣٤٥٦"}, 400, "code", "invalid_parameter"),  # Arabic-Indic digits
    ({**VER, "code": "12.456"}, 400, "code", "invalid_parameter"),
    ({**VER, "code": ""}, 400, "code", "invalid_parameter"),
    ({**VER, "code": None}, 400, "code", "invalid_parameter"),  # null never turns a check into a listing
    ({**VER, "code": 123456}, 400, "code", "invalid_parameter"),
    ({**VER, "code": "1" * 33}, 400, "code", "invalid_parameter"),
    ({**VER, "label": "x"}, 400, "label", "unknown_parameter"),
]


def check_error(status, headers, body, expected_status, parameter, error):
    assert status == expected_status, body
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert body["error"] == error
    assert body["parameter"] == parameter
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize(("params", "status", "parameter", "error"), BODY_CASES)
def test_bad_json_bodies(params, status, parameter, error):
    check_error(*invoke("otp", event_with("otp-generate", body=params)), status, parameter, error)


def test_error_message_names_the_rule():
    _, _, body = invoke("otp", event_with("otp-generate", body={**GEN, "digits": 7}))
    assert body["message"] == "digits must be 6 or 8"


def test_secret_is_not_repeated_in_errors():
    secret = "GEZDGNBVGY3TQOJQGEZDGNB1"
    _, _, body = invoke("otp", event_with("otp-generate", body={**VER, "secret": secret}))
    assert secret not in json.dumps(body)


RAW_CASES = [
    # (raw body, headers, status, error)
    ("{not json", {"Content-Type": "application/json"}, 400, "malformed_request"),
    ("[1, 2, 3]", {"Content-Type": "application/json"}, 400, "malformed_request"),
    ('"a string"', {"Content-Type": "application/json"}, 400, "malformed_request"),
    ("null", {"Content-Type": "application/json"}, 400, "malformed_request"),
    ("[" * 100_00 + "]" * 100_00, {"Content-Type": "application/json"}, 413, "payload_too_large"),
    ("[" * 5000 + "]" * 5000, {"Content-Type": "application/json"}, 400, "malformed_request"),
    (json.dumps({**GEN, "label": "x" * 17_000}), {"Content-Type": "application/json"}, 413, "payload_too_large"),
    (
        "type=time_based&action=generate",
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
    ),
    # What a web page can POST cross-site without a CORS preflight, or no type at all: never parsed as JSON.
    (json.dumps(GEN), {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    (json.dumps(GEN), {"Content-Type": "multipart/form-data; boundary=x"}, 415, "unsupported_media_type"),
    (json.dumps(GEN), {}, 415, "unsupported_media_type"),
    (json.dumps(GEN), {"Content-Type": "application/vnd.api+json"}, 415, "unsupported_media_type"),
    (json.dumps(GEN), {"Content-Type": "application/json; charset=latin-1"}, 415, "unsupported_media_type"),
    ('{"digits": 1' + "0" * 5000 + "}", {"Content-Type": "application/json"}, 400, "malformed_request"),
]


@pytest.mark.parametrize(("raw", "headers", "status", "error"), RAW_CASES)
def test_malformed_bodies(raw, headers, status, error):
    code, response_headers, body = invoke("otp", event_with("otp-generate", raw_body=raw, headers=headers))
    assert code == status, body
    assert response_headers["Cache-Control"] == "no-store"
    assert body["error"] == error


@pytest.mark.parametrize(
    "kind", ["application/json", "Application/JSON; charset=UTF-8", 'application/json;charset="utf-8"']
)
def test_json_bodies_with_or_without_a_utf8_charset_are_read(kind):
    status, _, body = invoke("otp", event_with("otp-verify", raw_body=json.dumps(VER), headers={"Content-Type": kind}))
    assert status == 200, body


def test_a_refused_media_type_names_content_type():
    raw = json.dumps(VER)
    status, _, body = invoke("otp", event_with("otp-verify", raw_body=raw, headers={"Content-Type": "text/plain"}))
    assert (status, body["parameter"]) == (415, "Content-Type")
    assert VER["secret"] not in json.dumps(body)


def test_parameters_in_the_query_string_alone_still_work_as_the_references_do():
    status, _, body = invoke("otp", event_with("otp-generate", query={"type": "time_based", "action": "generate"}))
    assert status == 200 and body["type"] == "totp"


SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(
    "name",
    ["secret", "code", "otp_url", "sealed_secret"],
)
def test_secret_bearing_parameters_in_the_query_string_are_refused_without_echo(name):
    values = {
        "secret": SECRET,
        "code": "287082",
        "otp_url": f"otpauth://totp/a?secret={SECRET}",
        "sealed_secret": "s1." + "A" * 200,
    }
    query = {"type": "time_based", "action": "verify", name: values[name]}
    status, _, body = invoke("otp", event_with("otp-verify", query=query))
    assert (status, body["parameter"]) == (400, name), body
    assert values[name] not in json.dumps(body) and SECRET not in json.dumps(body)


@pytest.mark.parametrize("where", ["body", "query"])
def test_unknown_parameter_names_are_never_echoed(where, capsys):
    # A secret pasted as a key name: refused without naming it, in the answer or the log (a hash only).
    name = SECRET * 3
    params = {**GEN, name: "1"}
    event = event_with("otp-generate", body=params) if where == "body" else event_with("otp-generate", query=params)
    status, _, body = invoke("otp", event)
    assert (status, body["error"], body["parameter"]) == (400, "unknown_parameter", None)
    assert SECRET not in json.dumps(body) and SECRET not in capsys.readouterr().out


def test_a_repeated_unknown_query_parameter_is_not_echoed_either():
    event = event_with("otp-generate", query=dict(GEN))  # a copy: the event holds the dict it is given
    event["multiValueQueryStringParameters"][SECRET] = ["1", "2"]
    event["queryStringParameters"][SECRET] = "2"
    status, _, body = invoke("otp", event)
    assert (status, body["parameter"]) == (400, None) and SECRET not in json.dumps(body)


def test_a_name_the_api_defines_is_named_even_where_it_does_not_belong():
    status, _, body = invoke("otp", event_with("otp-generate", body={**GEN, "code": "123456"}))
    assert (status, body["error"], body["parameter"]) == (400, "unknown_parameter", "code")


def test_base64_body_that_is_not_base64():
    event = event_with("otp-generate", raw_body="!!!not-base64!!!")
    event["isBase64Encoded"] = True
    status, _, body = invoke("otp", event)
    assert (status, body["error"]) == (400, "malformed_request")


def test_base64_encoded_json_body_is_accepted():
    event = event_with("otp-verify", raw_body=base64.b64encode(json.dumps(VER).encode()).decode())
    event["isBase64Encoded"] = True
    status, _, body = invoke("otp", event)
    assert status == 200, body


QUERY_CASES = [
    ({"type": "time_based", "action": "generate", "digits": "8x"}, "digits"),
    ({"type": "time_based", "action": "generate", "period": "-30"}, "period"),
    ({"type": "time_based", "action": "generate", "period": "9" * 5000}, "period"),
    ({"type": "time_based", "action": "generat"}, "action"),
    ({"type": "time_based", "action": "generate", "bogus": "1"}, None),
]


@pytest.mark.parametrize(("query", "parameter"), QUERY_CASES)
def test_bad_query_strings(query, parameter):
    status, _, body = invoke("otp", event_with("otp-generate", query=query))
    assert status == 400, body
    assert body["parameter"] == parameter


def test_conflicting_repeated_query_parameter():
    event = event_with("otp-generate", query={"type": "time_based", "action": "generate"})
    event["multiValueQueryStringParameters"]["digits"] = ["6", "8"]
    event["queryStringParameters"]["digits"] = "8"
    status, _, body = invoke("otp", event)
    assert (status, body["parameter"]) == (400, "digits")


def test_unknown_route_and_method_get_json_404():
    event = event_with("otp-generate", body=GEN)
    event["path"] = event["resource"] = "/nope"
    status, headers, body = invoke("otp", event)
    assert status == 404 and body["error"] == "not_found"
    assert headers["Cache-Control"] == "no-store"


def test_storage_failure_is_a_503_without_a_url(s3):
    # Given a bucket that does not exist (as when S3 refuses the write)
    s3.delete_bucket(Bucket=BUCKET)
    status, headers, body = invoke("otp", event_with("otp-generate", body=GEN))
    assert status == 503
    assert body["error"] == "storage_unavailable"
    assert "qrcode_url" not in body and "secret" not in body
    assert headers["Retry-After"]
