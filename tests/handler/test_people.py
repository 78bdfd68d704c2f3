"""People, not keys: a request that names its user (`subject`, with tokens bound to it) keeps its state in the
person's one item. Through the handler, with frozen time, as an attacker who has the password would try it:

- one budget for all of a person's TOTP and HOTP keys: consecutive failures whatever the key (a re-enrolment
  resets nothing) and MaxFailuresInThirtyDays in any 30 days, which no accepted code resets, with the user signing
  in between the guesses;
- the way back stays open: a lock of the codes never locks the recovery codes, which have limits of their own;
- status, for a person and for one key, answers what happened; unlock and revoke act on the person, and a revoked
  person's older tokens (sealed before tokens carried their time included) answer revoked, a new enrolment works;
- what the release before wrote, key by key, stays in force (counters, used codes, revocations, locks, steps);
- each decision is one conditional write on the person's item (and a read and a write the first time a key is
  seen, to adopt what its own item held)."""

import struct

import pytest
import time_machine
from support import TABLE, call, independent_code, independent_hotp

from otp_api import kms, spellings
from otp_api.kinds import counter_based, recovery_codes, time_based
from otp_api.oath import HOTP, TOTP, OtpKey, secret_bytes
from otp_api.state import rules, table

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 4226's "12345678901234567890"
OTHER = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"
NOW = 1_790_208_000.0  # 00:00 UTC, a third of the way into a 30-day period (Unix time / 2,592,000 = 690)
DAY = 86_400
BUDGET = 100  # MaxFailuresInThirtyDays, its default
CAP = 100  # MaxConsecutiveFailures, its default


def otp(moment: float, **params) -> tuple[int, dict]:
    status, body, _ = attempt(moment, **params)
    return status, body


def attempt(moment: float, **params) -> tuple[int, dict, int | None]:
    """The answer, and its Retry-After in seconds (None without one)."""
    with time_machine.travel(moment, tick=False):
        status, headers, body = call("otp", params)
    return status, body, int(headers["Retry-After"]) if "Retry-After" in headers else None


def sealed(secret: str, subject: str, moment: float = NOW - DAY, kind: str = "time_based") -> dict:
    status, made = otp(moment, type=kind, action="seal", secret=secret, subject=subject)
    assert status == 200, made
    return {"type": kind, "sealed_secret": made["sealed_secret"], "subject": subject}


def hotp_for(subject: str, moment: float = NOW - DAY) -> tuple[str, dict]:
    status, made = otp(moment, type="counter_based", action="generate", seal=True, qrcode="none", subject=subject)
    assert status == 200, made
    return made["secret"], {"type": "counter_based", "sealed_secret": made["sealed_secret"], "subject": subject}


def recovery_for(subject: str, moment: float = NOW - DAY, count: int = 3) -> tuple[list[str], dict]:
    status, made = otp(moment, type="recovery_codes", action="generate", count=count, subject=subject)
    assert status == 200, made
    return made["codes"], {"type": "recovery_codes", "sealed_codes": made["sealed_codes"], "subject": subject}


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def slow_guesses(key: dict, secret: str, start: float, count: int, every: float = 240.0) -> list[int]:
    """`count` wrong codes, one every `every` seconds (never five in a lockout window): their statuses."""
    statuses = []
    for i in range(count):
        moment = start + i * every
        statuses.append(otp(moment, action="verify", code=wrong(independent_code(secret, moment)), **key)[0])
    return statuses


# --- one budget per person ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sign_ins", [1, 4])
def test_interleaved_guessing_stays_within_the_thirty_day_budget(sign_ins):
    # A patient attacker guesses TOTP and HOTP codes between the user's own sign-ins, never five in a window,
    # for 60 days. The user's accepted codes reset the consecutive count, not the 30-day budget: in any 30 days
    # at most MaxFailuresInThirtyDays guesses are evaluated, then every code is refused until the failures age out.
    key = sealed(SECRET, "alice")
    hotp_secret, token = hotp_for("alice")
    counter = 0
    evaluated: list[float] = []  # when each guess was judged (an answer of 200, not 429)
    moment = NOW
    for day in range(60):
        sign_in_times = [NOW + day * DAY + DAY * (n + 0.5) / sign_ins for n in range(sign_ins)]
        while moment < NOW + (day + 1) * DAY:
            if sign_in_times and moment >= sign_in_times[0]:
                otp(sign_in_times.pop(0), action="verify", code=independent_code(SECRET, moment), **key)
            guess = {**key, "code": wrong(independent_code(SECRET, moment))}
            if len(evaluated) % 2:  # every other guess at the HOTP token
                guess = {**token, "code": wrong(independent_hotp(hotp_secret, counter))}
            status, body, retry_after = attempt(moment, action="verify", **guess)
            if status == 200:
                assert body["valid"] is False
                evaluated.append(moment)
                moment += 200
            else:  # 429: wait as long as it says (a patient attacker), or a day when only unlock would lift it
                assert status == 429, body
                moment += retry_after or DAY
    for start in evaluated:  # any 30 days, starting at any guess
        assert sum(1 for t in evaluated if start <= t < start + 30 * DAY) <= BUDGET
    assert len(evaluated) >= BUDGET  # the attacker did spend the budget (the test can fail)
    # the documented yearly bound: at most 7 budgets a year (docs/verification.md)
    assert len(evaluated) <= BUDGET * 2


