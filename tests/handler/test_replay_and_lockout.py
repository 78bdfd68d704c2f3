"""Replay protection (RFC 6238 §5.2) and brute-force lockout (RFC 4226 §7.3) through the handler, with moto's
DynamoDB, frozen time and an independent TOTP implementation."""

import json

import pytest
import time_machine
from support import TABLE, call, concurrently, independent_code, verify_at, wrong_code

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OTHER = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
NOW = 1_790_000_010.0  # 10 s into a step


def code_at(moment: float, secret: str = SECRET) -> str:
    return independent_code(secret, moment)


def verify(code: str, moment: float = NOW, secret: str = SECRET) -> tuple[int, dict, dict]:
    return verify_at(moment, secret=secret, code=code)


def wrong(moment: float, secret: str = SECRET) -> str:
    return wrong_code(secret, moment)


# --- replay ---------------------------------------------------------------------------------------------------


def test_the_same_code_is_accepted_once():
    first = verify(code_at(NOW))[2]
    second = verify(code_at(NOW), NOW + 5)[2]
    assert (first["valid"], first["matched"]) == (True, "current")
    assert (second["valid"], second["matched"], second["reason"]) == (False, None, "already_used")


def test_a_code_of_an_earlier_step_is_refused_after_a_later_one():
    assert verify(code_at(NOW))[2]["valid"] is True
    previous = verify(code_at(NOW - 30), NOW)[2]
    assert (previous["valid"], previous["reason"]) == (False, "already_used")
    assert verify(code_at(NOW + 30), NOW)[2]["valid"] is True  # the next step is still new


def test_spaces_do_not_make_a_used_code_new():
    code = code_at(NOW)
    assert verify(code)[2]["valid"] is True
    assert verify(f" {code[:3]} {code[3:]} ")[2]["reason"] == "already_used"


def test_secrets_are_independent():
    assert verify(code_at(NOW))[2]["valid"] is True
    assert verify(code_at(NOW, OTHER), secret=OTHER)[2]["valid"] is True


@pytest.mark.filterwarnings("ignore:Dimension 'result' has already been added")
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_concurrent_submissions_of_one_code_accept_exactly_one(atomic_items, metrics_one_flush_at_a_time):
    code = code_at(NOW)
    body = {"type": "time_based", "action": "verify", "secret": SECRET, "code": code}
    with time_machine.travel(NOW, tick=False):  # once, for all threads: travel is process-wide
        results = concurrently(8, lambda: call("otp", body))
    assert len(results) == 8
    accepted = [body for status, _, body in results if status == 200 and body["valid"]]
    assert len(accepted) == 1
    # The other seven are replays; each counts as a failure, so after the fifth the secret is locked out.
    refused = sorted(body.get("reason") or body["error"] for status, _, body in results if not body.get("valid"))
    assert refused == ["already_used"] * 5 + ["too_many_attempts"] * 2


def test_stateless_mode_accepts_a_code_again(stateless):
    assert verify(code_at(NOW))[2]["valid"] is True
    assert verify(code_at(NOW))[2]["valid"] is True


def test_the_table_holds_a_hash_not_the_secret(aws):
    verify(code_at(NOW))
    (accepted,) = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    assert int(accepted["expires_at"]["N"]) > NOW  # an accepted code's state expires by TTL
    verify(wrong(NOW))
    items = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    assert len(items) == 1
    dumped = json.dumps(items)
    assert SECRET not in dumped and SECRET.lower() not in dumped
    expected = {"pk", "last_used", "drift", "last_failure", "failures", "decided_by", "accepted_by"}
    assert set(items[0]) <= expected | {f"f{i}" for i in range(1, 6)}  # decision ids: random (state/rules.py)
    assert "expires_at" not in items[0]  # failures never expire: the attempt limits count them


# --- lockout --------------------------------------------------------------------------------------------------


def test_lockout_after_five_failures_with_retry_after():
    for attempt in range(5):
        status, _, body = verify(wrong(NOW), NOW + attempt)
        assert (status, body["valid"], body["reason"]) == (200, False, "no_match")
    status, headers, body = verify(code_at(NOW + 10), NOW + 10)  # even the right code
    assert status == 429
    assert body == {"error": "too_many_attempts", "parameter": "code", "message": body["message"]}
    assert int(headers["Retry-After"]) == 900 - (10 - 4)  # a full window from the fifth failure
    assert headers["Cache-Control"] == "no-store"
    status, _, _ = verify(wrong(NOW + 20), NOW + 20)
    assert status == 429


