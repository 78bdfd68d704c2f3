"""Sealed secrets, QR codes that never touch S3, and verify by otpauth URI: through the handler, with moto's KMS,
S3 and DynamoDB, frozen time and an independent TOTP implementation."""

import base64
import hashlib
import io
import itertools
import json

import pytest
import time_machine
from support import BUCKET, TABLE, b32bytes, call, decode_image, independent_code, verify_at

from otp_api import kms as otp_kms
from otp_api import spellings
from otp_api.kms import CONTEXT
from otp_api.oath import TOTP, OtpKey

REFUSED = spellings.SEALED_SECRET.refused

NOW = 1_790_000_010


def generate(**params):
    with time_machine.travel(NOW, tick=False):
        status, _, body = call("otp", {"type": "time_based", "action": "generate", "label": "sealed", **params})
    assert status == 200, body
    return body


def verify(moment: float = NOW, **params):
    return verify_at(moment, **params)


def stored(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def token_blob(token: str) -> bytes:
    body = token.removeprefix("s1.")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def as_token(blob: bytes) -> str:
    return "s1." + base64.urlsafe_b64encode(blob).decode().rstrip("=")


# --- seal, then verify with the token alone ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "digits", "period"), [("SHA1", 6, 30), ("SHA256", 8, 60), ("SHA512", 6, 15), ("SHA512", 8, 300)]
)
def test_a_sealed_secret_verifies_without_repeating_its_parameters(algorithm, digits, period):
    made = generate(seal=True, qrcode="none", algorithm=algorithm, digits=digits, period=period)
    token, secret = made["sealed_secret"], made["secret"]
    assert token.startswith("s1.")
    for form in (secret, base64.urlsafe_b64encode(b32bytes(secret)).decode().rstrip("="), b32bytes(secret).hex()):
        assert form not in token  # neither the secret nor the key bytes, in any usual spelling
    code = independent_code(secret, NOW, digits=digits, algorithm=algorithm, period=period)
    status, _, body = verify(sealed_secret=token, code=code)
    assert status == 200
    assert body == {
        "algorithm": algorithm,
        "digits": digits,
        "period": period,
        "type": "totp",
        "valid": True,
        "matched": "current",
        "reason": None,
    }


def test_a_sealed_and_a_plain_secret_share_replay_state_and_lockout():
    made = generate(seal=True, qrcode="none")
    code = independent_code(made["secret"], NOW)
    assert verify(sealed_secret=made["sealed_secret"], code=code)[2]["valid"] is True
    assert verify(NOW + 1, secret=made["secret"], code=code)[2]["reason"] == "already_used"
    otp_url = made["otp_url"]
    assert verify(NOW + 2, otp_url=otp_url, code=code)[2]["reason"] == "already_used"
    for attempt in range(3):  # with the replays above: 5 failures
        verify(NOW + 3 + attempt, secret=made["secret"], code="000000" if code != "000000" else "111111")
    assert (
        verify(NOW + 10, sealed_secret=made["sealed_secret"], code=independent_code(made["secret"], NOW + 10))[0] == 429
    )


def test_sealed_verify_needs_a_code_and_takes_no_parameters():
    token = generate(seal=True, qrcode="none")["sealed_secret"]
    status, _, body = verify(sealed_secret=token)
    assert (status, body["error"], body["parameter"]) == (400, "missing_parameter", "code")
    for name, value in (("algorithm", "SHA1"), ("digits", 6), ("period", 30)):
        status, _, body = verify(sealed_secret=token, code="123456", **{name: value})
        assert (status, body["parameter"]) == (400, name)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "secret"),
        ({"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "otp_url": "otpauth://totp/x"}, "otp_url"),
        ({"otp_url": "otpauth://totp/x", "sealed_secret": "s1.AAAA"}, "otp_url"),
    ],
)
def test_exactly_one_key_parameter(params, parameter):
    status, _, body = verify(code="123456", **params)
    assert (status, body["parameter"]) == (400, parameter)


