"""verify against a patient attacker: the lockout window as a sliding one, state keyed by key bytes, periods mixed,
no code listed with a code, no secret in a URL, and the same DynamoDB calls for a right and a wrong code while
locked. Through the handler, with moto's DynamoDB, frozen time and an independent TOTP implementation."""

import base64
import json
import random

import pytest
from support import event_with, independent_code, invoke, verify_at, wrong_code

from otp_api.state import table

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_790_000_010  # 10 s into a 30 s step
WINDOW, LIMIT = 900, 5  # the test settings (conftest): LOCKOUT_WINDOW_SECONDS, MAX_FAILED_ATTEMPTS


def verify(code: str | None, moment: float, secret: str = SECRET, **extra):
    return verify_at(moment, secret=secret, **extra, **({} if code is None else {"code": code}))


def wrong(moment: float, secret: str = SECRET) -> str:
    return wrong_code(secret, moment)


# --- the lockout window ----------------------------------------------------------------------------------------


def test_a_lockout_reached_at_the_windows_end_lasts_a_full_window():
    # Under a fixed window from the first failure, this lockout would have ended one second later.
    assert verify(wrong(NOW), NOW)[0] == 200
    for second in range(LIMIT - 1):
        assert verify(wrong(NOW + 899), NOW + 899)[0] == 200, second
    status, headers, _ = verify(independent_code(SECRET, NOW + 1000), NOW + 1000)
    assert (status, headers["Retry-After"]) == (429, str(899 + WINDOW - 1000))
    assert verify(independent_code(SECRET, NOW + 899 + WINDOW), NOW + 899 + WINDOW)[2]["valid"] is True


def test_no_interval_of_a_window_admits_more_than_the_limit():
    # A guesser trying at random moments for two and a half windows: every guess answered 200 is a failure that was
    # counted; no window-long interval may hold more than LIMIT of them.
    rng = random.Random(7)
    moments = sorted(NOW + rng.randrange(0, 2 * WINDOW + 450) for _ in range(120))
    admitted = [moment for moment in moments if verify(wrong(moment), moment)[0] == 200]
    most = max(sum(1 for other in admitted if start <= other < start + WINDOW) for start in admitted)
    assert most == LIMIT
    assert len(admitted) >= 2 * LIMIT  # the lockout ended between the bursts: this is a window, not a ban


def test_burst_across_what_was_the_window_boundary():
    # A fixed window opened by the first failure let 4 failures in before its end and 5 more right after it (9 in
    # 5 seconds). Sliding: at NOW + 900 the first failure has left the window, so 2 more fit (5 within any 900 s,
    # the fifth locks the key), then nothing.
    verify(wrong(NOW), NOW)
    answers = [verify(wrong(NOW + s), NOW + s)[0] for s in (898, 899, 899, 900, 900, 901, 901, 902)]
    assert answers == [200, 200, 200, 200, 200, 429, 429, 429]


# --- state keyed by the key's bytes ----------------------------------------------------------------------------


def spellings_of(key: bytes) -> list[str]:
    """The 16 spellings of a 32-byte key: 52 characters, whose last 4 bits decode to nothing."""
    text = base64.b32encode(key).decode().rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    top = alphabet.index(text[-1]) & 0b10000
    return [text[:-1] + alphabet[top | low] for low in range(16)]


def test_every_spelling_of_a_key_shares_its_replay_state():
    spellings = spellings_of(bytes(range(32)))
    code = independent_code(spellings[0], NOW, algorithm="SHA256")
    assert verify(code, NOW, spellings[0], algorithm="SHA256")[2]["valid"] is True
    for other in spellings[1:4]:
        body = verify(code, NOW + 1, other.lower(), algorithm="SHA256")[2]
        assert (body["valid"], body["reason"]) == (False, "already_used")


def test_every_spelling_of_a_key_shares_its_lockout():
    spellings = spellings_of(bytes(range(32, 64)))
    for attempt, spelling in enumerate(spellings[:LIMIT]):
        assert verify(wrong(NOW, spelling), NOW + attempt, spelling, algorithm="SHA256")[0] == 200
    right = independent_code(spellings[-1], NOW + 10, algorithm="SHA256")
    assert verify(right, NOW + 10, spellings[-1], algorithm="SHA256")[0] == 429


# --- periods ---------------------------------------------------------------------------------------------------


