"""The domain code against the RFC test vectors."""

import base64

import pytest

from otp_api import oath
from otp_api.oath import TOTP, OtpKey, secret_bytes

RFC4226_KEY = OtpKey(TOTP, b"12345678901234567890", "SHA1", 6, 30)
# RFC 4226 Appendix D: HOTP values for counts 0..9
RFC4226_CODES = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# RFC 6238 Appendix B: (time, algorithm, 8-digit TOTP)
RFC6238 = [
    (59, "SHA1", "94287082"),
    (59, "SHA256", "46119246"),
    (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"),
    (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"),
    (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"),
    (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"),
    (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"),
    (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"),
    (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"),
    (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]  # fmt: skip - the RFC's own table, a row per moment


@pytest.mark.parametrize("count", range(10))
def test_rfc4226_hotp_values(count):
    # With a 30 s period, time count*30 is counter `count`: TOTP there is HOTP(count).
    codes = oath.codes_around(RFC4226_KEY, count * 30)
    assert codes["current"] == RFC4226_CODES[count]


@pytest.mark.parametrize(("moment", "algorithm", "expected"), RFC6238)
def test_rfc6238_vectors(moment, algorithm, expected):
    assert oath.codes_around(OtpKey(TOTP, SEEDS[algorithm], algorithm, 8, 30), moment)["current"] == expected


def test_window_is_next_current_previous_and_one_before():
    codes = oath.codes_around(RFC4226_KEY, 4 * 30 + 7)
    assert codes == {
        "+30s": RFC4226_CODES[5],
        "current": RFC4226_CODES[4],
        "-30s": RFC4226_CODES[3],
        "-60s": RFC4226_CODES[2],
    }


def test_matching_step_accepts_previous_current_next_only():
    def step(code: str) -> int | None:
        found = oath.matches(code, RFC4226_KEY, range(3, 6))
        return found[0] if found else None

    assert [step(RFC4226_CODES[n]) for n in (5, 4, 3, 2)] == [5, 4, 3, None]  # the step before previous: never
    assert step("000000") is None
    assert step(" 338 314 ") == 4  # spaces are ignored
    assert step(RFC4226_CODES[4] + "0") is None  # a code of the wrong length is simply not valid


def test_step_labels_name_steps_by_their_distance_from_now():
    assert [oath.step_label(offset, 15) for offset in (1, 0, -1, -2)] == ["+15s", "current", "-15s", "-30s"]


def test_spellings_of_one_key_give_the_same_bytes():
    # 52 characters for 32 bytes: the last character's 4 low bits decode to nothing, so 16 spellings share a key.
    secret = base64.b32encode(bytes(range(32))).decode().rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    last = alphabet.index(secret[-1])
    spellings = {secret[:-1] + alphabet[(last & 0b10000) | low] for low in range(16)}
    assert len(spellings) == 16
    assert {secret_bytes(s.lower()) for s in spellings} == {bytes(range(32))}


@pytest.mark.parametrize(("algorithm", "size"), [("SHA1", 20), ("SHA256", 32), ("SHA512", 64)])
def test_new_secret_has_hmac_output_length(algorithm, size):
    secret = oath.new_secret(algorithm)
    assert "=" not in secret
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == size
    assert oath.new_secret(algorithm) != secret


@pytest.mark.parametrize("length", [25, 27, 30])
def test_lengths_no_encoder_makes_drop_the_incomplete_byte(length):
    # Decoded bit by bit, as authenticator apps do: the trailing bits that make no whole byte are dropped.
    text = ("GEZDGNBVGY3TQOJQ" * 3)[:length]
    bits = "".join(f"{'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.index(ch):05b}" for ch in text)
    expected = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))
    assert secret_bytes(text) == expected


def test_secret_bytes_accept_what_people_paste():
    assert secret_bytes("gezd gnbv gy3t qojq gezd gnbv gy3t qojq====") == b"1234567890" * 2
    assert OtpKey(TOTP, b"1234567890" * 2, "SHA1", 6, 30).base32 == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize("count", range(10))
def test_rfc4226_appendix_d_hotp_values(count):
    assert oath.code_at(RFC4226_KEY, count) == RFC4226_CODES[count]
    assert oath.matches(RFC4226_CODES[count], RFC4226_KEY, range(10)) == [count]


def test_an_hotp_pair_is_two_consecutive_counters():
    assert oath.pair_matches(RFC4226_CODES[6], RFC4226_CODES[7], RFC4226_KEY, range(10)) == [6]
    assert oath.pair_matches(RFC4226_CODES[6], RFC4226_CODES[8], RFC4226_KEY, range(10)) == []
