"""Security, fourth round: every fact the API keeps lives as long as what it protects. Through the handler, with
frozen time, and deleting expired items as DynamoDB's TTL does (an item whose `expires_at` is in the past is gone):

- a TOTP key's state outlives every step an accepted code or resync could cover, at the longest period and the
  widest resync window;
- failures are limited over a key's whole life (MaxConsecutiveFailures), not only per window;
- `revoke` retires a key or a set for good, whatever spelling names it;
- keys that HMAC treats as one share one state;
- a retried accept is recognised whatever another decision wrote in between."""

import base64
import hashlib
import json

import pytest
import time_machine
from botocore.exceptions import ReadTimeoutError
from support import TABLE, call, independent_code, independent_hotp

from otp_api.kinds import counter_based, time_based
from otp_api.state import table

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
NOW = 1_790_000_000.0  # a multiple of 300: step boundaries are round
LONGEST = 300  # the longest period generate offers (oath.MAX_PERIOD)


def otp(moment: float, **params) -> tuple[int, dict]:
    with time_machine.travel(moment, tick=False):
        status, _, body = call("otp", params)
    return status, body


def expire(aws, moment: float) -> int:
    """Delete what DynamoDB's TTL would have deleted by `moment` (Developer Guide, Time to Live: items whose TTL
    attribute holds a time in the past are deleted; a number that is not one is ignored)."""
    dynamodb, gone = aws["dynamodb"], 0
    for item in dynamodb.scan(TableName=TABLE)["Items"]:
        if "expires_at" in item and int(item["expires_at"]["N"]) < moment:
            dynamodb.delete_item(TableName=TABLE, Key={"pk": item["pk"]})
            gone += 1
    return gone


def restore(aws, items: list[dict]) -> None:
    """Put the state back as the accepts left it: a refused probe counts a failure, and a failure removes the TTL,
    which would hide an expiry from the next probe."""
    for item in items:
        aws["dynamodb"].put_item(TableName=TABLE, Item=item)


def code(step: int) -> str:
    return independent_code(SECRET, step * LONGEST, period=LONGEST)


# --- lifetimes --------------------------------------------------------------------------------------------------


@pytest.fixture
def widest(verify_settings):
    verify_settings(TOTP_RESYNC_WINDOW="60")  # the template's MaxValue
    return 60


