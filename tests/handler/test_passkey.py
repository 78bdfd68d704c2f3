"""Passkeys through the handler, with ceremonies made in the test by a software authenticator (an EC P-256 key from
`cryptography`, attestation `none`, authenticatorData and clientDataJSON built as the WebAuthn spec says): register,
sign in, and every way a sign-in must be refused: the same assertion replayed, another subject's challenge, another
origin, a lowered sign count (a clone), an expired challenge, a revoked credential."""

import base64
import hashlib
import json
import os
import secrets
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field

import cbor2
import pytest
import time_machine
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from support import ROOT, call

RP_ID, ORIGIN = "login.example.com", "https://login.example.com"
UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Authenticator:
    """A software authenticator: one credential, a signature counter (0 forever: a synced passkey)."""

    counting: bool = True
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    count: int = 0

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: y})

    def _client_data(self, kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def _next_count(self) -> int:
        if self.counting:
            self.count += 1
        return self.count

    def create(self, options: dict, origin: str = ORIGIN, rp_id: str = RP_ID) -> dict:
        count = self._next_count()
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose()
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([UP | UV | AT]) + struct.pack(">I", count)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data + attested})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(self, options: dict, origin: str = ORIGIN, count: int | None = None) -> dict:
        count = self._next_count() if count is None else count
        auth_data = hashlib.sha256(RP_ID.encode()).digest() + bytes([UP | UV]) + struct.pack(">I", count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }


@pytest.fixture(autouse=True)
def relying_party(monkeypatch):
    from otp_api.settings import get_passkey_settings

    monkeypatch.setenv("PASSKEY_RP_ID", RP_ID)
    monkeypatch.setenv("PASSKEY_ORIGINS", f"{ORIGIN},https://other.example.com")
    get_passkey_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_passkey_settings.cache_clear()


def passkey(action: str, **params) -> tuple[int, dict]:
    status, _, body = call("otp", {"type": "passkey", "action": action, **params})
    return status, body


def registered(device: Authenticator, subject: str = "alice") -> str:
    status, made = passkey("generate", subject=subject, label="alice@example.com")
    assert status == 200, made
    status, done = passkey(
        "register", subject=subject, challenge_token=made["challenge_token"], credential=device.create(made["options"])
    )
    assert status == 200 and done["valid"], done
    assert done["credential_id"] == b64url(device.credential_id)
    return done["sealed_credential"]


def challenge(sealed: str, subject: str = "alice") -> dict:
    status, asked = passkey("challenge", subject=subject, sealed_credentials=[sealed])
    assert status == 200, asked
    return asked


def verify(sealed: str, asked: dict, assertion: dict, subject: str = "alice") -> tuple[int, dict]:
    return passkey(
        "verify",
        subject=subject,
        challenge_token=asked["challenge_token"],
        sealed_credentials=[sealed],
        credential=assertion,
    )


def test_generate_answers_webauthn_level_3_creation_options():
    # When a person asks to add a passkey
    status, made = passkey("generate", subject="alice", label="alice@example.com")
    # Then the options are the JSON form a browser parses, attestation none, and the challenge comes sealed
    options = made["options"]
    assert status == 200 and made["type"] == "passkey" and made["challenge_token"].startswith("wc1.")
    assert options["rp"] == {"name": "otp-api", "id": RP_ID}
    assert options["user"]["name"] == "alice@example.com" and len(unb64url(options["user"]["id"])) == 32
    assert options["attestation"] == "none" and options["authenticatorSelection"]["userVerification"] == "preferred"
    assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"] and len(
        unb64url(options["challenge"])
    ) == 32
    assert "alice" not in json.dumps(options["user"]["id"])  # the user handle is no PII


def test_register_then_sign_in_and_the_same_assertion_is_refused_when_replayed():
    device = Authenticator()
    sealed = registered(device)
    assert sealed.startswith("pk1.")
    asked = challenge(sealed)
    assert asked["options"]["rpId"] == RP_ID
    assert asked["options"]["allowCredentials"] == [{"type": "public-key", "id": b64url(device.credential_id)}]
    assertion = device.get(asked["options"])
    assert verify(sealed, asked, assertion) == (
        200,
        {"type": "passkey", "valid": True, "credential_id": b64url(device.credential_id), "reason": None},
    )
    # the same assertion again: its challenge was used
    assert verify(sealed, asked, assertion)[1]["reason"] == "already_used"
    # a new challenge signs in again
    again = challenge(sealed)
    assert verify(sealed, again, device.get(again["options"]))[1]["valid"] is True


def test_an_older_challenge_is_refused_once_a_newer_one_was_used():
    device = Authenticator(counting=False)
    sealed = registered(device)
    older = challenge(sealed)
    time.sleep(0.002)
    newer = challenge(sealed)
    assert verify(sealed, newer, device.get(newer["options"]))[1]["valid"] is True
    assert verify(sealed, older, device.get(older["options"]))[1]["reason"] == "already_used"


