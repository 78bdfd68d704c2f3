"""People, not keys, attacked: races at a 30-day period's move, a period moved back by a clock a little ahead, a
lock the release before wrote on a set of recovery codes, one unlock lifting both groups (two events, two ids), the
expressions DynamoDB itself must accept (reserved words, parentheses, sizes), and tokens from before sealing times.
From an independent review; each of the first four failed on the first version of the person's state."""

import re
import struct
import threading

import time_machine
from handler.test_security_events import events  # noqa: F401 - the fixture
from support import TABLE, call, concurrently, independent_code, independent_hotp

from otp_api import kms, spellings
from otp_api.kinds import recovery_codes, time_based
from otp_api.oath import TOTP, OtpKey, secret_bytes
from otp_api.state import rules, table

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
OTHER = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"
NOW = 1_790_208_000.0  # (not the first second of a period: that is 1_791_072_000)
DAY = 86_400
PERIOD = 30 * DAY


def otp(moment: float, **params):
    with time_machine.travel(moment, tick=False):
        status, _, body = call("otp", params)
    return status, body


def sealed(secret: str, subject: str, moment: float = NOW - DAY, kind: str = "time_based") -> dict:
    status, made = otp(moment, type=kind, action="seal", secret=secret, subject=subject)
    assert status == 200, made
    return {"type": kind, "sealed_secret": made["sealed_secret"], "subject": subject}


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def person_item(aws, subject: str) -> dict:
    got = aws["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": rules.person_pk(subject)}}, ConsistentRead=True)
    return got.get("Item", {})


class Interleave:
    """Runs another request (a concurrent Lambda) just before the first UpdateItem whose condition matches: a
    deterministic linearisation of a race DynamoDB allows."""

    def __init__(self, monkeypatch, matches, other, times: int = 1):
        self.fired, self.matches, self.other, self.times = 0, matches, other, times
        client = table._client()
        original = client.update_item

        def update_item(**kwargs):
            if self.fired < self.times and self.matches(kwargs):
                self.fired += 1
                self.other()
            return original(**kwargs)

        monkeypatch.setattr(client, "update_item", update_item)


# --- 1. a failure that is evaluated but never counted: the period-move race -------------------------------------


def test_a_failure_raced_at_the_period_move_is_still_counted(monkeypatch, aws):
    """Two wrong guesses land together when the person's 30-day period must move (a person's first failure, the
    first after an unlock, or the first of each 30-day period). The loser's period-move write is refused because
    the winner moved the period; after_failure then finds tp == period and answers "counted" without counting."""
    key = sealed(SECRET, "mallory-victim")
    moment = NOW + 100
    assert otp(moment, action="verify", code=independent_code(SECRET, moment), **key)[1]["valid"] is True  # adopted
    guess = wrong(independent_code(SECRET, moment + 60))

    def racing_guess():
        otp(moment + 60, action="verify", code=guess, **key)

    def moving_the_period(kwargs):  # the second write of a failure: the period-move write
        return (
            "attribute_not_exists(otp_tp)" in kwargs["ConditionExpression"]
            and "SET otp_f1" in kwargs["UpdateExpression"]
        )

    interleave = Interleave(monkeypatch, moving_the_period, racing_guess, times=4)
    status, body = otp(moment + 60, action="verify", code=guess, **key)
    assert status == 200 and body["valid"] is False
    assert interleave.fired >= 1
    evaluated = 1 + interleave.fired
    _, person = otp(moment + 61, action="status", subject="mallory-victim")
    # every evaluated guess must be counted, towards the window, the cap and the 30 days
    assert person["codes"]["failures"] == evaluated, person["codes"]
    assert person["codes"]["failures_in_thirty_days"] == evaluated, person["codes"]


# --- 2. a 30-day period moved backwards (clock skew between instances at the boundary) ---------------------------


