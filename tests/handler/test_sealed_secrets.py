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

from otp_api import sealing

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
    client = sealing._client()

    def as_aws(parsed, **_):
        if parsed.get("Error", {}).get("Code") == "AccessDeniedException":
            parsed["Error"]["Code"] = "IncorrectKeyException"

    client.meta.events.register("after-call.kms.Decrypt", as_aws)
    yield
    client.meta.events.unregister("after-call.kms.Decrypt", as_aws)


def refused(token: str) -> bool:
    status, _, body = verify(sealed_secret=token, code="123456")
    return (status, body["parameter"], body["message"]) == (400, "sealed_secret", sealing.REFUSED)


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
    payload = kms.decrypt(CiphertextBlob=blob, EncryptionContext=sealing.CONTEXT)["Plaintext"]
    other_context = kms.encrypt(
        KeyId="alias/otp-api-test-sealed-secrets",
        Plaintext=payload,
        EncryptionContext={**sealing.CONTEXT, "version": "2"},
    )["CiphertextBlob"]
    other_key = kms.create_key()["KeyMetadata"]["KeyId"]  # another stack's
    other_stack = kms.encrypt(KeyId=other_key, Plaintext=payload, EncryptionContext=sealing.CONTEXT)["CiphertextBlob"]
    for token in (as_token(other_context), as_token(other_stack), as_token(blob[:-1]), as_token(blob) + "A"):
        assert refused(token), token[:8]
    # another version, no body, not the URL-safe alphabet, a length no base64 has, a plain secret
    for shape in ("s2." + made["sealed_secret"][3:], "s1.", "s1.+/==", "s1.AAAAA", made["secret"]):
        status, _, body = verify(sealed_secret=shape, code="123456")
        assert (status, body["parameter"], body["message"]) == (400, "sealed_secret", sealing.REFUSED)


def test_sealing_off_refuses_seal_and_sealed_secrets(monkeypatch):
    from otp_api.settings import get_settings

    token = generate(seal=True, qrcode="none")["sealed_secret"]
    monkeypatch.setenv("SEALING_KEY", "")
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


# --- KMS failing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error_code", ["ThrottlingException", "KMSInternalException", "DisabledException"])
def test_kms_failures_are_503_and_accept_nothing(aws, s3, error_code):
    from botocore.stub import Stubber

    made = generate(seal=True, qrcode="none")
    code = independent_code(made["secret"], NOW)
    with Stubber(sealing._client()) as stubber:
        stubber.add_client_error("decrypt", service_error_code=error_code, http_status_code=400)
        status, headers, body = verify(sealed_secret=made["sealed_secret"], code=code)
        assert (status, body["error"], headers["Retry-After"]) == (503, "sealing_unavailable", "1")
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
    key = sealing.SealedKey(bytes(20), "SHA1", 6, 30)
    tokens = {sealing.seal(key) for _ in range(3)}
    assert len(tokens) == 3
    assert all(sealing.unseal(a) == sealing.unseal(b) == key for a, b in itertools.pairwise(sorted(tokens)))