# --- tokens that are not ours -----------------------------------------------------------------------------------


@pytest.fixture
def kms_answers_as_aws():
    """moto answers a Decrypt whose ciphertext names another key (or a key id that a flipped byte made up) with
    AccessDeniedException; KMS answers IncorrectKeyException when the ciphertext was not encrypted under the KeyId
    given, and InvalidCiphertextException for a ciphertext it cannot parse or authenticate (KMS API Reference,
    Decrypt, Errors). Put AWS's answer in place of moto's."""
    client = otp_kms._client()

    def as_aws(parsed, **_):
        if parsed.get("Error", {}).get("Code") == "AccessDeniedException":
            parsed["Error"]["Code"] = "IncorrectKeyException"

    client.meta.events.register("after-call.kms.Decrypt", as_aws)
    yield
    client.meta.events.unregister("after-call.kms.Decrypt", as_aws)


def refused(token: str) -> bool:
    status, _, body = verify(sealed_secret=token, code="123456")
    return (status, body["parameter"], body["message"]) == (400, "sealed_secret", REFUSED)


def test_every_flipped_byte_of_a_token_is_refused(kms_answers_as_aws, aws):
    token = generate(seal=True, qrcode="none")["sealed_secret"]
    blob = token_blob(token)
    flipped = [as_token(blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :]) for i in range(len(blob))]
    assert all(refused(t) for t in flipped), [i for i, t in enumerate(flipped) if not refused(t)]
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []  # nothing counted


def test_tokens_of_another_context_key_or_version_are_refused(kms_answers_as_aws, aws):
    made = generate(seal=True, qrcode="none")
    blob = token_blob(made["sealed_secret"])
    kms = aws["kms"]
    payload = kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"]
    other_context = kms.encrypt(
        KeyId="alias/otp-api-test-sealed-secrets",
        Plaintext=payload,
        EncryptionContext={**CONTEXT, "version": "2"},
    )["CiphertextBlob"]
    other_key = kms.create_key()["KeyMetadata"]["KeyId"]  # another stack's
    other_stack = kms.encrypt(KeyId=other_key, Plaintext=payload, EncryptionContext=CONTEXT)["CiphertextBlob"]
    for token in (as_token(other_context), as_token(other_stack), as_token(blob[:-1]), as_token(blob) + "A"):
        assert refused(token), token[:8]
    # another version, no body, not the URL-safe alphabet, a length no base64 has, a plain secret
    for shape in ("s2." + made["sealed_secret"][3:], "s1.", "s1.+/==", "s1.AAAAA", made["secret"]):
        status, _, body = verify(sealed_secret=shape, code="123456")
        assert (status, body["parameter"], body["message"]) == (400, "sealed_secret", REFUSED)


def test_sealing_off_refuses_seal_and_sealed_secrets(monkeypatch):
    from otp_api.settings import get_settings

    token = generate(seal=True, qrcode="none")["sealed_secret"]
    monkeypatch.setenv("SEALING_KEY_ARN", "")
    get_settings.cache_clear()
    try:
        with time_machine.travel(NOW, tick=False):
            status, _, body = call("otp", {"type": "time_based", "action": "generate", "seal": True})
        assert (status, body["parameter"]) == (400, "seal") and "off" in body["message"]
        status, _, body = verify(sealed_secret=token, code="123456")
        assert (status, body["parameter"]) == (400, "sealed_secret")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_a_token_of_a_key_kms_will_not_let_us_use_is_not_ours_never_a_503(aws):
    # Given tokens whose key moto's KMS answers AccessDeniedException for: another key it holds (another stack's),
    # and a key it no longer holds (a token from an earlier `make dev`, whose moto made a new key)
    made = generate(seal=True, qrcode="none")
    blob = token_blob(made["sealed_secret"])
    payload = aws["kms"].decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"]
    other_key = aws["kms"].create_key()["KeyMetadata"]["KeyId"]
    other_stack = aws["kms"].encrypt(KeyId=other_key, Plaintext=payload, EncryptionContext=CONTEXT)["CiphertextBlob"]
    forgotten_key = b"00000000-0000-4000-8000-000000000000" + blob[36:]  # moto's blob: the key id, then the rest
    for token in (as_token(other_stack), as_token(forgotten_key)):
        # When it is verified: the one 400 of a token that is not ours, without Retry-After (no retry helps)
        status, headers, body = verify(sealed_secret=token, code="123456")
        assert (status, body["parameter"], body["message"]) == (400, "sealed_secret", REFUSED), body
        assert "Retry-After" not in headers
    assert aws["dynamodb"].scan(TableName=TABLE)["Items"] == []  # nothing counted


