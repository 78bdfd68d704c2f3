"""HOTP (counter_based) for hardware tokens, TOTP resync for drifting clocks, and the one otpauth reader, through
the handler with moto's DynamoDB and KMS, frozen time, and codes from `cryptography`'s HOTP and TOTP (not pyotp,
which the service uses)."""

from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from support import call, concurrently, decode_image, independent_code, independent_hotp, verify_at

NOW = 1_790_000_010.0
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def otp(moment: float = NOW, **params):
    with time_machine.travel(moment, tick=False):
        return call("otp", params)


def hotp(code: str, moment: float = NOW, **key):
    return otp(moment, type="counter_based", action="verify", code=code, **key)


def hotp_resync(code: str, next_code: str, moment: float = NOW, **key):
    return otp(moment, type="hotp", action="resync", code=code, next_code=next_code, **key)


# --- HOTP ------------------------------------------------------------------------------------------------------


def test_an_hotp_enrolment_holds_its_uri_in_its_qr_code_and_starts_at_its_counter(s3):
    status, _, made = otp(type="counter_based", action="generate", label="fob", qrcode="inline", counter=5)
    assert status == 200, made
    assert (made["type"], made["counter"]) == ("hotp", 5)
    assert made["otp_url"].startswith("otpauth://hotp/") and "counter=5" in made["otp_url"]
    import base64

    assert decode_image(base64.b64decode(made["qrcode_data_uri"].split(",", 1)[1])) == made["otp_url"]
    secret = parse_qs(urlsplit(made["otp_url"]).query)["secret"][0]
    assert hotp(independent_hotp(secret, 4), otp_url=made["otp_url"])[2]["valid"] is False  # before its start
    assert hotp(independent_hotp(secret, 5), otp_url=made["otp_url"])[2] == {
        "algorithm": "SHA1",
        "digits": 6,
        "type": "hotp",
        "valid": True,
        "counter": 5,
        "reason": None,
    }


def test_counters_are_accepted_once_in_order_within_the_look_ahead():
    key = {"secret": SECRET}
    assert hotp(independent_hotp(SECRET, 0), **key)[2]["counter"] == 0
    assert hotp(independent_hotp(SECRET, 0), **key)[2]["reason"] == "already_used"
    assert hotp(independent_hotp(SECRET, 3), NOW + 1, **key)[2]["counter"] == 3  # 3 ahead: within the window
    assert hotp(independent_hotp(SECRET, 2), NOW + 2, **key)[2]["valid"] is False  # below a used counter
    assert hotp(independent_hotp(SECRET, 60), NOW + 3, **key)[2]["reason"] == "no_match"  # far ahead


def test_resync_with_two_consecutive_codes_moves_the_counter_past_them():
    key = {"secret": SECRET}
    assert hotp(independent_hotp(SECRET, 0), **key)[2]["valid"] is True
    assert hotp_resync(independent_hotp(SECRET, 60), independent_hotp(SECRET, 62), **key)[2]["valid"] is False
    status, _, body = hotp_resync(independent_hotp(SECRET, 60), independent_hotp(SECRET, 61), NOW + 1, **key)
    assert (status, body) == (
        200,
        {"algorithm": "SHA1", "digits": 6, "type": "hotp", "valid": True, "counter": 61, "reason": None},
    )
    assert hotp(independent_hotp(SECRET, 62), NOW + 2, **key)[2]["counter"] == 62
    assert hotp(independent_hotp(SECRET, 61), NOW + 3, **key)[2]["valid"] is False


def test_sealed_hotp_and_otpauth_hotp_and_a_secret_with_its_first_counter():
    made = otp(type="counter_based", action="generate", seal=True, qrcode="none", counter=40)[2]
    secret = made["secret"]
    assert hotp(independent_hotp(secret, 41), sealed_secret=made["sealed_secret"])[2]["counter"] == 41
    other = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    uri = f"otpauth://hotp/Acme:fob?secret={other}&issuer=Acme&counter=40"
    assert hotp(independent_hotp(other, 41), otp_url=uri)[2]["counter"] == 41
    third = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"
    assert hotp(independent_hotp(third, 7), secret=third, counter=7)[2]["counter"] == 7


