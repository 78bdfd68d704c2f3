"""Sealed secrets and schemes: every layout earlier releases sealed opens to the same key; a payload whose first
byte has bits no scheme uses, or that is out of its scheme's bounds, is the one sealed_secret 400 (never "of type
..."); a well-formed key of the other OATH kind is a 400 that names its type. Payloads are sealed with moto's KMS
under the stack's context, as only a holder of kms:Encrypt could."""

import base64
import struct

import pytest
import time_machine
from support import call, independent_code, independent_hotp

from otp_api import spellings
from otp_api.kms import CONTEXT
from otp_api.oath import HOTP, TOTP

REFUSED = spellings.SEALED_SECRET.refused
NOW = 1_790_000_010
KEY = bytes(range(1, 21))
SECRET = base64.b32encode(KEY).decode().rstrip("=")
SEALED_AT = 1_700_000_000_123


def sealed(aws, payload: bytes) -> str:
    blob = aws["kms"].encrypt(KeyId="alias/otp-api-test-sealed-secrets", Plaintext=payload, EncryptionContext=CONTEXT)
    return "s1." + base64.urlsafe_b64encode(blob["CiphertextBlob"]).decode().rstrip("=")


def post(**params):
    with time_machine.travel(NOW, tick=False):
        status, _, body = call("otp", {"action": "verify", **params})
    return status, body


# Every layout earlier releases wrote: TOTP ">BBH" / HOTP ">BBQ" with 0x80, with and without
# TIMED (0x40) and its eight bytes of sealing time.
@pytest.mark.parametrize(
    ("payload", "scheme", "algorithm", "digits", "moving", "sealed_at"),
    [
        (struct.pack(">BBH", 1, 8, 60) + KEY, TOTP, "SHA256", 8, 60, 0),
        (struct.pack(">BBHQ", 2 | 0x40, 6, 15, SEALED_AT) + KEY, TOTP, "SHA512", 6, 15, SEALED_AT),
        (struct.pack(">BBQ", 0x80, 6, 7) + KEY, HOTP, "SHA1", 6, 7, 0),
        (struct.pack(">BBQQ", 0x80 | 0x40 | 1, 8, 2**40, SEALED_AT) + KEY, HOTP, "SHA256", 8, 2**40, SEALED_AT),
    ],
    ids=["totp", "totp-timed", "hotp", "hotp-timed"],
)
def test_every_earlier_layout_opens_to_the_same_key(aws, payload, scheme, algorithm, digits, moving, sealed_at):
    key = spellings.unseal(sealed(aws, payload), scheme)
    assert (key.scheme, key.secret_bytes, key.algorithm, key.digits, key.sealed_at) == (
        scheme,
        KEY,
        algorithm,
        digits,
        sealed_at,
    )
    assert (key.counter if scheme.counted else key.period) == moving


def test_earlier_tokens_verify_through_the_handler(aws):
    totp = sealed(aws, struct.pack(">BBHQ", 0x40, 6, 30, SEALED_AT) + KEY)
    assert post(type="time_based", sealed_secret=totp, code=independent_code(SECRET, NOW))[1]["valid"] is True
    hotp = sealed(aws, struct.pack(">BBQ", 0x80, 6, 3) + KEY)
    assert post(type="counter_based", sealed_secret=hotp, code=independent_hotp(SECRET, 3))[1]["valid"] is True


@pytest.mark.parametrize("first", [0x04, 0x08, 0x10, 0x20, 0x44, 0x84, 0xA0, 0xC4, 0xFC])
@pytest.mark.parametrize("kind", ["time_based", "counter_based"])
def test_a_token_with_bits_no_scheme_uses_is_the_one_sealed_secret_400(aws, first, kind):
    header = struct.pack(">BBQ", first, 6, 0) if first & 0x80 else struct.pack(">BBH", first, 6, 30)
    token = sealed(aws, header + (struct.pack(">Q", SEALED_AT) if first & 0x40 else b"") + KEY)
    status, body = post(type=kind, sealed_secret=token, code="123456")
    assert (status, body["parameter"], body["message"]) == (400, "sealed_secret", REFUSED)


@pytest.mark.parametrize(
    ("payload", "kind", "message"),
    [
        (struct.pack(">BBQ", 0x80, 6, 0) + KEY, "time_based", "is of type counter_based (hotp)"),
        (struct.pack(">BBH", 0x40, 6, 30) + b"\0" * 8 + KEY, "counter_based", "is of type time_based (totp)"),
    ],
)
def test_a_token_of_the_other_oath_kind_is_a_clear_400(aws, payload, kind, message):
    status, body = post(type=kind, sealed_secret=sealed(aws, payload), code="123456")
    assert (status, body["parameter"]) == (400, "sealed_secret")
    assert message in body["message"]


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (struct.pack(">BBQ", 0x80, 9, 0) + KEY, "time_based"),  # an HOTP header with digits 9
        (struct.pack(">BBQ", 0x83, 6, 0) + KEY, "time_based"),  # an HOTP header with algorithm index 3
        (struct.pack(">BBQ", 0x80, 6, 0) + KEY[:5], "time_based"),  # an HOTP header and a 40-bit key
        (struct.pack(">BBH", 0x00, 6, 14) + KEY, "counter_based"),  # a TOTP header with period 14
    ],
    ids=["hotp-digits-9", "hotp-algorithm-3", "hotp-short-key", "totp-period-14"],
)
def test_a_malformed_payload_is_refused_as_not_ours_before_its_scheme_is_named(aws, payload, kind):
    # A payload out of bounds is no key of any type: never "is of type ...".
    status, body = post(type=kind, sealed_secret=sealed(aws, payload), code="123456")
    assert (status, body["parameter"], body["message"]) == (400, "sealed_secret", REFUSED)