def test_a_later_30s_step_is_accepted_right_after_a_15s_code():
    moment = NOW + 6  # 16 s into a 30 s step: the current 15 s step started 1 s ago
    assert verify(independent_code(SECRET, moment, period=15), moment, period=15)[2]["valid"] is True
    # the current 30 s step started before that 15 s step: its code is a replay of an earlier moment
    body = verify(independent_code(SECRET, moment + 1), moment + 1)[2]
    assert (body["valid"], body["reason"]) == (False, "already_used")
    # the next 30 s step starts after it: accepted (with a step of clock skew), and not decades later
    body = verify(independent_code(SECRET, moment + 30), moment + 2)[2]
    assert (body["valid"], body["matched"]) == (True, "+30s")


# --- what verify answers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["right", "wrong"])
def test_with_a_code_no_codes_and_no_secret_are_answered(which):
    code = independent_code(SECRET, NOW) if which == "right" else wrong(NOW)
    _, _, body = verify(code, NOW)
    assert set(body) == {"algorithm", "digits", "period", "type", "valid", "matched", "reason"}
    dumped = json.dumps(body)
    assert SECRET not in dumped
    assert not {independent_code(SECRET, NOW + offset) for offset in (-60, -30, 30)} & set(body.values())


def test_a_locked_key_lists_nothing():
    for attempt in range(LIMIT):
        verify(wrong(NOW), NOW + attempt)
    status, headers, body = verify(None, NOW + 10)
    assert status == 429 and "otp_codes" not in body
    assert int(headers["Retry-After"]) == LIMIT - 1 + WINDOW - 10


def test_listing_can_be_turned_off(verify_settings):
    verify_settings(LIST_CODES="false")
    status, _, body = verify(None, NOW)
    assert (status, body["error"], body["parameter"]) == (400, "missing_parameter", "code")
    assert verify(independent_code(SECRET, NOW), NOW)[2]["valid"] is True


@pytest.mark.parametrize("name", ["secret", "code"])
def test_secrets_are_refused_in_the_query_string(name):
    query = {"type": "time_based", "action": "verify", name: SECRET if name == "secret" else "123456"}
    body = {"type": "time_based", "action": "verify", "secret": SECRET}
    status, _, answer = invoke("otp", event_with("otp-verify", body=body, query=query))
    assert (status, answer["error"], answer["parameter"]) == (400, "invalid_parameter", name)
    assert "JSON body" in answer["message"] and SECRET not in json.dumps(answer)


def test_other_parameters_may_stay_in_the_query_string():
    query = {"type": "time_based", "action": "verify", "digits": "6"}
    status, _, _ = invoke("otp", event_with("otp-verify", body={"secret": SECRET}, query=query))
    assert status == 200


# --- lockout metric --------------------------------------------------------------------------------------------


def test_a_lockout_reached_through_replays_is_counted(capsys):
    code = independent_code(SECRET, NOW)
    assert verify(code, NOW)[2]["valid"] is True
    for attempt in range(LIMIT):
        assert verify(code, NOW + 1 + attempt)[2]["reason"] == "already_used"
    lockouts = [line for line in capsys.readouterr().out.splitlines() if '"OtpLockout"' in line]
    assert len(lockouts) == 1


# --- one round trip, the same whatever the code -----------------------------------------------------------------


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """The DynamoDB operations each request makes, as a list per request."""
    client = table._client()
    calls: list[str] = []
    for operation in ("update_item", "get_item"):
        original = getattr(client, operation)

        def counted(*args, _name=operation, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(client, operation, counted)

    def during(code: str | None, moment: float) -> tuple[int, list[str]]:
        calls.clear()
        status = verify(code, moment)[0]
        return status, list(calls)

    return during


def test_the_same_calls_for_the_same_answer(dynamodb_calls):
    # A code of a step outside the stored drift (5 steps ahead: within the resync window, where verify compares
    # codes) and a code of no step at all answer the same no_match with the same two writes: a refused accept,
    # then the failure. Otherwise the far match's second write would tell it apart by its time, and flag a future
    # step's code to be played when its step comes.
    accepted = dynamodb_calls(independent_code(SECRET, NOW), NOW)
    replay = dynamodb_calls(independent_code(SECRET, NOW), NOW + 1)
    wrong_code = dynamodb_calls(wrong(NOW), NOW + 2)
    far = dynamodb_calls(independent_code(SECRET, NOW + 150), NOW + 3)
    for attempt in range(LIMIT - 3):  # the replay and the far match were failures too: LIMIT in all
        dynamodb_calls(wrong(NOW), NOW + 4 + attempt)
    locked_right = dynamodb_calls(independent_code(SECRET, NOW + 40), NOW + 40)
    locked_wrong = dynamodb_calls(wrong(NOW + 41), NOW + 41)
    assert accepted == (200, ["update_item"])
    assert replay == wrong_code == far == (200, ["update_item", "update_item"])
    assert locked_right == locked_wrong == (429, ["update_item"])