@pytest.mark.parametrize(("our_key", "expected"), [("works", 400), ("denied", 503)])
def test_access_denied_is_ours_only_when_our_own_key_is_denied(aws, our_key, expected):
    # AWS answers a Decrypt with AccessDeniedException when the function may not use the stack's key (a changed key
    # policy: ours, a 503), and for a ciphertext of a key it may not use (not ours, a 400). One Encrypt under our
    # key tells them apart.
    from botocore.stub import Stubber

    token = generate(seal=True, qrcode="none")["sealed_secret"]
    with Stubber(otp_kms._client()) as stubber:
        stubber.add_client_error("decrypt", service_error_code="AccessDeniedException", http_status_code=400)
        if our_key == "works":
            stubber.add_response("encrypt", {"CiphertextBlob": b"x", "KeyId": "k"})
        else:
            stubber.add_client_error("encrypt", service_error_code="AccessDeniedException", http_status_code=400)
        status, _, body = verify(sealed_secret=token, code="123456")
        stubber.assert_no_pending_responses()
    assert status == expected, body
    assert body["error"] == ("invalid_parameter" if expected == 400 else "sealing_unavailable")


# --- KMS failing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error_code", ["ThrottlingException", "KMSInternalException", "DisabledException"])
def test_kms_failures_are_503_and_accept_nothing(aws, s3, error_code):
    from botocore.stub import Stubber

    made = generate(seal=True, qrcode="none")
    code = independent_code(made["secret"], NOW)
    with Stubber(otp_kms._client()) as stubber:
        stubber.add_client_error("decrypt", service_error_code=error_code, http_status_code=400)
        status, headers, body = verify(sealed_secret=made["sealed_secret"], code=code)
        assert (status, body["error"], headers["Retry-After"]) == (503, "sealing_unavailable", "1")
        assert error_code not in body["message"]  # AWS's error codes are for the log, not the caller
        stubber.add_client_error("encrypt", service_error_code=error_code, http_status_code=400)
        with time_machine.travel(NOW, tick=False):
            status, _, body = call("otp", {"type": "time_based", "action": "generate", "seal": True})
        assert (status, body["error"]) == (503, "sealing_unavailable") and "secret" not in body
    assert stored(s3) == []  # sealed before the image is stored: nothing left behind
    assert verify(sealed_secret=made["sealed_secret"], code=code)[2]["valid"] is True  # the code was not used up


# --- QR codes that never touch S3 -------------------------------------------------------------------------------


def test_an_inline_qr_code_is_a_data_uri_and_nothing_is_stored(s3):
    from PIL import Image
    from pyzbar.pyzbar import decode as zbar_decode

    made = generate(qrcode="inline")
    assert "qrcode_url" not in made and "qrcode_expires_at" not in made
    prefix = "data:image/png;base64,"
    assert made["qrcode_data_uri"].startswith(prefix)
    png = base64.b64decode(made["qrcode_data_uri"].removeprefix(prefix), validate=True)
    assert decode_image(png) == made["otp_url"]  # zxing-cpp
    (symbol,) = zbar_decode(Image.open(io.BytesIO(png)))
    assert symbol.data.decode() == made["otp_url"]  # zbar
    assert stored(s3) == []