def test_a_registration_is_taken_once():
    device = Authenticator()
    _, made = passkey("generate", subject="alice")
    credential = device.create(made["options"])
    first = passkey("register", subject="alice", challenge_token=made["challenge_token"], credential=credential)
    assert first[1]["valid"] is True
    second = passkey("register", subject="alice", challenge_token=made["challenge_token"], credential=credential)
    assert second == (
        200,
        {"type": "passkey", "valid": False, "sealed_credential": None, "credential_id": None, "reason": "already_used"},
    )


def test_a_challenge_of_another_subject_is_refused():
    device = Authenticator()
    sealed = registered(device)
    bobs = challenge(registered(Authenticator(), "bob"), "bob")
    status, body = verify(sealed, bobs, device.get(bobs["options"]))
    assert (status, body["parameter"]) == (400, "challenge_token")
    # and alice's sealed credential is no one else's
    status, body = verify(sealed, bobs, device.get(bobs["options"]), subject="bob")
    assert (status, body["parameter"]) == (400, "sealed_credentials")


def test_a_challenge_of_the_other_ceremony_is_refused():
    device = Authenticator()
    sealed = registered(device)
    _, made = passkey("generate", subject="alice")
    status, body = verify(sealed, made, device.get(made["options"]))
    assert (status, body["parameter"]) == (400, "challenge_token")
    asked = challenge(sealed)
    status, body = passkey(
        "register",
        subject="alice",
        challenge_token=asked["challenge_token"],
        credential=device.create(asked["options"]),
    )
    assert (status, body["parameter"]) == (400, "challenge_token")


def test_another_origin_or_rp_id_is_refused_and_counted():
    device = Authenticator()
    sealed = registered(device)
    asked = challenge(sealed)
    assert verify(sealed, asked, device.get(asked["options"], origin="https://login.example.com.evil.test"))[1] == {
        "type": "passkey",
        "valid": False,
        "credential_id": None,
        "reason": "not_verified",
    }
    _, made = passkey("generate", subject="alice")
    status, body = passkey(
        "register",
        subject="alice",
        challenge_token=made["challenge_token"],
        credential=Authenticator().create(made["options"], rp_id="evil.test"),
    )
    assert (status, body["valid"], body["reason"]) == (200, False, "not_verified")
    # a second allowed origin works
    asked = challenge(sealed)
    assert verify(sealed, asked, device.get(asked["options"], origin="https://other.example.com"))[1]["valid"]
    status, found = passkey("status", subject="alice", sealed_credential=sealed)
    assert status == 200 and found["type"] == "passkey" and found["person"] is True
    assert found["locked"] is False and found["last_accepted"] is not None


def test_a_failure_counts_in_the_passkeys_own_group_never_the_codes_budget():
    device = Authenticator()
    sealed = registered(device)
    for _ in range(6):  # more than MaxFailedAttempts (5): a passkey is not locked by it
        asked = challenge(sealed)
        assert verify(sealed, asked, device.get(asked["options"], origin="https://evil.test"))[1]["valid"] is False
    _, found = passkey("status", subject="alice", sealed_credential=sealed)
    assert found["failures"] == 6 and found["locked"] is False
    _, person = call("otp", {"action": "status", "subject": "alice"})[1:]
    assert person["codes"]["failures"] == 0
    asked = challenge(sealed)
    assert verify(sealed, asked, device.get(asked["options"]))[1]["valid"] is True


def test_a_lowered_sign_count_is_a_clone():
    device = Authenticator()
    sealed = registered(device)  # count 1
    asked = challenge(sealed)
    assert verify(sealed, asked, device.get(asked["options"], count=5))[1]["valid"] is True
    asked = challenge(sealed)
    assert verify(sealed, asked, device.get(asked["options"], count=3))[1]["reason"] == "cloned"
    asked = challenge(sealed)
    assert verify(sealed, asked, device.get(asked["options"], count=5))[1]["reason"] == "cloned"
    # below what it reported at registration, before any sign-in
    other = Authenticator()
    other.count = 7
    sealed = registered(other)  # count 8
    asked = challenge(sealed)
    assert verify(sealed, asked, other.get(asked["options"], count=8))[1]["reason"] == "cloned"
    asked = challenge(sealed)
    assert verify(sealed, asked, other.get(asked["options"], count=9))[1]["valid"] is True


def test_a_synced_passkey_that_always_reports_zero_signs_in_again_and_again():
    device = Authenticator(counting=False)
    sealed = registered(device)
    for _ in range(3):
        asked = challenge(sealed)
        assert verify(sealed, asked, device.get(asked["options"]))[1]["valid"] is True


def test_an_expired_challenge_is_refused():
    device = Authenticator()
    sealed = registered(device)
    asked = challenge(sealed)
    with time_machine.travel(time.time() + 301):
        assert verify(sealed, asked, device.get(asked["options"]))[1]["reason"] == "expired"
    _, made = passkey("generate", subject="alice")
    with time_machine.travel(time.time() + 301):
        status, body = passkey(
            "register",
            subject="alice",
            challenge_token=made["challenge_token"],
            credential=device.create(made["options"]),
        )
    assert (status, body["reason"]) == (200, "expired")


def test_a_revoked_credential_never_signs_in_and_a_persons_revocation_covers_it():
    device = Authenticator()
    sealed = registered(device)
    assert passkey("revoke", subject="alice", sealed_credential=sealed) == (200, {"revoked": True})
    asked = challenge(sealed)
    assert verify(sealed, asked, device.get(asked["options"]))[1]["reason"] == "revoked"
    assert passkey("status", subject="alice", sealed_credential=sealed)[1]["revoked"] is True
    assert passkey("unlock", subject="alice", sealed_credential=sealed)[1] == {"unlocked": False, "reason": "revoked"}
    # another subject's request names the one parameter it sent
    status, body = passkey("status", subject="mallory", sealed_credential=sealed)
    assert (status, body["parameter"]) == (400, "sealed_credential")
    # a person revoked: every passkey sealed before
    other = Authenticator()
    sealed = registered(other, "carol")
    time.sleep(0.002)
    assert call("otp", {"action": "revoke", "subject": "carol"})[0] == 200
    asked = challenge(sealed, "carol")
    assert verify(sealed, asked, other.get(asked["options"]), "carol")[1]["reason"] == "revoked"


def test_generate_excludes_the_persons_passkeys_and_the_synonym_works():
    device = Authenticator()
    sealed = registered(device)
    status, _, made = call(
        "otp", {"type": "webauthn", "action": "generate", "subject": "alice", "sealed_credentials": [sealed]}
    )
    assert status == 200
    assert made["options"]["excludeCredentials"] == [{"type": "public-key", "id": b64url(device.credential_id)}]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"action": "generate"}, "subject"),
        (
            {
                "action": "verify",
                "subject": "a",
                "challenge_token": "wg1.AA",
                "sealed_credentials": [],
                "credential": {},
            },
            "sealed_credentials",
        ),
        (
            {
                "action": "verify",
                "subject": "a",
                "challenge_token": "xx",
                "sealed_credentials": ["pk1.AA"],
                "credential": {},
            },
            "challenge_token",
        ),
        ({"action": "register", "subject": "a", "challenge_token": "wc1.AA", "credential": "text"}, "credential"),
        ({"action": "status", "subject": "a", "sealed_credential": "s1.AA"}, "sealed_credential"),
        ({"action": "challenge", "subject": "a", "sealed_credentials": ["pk1.AAAA"] * 11}, "sealed_credentials"),
        ({"action": "resync", "subject": "a"}, "action"),
    ],
)
def test_bad_input_is_a_clear_400(params, parameter):
    status, _, body = call("otp", {"type": "passkey", **params})
    assert (status, body["parameter"]) == (400, parameter), body
    assert body["message"]


def test_a_credential_that_is_no_assertion_or_of_no_sealed_credential_is_refused():
    device = Authenticator()
    sealed = registered(device)
    asked = challenge(sealed)
    status, body = verify(sealed, asked, Authenticator().get(asked["options"]))
    assert (status, body["parameter"]) == (400, "credential")
    assertion = device.get(asked["options"])
    assertion["response"]["signature"] = b64url(b"\x30\x00")
    assert verify(sealed, asked, assertion)[1]["reason"] == "not_verified"
    asked = challenge(sealed)
    mangled = {"id": b64url(device.credential_id), "response": "nothing"}
    assert verify(sealed, asked, mangled)[1]["reason"] == "not_verified"


def test_passkeys_are_off_without_an_rp_id(monkeypatch):
    from otp_api.settings import get_passkey_settings

    monkeypatch.setenv("PASSKEY_RP_ID", "")
    get_passkey_settings.cache_clear()
    status, body = passkey("generate", subject="alice")
    assert (status, body["parameter"]) == (400, "type") and "PasskeyRpId" in body["message"]


PROBE = """
import json, sys
sys.path.insert(0, sys.argv[2])
from support import event_with, invoke
import pyotp
secret = pyotp.random_base32()
status, _, body = invoke("otp", event_with("otp-generate", body={"type": "totp", "action": "verify", "secret": secret,
                                                                   "code": pyotp.TOTP(secret).now()}))
print(json.dumps({"status": status, "valid": body["valid"], "webauthn": "webauthn" in sys.modules,
                  "cbor2": "cbor2" in sys.modules}))
"""


def test_an_otp_verify_never_imports_webauthn():
    # (a stateless, unsealed stack: no AWS at all in the fresh interpreter)
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers" / "common"),
        "REPLAY_PROTECTION": "false",
        "MAX_FAILED_ATTEMPTS": "0",
        "VERIFY_STATE_TABLE_NAME": "",
        "SEALING_KEY_ARN": "",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    command = [sys.executable, "-c", PROBE, "", str(ROOT / "tests")]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "status": 200,
        "valid": True,
        "webauthn": False,
        "cbor2": False,
    }