def test_a_re_enrolment_does_not_reset_the_count():
    first = sealed(SECRET, "bob")
    assert set(slow_guesses(first, SECRET, NOW, 60)) == {200}
    second = sealed(OTHER, "bob", moment=NOW + 60 * 240)  # a new key, enrolled after the guesses
    statuses = slow_guesses(second, OTHER, NOW + 61 * 240, 41)
    assert statuses[:40] == [200] * 40 and statuses[40] == 429  # 100 across both keys: locked until unlock
    moment = NOW + 2 * DAY
    assert otp(moment, action="verify", code=independent_code(SECRET, moment), **first)[0] == 429
    status, person = otp(moment, action="status", subject="bob")
    assert status == 200
    assert person["codes"] | {"attempts_left": None} == {
        "locked": True,
        "locked_until": None,
        "until_unlock": True,
        "failures": CAP,
        "failures_in_thirty_days": CAP,
        "attempts_left": None,
        "last_accepted": None,
    }
    assert person["codes"]["attempts_left"] == {"window": 5, "until_unlock": 0, "thirty_days": 0}


def test_the_attacker_who_locks_the_codes_leaves_the_recovery_codes_working():
    key = sealed(SECRET, "carol")
    codes, recovery = recovery_for("carol")
    assert slow_guesses(key, SECRET, NOW, CAP)[-1] == 200  # the 100th: locked until unlock
    later = NOW + CAP * 240 + DAY
    assert otp(later, action="verify", code=independent_code(SECRET, later), **key)[0] == 429
    # wrong recovery codes, fast: no window lock of theirs, and they never touch the codes' budget
    for i in range(20):
        assert otp(later + i, action="verify", code="0000-0000-00", **recovery)[1]["valid"] is False
    status, body = otp(later + 30, action="verify", code=codes[0], **recovery)
    assert (status, body["valid"], body["remaining"]) == (200, True, 2)
    # the app now unlocks the person, and the user's codes work again
    assert otp(later + 31, action="unlock", subject="carol") == (200, {"unlocked": True})
    again = later + 60
    assert otp(again, action="verify", code=independent_code(SECRET, again), **key)[1]["valid"] is True


def test_locking_the_recovery_codes_costs_far_more_than_the_codes(aws):
    codes, recovery = recovery_for("dave")
    assert otp(NOW, action="verify", code="0000-0000-00", **recovery)[1]["valid"] is False  # the person's item
    # 9,998 failures more, written as the failure write would leave them (through the handler is slow)
    person = {"pk": {"S": rules.person_pk("dave")}}
    item = aws["dynamodb"].get_item(TableName=TABLE, Key=person)["Item"]
    aws["dynamodb"].put_item(TableName=TABLE, Item={**item, "rc_failures": {"N": str(rules.RECOVERY_CAP - 1)}})
    assert otp(NOW + 1, action="verify", code="0000-0000-00", **recovery)[0] == 200  # the 10,000th
    assert otp(NOW + 2, action="verify", code=codes[0], **recovery)[0] == 429  # locked until unlock
    _, person_status = otp(NOW + 3, action="status", subject="dave")
    assert person_status["recovery_codes"]["until_unlock"] is True and person_status["codes"]["locked"] is False


def test_the_five_in_a_window_lock_is_the_persons():
    key = sealed(SECRET, "erin")
    hotp_secret, token = hotp_for("erin")
    for i in range(3):
        otp(NOW + i, action="verify", code=wrong(independent_code(SECRET, NOW)), **key)
    for i in range(2):
        otp(NOW + 3 + i, action="verify", code=wrong(independent_hotp(hotp_secret, 0)), **token)
    status, _, retry_after = attempt(NOW + 10, action="verify", code=independent_hotp(hotp_secret, 0), **token)
    assert status == 429 and retry_after is not None and 0 < retry_after <= 900


# --- status ------------------------------------------------------------------------------------------------------


