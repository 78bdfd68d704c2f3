"""otpauth URIs of a type no kind has are refused with the reader's one message (which names the type the request's
kind reads), never told to go to a type that does not exist; the OATH types are read in any case."""

import pytest
import time_machine
from support import call

NOW = 1_790_000_010
S = "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def post(**params):
    with time_machine.travel(NOW, tick=False):
        status, _, body = call("otp", params)
    return status, body


@pytest.mark.parametrize("kind", ["time_based", "counter_based"])
@pytest.mark.parametrize("typ", ["totp1", "TOTP1", "steam", "otp", "x", "hotpx"])
def test_a_type_no_kind_has_is_refused_as_before(kind, typ):
    status, body = post(type=kind, action="verify", otp_url=f"otpauth://{typ}/x?{S}&counter=0", code="123456")
    assert (status, body["parameter"]) == (400, "otp_url")
    # the reader's one refusal, naming the type this kind reads: no kind has this one
    wanted = {"time_based": "totp", "counter_based": "hotp"}[kind]
    assert body["message"].startswith(f"otp_url must be an otpauth://{wanted}/ URI"), body["message"]


@pytest.mark.parametrize("typ", ["totp", "TOTP", "Totp"])
def test_a_totp_uri_in_any_case_is_read(typ):
    status, body = post(type="time_based", action="verify", otp_url=f"OtpAuth://{typ}/x?{S}", code="123456")
    assert (status, body.get("reason")) == (200, "no_match")
