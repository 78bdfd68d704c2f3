"""The extension point: a kind of one-time password defined here, in this one file, and registered in one line
(`Registry.of`, as kinds/__init__.py lists the kinds), works through the handler: generate, verify (one use per
code), lockout and unlock, with the shared rules and table, and words its own parameters' errors. No other file
knows it."""

import hashlib
import hmac
import secrets
import time
from typing import Literal

import msgspec
import pytest
from msgspec import Struct
from support import call, handler_module

from otp_api import fields, kinds
from otp_api.kinds import recovery_codes
from otp_api.kinds.registry import Keyed, Kind, Registry
from otp_api.settings import get_verify_settings
from otp_api.state import apply, rules, table
from otp_api.state.conditions import Attr, Missing, Value

# --- the toy kind: a ticket and its six-digit code, each code good once -------------------------------------------

KEY = secrets.token_bytes(32)  # the toy's "server key"
SPENT = Attr("spent")
Toy = Literal["toy_ticket"]


class ToyGenerate(Struct, forbid_unknown_fields=True, tag_field="action", tag="generate"):
    type: Toy


class ToyNamed(Struct, forbid_unknown_fields=True, tag_field="action"):
    """What names a ticket's state: the ticket (unlock, revoke and status come from the registry, given it)."""

    type: Toy
    ticket: str


class ToyVerify(ToyNamed, tag="verify"):
    code: str


class ToyTicket(Struct):
    ticket: str
    code: str


class ToyVerdict(Struct):
    valid: bool
    reason: str | None


def _code(ticket: str) -> str:
    return f"{int.from_bytes(hmac.digest(KEY, ticket.encode(), 'sha256')[:4]) % 10**6:06d}"


def _pk(ticket: str) -> str:
    return hashlib.sha256(b"toy-ticket\x00" + ticket.encode()).hexdigest()


def generate(_: ToyGenerate) -> ToyTicket:
    ticket = secrets.token_hex(8)
    return ToyTicket(ticket=ticket, code=_code(ticket))


def verify(request: ToyVerify) -> ToyVerdict:
    matched = hmac.compare_digest(request.code, _code(request.ticket))
    spend = rules.Progress(unused=Missing(SPENT), sets={SPENT.name: Value(":one")}, values={":one": 1})
    place = rules.Place(_pk(request.ticket))
    verdict = apply.settle(place, spend if matched else None, get_verify_settings(), time.time(), table.STORE)
    return ToyVerdict(valid=verdict.valid, reason=verdict.reason)


def _place(request: ToyNamed) -> rules.Place:
    return rules.Place(_pk(request.ticket))


TOY = Kind(
    type="toy_ticket",
    synonyms=(),
    actions={ToyGenerate: generate, ToyVerify: verify},
    responses=(ToyTicket, ToyVerdict),
    rules={"ticket": "must be a ticket from generate", "code": "must be the ticket's code, as a JSON string"},
    body_only=frozenset({"ticket"}),
    keyed=Keyed(ToyNamed, _place, prefix="Toy"),  # unlock, revoke and status
)


@pytest.fixture
def toy_registered(monkeypatch):
    served = kinds.REGISTRY
    monkeypatch.setattr(kinds, "REGISTRY", Registry.of(*served.kinds, TOY, person=served.person))  # the one line
    handler_module.cache_clear()  # the function as it loads with these kinds
    yield
    handler_module.cache_clear()


def toy(action: str, **params) -> tuple[int, dict]:
    status, _, body = call("otp", {"type": "toy_ticket", "action": action, **params})
    return status, body


def test_the_toy_kind_generates_and_verifies_each_code_once(toy_registered):
    status, made = toy("generate")
    assert status == 200 and made["code"] == _code(made["ticket"])
    assert toy("verify", ticket=made["ticket"], code=made["code"]) == (200, {"valid": True, "reason": None})
    assert toy("verify", ticket=made["ticket"], code=made["code"]) == (200, {"valid": False, "reason": "already_used"})