def test_status_answers_what_happened():
    key = sealed(SECRET, "frank")
    assert otp(NOW, action="verify", code=independent_code(SECRET, NOW), **key)[1]["valid"] is True
    for i in range(2):
        otp(NOW + 60 + i, action="verify", code="000000", **key)
    status, body = otp(NOW + 70, action="status", **key)
    assert status == 200
    assert body == {
        "locked": False,
        "locked_until": None,
        "until_unlock": False,
        "failures": 2,
        "failures_in_thirty_days": 2,
        "attempts_left": {"window": 3, "until_unlock": 98, "thirty_days": 98},
        "last_accepted": "2026-09-24T00:00:00Z",
        "type": "time_based",
        "revoked": False,
        "person": True,
    }
    for i in range(3):
        otp(NOW + 80 + i, action="verify", code="000000", **key)
    status, person = otp(NOW + 90, action="status", subject="frank")
    assert person["codes"]["locked"] is True and person["codes"]["locked_until"] == "2026-09-24T00:16:22Z"
    assert person["revoked_before"] is None and person["subject"] == "frank"
    assert person["recovery_codes"]["attempts_left"] == {"window": None, "until_unlock": 10_000, "thirty_days": None}
    text = str(person) + str(body)
    assert SECRET not in text and key["sealed_secret"] not in text


def test_a_key_without_a_subject_answers_its_own_status():
    key = {"type": "time_based", "secret": SECRET}
    otp(NOW, action="verify", code="000000", **key)
    status, body = otp(NOW + 1, action="status", **key)
    assert (status, body["person"], body["failures"], body["failures_in_thirty_days"]) == (200, False, 1, None)
    assert body["attempts_left"] == {"window": 4, "until_unlock": 99, "thirty_days": None}


# --- revoke and unlock for a person ------------------------------------------------------------------------------


def _old_token(secret: str, subject: str) -> dict:
    """A sealed secret as the release before sealed it: no sealing time in its payload."""
    key = OtpKey(TOTP, secret_bytes(secret), "SHA1", 6, 30)
    payload = struct.pack(">BBH", 0, 6, 30) + key.secret_bytes
    with time_machine.travel(NOW - DAY, tick=False):
        token = kms.seal(payload, spellings.SEALED_SECRET, subject, "seal")
    return {"type": "time_based", "sealed_secret": token, "subject": subject}


def test_revoking_a_person_refuses_every_older_token_and_accepts_a_new_enrolment():
    key, old = sealed(SECRET, "gina"), _old_token(OTHER, "gina")
    hotp_secret, token = hotp_for("gina")
    codes, recovery = recovery_for("gina")
    assert otp(NOW, action="verify", code=independent_code(SECRET, NOW), **key)[1]["valid"] is True
    status, body = otp(NOW + 1, action="revoke", subject="gina")
    assert (status, body) == (200, {"revoked_before": "2026-09-24T00:00:01.000Z"})
    later = NOW + 60
    refused = [
        otp(later, action="verify", code=independent_code(SECRET, later), **key),
        otp(later, action="verify", code=independent_code(OTHER, later), **old),
        otp(later, action="verify", code=independent_hotp(hotp_secret, 0), **token),
        otp(later, action="verify", code=codes[0], **recovery),
        otp(later, action="resync", code=independent_code(SECRET, later), next_code="123456", **key),
    ]
    assert [(status, body["valid"], body["reason"]) for status, body in refused] == [(200, False, "revoked")] * 5
    assert otp(later, action="unlock", **key) == (200, {"unlocked": False, "reason": "revoked"})
    assert otp(later, action="status", **token)[1]["revoked"] is True
    # re-enrolment after the compromise: the same secret sealed anew works
    fresh = sealed(SECRET, "gina", moment=NOW + 2)
    moment = NOW + 120
    assert otp(moment, action="verify", code=independent_code(SECRET, moment), **fresh)[1]["valid"] is True
    _, person = otp(moment, action="status", subject="gina")
    assert person["revoked_before"] == "2026-09-24T00:00:01.000Z"


def test_one_key_revoked_leaves_the_persons_other_keys():
    key, other = sealed(SECRET, "hal"), sealed(OTHER, "hal")
    assert otp(NOW, action="revoke", **key) == (200, {"revoked": True})
    assert otp(NOW + 1, action="verify", code=independent_code(SECRET, NOW), **key)[1]["reason"] == "revoked"
    assert otp(NOW + 2, action="verify", code=independent_code(OTHER, NOW), **other)[1]["valid"] is True


def test_a_person_needs_a_subject_and_no_type():
    assert otp(NOW, action="status")[0] == 400
    status, body = otp(NOW, action="status", subject="x", code="123456")
    assert (status, body["error"]) == (400, "unknown_parameter")
    assert otp(NOW, action="unlock", subject="nobody") == (200, {"unlocked": False})