def test_a_period_is_never_moved_backwards(aws):
    """Lambda instances' clocks differ by milliseconds. At a period boundary an instance a little ahead moves the
    person's period to p+1; one a little behind then sees tp != its period and "moves" it back to p with
    tc = ts = 1, forgetting every failure of the period before. The attacker then spends a second budget."""
    key = sealed(SECRET, "skewed")
    boundary = float((int(NOW) // PERIOD + 1) * PERIOD)  # the first second of the next period
    start = boundary - 5 * DAY
    # the attacker spends 99 of the budget in the days before the boundary (slowly: never five in a window)
    moment = start
    for _ in range(99):
        assert otp(moment, action="verify", code=wrong(independent_code(SECRET, moment)), **key)[0] == 200
        moment += 240
    # the accepted codes of the user: the consecutive count is not what this is about
    assert otp(moment, action="verify", code=independent_code(SECRET, moment), **key)[1]["valid"] is True
    ahead, behind = boundary + 0.002, boundary - 0.002  # two instances, 4 ms apart
    assert otp(ahead, action="verify", code="000000", **key)[0] == 200  # the 100th in 30 days: budget spent
    otp(behind, action="verify", code="000001", **key)
    item = person_item(aws, "skewed")
    # with the budget spent (100 failures in the last 5 days), the next guess in the new period is not evaluated
    later = boundary + 3600
    status, _ = otp(later, action="verify", code=wrong(independent_code(SECRET, later)), **key)
    assert status == 429, item  # the item shows otp_tp moved back to the earlier period, otp_ts 1
    assert int(item["otp_tp"]["N"]) == int(boundary) // PERIOD, item  # the period never moves back


# --- 3. a lock the release before wrote on a set of recovery codes ------------------------------------------------


def test_a_legacy_lock_of_recovery_codes_stays_in_force_on_adoption(aws):
    """Issue 33: "Nothing is lost on upgrade: ... locks ... that the current release wrote stay in force." A set of
    recovery codes locked until unlock by the release before (100 failures in its own item) is adopted into the
    person's item under the recovery codes' cap of 10,000: the lock is gone without an unlock."""
    status, made = otp(NOW - DAY, type="recovery_codes", action="generate", count=3, subject="legacy-rc")
    assert status == 200
    recovery = {"type": "recovery_codes", "sealed_codes": made["sealed_codes"], "subject": "legacy-rc"}
    set_id = recovery_codes._unsealed(made["sealed_codes"], "legacy-rc").set_id
    aws["dynamodb"].put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": recovery_codes.state_pk(set_id)},
            "failures": {"N": "100"},
            "last_failure": {"N": str(int(NOW) - 60)},
            "set_size": {"N": "3"},
        },
    )
    status, body = otp(NOW, action="verify", code=made["codes"][0], **recovery)
    assert status == 429, body  # locked until unlock, as the release before left it


# --- 4. event ids of a person's unlock lifting both groups -------------------------------------------------------


def test_a_persons_unlock_of_both_groups_tells_two_events_with_distinct_ids(aws, events):  # noqa: F811
    key = sealed(SECRET, "both-locked", moment=NOW)
    _, made = otp(NOW, type="recovery_codes", action="generate", count=2, subject="both-locked")
    recovery = {"type": "recovery_codes", "sealed_codes": made["sealed_codes"], "subject": "both-locked"}
    for i in range(5):  # the codes: locked for the window
        otp(NOW + 1 + i, action="verify", code=wrong(independent_code(SECRET, NOW)), **key)
    otp(NOW + 10, action="verify", code="0000-0000-00", **recovery)  # the recovery codes' item exists
    item = person_item(aws, "both-locked")
    aws["dynamodb"].put_item(TableName=TABLE, Item={**item, "rc_failures": {"N": str(rules.RECOVERY_CAP - 1)}})
    otp(NOW + 11, action="verify", code="0000-0000-00", **recovery)  # the 10,000th: locked until unlock
    events()
    assert otp(NOW + 12, action="unlock", subject="both-locked") == (200, {"unlocked": True})
    lifted = [event for event in events() if event["detail-type"] == "Lockout Lifted"]
    assert sorted(event["detail"]["factors"] for event in lifted) == ["codes", "recovery_codes"]
    ids = [event["detail"]["event_id"] for event in lifted]
    assert len(set(ids)) == len(ids), ids  # two events, one id: a consumer deduplicating by it drops one


# --- 6. every expression the people writes send: valid for DynamoDB, not only for moto ---------------------------


def _reserved() -> set[str]:
    from pathlib import Path

    import moto

    words = Path(moto.__file__).parent / "dynamodb" / "parsing" / "reserved_keywords.txt"
    return {word.upper() for word in words.read_text().split()}