def test_no_qr_code_at_all(s3):
    made = generate(qrcode="none", seal=True)
    assert not {"qrcode_url", "qrcode_expires_at", "qrcode_data_uri"} & set(made)
    assert stored(s3) == []


def test_the_default_is_still_a_presigned_url(s3):
    made = generate()
    assert made["qrcode_url"].startswith("https://") and "qrcode_data_uri" not in made and "sealed_secret" not in made
    assert len(stored(s3)) == 1


# --- verify by otpauth URI --------------------------------------------------------------------------------------


def test_verify_by_the_uri_generate_gave():
    made = generate(qrcode="none", algorithm="SHA256", digits=8, period=60)
    code = independent_code(made["secret"], NOW, digits=8, algorithm="SHA256", period=60)
    status, _, body = verify(otp_url=made["otp_url"], code=code)
    assert (status, body["valid"], body["digits"], body["period"]) == (200, True, 8, 60)


def test_verify_by_a_uri_pyotp_exported():
    import pyotp

    secret = pyotp.random_base32(32)
    uri = pyotp.TOTP(secret, digits=8, digest=hashlib.sha512, interval=45).provisioning_uri(
        name="bob@example.com", issuer_name="Acme"
    )
    code = independent_code(secret, NOW, digits=8, algorithm="SHA512", period=45)
    assert verify(otp_url=uri, code=code)[2]["valid"] is True


@pytest.mark.parametrize(
    "uri",
    [
        "otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=1",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",  # 80 bits
        "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=7",
        "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=5",
        "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=MD5",
        "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "https://example.com/?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "otpauth://totp/no-secret",
        # numbers that Python's int() reads but no URI writer means: full-width, Arabic-Indic, underscored
        "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=%EF%BC%96%EF%BC%90",
        "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=%D9%A6",
        "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=6_0",
    ],
)
def test_a_uri_that_is_not_a_usable_totp_uri_is_refused(uri):
    status, _, body = verify(otp_url=uri, code="123456")
    assert (status, body["parameter"]) == (400, "otp_url")
    assert "GEZDGNBV" not in json.dumps(body)


def test_parameters_come_from_the_uri():
    uri = generate(qrcode="none")["otp_url"]
    status, _, body = verify(otp_url=uri, code="123456", digits=8)
    assert (status, body["parameter"]) == (400, "digits")


def test_seal_takes_booleans_only():
    for value in (0, 1, "yes", None):
        with time_machine.travel(NOW, tick=False):
            status, _, body = call("otp", {"type": "time_based", "action": "generate", "seal": value})
        assert (status, body["parameter"]) == (400, "seal"), value
    assert "sealed_secret" in generate(seal="true", qrcode="none")  # as a query string sends it


def test_sealed_tokens_differ_for_the_same_key():
    # KMS encryption is randomised: two seals of one key give two tokens (nothing to correlate users by).
    key = OtpKey(TOTP, bytes(20), "SHA1", 6, 30)
    tokens = {spellings.seal(key, None) for _ in range(3)}
    assert len(tokens) == 3
    assert all(
        spellings.unseal(a, TOTP) == spellings.unseal(b, TOTP) == key for a, b in itertools.pairwise(sorted(tokens))
    )


# --- sealed secrets bound to their user (subject) --------------------------------------------------------------------


def test_a_token_bound_to_a_subject_verifies_only_with_that_subject(kms_answers_as_aws):
    # Someone who can write the app's user table copies their own sealed_secret into a victim's row: with the
    # subject bound into KMS's encryption context, it opens for no one but its own user.
    made = generate(seal=True, qrcode="none", subject="user-7f3a")
    code = independent_code(made["secret"], NOW)
    for other in ({"subject": "user-0001"}, {}, {"subject": "USER-7F3A"}, {"subject": "user-7f3a "}):
        status, _, body = verify(sealed_secret=made["sealed_secret"], code=code, **other)
        assert (status, body["parameter"], body["message"]) == (400, "sealed_secret", REFUSED), other
    status, _, body = verify(sealed_secret=made["sealed_secret"], code=code, subject="user-7f3a")
    assert (status, body["valid"]) == (200, True)