def test_six_wrong_hotp_codes_lock_the_key():
    key = {"secret": SECRET}
    for attempt in range(5):
        assert hotp("000000" if independent_hotp(SECRET, 0) != "000000" else "111111", NOW + attempt, **key)[0] == 200
    status, headers, _ = hotp(independent_hotp(SECRET, 0), NOW + 6, **key)
    assert status == 429 and int(headers["Retry-After"]) > 800
    assert otp(NOW + 7, type="hotp", action="unlock", **key)[2] == {"unlocked": True}
    assert hotp(independent_hotp(SECRET, 0), NOW + 8, **key)[2]["valid"] is True


def test_one_hotp_code_many_requests_exactly_one_accepted(atomic_items, metrics_one_flush_at_a_time):
    body = {"type": "hotp", "action": "verify", "secret": SECRET, "code": independent_hotp(SECRET, 1)}
    with time_machine.travel(NOW, tick=False):
        results = concurrently(8, lambda: call("otp", body))
    assert sum(1 for status, _, body in results if status == 200 and body["valid"]) == 1
    # and the counter never moved back: the code of counter 0, below the accepted 1, is refused
    assert hotp(independent_hotp(SECRET, 0), NOW + 1000, secret=SECRET)[2]["valid"] is False


def test_hotp_needs_the_verify_state(stateless):
    status, _, body = hotp(independent_hotp(SECRET, 0), secret=SECRET)
    assert (status, body["parameter"]) == (400, "type")


def test_a_uri_or_token_of_the_other_type_is_refused():
    uri = f"otpauth://hotp/x?secret={SECRET}&counter=0"
    status, _, body = verify_at(NOW, otp_url=uri, code="123456")
    assert (status, body["parameter"]) == (400, "otp_url") and "counter_based" in body["message"]
    status, _, body = hotp("123456", otp_url=f"otpauth://totp/x?secret={SECRET}")
    assert (status, body["parameter"]) == (400, "otp_url")


# --- TOTP resync and drift -----------------------------------------------------------------------------------


def fast(moment: float, steps: int) -> str:
    """The code a device whose clock runs `steps` steps fast shows at `moment`."""
    return independent_code(SECRET, moment + steps * 30)


def totp_resync(code: str, next_code: str, moment: float = NOW):
    return otp(moment, type="time_based", action="resync", secret=SECRET, code=code, next_code=next_code)


def test_a_device_eight_steps_fast_resyncs_and_then_verifies():
    assert verify_at(NOW, secret=SECRET, code=fast(NOW, 8))[2]["valid"] is False
    status, _, body = totp_resync(fast(NOW, 8), fast(NOW, 9), NOW + 1)
    assert (status, body) == (
        200,
        {"algorithm": "SHA1", "digits": 6, "period": 30, "type": "totp", "valid": True, "drift": 9, "reason": None},
    )
    assert verify_at(NOW + 30, secret=SECRET, code=fast(NOW + 30, 9))[2]["valid"] is True  # its next code (+10)
    # the drift stays learnt, and follows the device (RFC 6238 6): a code one step off it is accepted
    assert verify_at(NOW + 60, secret=SECRET, code=fast(NOW + 60, 10))[2]["valid"] is True


def test_resync_beyond_the_window_or_with_codes_that_do_not_follow_is_refused():
    assert totp_resync(fast(NOW, 60), fast(NOW, 61))[2]["reason"] == "no_match"
    assert totp_resync(fast(NOW, 5), fast(NOW, 7), NOW + 1)[2]["valid"] is False
    assert totp_resync(fast(NOW, 5), fast(NOW, 6), NOW + 2)[2]["valid"] is True
    assert totp_resync(fast(NOW, 5), fast(NOW, 6), NOW + 3)[2]["reason"] == "already_used"  # both steps used


def test_without_a_resync_no_code_beyond_one_step_is_accepted():
    for steps in (2, 5, 10, -2, -10):
        assert verify_at(NOW, secret=SECRET, code=fast(NOW, steps))[2]["reason"] == "no_match", steps


def test_a_failed_resync_counts_towards_the_lockout():
    for attempt in range(5):
        totp_resync("000000", "111111", NOW + attempt)
    assert verify_at(NOW + 6, secret=SECRET, code=independent_code(SECRET, NOW + 6))[0] == 429
    assert otp(NOW + 7, type="time_based", action="unlock", secret=SECRET)[2] == {"unlocked": True}


