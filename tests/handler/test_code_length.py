"""A code of another length than the key's digits (7 or 8 digits for a 6-digit key) is no code of that key: a 400
`invalid_parameter` naming `code` (or `next_code`) and the length the key's codes have, sent before any state is
read or written, so it neither counts towards a lockout nor is compared. The same for TOTP and HOTP, verify and
resync, and for a key named by its secret, its otpauth URI or its sealed secret (whose digits are known only once
unsealed). The key's digits are no secret: its URI and its codes show them."""

import os

import pytest
import time_machine
from support import call, independent_code, independent_hotp

NOW = 1_790_000_010.0
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def otp(**params):
    with time_machine.travel(NOW, tick=False):
        return call("otp", params)


def items(mocked_aws) -> list:
    return mocked_aws["dynamodb"].scan(TableName=os.environ["VERIFY_STATE_TABLE_NAME"])["Items"]


def sealed(kind: str, digits: int) -> str:
    status, _, made = otp(type=kind, action="generate", seal=True, qrcode="none", digits=digits)
    assert status == 200, made
    return made["sealed_secret"]


@pytest.mark.parametrize("kind", ["time_based", "counter_based"])
@pytest.mark.parametrize(("digits", "sent"), [(6, "1234567"), (6, "12345678"), (6, "12345"), (8, "123456")])
def test_a_code_of_another_length_is_refused_naming_the_keys_digits(mocked_aws, kind, digits, sent):
    # Given a key of `digits` digits, and a code of another length (spaces are no digits)
    for spelling in ({"secret": SECRET, "digits": digits}, {"sealed_secret": sealed(kind, digits)}):
        # When it is verified
        status, headers, body = otp(type=kind, action="verify", code=" ".join(sent), **spelling)
        # Then a 400 names code and the length this key's codes have; nothing is written, nothing reflected
        assert (status, headers["Cache-Control"]) == (400, "no-store"), body
        assert body == {
            "error": "invalid_parameter",
            "parameter": "code",
            "message": f"code must be {digits} digits: this key's codes have {digits}",
        }
        assert items(mocked_aws) == []


@pytest.mark.parametrize("kind", ["totp", "hotp"])
def test_resync_names_whichever_code_is_of_another_length(kind):
    good = "123456"
    for code, next_code, named in [("1234567", good, "code"), (good, "12345678", "next_code")]:
        status, _, body = otp(type=kind, action="resync", secret=SECRET, code=code, next_code=next_code)
        assert (status, body["error"], body["parameter"]) == (400, "invalid_parameter", named), body
        assert body["message"] == f"{named} must be 6 digits: this key's codes have 6"


@pytest.mark.parametrize("kind", ["time_based", "counter_based"])
def test_codes_of_another_length_never_count_towards_a_lockout(kind):
    # Given more codes of the wrong length than MaxFailedAttempts (5) allows wrong codes
    for _ in range(8):
        assert otp(type=kind, action="verify", secret=SECRET, code="12345678")[0] == 400
    # Then the key is not locked: its right code is accepted
    right = independent_code(SECRET, NOW) if kind == "time_based" else independent_hotp(SECRET, 0)
    status, _, body = otp(type=kind, action="verify", secret=SECRET, code=right)
    assert (status, body["valid"]) == (200, True), body


def test_an_eight_digit_key_takes_its_eight_digit_codes():
    code = independent_code(SECRET, NOW, digits=8)
    status, _, body = otp(type="totp", action="verify", secret=SECRET, digits=8, code=code)
    assert (status, body["valid"], body["digits"]) == (200, True, 8), body