# --- the release before: its items stay in force ------------------------------------------------------------------


def _put(pk: str, aws, **attributes) -> None:
    item = {"pk": {"S": pk}}
    for name, value in attributes.items():
        item[name] = {"NS": [str(v) for v in value]} if isinstance(value, set) else {"N": str(value)}
    aws["dynamodb"].put_item(TableName=TABLE, Item=item)


def test_what_the_release_before_wrote_stays_in_force(aws):
    # Items as the release before wrote them for requests naming a subject: one item per key (the golden writes).
    key = sealed(SECRET, "ivy")
    step_start = int(NOW // 30) * 30
    _put(time_based.state_pk(OtpKey(TOTP, secret_bytes(SECRET), "SHA1", 6, 30)), aws, last_used=step_start, drift=0)
    hotp_secret, token = hotp_for("ivy")
    hotp_key = OtpKey(HOTP, secret_bytes(hotp_secret), "SHA1", 6, 30, 0)
    _put(counter_based.state_pk(hotp_key), aws, next_counter=5)
    codes, recovery = recovery_for("ivy")
    set_id = recovery_codes._unsealed(recovery["sealed_codes"], "ivy").set_id
    _put(recovery_codes.state_pk(set_id), aws, used={0}, set_size=3)
    revoked, revoked_key = sealed(OTHER, "ivy"), OtpKey(TOTP, secret_bytes(OTHER), "SHA1", 6, 30)
    _put(time_based.state_pk(revoked_key), aws, revoked_at=int(NOW) - 100)
    assert otp(NOW, action="verify", code=independent_code(SECRET, NOW), **key)[1]["reason"] == "already_used"
    assert otp(NOW, action="verify", code=independent_hotp(hotp_secret, 3), **token)[1]["reason"] == "already_used"
    assert otp(NOW, action="verify", code=independent_hotp(hotp_secret, 5), **token)[1]["valid"] is True
    assert otp(NOW, action="verify", code=codes[0], **recovery)[1]["reason"] == "already_used"
    assert otp(NOW, action="verify", code=codes[1], **recovery)[1]["remaining"] == 1
    assert otp(NOW, action="verify", code=independent_code(OTHER, NOW), **revoked)[1]["reason"] == "revoked"
    assert otp(NOW + 30, action="verify", code=independent_code(SECRET, NOW + 30), **key)[1]["valid"] is True


def test_a_lock_the_release_before_wrote_stays_in_force(aws):
    key = sealed(SECRET, "jack")
    _put(
        time_based.state_pk(OtpKey(TOTP, secret_bytes(SECRET), "SHA1", 6, 30)), aws, failures=100, last_failure=int(NOW)
    )
    assert otp(NOW + DAY, action="verify", code=independent_code(SECRET, NOW + DAY), **key)[0] == 429
    assert otp(NOW + DAY, action="unlock", subject="jack") == (200, {"unlocked": True})
    moment = NOW + DAY + 60
    assert otp(moment, action="verify", code=independent_code(SECRET, moment), **key)[1]["valid"] is True


def test_an_unlock_before_a_key_is_adopted_is_not_undone_by_its_adoption(aws):
    key = sealed(SECRET, "kim")
    _put(
        time_based.state_pk(OtpKey(TOTP, secret_bytes(SECRET), "SHA1", 6, 30)), aws, failures=100, last_failure=int(NOW)
    )
    assert otp(NOW + 10, action="unlock", subject="kim")[0] == 200
    moment = NOW + 60
    assert otp(moment, action="verify", code=independent_code(SECRET, moment), **key)[1]["valid"] is True


# --- what each decision costs ------------------------------------------------------------------------------------


def test_a_code_is_one_write_once_the_key_is_seen_and_a_miss_two(monkeypatch):
    key = sealed(SECRET, "lou")
    otp(NOW, action="verify", code=independent_code(SECRET, NOW), **key)  # the first: adopts the key
    otp(NOW + 1, action="verify", code="000000", **key)  # the first failure: starts the 30-day period
    calls: list[str] = []
    client = table._client()
    for name in ("get_item", "update_item"):
        original = getattr(client, name)
        monkeypatch.setattr(
            client, name, lambda original=original, name=name, **kw: calls.append(name) or original(**kw)
        )
    for moment, code, writes in ((NOW + 30, independent_code(SECRET, NOW + 30), 1), (NOW + 31, "000000", 2)):
        calls.clear()
        otp(moment, action="verify", code=code, **key)
        assert calls == ["update_item"] * writes, code  # a miss: a refused accept, as a far match, then the failure
