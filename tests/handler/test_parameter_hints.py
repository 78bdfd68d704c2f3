"""A mistyped parameter name gets the closest name the request defines ("did you mean `label`?"), and a far one
(`colour`) the list of the names the request takes. Either way the answer and the log carry the API's own names,
never the caller's text (only its hash)."""

import io
import json
import logging

import pytest
from support import event_with, invoke

GEN = {"type": "time_based", "action": "generate"}
VER = {"type": "time_based", "action": "verify", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}


@pytest.fixture
def log():
    """What the functions' logger writes, as CloudWatch would get it."""
    from otp_api.observability import logger

    structured = io.StringIO()
    handler = logging.StreamHandler(structured)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    yield structured
    logging.getLogger(logger.name).removeHandler(handler)


def refused(function: str, base: str, params: dict, where: str = "body") -> dict:
    event = event_with(base, body=params) if where == "body" else event_with(base, query=params)
    status, _, body = invoke(function, event)
    assert (status, body["error"], body["parameter"]) == (400, "unknown_parameter", None), body
    return body


@pytest.mark.parametrize("where", ["body", "query"])
def test_a_close_typo_is_answered_with_the_defined_name(where, log, capsys):
    # Given a generate whose label is spelt `lable`
    body = refused("otp", "otp-generate", {**GEN, "lable": "alice@example.com"}, where)
    # Then the answer offers `label`, and neither it nor the log quotes `lable`
    assert "did you mean `label`?" in body["message"], body
    written = log.getvalue() + capsys.readouterr().out
    assert "lable" not in json.dumps(body) and "lable" not in written
    assert '"suggested":"label"' in written and '"name_sha256"' in written


@pytest.mark.parametrize(
    ("params", "suggested"),
    [
        ({**VER, "sealed_secert": "s1.x"}, "sealed_secret"),
        ({**VER, "Code": "123456"}, "code"),
        ({**GEN, "isuer": "Example"}, "issuer"),
        ({"type": "recovery_codes", "action": "generate", "cont": 3}, "count"),
    ],
)
def test_other_close_typos_get_their_own_names(params, suggested):
    body = refused("otp", "otp-generate", params)
    assert f"did you mean `{suggested}`?" in body["message"], body


def test_only_a_close_name_gets_a_hint(log, capsys):
    # `lable` is one letter swapped; `colour` and `lbl` are too far from any name to guess at
    for name, hint in [("colour", None), ("lbl", None), ("lable", "label"), ("x", None), ("digit", "digits")]:
        body = refused("otp", "otp-generate", {**GEN, name: "1"})
        if hint is None:
            # the names a time_based generate takes, listed: the API's text, never the caller's
            takes = "action, algorithm, digits, issuer, label, period, qrcode, seal, subject, type"
            assert body["message"] == f"unknown parameter: this request takes only {takes}", name
        else:
            assert body["message"].startswith(f"unknown parameter: did you mean `{hint}`?"), name
    written = log.getvalue() + capsys.readouterr().out
    assert written.count('"suggested"') == 2 and "colour" not in written


def test_the_hint_is_one_of_the_requests_own_names():
    # label is a parameter of generate, not of verify: offering it to a verify would only be refused next
    assert "did you mean" not in refused("otp", "otp-verify", {**VER, "lable": "x"})["message"]
    assert "did you mean `label`?" in refused("otp", "otp-verify", {**GEN, "lable": "x"})["message"]


def test_barcodes_hint_at_their_own_parameters():
    body = refused("barcodes", "barcodes-get", {"type": "qr_code", "data": "hello world", "sacle": "4"}, "query")
    assert "did you mean `scale`?" in body["message"], body


def test_a_secret_pasted_as_a_name_is_never_answered_nor_logged_beside_a_hint(log, capsys):
    # A secret as a key gets no hint and only its hash logged; a typo next to it gets the API's name, not its own
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    for name in (secret, secret.lower(), "code" + secret):
        body = refused("otp", "otp-generate", {**GEN, name: "1"})
        assert "did you mean" not in body["message"] and secret not in json.dumps(body).upper()
    body = refused("otp", "otp-generate", {**GEN, "seals": "1"})
    assert "did you mean `seal`?" in body["message"] and "seals" not in json.dumps(body)
    written = log.getvalue() + capsys.readouterr().out
    assert secret not in written.upper() and "seals" not in written
    assert written.count('"name_sha256"') == 4


def test_a_repeated_mistyped_query_parameter_gets_the_hint_too():
    event = event_with("otp-generate", query=dict(GEN))
    event["multiValueQueryStringParameters"]["lable"] = ["a", "b"]
    event["queryStringParameters"]["lable"] = "b"
    status, _, body = invoke("otp", event)
    assert (status, body["parameter"]) == (400, None) and "did you mean `label`?" in body["message"], body
    assert "lable" not in json.dumps(body)


@pytest.mark.parametrize(
    ("params", "takes"),
    [
        (
            {**VER, "colour": "red"},
            "action, algorithm, code, digits, otp_url, period, sealed_secret, secret, subject, type",
        ),
        (
            {"type": "hotp", "action": "verify", "secret": VER["secret"], "colour": "red"},
            "action, algorithm, code, counter, digits, otp_url, sealed_secret, secret, subject, type",
        ),
    ],
)
def test_a_far_name_gets_the_names_of_the_action_it_was_sent_to(params, takes):
    # Given a verify with a parameter no name is close to
    body = refused("otp", "otp-verify", params)
    # Then the answer lists what that verify takes, and never quotes `colour`
    assert body["message"] == f"unknown parameter: this request takes only {takes}", body
    assert "colour" not in json.dumps(body)
