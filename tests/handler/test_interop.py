"""What other people's readers and apps see: text in every script read back by zbar and zxing-cpp, names an
authenticator shows as they are, and the contract's edges (type synonyms, one rule for numbers)."""

import io

import pytest
from PIL import Image
from pyzbar import pyzbar
from support import BUCKET, call, decode_image

TEXTS = [
    "€100 price tag",
    "Crème brûlée à la française",
    "Ελληνικά κείμενα",
    "Привет, мир!",
    "数据矩阵 data matrix",
    "日本語のテキスト",
    "مرحبا بالعالم",
    "emoji 🔐✅ ok",
]


def stored_image(s3, url: str) -> bytes:
    from urllib.parse import unquote, urlsplit

    return s3.get_object(Bucket=BUCKET, Key=unquote(urlsplit(url).path.lstrip("/")))["Body"].read()


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("symbology", ["qr_code", "aztec_code", "data_matrix"])
def test_every_script_reads_back_exactly(s3, symbology, text):
    status, _, body = call("barcodes", {"type": symbology, "data": text, "scale": 4})
    assert status == 200, body
    png = stored_image(s3, body["url"])
    assert decode_image(png) == text  # zxing-cpp
    if symbology == "qr_code":  # zbar reads QR (not Aztec or Data Matrix)
        found = pyzbar.decode(Image.open(io.BytesIO(png)).convert("L"), symbols=[pyzbar.ZBarSymbol.QRCODE])
        assert [symbol.data.decode("utf-8") for symbol in found] == [text]


def generate(**params):
    return call("otp", {"type": "time_based", "action": "generate", "qrcode": "none", **params})


@pytest.mark.parametrize("name", ["label", "issuer"])
@pytest.mark.parametrize(
    "hidden",
    ["\u202e", "\u202d", "\u2066", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u2028", "\u2029", "\u00ad"],
)
def test_invisible_characters_in_names_are_refused(name, hidden):
    status, _, body = generate(**{name: f"admin{hidden}moc.elpmaxe"})
    assert (status, body["error"], body["parameter"]) == (400, "invalid_parameter", name)


@pytest.mark.parametrize("value", ["Zoë Ångström", "山田太郎", "Δημήτρης", "🦊 fox", "علي"])
def test_ordinary_unicode_names_are_kept(value):
    status, _, body = generate(label=value, issuer=value)
    assert status == 200 and (body["label"], body["issuer"]) == (value, value)


def test_the_longest_names_still_fit_the_qr_code_and_read_back(s3):
    # 64 four-byte characters in label and issuer (each percent-encoded to 12 characters, the issuer twice) and a
    # SHA512 key: the longest otpauth URI generate can make.
    params = {
        "type": "time_based",
        "action": "generate",
        "label": "🔐" * 64,
        "issuer": "🔑" * 64,
        "algorithm": "SHA512",
        "digits": 8,
        "period": 300,
    }
    status, _, body = call("otp", params)
    assert status == 200, body
    png = stored_image(s3, body["qrcode_url"])
    assert decode_image(png) == body["otp_url"]
    found = pyzbar.decode(Image.open(io.BytesIO(png)).convert("L"), symbols=[pyzbar.ZBarSymbol.QRCODE])
    assert [symbol.data.decode() for symbol in found] == [body["otp_url"]]


def test_an_enrolment_needs_some_name():
    status, _, body = generate(label="", issuer="")
    assert (status, body["parameter"]) == (400, "label")
    status, _, body = generate(label="", issuer="Example")
    assert status == 200 and body["otp_url"].startswith("otpauth://totp/Example?")


def test_totp_is_a_synonym_of_time_based():
    status, _, made = call("otp", {"type": "totp", "action": "generate", "label": "synonym"})
    assert (status, made["type"]) == (200, "totp")
    status, _, checked = call("otp", {"type": "totp", "action": "verify", "secret": made["secret"], "code": "000000"})
    assert status == 200 and checked["type"] == "totp"


def test_each_route_states_its_own_types():
    _, _, otp = call("otp", {"type": "qr_code", "action": "generate"})
    expected = "type must be time_based (or totp), counter_based (or hotp), recovery_codes, or passkey (or webauthn)"
    assert (otp["parameter"], otp["message"]) == ("type", expected)
    _, _, barcodes = call("barcodes", {"type": "totp", "data": "abcd"})
    assert "time_based" not in barcodes["message"] and "qr_code" in barcodes["message"]


@pytest.mark.parametrize(
    ("params", "accepted"),
    [
        ({"digits": "8"}, True),
        ({"digits": 8.0}, True),
        ({"period": "60"}, True),
        ({"period": 60.0}, True),
        ({"digits": 8.5}, False),
        ({"period": 60.5}, False),
        ({"period": "60.0"}, False),
        ({"period": "6e1"}, False),
        ({"digits": "٨"}, False),  # an Arabic-Indic eight
        ({"period": "60.5"}, False),
        ({"digits": True}, False),
    ],
)
def test_one_rule_for_numbers(params, accepted):
    status, _, body = generate(label="numbers", **params)
    assert (status == 200) is accepted, body
    if not accepted:
        assert body["parameter"] == next(iter(params))


def test_a_code_must_be_a_string():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    status, _, body = call("otp", {"type": "time_based", "action": "verify", "secret": secret, "code": 123456})
    assert (status, body["parameter"]) == (400, "code") and "string" in body["message"]