GRAMMAR = {
    "SET",
    "ADD",
    "REMOVE",
    "AND",
    "OR",
    "NOT",
    "IF_NOT_EXISTS",
    "ATTRIBUTE_EXISTS",
    "ATTRIBUTE_NOT_EXISTS",
    "CONTAINS",
    "SIZE",
    "BETWEEN",
    "IN",
}


def _redundant_parentheses(text: str) -> list[str]:
    """Grouping parentheses whose whole content is one parenthesised group: `((x))`."""
    stack, pairs = [], {}
    for i, char in enumerate(text):
        if char == "(":
            stack.append(i)
        elif char == ")":
            pairs[stack.pop()] = i
    found = []
    for start, end in pairs.items():
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue  # a function's arguments
        inner = start + 1
        if text[inner] == "(" and pairs.get(inner) == end - 1:
            found.append(text[start : end + 1][:80])
    return found


def test_every_expression_of_a_persons_writes_is_valid_in_dynamodb(aws, monkeypatch, verify_settings):
    verify_settings(MAX_FAILED_ATTEMPTS="20")  # the template's MaxValue: the most slots a write names
    sent: list[dict] = []
    client = table._client()
    original = client.update_item

    def update_item(**kwargs):
        sent.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(client, "update_item", update_item)
    # a legacy TOTP item with a full window of failures, adopted; an HOTP key; a set of recovery codes
    legacy = {"pk": {"S": time_based.state_pk(OtpKey(TOTP, secret_bytes(SECRET), "SHA1", 6, 30))}}
    legacy |= {f"f{i}": {"N": str(int(NOW) + 800 + i)} for i in range(1, 21)}
    legacy |= {"last_failure": {"N": str(int(NOW) - 10)}, "failures": {"N": "20"}, "last_used": {"N": "0"}}
    aws["dynamodb"].put_item(TableName=TABLE, Item=legacy)
    key = sealed(SECRET, "exprs")
    otp(NOW, action="verify", code="000000", **key)
    otp(NOW + DAY, action="unlock", **key)
    otp(NOW + DAY + 1, action="verify", code="000000", **key)
    otp(NOW + DAY + 2, action="verify", code=independent_code(SECRET, NOW + DAY + 2), **key)
    otp(NOW + DAY + 3, action="resync", code="000000", next_code="111111", **key)
    _, made = otp(NOW, type="counter_based", action="generate", seal=True, qrcode="none", subject="exprs")
    token = {"type": "counter_based", "sealed_secret": made["sealed_secret"], "subject": "exprs"}
    otp(NOW + DAY + 4, action="verify", code=independent_hotp(made["secret"], 0), **token)
    otp(NOW + DAY + 5, action="verify", code="000000", **token)
    _, made = otp(NOW, type="recovery_codes", action="generate", count=2, subject="exprs")
    recovery = {"type": "recovery_codes", "sealed_codes": made["sealed_codes"], "subject": "exprs"}
    otp(NOW + DAY + 6, action="verify", code=made["codes"][0], **recovery)
    otp(NOW + DAY + 7, action="verify", code="0000-0000-00", **recovery)
    otp(NOW + DAY + 8, action="unlock", **recovery)
    otp(NOW + PERIOD + DAY, action="verify", code="000000", **key)  # a period moved on
    otp(NOW + PERIOD + DAY + 1, action="unlock", subject="exprs")
    otp(NOW + PERIOD + DAY + 2, action="revoke", **token)
    otp(NOW + PERIOD + DAY + 3, action="revoke", subject="exprs")
    otp(NOW + PERIOD + DAY + 4, action="verify", code="000000", **key)  # tried
    reserved, problems = _reserved(), []
    assert len(sent) > 15
    for kwargs in sent:
        for part in ("UpdateExpression", "ConditionExpression"):
            text = kwargs.get(part, "")
            if len(text.encode()) > 4096:
                problems.append(f"{part} of {len(text.encode())} bytes: {text[:60]}")
            names = (
                {n for n in re.findall(r"(?<![:\w])[A-Za-z_][A-Za-z0-9_]*", text)}
                - {g.lower() for g in GRAMMAR}
                - GRAMMAR
            )
            problems += [f"reserved word {n} in {part}" for n in names if n.upper() in reserved]
            problems += [f"redundant parentheses in {part}: {p}" for p in _redundant_parentheses(text)]
        used = set(
            re.findall(r":\w+", kwargs.get("UpdateExpression", "") + " " + kwargs.get("ConditionExpression", ""))
        )
        declared = set(kwargs.get("ExpressionAttributeValues", {}))
        if used != declared:
            problems.append(f"values used {sorted(used - declared)} undeclared, {sorted(declared - used)} unused")
    assert problems == [], problems


