"""The rest of the 2FA lifecycle through the handler, with moto's KMS and DynamoDB and frozen time: recovery codes
(each accepted once, used, wrong and foreign codes refused, the lockout per set, tokens that reveal nothing),
importing an existing secret (seal), and unlocking a key or a set."""

import base64
import re

import pytest
import time_machine
from support import TABLE, call, concurrently, independent_code, verify_at, wrong_code

from otp_api.kinds import recovery_codes

NOW = 1_790_000_010.0
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def otp(moment: float = NOW, **params):
    with time_machine.travel(moment, tick=False):
        return call("otp", params)


def new_codes(**params) -> dict:
    status, _, body = otp(type="recovery_codes", action="generate", **params)
    assert status == 200, body
    return body


def redeem(sealed: str, code: str, moment: float = NOW, **params):
    return otp(moment, type="recovery_codes", action="verify", sealed_codes=sealed, code=code, **params)


# --- recovery codes ------------------------------------------------------------------------------------------


def test_ten_distinct_codes_of_fifty_bits_without_look_alikes():
    made = new_codes()
    assert (made["type"], made["count"], len(made["codes"])) == ("recovery_codes", 10, 10)
    assert len(set(made["codes"])) == 10
    for code in made["codes"]:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}", code), code
    assert len(recovery_codes.ALPHABET) ** recovery_codes.CODE_LENGTH >= 2**50
    assert made["sealed_codes"].startswith("r1.")
    for code in made["codes"]:  # nothing of a code in the token, in any spelling
        assert code not in made["sealed_codes"] and code.replace("-", "") not in made["sealed_codes"]


@pytest.mark.parametrize(("count", "ok"), [(1, True), (20, True), ("5", True), (0, False), (21, False), (2.5, False)])
def test_count_from_one_to_twenty(count, ok):
    status, _, body = otp(type="recovery_codes", action="generate", count=count)
    assert (status == 200) is ok, body
    if not ok:
        assert body["parameter"] == "count"


def test_each_code_is_accepted_once_and_the_remaining_count_goes_down():
    made = new_codes(count=3)
    for used, code in enumerate(made["codes"], start=1):
        status, _, body = redeem(made["sealed_codes"], code, NOW + used)
        assert (status, body) == (200, {"type": "recovery_codes", "valid": True, "remaining": 3 - used, "reason": None})
    status, _, body = redeem(made["sealed_codes"], made["codes"][0], NOW + 10)
    assert (body["valid"], body["reason"], body["remaining"]) == (False, "already_used", None)


def test_case_spaces_hyphens_and_look_alikes_do_not_matter():
    made = new_codes(count=1)
    code = made["codes"][0].replace("-", " ").lower().replace("0", "o").replace("1", "l")
    assert redeem(made["sealed_codes"], f"  {code} ")[2]["valid"] is True


def test_wrong_and_foreign_codes_are_no_match():
    mine, theirs = new_codes(count=2), new_codes(count=2)
    assert redeem(mine["sealed_codes"], theirs["codes"][0])[2]["reason"] == "no_match"  # another set's code
    assert redeem(mine["sealed_codes"], "ZZZZ-ZZZZ-ZZ", NOW + 1)[2]["reason"] == "no_match"
    assert redeem(mine["sealed_codes"], "not even a code!", NOW + 2)[2]["reason"] == "no_match"


def test_a_changed_or_foreign_token_is_a_400_naming_sealed_codes(aws):
    made = new_codes(count=2)
    body = made["sealed_codes"].removeprefix("r1.")
    blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    flipped = "r1." + base64.urlsafe_b64encode(blob[:-1] + bytes([blob[-1] ^ 1])).decode().rstrip("=")
    sealed_secret = otp(type="time_based", action="generate", seal=True, qrcode="none")[2]["sealed_secret"]
    as_codes = "r1." + sealed_secret.removeprefix("s1.")  # a sealed secret's ciphertext is no set of codes
    for token in (flipped, as_codes, "r1.AAAA"):
        status, _, answer = redeem(token, made["codes"][0])
        assert (status, answer["parameter"]) == (400, "sealed_codes"), token[:12]
        assert made["codes"][0] not in str(answer)
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []  # nothing counted


def test_a_set_bound_to_a_subject_opens_only_for_it():
    made = new_codes(count=1, subject="user-42")
    assert redeem(made["sealed_codes"], made["codes"][0], subject="user-43")[0] == 400
    assert redeem(made["sealed_codes"], made["codes"][0])[0] == 400
    assert redeem(made["sealed_codes"], made["codes"][0], subject="user-42")[2]["valid"] is True


def test_five_wrong_codes_lock_the_set_until_unlock():
    made = new_codes(count=2)
    for attempt in range(5):
        assert redeem(made["sealed_codes"], "ZZZZ-ZZZZ-ZZ", NOW + attempt)[0] == 200
    status, headers, body = redeem(made["sealed_codes"], made["codes"][0], NOW + 6)  # even a right code
    assert (status, body["error"]) == (429, "too_many_attempts") and int(headers["Retry-After"]) > 800
    status, _, body = otp(NOW + 7, type="recovery_codes", action="unlock", sealed_codes=made["sealed_codes"])
    assert (status, body) == (200, {"unlocked": True})
    assert redeem(made["sealed_codes"], made["codes"][0], NOW + 8)[2]["valid"] is True
    # used codes stay used, and a set that is not locked answers false
    status, _, body = otp(NOW + 9, type="recovery_codes", action="unlock", sealed_codes=made["sealed_codes"])
    assert body == {"unlocked": False}
    assert redeem(made["sealed_codes"], made["codes"][0], NOW + 10)[2]["reason"] == "already_used"