def test_the_toy_kind_locks_and_unlocks_as_every_kind_does(toy_registered):
    _, made = toy("generate")
    wrong = f"{(int(made['code']) + 1) % 10**6:06d}"
    for _ in range(5):  # MAX_FAILED_ATTEMPTS in the test settings (conftest)
        assert toy("verify", ticket=made["ticket"], code=wrong) == (200, {"valid": False, "reason": "no_match"})
    status, locked = toy("verify", ticket=made["ticket"], code=made["code"])
    assert (status, locked["error"]) == (429, "too_many_attempts")
    assert toy("unlock", ticket=made["ticket"]) == (200, {"unlocked": True})
    assert toy("verify", ticket=made["ticket"], code=made["code"]) == (200, {"valid": True, "reason": None})


def test_the_registry_words_the_toy_kinds_errors_and_keeps_its_parameters_out_of_urls(toy_registered):
    status, body = toy("resync", ticket="t")
    assert (status, body["parameter"], body["message"]) == (
        400,
        "action",
        "action must be generate, verify, unlock, revoke or status for toy_ticket",
    )
    assert "toy_ticket" in call("otp", {"type": "nothing", "action": "generate"})[2]["message"]
    from support import event_with, invoke

    status, _, body = invoke("otp", event_with("otp-generate", query={"type": "toy_ticket", "ticket": "t"}))
    assert (status, body["parameter"]) == (400, "ticket")


def test_the_toy_kind_gets_status_and_revoke_from_the_registry(toy_registered):
    # It said how it names a ticket's state (Keyed); the registry gave it unlock, revoke and status, as every kind.
    _, made = toy("generate")
    wrong = f"{(int(made['code']) + 1) % 10**6:06d}"  # never the ticket's code, whatever it is
    assert toy("verify", ticket=made["ticket"], code=wrong)[1]["valid"] is False
    status, body = toy("status", ticket=made["ticket"])
    assert (status, body["type"], body["failures"], body["revoked"]) == (200, "toy_ticket", 1, False)
    assert toy("revoke", ticket=made["ticket"]) == (200, {"revoked": True})
    assert toy("verify", ticket=made["ticket"], code=made["code"]) == (200, {"valid": False, "reason": "revoked"})


def test_a_type_is_registered_once():
    served = kinds.REGISTRY
    with pytest.raises(ValueError, match="time_based"):
        Registry.of(*served.kinds, Kind("time_based", (), {}, ()), person=served.person)
    with pytest.raises(ValueError, match="ToyVerify"):
        Registry.of(TOY, Kind("toy_two", (), {ToyVerify: verify}, (), rules=TOY.rules), person=served.person)


def test_a_kinds_generated_models_need_a_name_of_their_own():
    # Each model's name is its name in the OpenAPI document: a second kind whose lifecycle would also be called
    # UnlockRequest (the TOTP kind's, with no prefix) is refused, not left to break `make openapi`.
    served = kinds.REGISTRY
    unprefixed = msgspec.structs.replace(TOY, keyed=Keyed(ToyNamed, _place))
    with pytest.raises(ValueError, match="UnlockRequest"):
        Registry.of(*served.kinds, unprefixed, person=served.person)


def test_a_kind_words_its_own_parameters_and_leaves_the_others_wording_alone(toy_registered):
    # The toy's code is hex-like text of its own: its rule in words, not the OATH kinds' "digits".
    status, body = toy("verify", ticket="t", code=7)
    assert (status, body["parameter"], body["message"]) == (400, "code", f"code {TOY.rules['code']}")
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    status, _, body = call("otp", {"type": "totp", "action": "verify", "secret": secret, "code": 7})
    assert (status, body["message"]) == (400, f"code {fields.RULES['code']}")
    # and a kind of the API's own: a recovery code of 65 characters is told what a recovery code is
    sealed = call("otp", {"type": "recovery_codes", "action": "generate"})[2]["sealed_codes"]
    status, _, body = call(
        "otp", {"type": "recovery_codes", "action": "verify", "sealed_codes": sealed, "code": "A" * 65}
    )
    assert (status, body["message"]) == (400, f"code {recovery_codes.KIND.rules['code']}")
    assert "letters and digits" in body["message"] and "string of digits" not in body["message"]