def test_an_unbound_token_is_refused_with_a_subject(kms_answers_as_aws):
    made = generate(seal=True, qrcode="none")
    code = independent_code(made["secret"], NOW)
    assert refused_with(made["sealed_secret"], code, subject="user-7f3a")
    assert verify(sealed_secret=made["sealed_secret"], code=code)[2]["valid"] is True


def refused_with(token: str, code: str, **params) -> bool:
    status, _, body = verify(sealed_secret=token, code=code, **params)
    return (status, body["parameter"], body["message"]) == (400, "sealed_secret", REFUSED)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"subject": "u1"}, "subject"),  # generate without seal: nothing to bind
        ({"seal": True, "subject": ""}, "subject"),
        ({"seal": True, "subject": "x" * 129}, "subject"),
        ({"seal": True, "subject": "a\nb"}, "subject"),
    ],
)
def test_subject_rules_on_generate(params, parameter):
    with time_machine.travel(NOW, tick=False):
        status, _, body = call("otp", {"type": "time_based", "action": "generate", "qrcode": "none", **params})
    assert (status, body["parameter"]) == (400, parameter), body


def test_subject_belongs_to_a_sealed_secret_only():
    secret = generate(qrcode="none")["secret"]
    status, _, body = verify(secret=secret, code="123456", subject="user-1")
    assert (status, body["parameter"]) == (400, "subject")


# --- what decrypts is checked too --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        bytes([3, 6, 0, 30]) + b"k" * 20,  # an algorithm index that names nothing
        bytes([0, 0, 0, 30]) + b"k" * 20,  # digits 0
        bytes([0, 9, 0, 30]) + b"k" * 20,  # digits 9
        bytes([0, 7, 0, 30]) + b"k" * 20,  # digits 7
        bytes([0, 6, 0, 0]) + b"k" * 20,  # period 0 (a division by zero)
        bytes([0, 6, 255, 255]) + b"k" * 20,  # period 65535
        bytes([0, 6, 0, 14]) + b"k" * 20,  # period 14, below the least
        bytes([0, 6]),  # shorter than the header
        bytes([0, 6, 0, 30]),  # a header and no key
        bytes([0, 6, 0, 30]) + b"k" * 13,  # a key of 104 bits, below 112
    ],
    ids=[
        "algorithm",
        "digits-0",
        "digits-9",
        "digits-7",
        "period-0",
        "period-max",
        "period-14",
        "short",
        "no-key",
        "short-key",
    ],
)
def test_a_crafted_payload_sealed_under_the_real_context_is_refused(payload, aws):
    # Only a holder of kms:Encrypt under the sealing context can make these: still a 400, never a 500 or a verdict.
    blob = aws["kms"].encrypt(KeyId="alias/otp-api-test-sealed-secrets", Plaintext=payload, EncryptionContext=CONTEXT)
    assert refused(as_token(blob["CiphertextBlob"]))


def test_a_well_formed_payload_sealed_under_the_context_verifies(aws):
    # The converse of the crafted payloads: the same path accepts what is in bounds (an imported 14-byte key).
    key = b"0123456789abcd"
    blob = aws["kms"].encrypt(
        KeyId="alias/otp-api-test-sealed-secrets",
        Plaintext=bytes([1, 8, 0, 60]) + key,
        EncryptionContext=CONTEXT,
    )["CiphertextBlob"]
    secret = base64.b32encode(key).decode().rstrip("=")
    code = independent_code(secret, NOW, digits=8, algorithm="SHA256", period=60)
    status, _, body = verify(sealed_secret=as_token(blob), code=code)
    assert (status, body["valid"], body["algorithm"], body["period"]) == (200, True, "SHA256", 60)