def test_concurrent_redemptions_of_one_code_accept_exactly_one(atomic_items, metrics_one_flush_at_a_time):
    made = new_codes(count=2)
    with time_machine.travel(NOW, tick=False):
        results = concurrently(8, lambda: redeem(made["sealed_codes"], made["codes"][0]))
    assert len(results) == 8
    assert sum(1 for status, _, body in results if status == 200 and body["valid"]) == 1


def test_recovery_codes_need_the_sealing_key(monkeypatch):
    from otp_api.settings import get_settings

    monkeypatch.setenv("SEALING_KEY_ARN", "")
    get_settings.cache_clear()
    try:
        status, _, body = otp(type="recovery_codes", action="generate")
        assert (status, body["parameter"]) == (400, "type") and "sealing" in body["message"]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_sealed_codes_and_codes_come_in_the_body_only():
    from support import event_with, invoke

    made = new_codes(count=1)
    query = {"type": "recovery_codes", "action": "verify", "sealed_codes": made["sealed_codes"]}
    status, _, body = invoke("otp", event_with("otp-verify", query=query))
    assert (status, body["parameter"]) == (400, "sealed_codes")


# --- importing a secret: seal --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        {"secret": SECRET},
        {"secret": SECRET.lower(), "digits": 8, "algorithm": "SHA256", "period": 60},
        {"otp_url": f"otpauth://totp/Acme:bob?secret={SECRET}&issuer=Acme&digits=8&period=45"},
    ],
)
def test_seal_imports_an_existing_secret_that_then_verifies_codes_of_an_independent_totp(given):
    status, _, body = otp(type="time_based", action="seal", **given)
    assert status == 200, body
    assert SECRET not in str(body) and SECRET.lower() not in str(body) and "secret" not in body
    assert set(body) == {"type", "sealed_secret", "algorithm", "digits", "period"}
    code = independent_code(SECRET, NOW, digits=body["digits"], algorithm=body["algorithm"], period=body["period"])
    assert verify_at(NOW, sealed_secret=body["sealed_secret"], code=code)[2]["valid"] is True


def test_a_sealed_import_shares_replay_state_with_its_plain_secret():
    sealed = otp(type="time_based", action="seal", secret=SECRET)[2]["sealed_secret"]
    code = independent_code(SECRET, NOW)
    assert verify_at(NOW, secret=SECRET, code=code)[2]["valid"] is True
    assert verify_at(NOW + 1, sealed_secret=sealed, code=code)[2]["reason"] == "already_used"


def test_seal_binds_a_subject_and_refuses_a_sealed_secret():
    sealed = otp(type="time_based", action="seal", secret=SECRET, subject="user-1")[2]["sealed_secret"]
    code = independent_code(SECRET, NOW)
    assert verify_at(NOW, sealed_secret=sealed, code=code)[0] == 400
    assert verify_at(NOW, sealed_secret=sealed, code=code, subject="user-1")[2]["valid"] is True
    status, _, body = otp(type="time_based", action="seal", sealed_secret=sealed)
    assert (status, body["parameter"]) == (400, "sealed_secret")
    status, _, body = otp(type="time_based", action="seal")
    assert (status, body["parameter"]) == (400, "secret")


# --- unlocking a key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["secret", "otp_url", "sealed_secret"])
def test_unlock_releases_a_locked_key_and_keeps_its_replay_state(form):
    code = independent_code(SECRET, NOW)
    assert verify_at(NOW, secret=SECRET, code=code)[2]["valid"] is True
    for attempt in range(5):
        verify_at(NOW + 1 + attempt, secret=SECRET, code=wrong_code(SECRET, NOW))
    assert verify_at(NOW + 7, secret=SECRET, code=independent_code(SECRET, NOW + 30))[0] == 429
    names = {
        "secret": {"secret": SECRET},
        "otp_url": {"otp_url": f"otpauth://totp/x?secret={SECRET}"},
        "sealed_secret": {"sealed_secret": otp(type="time_based", action="seal", secret=SECRET)[2]["sealed_secret"]},
    }[form]
    status, _, body = otp(NOW + 8, type="time_based", action="unlock", **names)
    assert (status, body) == (200, {"unlocked": True})
    assert verify_at(NOW + 9, secret=SECRET, code=code)[2]["reason"] == "already_used"  # replay state kept
    assert verify_at(NOW + 31, secret=SECRET, code=independent_code(SECRET, NOW + 31))[2]["valid"] is True
    assert otp(NOW + 32, type="time_based", action="unlock", **names)[2] == {"unlocked": False}


def test_unlock_is_counted_in_a_metric(capsys):
    otp(type="time_based", action="unlock", secret=SECRET)
    assert '"OtpUnlocked"' in capsys.readouterr().out


def test_recovery_codes_need_the_verify_state_as_hotp_does(verify_settings):
    # A used recovery code must stay used: without replay protection the stack keeps no state to say so.
    verify_settings(REPLAY_PROTECTION="false")
    status, _, body = call("otp", {"type": "recovery_codes", "action": "generate"})
    assert (status, body["error"], body["parameter"]) == (400, "invalid_parameter", "type")
    assert "replay protection is off" in body["message"]