def test_concurrent_guesses_after_an_unlock_are_all_counted(atomic_items, monkeypatch):
    """The same race with real threads (Lambda instances): a burst of wrong guesses as the person's period starts
    (here: after an unlock, which removes it) is counted in full, each guess evaluated once counted once
    (atomic_items, tests/handler/conftest.py: each conditional write atomic, as DynamoDB's)."""
    from otp_api.observability import metrics

    lock, flush = threading.Lock(), metrics.flush_metrics

    def flush_metrics(*args, **kwargs):
        with lock:
            return flush(*args, **kwargs)

    monkeypatch.setattr(metrics, "flush_metrics", flush_metrics)
    key = sealed(SECRET, "burst")
    assert otp(NOW, action="verify", code=independent_code(SECRET, NOW), **key)[1]["valid"] is True  # adopted
    evaluated = counted = 0
    with time_machine.travel(NOW + 60, tick=False):
        for _ in range(5):
            assert call("otp", {"action": "unlock", "subject": "burst"})[0] == 200
            answers = concurrently(4, lambda: call("otp", {"action": "verify", "code": "000000", **key}))
            evaluated += sum(1 for status, _, body in answers if status == 200 and body["valid"] is False)
            _, _, person = call("otp", {"action": "status", "subject": "burst"})
            counted += person["codes"]["failures"]
    assert counted == evaluated, (counted, evaluated)


# --- held: tokens from before a person's revocation, whatever their format ----------------------------------------


def _old_tokens(subject: str) -> tuple[dict, dict, str, dict, str]:
    with time_machine.travel(NOW - DAY, tick=False):
        totp = kms.seal(struct.pack(">BBH", 0, 6, 30) + secret_bytes(SECRET), spellings.SEALED_SECRET, subject, "seal")
        hotp = kms.seal(struct.pack(">BBQ", 0x80, 6, 0) + secret_bytes(OTHER), spellings.SEALED_SECRET, subject, "s")
        set_id, code = b"\x01" * 16, "ABCDE23456"
        plain = recovery_codes._HEADER.pack(1, set_id, 1) + recovery_codes._hash(set_id, code)
        codes = kms.seal(plain, recovery_codes.SEALED_CODES, subject, "type")
    return (
        {"type": "time_based", "sealed_secret": totp, "subject": subject},
        {"type": "counter_based", "sealed_secret": hotp, "subject": subject},
        OTHER,
        {"type": "recovery_codes", "sealed_codes": codes, "subject": subject},
        code,
    )


def test_tokens_sealed_before_they_carried_their_time_are_revoked_with_their_person():
    totp, hotp, hotp_secret, codes, code = _old_tokens("old-tokens")
    assert otp(NOW, action="verify", code=code, **codes)[1]["valid"] is True  # they work before
    assert otp(NOW + 1, action="revoke", subject="old-tokens")[0] == 200
    later = NOW + 90
    answers = [
        otp(later, action="verify", code=independent_code(SECRET, later), **totp)[1]["reason"],
        otp(
            later,
            action="resync",
            code=independent_code(SECRET, later),
            next_code=independent_code(SECRET, later + 30),
            **totp,
        )[1]["reason"],
        otp(later, action="verify", code=independent_hotp(hotp_secret, 0), **hotp)[1]["reason"],
        otp(
            later,
            action="resync",
            code=independent_hotp(hotp_secret, 0),
            next_code=independent_hotp(hotp_secret, 1),
            **hotp,
        )[1]["reason"],
        otp(later, action="verify", code=code, **codes)[1]["reason"],
    ]
    assert answers == ["revoked"] * 5
    for token in (totp, hotp, codes):
        assert otp(later, action="unlock", **token)[1] == {"unlocked": False, "reason": "revoked"}
        assert otp(later, action="status", **token)[1]["revoked"] is True
    fresh = sealed(SECRET, "old-tokens", moment=NOW + 2)
    assert otp(later + 30, action="verify", code=independent_code(SECRET, later + 30), **fresh)[1]["valid"] is True