def drifted(widest: int) -> int:
    """A device 60 steps ahead, learnt by resync; answers the step now is."""
    now = int(NOW // LONGEST)
    status, body = otp(NOW, type="time_based", action="resync", secret=SECRET, period=LONGEST,
                       code=code(now + widest - 1), next_code=code(now + widest))  # fmt: skip
    assert (status, body["valid"], body["drift"]) == (200, True, widest)
    return now


def test_a_login_code_watched_at_the_widest_drift_never_verifies_again(aws, widest):
    # Before: the state expired after 31 minutes; 5 hours later real time reached the watched step, and the code
    # verified a second time.
    now = drifted(widest)
    watched = code(now + widest + 1)  # the device's next step, one ahead of its drift
    status, body = otp(NOW + 1, type="time_based", action="verify", secret=SECRET, period=LONGEST, code=watched)
    assert (status, body["valid"]) == (200, True)
    accepted = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    for later in (NOW + 1861, (now + widest) * LONGEST, (now + widest + 1) * LONGEST + 1, (now + widest + 2) * LONGEST):
        restore(aws, accepted)
        expire(aws, later)
        status, body = otp(later, type="time_based", action="verify", secret=SECRET, period=LONGEST, code=watched)
        assert (status, body["valid"]) == (200, False), later - NOW


def test_a_watched_pair_replayed_as_a_resync_is_refused_until_the_window_has_passed_it(aws, widest):
    # Before: once the state expired, two watched login codes came back as a resync, set a drift pointing at them,
    # and a watched login code verified again.
    now = drifted(widest)
    first, second = code(now + widest + 1), code(now + widest + 2)
    for moment, watched in ((NOW + 1, first), (NOW + LONGEST + 1, second)):
        status, body = otp(moment, type="time_based", action="verify", secret=SECRET, period=LONGEST, code=watched)
        assert (status, body["valid"]) == (200, True)
    horizon = NOW + LONGEST + 1 + rules_lifetime()
    accepted = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    for later in (NOW + 2000, NOW + 4 * 3600, horizon - 1, horizon + 1):
        restore(aws, accepted)
        expired = expire(aws, later)
        assert expired == (later > horizon)  # the item is gone exactly when its lifetime says
        status, body = otp(later, type="time_based", action="resync", secret=SECRET, period=LONGEST,
                           code=first, next_code=second)  # fmt: skip
        assert (status, body["valid"]) == (200, False), later - NOW


def rules_lifetime() -> int:
    from otp_api.kinds import time_based
    from otp_api.settings import get_verify_settings

    return time_based.lifetime(get_verify_settings())


def test_what_never_expires_has_no_ttl(aws, widest):
    key = {"type": "counter_based", "secret": SECRET}
    assert otp(NOW, action="verify", code=independent_hotp(SECRET, 0), **key)[1]["valid"] is True
    totp = {"type": "time_based", "secret": SECRET}
    assert otp(NOW, action="verify", code="000000", **totp)[1]["valid"] is False  # a failure: counted for ever
    items = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    assert len(items) == 2 and all("expires_at" not in item for item in items)


def test_a_window_widened_after_an_accept_never_brings_a_watched_code_back(aws, verify_settings):
    # Before: the lifetime followed the window in force at the accept. With a window of 1 the state expired after
    # 2.5 hours; the operator widened the window to 60; a watched pair came back as a resync, and a watched code after.
    verify_settings(TOTP_RESYNC_WINDOW="1")
    now = int(NOW // LONGEST)
    watched = [code(now + offset) for offset in (0, 1, 2)]
    for moment, login in zip((NOW, NOW + LONGEST, NOW + 2 * LONGEST), watched, strict=True):
        status, body = otp(moment, type="time_based", action="verify", secret=SECRET, period=LONGEST, code=login)
        assert (status, body["valid"]) == (200, True)
    accepted = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    verify_settings(TOTP_RESYNC_WINDOW="60")
    for later in (NOW + 3 * 3600, NOW + 6 * 3600, NOW + 12 * 3600):
        restore(aws, accepted)
        expire(aws, later)
        status, body = otp(later, type="time_based", action="resync", secret=SECRET, period=LONGEST,
                           code=watched[0], next_code=watched[1])  # fmt: skip
        assert (status, body["valid"]) == (200, False), later - NOW


# --- attempt limits over a key's life ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["time_based", "counter_based"])
def test_thirty_days_of_guessing_evaluate_at_most_a_hundred_codes(kind, capsys):
    # Before: 5 failures a window, then a lock for a window, for ever: about 480 guesses a day, 14,400 in 30 days.
    key, right = {"type": kind, "secret": SECRET}, independent_code(SECRET, NOW) if kind == "time_based" else None
    wrong = "000000" if (right or independent_hotp(SECRET, 0)) != "000000" else "000001"
    moment, evaluated, until_unlock = NOW, 0, None
    while moment < NOW + 30 * 86400:
        status, body = otp(moment, action="verify", code=wrong, **key)
        if status == 200:
            evaluated += 1
            moment += 1
            continue
        assert status == 429
        if body["message"].endswith("(action unlock)"):
            until_unlock = moment
            break
        moment += int(body["message"].split("retry after ")[1].split()[0])
    assert evaluated == 100 and until_unlock is not None
    assert "OtpLockedUntilUnlock" in capsys.readouterr().out  # the key under attack is visible
    a_month_on = NOW + 30 * 86400
    status, body = otp(a_month_on, action="verify", code=wrong, **key)
    assert (status, body["error"]) == (429, "too_many_attempts")
    # The way back: the user proves themselves another way and the app unlocks the key.
    assert otp(a_month_on, action="unlock", **key) == (200, {"unlocked": True})
    good = independent_code(SECRET, a_month_on) if kind == "time_based" else independent_hotp(SECRET, 0)
    assert otp(a_month_on + 1, action="verify", code=good, **key)[1]["valid"] is True


def test_a_lock_until_unlock_has_no_retry_after(verify_settings):
    verify_settings(MAX_CONSECUTIVE_FAILURES="2")
    key = {"type": "time_based", "secret": SECRET}
    for moment in (NOW, NOW + 1):
        assert otp(moment, action="verify", code="000000", **key)[0] == 200
    with time_machine.travel(NOW + 2, tick=False):
        status, headers, body = call("otp", {"action": "verify", "code": "000000", **key})
    assert status == 429 and "Retry-After" not in headers and "unlock" in body["message"]


# --- revoke -----------------------------------------------------------------------------------------------------


def spellings_of_one_key(aws) -> list[dict]:
    """The same TOTP key as a secret, an otp_url and a sealed secret."""
    status, sealed = otp(NOW, type="time_based", action="seal", secret=SECRET)
    assert status == 200
    return [
        {"secret": SECRET.lower()},
        {"otp_url": f"otpauth://totp/x?secret={SECRET}"},
        {"sealed_secret": sealed["sealed_secret"]},
    ]


@pytest.mark.parametrize("revoked_by", range(3))
def test_a_revoked_key_never_verifies_resyncs_or_unlocks_whatever_names_it(aws, revoked_by, capsys):
    forms = spellings_of_one_key(aws)
    before = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    assert otp(NOW, type="time_based", action="revoke", **forms[revoked_by]) == (200, {"revoked": True})
    assert otp(NOW + 1, type="time_based", action="revoke", **forms[0]) == (200, {"revoked": False})
    (item,) = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    assert before == [] and "expires_at" not in item  # revocation never expires
    for form in forms:
        status, body = otp(NOW + 2, type="time_based", action="verify", code=independent_code(SECRET, NOW), **form)
        assert (status, body["valid"], body["reason"]) == (200, False, "revoked")
        status, body = otp(NOW + 2, type="time_based", action="verify", code="000000", **form)
        assert (status, body["reason"]) == (200, "revoked")
        status, body = otp(NOW + 3, type="time_based", action="resync", code=independent_code(SECRET, NOW + 90),
                           next_code=independent_code(SECRET, NOW + 120), **form)  # fmt: skip
        assert (status, body["valid"], body["reason"]) == (200, False, "revoked")
        assert otp(NOW + 4, type="time_based", action="unlock", **form) == (
            200,
            {"unlocked": False, "reason": "revoked"},
        )
    (after,) = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    # Each code presented was recorded as a try (the "Revoked Key Tried" event, docs/events.md); nothing else moved:
    # no code accepted, no failure counted, the revocation as it was.
    assert after.pop("tries") == {"N": str(3 * len(forms))} and after.pop("tried_by")
    assert {k: v for k, v in after.items() if k != "decided_by"} == {k: v for k, v in item.items() if k != "decided_by"}
    assert "OtpRevoked" in capsys.readouterr().out


def test_a_listing_of_a_revoked_key_lists_nothing(aws):
    otp(NOW, type="time_based", action="revoke", secret=SECRET)
    status, body = otp(NOW, type="time_based", action="verify", secret=SECRET)
    assert (status, body["valid"], body["reason"]) == (200, False, "revoked") and "otp_codes" not in body


def test_a_revoked_hotp_key_and_a_revoked_set_of_recovery_codes(aws):
    key = {"type": "counter_based", "secret": SECRET}
    assert otp(NOW, action="revoke", **key) == (200, {"revoked": True})
    assert otp(NOW, action="verify", code=independent_hotp(SECRET, 0), **key)[1]["reason"] == "revoked"
    _, made = otp(NOW, type="recovery_codes", action="generate", count=2, subject="user-1")
    codes = {"type": "recovery_codes", "sealed_codes": made["sealed_codes"], "subject": "user-1"}
    assert otp(NOW, action="verify", code=made["codes"][0], **codes)[1]["valid"] is True
    assert otp(NOW, action="revoke", **codes) == (200, {"revoked": True})
    status, body = otp(NOW, action="verify", code=made["codes"][1], **codes)
    assert (status, body["valid"], body["reason"]) == (200, False, "revoked")
    status, body = otp(NOW, action="revoke", **{**codes, "subject": "user-2"})  # not this user's set
    assert (status, body["parameter"]) == (400, "sealed_codes")


def test_revoke_needs_the_verify_state(verify_settings):
    verify_settings(REPLAY_PROTECTION="false")
    status, body = otp(NOW, type="time_based", action="revoke", secret=SECRET)
    assert (status, body["parameter"]) == (400, "action")


# --- keys that HMAC treats as one -------------------------------------------------------------------------------


def spelled(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "other",
    [
        b"12345678901234567890" + b"\x00" * 5,  # HMAC pads a short key with zero bytes (RFC 2104 §2)
        b"12345678901234567890" + b"\x00" * 44,  # up to the block
    ],
)
def test_keys_hmac_pads_alike_share_replay_state_and_revocation(other):
    key, twin = {"type": "time_based", "secret": SECRET}, {"type": "time_based", "secret": spelled(other)}
    right = independent_code(SECRET, NOW)
    assert independent_code(spelled(other), NOW) == right  # the same codes
    assert otp(NOW, action="verify", code=right, **key)[1]["valid"] is True
    assert otp(NOW, action="verify", code=right, **twin)[1]["reason"] == "already_used"
    assert otp(NOW, action="revoke", **twin) == (200, {"revoked": True})
    assert otp(NOW + 30, action="verify", code=independent_code(SECRET, NOW + 30), **key)[1]["reason"] == "revoked"


@pytest.mark.parametrize("kind", ["time_based", "counter_based"])
def test_a_long_key_has_one_state_whatever_the_algorithm(kind):
    # An 80-byte key: longer than SHA1's and SHA256's block (HMAC hashes it first, a digest per algorithm), shorter
    # than SHA512's. Revoked under SHA1, it is revoked under every algorithm; its failures count once.
    long_key = spelled(bytes(range(1, 81)))
    keys = {a: {"type": kind, "secret": long_key, "algorithm": a} for a in ("SHA1", "SHA256", "SHA512")}

    def code(algorithm: str, moment: float) -> str:
        if kind == "time_based":
            return independent_code(long_key, moment, algorithm=algorithm)
        return independent_hotp(long_key, 0, algorithm=algorithm)

    for i, algorithm in enumerate(("SHA1", "SHA256", "SHA512", "SHA1", "SHA256")):  # 5 failures, one lockout
        otp(NOW + i, action="verify", code=wrong6(code(algorithm, NOW)), **keys[algorithm])
    assert otp(NOW + 10, action="verify", code=code("SHA512", NOW + 10), **keys["SHA512"])[0] == 429
    assert otp(NOW + 11, action="unlock", **keys["SHA256"]) == (200, {"unlocked": True})
    assert otp(NOW + 12, action="revoke", **keys["SHA1"]) == (200, {"revoked": True})
    for algorithm in ("SHA256", "SHA512"):
        status, body = otp(NOW + 60, action="verify", code=code(algorithm, NOW + 60), **keys[algorithm])
        assert (status, body["reason"]) == (200, "revoked"), algorithm


def wrong6(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_long_key_revoked_where_it_was_kept_before_stays_revoked(aws):
    # Before, a key longer than its hash's block was kept by the digest HMAC takes of it (per algorithm).
    long_key = bytes(range(1, 81))
    before = hashlib.sha256(time_based.DOMAIN + hashlib.sha1(long_key).digest()).hexdigest()  # noqa: S324
    aws["dynamodb"].put_item(TableName=TABLE, Item={"pk": {"S": before}, "revoked_at": {"N": str(int(NOW) - 100)}})
    key = {"type": "time_based", "secret": spelled(long_key), "algorithm": "SHA1"}
    status, body = otp(NOW, action="verify", code=independent_code(spelled(long_key), NOW), **key)
    assert (status, body["reason"]) == (200, "revoked")
    sha512 = {**key, "algorithm": "SHA512"}  # and under every algorithm, now that it is kept by its bytes
    status, body = otp(
        NOW, action="verify", code=independent_code(spelled(long_key), NOW, algorithm="SHA512"), **sha512
    )
    assert (status, body["reason"]) == (200, "revoked")


def test_an_hotp_counter_kept_before_keys_were_told_apart_as_hmac_uses_them_never_moves_back(aws):
    raw = b"1234567890123456789\x00"  # ends in a zero byte: its state was kept under its bytes as they are
    secret = spelled(raw)
    legacy = hashlib.sha256(counter_based.DOMAIN + raw).hexdigest()
    aws["dynamodb"].put_item(TableName=TABLE, Item={"pk": {"S": legacy}, "next_counter": {"N": "5"}})
    key = {"type": "counter_based", "secret": secret}
    status, body = otp(NOW, action="verify", code=independent_hotp(secret, 2), **key)
    assert (status, body["valid"], body["reason"]) == (200, False, "already_used")
    assert otp(NOW, action="verify", code=independent_hotp(secret, 5), **key)[1]["valid"] is True


# --- a retried accept, with another decision in between --------------------------------------------------------


def test_an_accept_whose_answer_was_lost_is_recognised_after_a_failure_came_in_between(monkeypatch):
    # Before: the failure overwrote the accept's decision id; the retry read already_used and counted a failure.
    client = table._client()
    original, sent = client.update_item, []

    def update_item(**request):
        sent.append(request)
        answer = original(**request)
        if len(sent) == 1:  # the accept lands; before its answer arrives, another decision counts a failure
            with time_machine.travel(NOW, tick=False):
                otp(NOW, type="time_based", action="verify", secret=SECRET, code="000000")
            raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")
        return answer

    monkeypatch.setattr(client, "update_item", update_item)
    status, body = otp(NOW, type="time_based", action="verify", secret=SECRET, code=independent_code(SECRET, NOW))
    assert (status, body["valid"], body["reason"]) == (200, True, None)
    monkeypatch.undo()
    assert (
        otp(NOW + 1, type="time_based", action="verify", secret=SECRET, code=independent_code(SECRET, NOW))[1]["reason"]
        == "already_used"
    )


def test_a_possibly_accepted_code_is_answered_with_advice_that_does_not_rest_on_already_used(monkeypatch):
    client = table._client()

    def lost(**_request):
        raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    monkeypatch.setattr(client, "update_item", lost)
    status, body = otp(NOW, type="time_based", action="verify", secret=SECRET, code=independent_code(SECRET, NOW))
    assert (status, body["error"]) == (503, "state_unavailable")
    assert "next code" in body["message"] and "cannot tell" in body["message"]
    assert json.dumps(body).count("already_used") == 1  # named only as what cannot tell


def test_a_revoked_key_stays_revoked_on_a_table_without_replay_protection_or_lockout(verify_settings):
    # Revoked while the table kept state, then the stack changed to the reference's stateless verify: the table is
    # still configured, and a revoked key is refused whatever the other settings (one write, which holds revocation).
    key = {"type": "time_based", "secret": SECRET}
    assert otp(NOW, action="revoke", **key) == (200, {"revoked": True})
    verify_settings(REPLAY_PROTECTION="false", MAX_FAILED_ATTEMPTS="0")
    status, body = otp(NOW + 30, action="verify", code=independent_code(SECRET, NOW + 30), **key)
    assert (status, body["valid"], body["reason"]) == (200, False, "revoked")
    other = {"type": "time_based", "secret": "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"}  # not revoked: accepted, twice
    code = independent_code(other["secret"], NOW + 30)
    assert otp(NOW + 30, action="verify", code=code, **other)[1]["valid"] is True
    assert otp(NOW + 31, action="verify", code=code, **other)[1]["valid"] is True  # no replay protection asked for


@pytest.mark.parametrize("kind", ["time_based", "counter_based"])
@pytest.mark.parametrize("first", ["SHA256", "SHA512"])
def test_a_long_key_revoked_under_sha1_before_is_revoked_whatever_algorithm_asks_first(aws, kind, first):
    # Kept before by its SHA1 digest (a request of then named it SHA1); the first request now names another.
    long_key = bytes(range(1, 81))
    domain = time_based.DOMAIN if kind == "time_based" else counter_based.DOMAIN
    before = hashlib.sha256(domain + hashlib.sha1(long_key).digest()).hexdigest()  # noqa: S324
    aws["dynamodb"].put_item(TableName=TABLE, Item={"pk": {"S": before}, "revoked_at": {"N": str(int(NOW) - 100)}})
    secret = spelled(long_key)
    code = (
        independent_code(secret, NOW, algorithm=first)
        if kind == "time_based"
        else independent_hotp(secret, 0, algorithm=first)
    )
    status, body = otp(NOW, action="verify", code=code, type=kind, secret=secret, algorithm=first)
    assert (status, body["reason"]) == (200, "revoked")


def test_a_revoked_key_is_not_listed_where_the_table_is_kept_without_replay_protection(verify_settings):
    key = {"type": "time_based", "secret": SECRET}
    assert otp(NOW, action="revoke", **key) == (200, {"revoked": True})
    verify_settings(REPLAY_PROTECTION="false", MAX_FAILED_ATTEMPTS="0")
    status, body = otp(NOW + 30, action="verify", **key)
    assert (status, body["reason"]) == (200, "revoked") and "otp_codes" not in body and "secret" not in body
