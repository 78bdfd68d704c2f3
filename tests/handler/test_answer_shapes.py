"""One shape per kind and action: a verify or resync answers the same keys, in the same order, whether the code was
accepted or not, and the key's parameters with them (algorithm and digits; TOTP's period too), as TOTP verify
always did. Through the handler, codes from `cryptography`'s TOTP and HOTP."""

import pytest
import time_machine
from support import call, independent_code, independent_hotp

NOW = 1_790_000_010.0
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SHAPES = {
    ("totp", "verify"): ["algorithm", "digits", "period", "type", "valid", "matched", "reason"],
    ("totp", "resync"): ["algorithm", "digits", "period", "type", "valid", "drift", "reason"],
    ("hotp", "verify"): ["algorithm", "digits", "type", "valid", "counter", "reason"],
    ("hotp", "resync"): ["algorithm", "digits", "type", "valid", "counter", "reason"],
}


def answer(kind: str, action: str, **params) -> dict:
    with time_machine.travel(NOW, tick=False):
        status, _, body = call("otp", {"type": kind, "action": action, "secret": SECRET, **params})
    assert status == 200, body
    return body


def codes(kind: str, first: int, digits: int, algorithm: str) -> tuple[str, str]:
    if kind == "totp":
        return tuple(independent_code(SECRET, NOW + 30 * (first + n), digits, algorithm) for n in (0, 1))  # type: ignore[return-value]
    return tuple(independent_hotp(SECRET, first + n, digits, algorithm) for n in (0, 1))  # type: ignore[return-value]


@pytest.mark.parametrize(("kind", "action"), list(SHAPES))
@pytest.mark.parametrize(("algorithm", "digits"), [("SHA1", 6), ("SHA256", 8)])
def test_accepted_and_refused_answers_have_one_shape(kind, action, algorithm, digits):
    key = {"algorithm": algorithm, "digits": digits}
    code, next_code = codes(kind, 3 if action == "resync" else 0, digits, algorithm)
    pair = {"code": code, "next_code": next_code} if action == "resync" else {"code": code}
    wrong = {name: "0" * digits for name in pair}
    accepted, refused = answer(kind, action, **key, **pair), answer(kind, action, **key, **wrong)
    assert (accepted["valid"], refused["valid"]) == (True, False), (accepted, refused)
    for body in (accepted, refused):
        assert list(body) == SHAPES[kind, action], body
        assert (body["algorithm"], body["digits"], body["type"]) == (algorithm, digits, kind)
        if kind == "totp":
            assert body["period"] == 30