# --- one otpauth reader --------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", [15, 29, 60, 120, 121, 180, 300])
@pytest.mark.parametrize("digits", [6, 8])
def test_every_generated_totp_uri_verifies_its_codes(period, digits):
    made = otp(type="time_based", action="generate", label="any", qrcode="none", period=period, digits=digits)[2]
    code = independent_code(made["secret"], NOW, digits=digits, period=period)
    assert verify_at(NOW, otp_url=made["otp_url"], code=code)[2]["valid"] is True, made["otp_url"]


@pytest.mark.parametrize(
    "uri",
    [
        "OTPAUTH://TOTP/Acme:alice?secret={s}&issuer=Acme",  # upper-case scheme and type
        "otpauth://totp/Acme+Corp:alice+smith?secret={s}&issuer=Acme+Corp",  # + for spaces
        "otpauth://totp/Acme%20Corp:alice?secret={s}&issuer=Acme%20Corp&algorithm=sha1",  # lower-case algorithm
        "otpauth://totp/alice?secret={s}&image=https%3A%2F%2Fexample.com%2Flogo.png",  # a parameter of another tool
        "otpauth://totp/alice?secret={lower}",  # a lower-case secret
    ],
)
def test_spellings_other_generators_write_verify(uri):
    link = uri.format(s=SECRET, lower=SECRET.lower())
    assert verify_at(NOW, otp_url=link, code=independent_code(SECRET, NOW))[2]["valid"] is True


@pytest.mark.parametrize(
    "uri",
    [
        "otpauth://totp/a?secret={s}&secret={s}",  # a parameter twice
        "otpauth://totp/a?secret={s}&digits=6&digits=8",
        "otpauth://totp/Evil:alice?secret={s}&issuer=Acme",  # the label's issuer contradicts issuer
        "otpauth://totp/a?secret={s}&algorithm=MD5",
        "otpauth://totp/a?secret={s}&period=%EF%BC%96%EF%BC%90",  # full-width digits
        "otpauth://hotp/a?secret={s}",  # hotp without its counter
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP",  # 80 bits
    ],
)
def test_what_is_ambiguous_or_unsafe_is_refused(uri):
    status, _, body = verify_at(NOW, otp_url=uri.format(s=SECRET), code="123456")
    assert (status, body["parameter"]) == (400, "otp_url")


# --- HOTP seal: import a hardware token's secret --------------------------------------------------------------


def hotp_seal(**params):
    return otp(type="hotp", action="seal", **params)


def test_an_hotp_secret_is_sealed_at_the_tokens_counter_and_shares_its_state(s3):
    # Given a token's secret a team holds, at counter 7, sealed (without a subject: the key's own state, which the
    # plain secret names too; with one, the state is the person's)
    status, _, body = hotp_seal(secret=SECRET, counter=7)
    assert status == 200, body
    assert body == {
        "algorithm": "SHA1",
        "digits": 6,
        "counter": 7,
        "sealed_secret": body["sealed_secret"],
        "type": "hotp",
    }
    assert body["sealed_secret"].startswith("s1.") and SECRET not in str(body)
    sealed = {"sealed_secret": body["sealed_secret"]}
    # Then the token verifies from its counter on, as generate's sealed secret would
    assert hotp(independent_hotp(SECRET, 6), **sealed)[2]["valid"] is False
    assert hotp(independent_hotp(SECRET, 7), **sealed)[2]["counter"] == 7
    # and shares its state with the plain secret: counter 7 is used for both
    assert hotp(independent_hotp(SECRET, 7), secret=SECRET, counter=7)[2]["reason"] == "already_used"


def test_an_hotp_uri_is_sealed_with_its_counter_and_parameters():
    url = f"otpauth://hotp/Example:fob?secret={SECRET}&counter=3&digits=8&algorithm=SHA256"
    status, _, body = hotp_seal(otp_url=url)
    assert (status, body["counter"], body["digits"], body["algorithm"]) == (200, 3, 8, "SHA256"), body
    code = independent_hotp(SECRET, 3, digits=8, algorithm="SHA256")
    assert hotp(code, sealed_secret=body["sealed_secret"])[2]["valid"] is True


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"otp_url": f"otpauth://totp/Example:a?secret={SECRET}"}, "otp_url"),  # a TOTP key for an HOTP seal
        ({"secret": SECRET, "period": 30}, "period"),  # HOTP keys have no period
        ({}, "secret"),
        ({"secret": SECRET, "counter": -1}, "counter"),
    ],
)
def test_an_hotp_seal_refuses_what_is_no_hotp_key(params, named):
    status, _, body = hotp_seal(**params)
    assert (status, body["parameter"]) == (400, named), body