def test_five_failures_less_than_a_window_apart_lock_whatever_their_fractions_of_a_second():
    # Times truncated to whole seconds once let failures at 0.9 s and 900.4 s (899.5 s apart) both pass unlocked:
    # six failures in one 900 s window.
    first = NOW + 0.9
    for moment in (first, first + 1, first + 2, first + 3, first + 899.5):
        status, _, body = verify(wrong(moment), moment)
        assert (status, body["reason"]) == (200, "no_match"), moment
    status, headers, _ = verify(code_at(first + 899.6), first + 899.6)
    assert status == 429 and int(headers["Retry-After"]) >= 899


def test_a_lock_never_ends_before_a_full_window_from_the_nth_failure():
    for moment in (NOW + 0.2, NOW + 1.2, NOW + 2.2, NOW + 3.2, NOW + 4.7):
        verify(wrong(moment), moment)
    assert verify(code_at(NOW + 4.7 + 899.9), NOW + 4.7 + 899.9)[0] == 429
    assert verify(code_at(NOW + 906), NOW + 906)[2]["valid"] is True


def test_lockout_ends_when_the_window_passes():
    for attempt in range(5):
        verify(wrong(NOW), NOW + attempt)
    assert verify(code_at(NOW + 903), NOW + 903)[0] == 429  # the fifth failure was at NOW + 4
    status, _, body = verify(code_at(NOW + 904), NOW + 904)
    assert (status, body["valid"]) == (200, True)


def test_a_success_resets_the_count():
    for attempt in range(4):
        verify(wrong(NOW), NOW + attempt)
    assert verify(code_at(NOW + 5), NOW + 5)[2]["valid"] is True
    for attempt in range(4):
        assert verify(wrong(NOW + 40), NOW + 40 + attempt)[0] == 200
    assert verify(code_at(NOW + 60), NOW + 60)[2]["valid"] is True


def test_failures_in_an_old_window_do_not_count():
    for attempt in range(4):
        verify(wrong(NOW), NOW + attempt)
    later = NOW + 1000  # the first window has passed
    for attempt in range(4):
        assert verify(wrong(later), later + attempt)[0] == 200
    assert verify(code_at(later + 10), later + 10)[2]["valid"] is True


def test_replays_count_as_failures():
    code = code_at(NOW)
    assert verify(code)[2]["valid"] is True
    for attempt in range(5):
        assert verify(code, NOW + 1 + attempt)[2]["reason"] == "already_used"
    assert verify(code_at(NOW + 30), NOW + 30)[0] == 429


def test_lockout_is_per_secret():
    for attempt in range(5):
        verify(wrong(NOW), NOW + attempt)
    assert verify(code_at(NOW, OTHER), secret=OTHER)[2]["valid"] is True


def test_lockout_off_with_zero_attempts(verify_settings):
    verify_settings(MAX_FAILED_ATTEMPTS="0")
    for attempt in range(10):
        assert verify(wrong(NOW), NOW + attempt)[0] == 200
    assert verify(code_at(NOW + 11), NOW + 11)[2]["valid"] is True


def test_custom_limit_and_window(verify_settings):
    verify_settings(MAX_FAILED_ATTEMPTS="2", LOCKOUT_WINDOW_SECONDS="60")
    verify(wrong(NOW), NOW)
    verify(wrong(NOW), NOW + 1)
    status, headers, _ = verify(code_at(NOW + 2), NOW + 2)
    assert (status, headers["Retry-After"]) == (429, "59")
    assert verify(code_at(NOW + 61), NOW + 61)[2]["valid"] is True


def test_lockout_emits_a_metric(capsys):
    for attempt in range(5):
        verify(wrong(NOW), NOW + attempt)
    out = capsys.readouterr().out
    lockouts = [json.loads(line) for line in out.splitlines() if '"OtpLockout"' in line]
    assert len(lockouts) == 1
    assert lockouts[0]["service"] == "otp-api"


def test_listing_codes_without_a_code_touches_no_state(aws):
    with time_machine.travel(NOW, tick=False):
        status, _, _ = call("otp", {"type": "time_based", "action": "verify", "secret": SECRET})
    assert status == 200
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []


@pytest.mark.parametrize("code", ["12a456", "abcdef"])
def test_malformed_codes_are_400_and_not_counted(aws, code):
    assert verify(code)[0] == 400
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []
