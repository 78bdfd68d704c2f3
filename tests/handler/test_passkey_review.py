"""Findings of an adversarial review of the passkey kind (kinds/passkey.py), each reproduced here and each fixed:
a test fails if its hole opens again. Ceremonies come from the software authenticator of test_passkey.py.
Attestation is `none`, so nothing in a registration is signed by the credential's key: whoever can call `register`
for a subject can build one for any credential id and public key, with any sign count
(test_passkey.Authenticator.create does exactly that)."""

import time

import cbor2
from support import call
from test_passkey import (  # noqa: F401 - relying_party is the autouse fixture
    Authenticator,
    challenge,
    passkey,
    registered,
    relying_party,
    verify,
)

SEALED_CREDENTIAL_MAX = 4096  # kinds/passkey.py SealedCredential max_length


def test_a_registration_begun_before_the_persons_revocation_is_refused():
    # A session the operator is about to kill starts adding a passkey...
    device = Authenticator()
    _, made = passkey("generate", subject="dave")
    time.sleep(0.002)
    # ...the person is revoked (every factor sealed before now)...
    assert call("otp", {"action": "revoke", "subject": "dave"})[0] == 200
    time.sleep(0.002)
    # ...and the ceremony is completed inside the challenge's 5 minutes: the new passkey must not survive the
    # revocation (it counts as sealed when its challenge was made).
    status, body = passkey(
        "register", subject="dave", challenge_token=made["challenge_token"], credential=device.create(made["options"])
    )
    assert (status, body["valid"], body["reason"]) == (200, False, "revoked"), body


def test_one_registration_challenge_registers_one_credential_only():
    # One generate, one challenge_token, one credential: the challenge is the person's to use once, not each
    # credential's.
    _, made = passkey("generate", subject="alice")
    first = passkey(
        "register",
        subject="alice",
        challenge_token=made["challenge_token"],
        credential=Authenticator().create(made["options"]),
    )
    assert first[1]["valid"] is True
    second = passkey(
        "register",
        subject="alice",
        challenge_token=made["challenge_token"],
        credential=Authenticator().create(made["options"]),
    )
    assert (second[1]["valid"], second[1]["reason"]) == (False, "already_used"), second


def test_registering_a_credential_the_person_has_again_does_not_rewind_its_sign_count():
    # The person's credential has signed with count 10.
    device = Authenticator()
    sealed = registered(device)  # count 1
    asked = challenge(sealed)
    assert verify(sealed, asked, device.get(asked["options"], count=10))[1]["valid"] is True
    # A registration of the same credential id (attestation none: no signature needed, any count) must not
    # overwrite k…_sign_count with its own count.
    device.counting, device.count = False, 0
    _, made = passkey("generate", subject="alice")
    again = passkey(
        "register", subject="alice", challenge_token=made["challenge_token"], credential=device.create(made["options"])
    )
    # Either the second registration is refused, or at least the clone rule still holds afterwards:
    # a count of 2 after 10 is a clone, with the original sealed credential.
    asked = challenge(sealed)
    clone = verify(sealed, asked, device.get(asked["options"], count=2))[1]
    assert (clone["valid"], clone["reason"]) == (False, "cloned"), (again[1], clone)


def test_one_sign_in_challenge_is_used_once_across_the_persons_credentials():
    # "a challenge is used once": whichever of the person's credentials signs it.
    phone, laptop = Authenticator(), Authenticator()
    sealed = [registered(phone), registered(laptop)]
    status, asked = passkey("challenge", subject="alice", sealed_credentials=sealed)
    assert status == 200
    token = asked["challenge_token"]
    first = passkey(
        "verify",
        subject="alice",
        challenge_token=token,
        sealed_credentials=sealed,
        credential=phone.get(asked["options"]),
    )
    assert first[1]["valid"] is True
    second = passkey(
        "verify",
        subject="alice",
        challenge_token=token,
        sealed_credentials=sealed,
        credential=laptop.get(asked["options"]),
    )
    assert (second[1]["valid"], second[1]["reason"]) == (False, "already_used"), second


class PaddedKey(Authenticator):
    """An authenticator whose COSE key carries an extra entry (py_webauthn keeps unknown COSE entries)."""

    padding: int = 0

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: y, 99: b"j" * self.padding})


def _register_padded(padding: int) -> tuple[int, dict]:
    device = PaddedKey()
    device.padding = padding
    _, made = passkey("generate", subject="alice")
    return passkey(
        "register", subject="alice", challenge_token=made["challenge_token"], credential=device.create(made["options"])
    )


def test_a_credential_too_big_to_seal_is_a_clear_400_not_a_503():
    # id + COSE key over KMS's 4096-byte plaintext would make kms.seal fail (a 503 "try again") after the state
    # write consumed the challenge: refused before, as a 400.
    status, body = _register_padded(4200)
    assert status == 400 and body["parameter"] == "credential", (status, body)


def test_register_never_answers_a_sealed_credential_the_api_refuses_back():
    # A smaller oversized key would seal into a token longer than SealedCredential's max_length (4096): every
    # later request naming it would be a 400.
    status, body = _register_padded(2900)
    assert status == 400 or (body["valid"] and len(body["sealed_credential"]) <= SEALED_CREDENTIAL_MAX), (
        status,
        len(body.get("sealed_credential") or ""),
    )
