"""A kind that brings its own scheme: Steam Guard's codes (RFC 6238's time steps and dynamic truncation, written as
five characters of a 26-letter alphabet rather than decimal digits), defined here, in this one file, as a
`oath.Scheme` and a kind registered in one line. The shared spellings (secret, sealed_secret, otp_url), the sealed
secret's header, the otpauth URI, the constant-time matcher and the code-length check follow the scheme; the OATH
kinds and this one refuse each other's keys with a 400 that says so. No other file knows it."""

import base64
import hashlib
import hmac
import secrets
import struct
import time
from typing import Annotated, Literal

import pyotp
import pytest
import time_machine
from msgspec import UNSET, Meta, Struct, UnsetType, structs
from support import call, handler_module

from otp_api import fields, kinds, oath, spellings
from otp_api.kinds import enrolment
from otp_api.kinds.registry import Keyed, Kind, Registry
from otp_api.oath import OtpKey, Scheme
from otp_api.settings import get_verify_settings
from otp_api.state import apply, rules, table
from otp_api.state.conditions import AnyOf, Attr, Compare, Missing, Value

NOW = 1_790_000_010
ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"  # Steam Guard's: no vowels, no look-alikes


def steam_coder(key: OtpKey):
    """The kind's codes: RFC 4226's 31-bit truncation, written in ALPHABET, least significant character first."""

    def code(counter: int) -> str:
        mac = hmac.digest(key.secret_bytes, counter.to_bytes(8, "big"), "sha1")
        value = int.from_bytes(mac[(mac[-1] & 0xF) :][:4]) & 0x7FFFFFFF
        chars = []
        for _ in range(key.digits):
            value, index = divmod(value, len(ALPHABET))
            chars.append(ALPHABET[index])
        return "".join(chars)

    return code


STEAM = Scheme(
    "steam",
    "steam_guard",
    tag=0x04,
    counted=False,
    coder=steam_coder,
    typed=lambda code: "".join(code.split()).upper().encode(),  # typed in either case
    unit="characters",
    lengths=(5,),
)
Steam = Literal["steam_guard"]
STEAM_CODE = rf"^\s*(?:[{ALPHABET}{ALPHABET.lower()}]\s*)+$"
LAST_USED, START = Attr("steam_last_used"), Value(":steam_start")


class SteamGenerate(Struct, forbid_unknown_fields=True, tag_field="action", tag="generate", kw_only=True):
    type: Steam
    label: fields.Name = ""
    issuer: fields.Issuer = None
    seal: fields.Seal = False
    qrcode: fields.QrCode = "none"
    subject: fields.Subject | UnsetType = UNSET


class SteamKey(Struct, forbid_unknown_fields=True, tag_field="action", kw_only=True):
    type: Steam
    secret: fields.SecretText | UnsetType = UNSET
    sealed_secret: fields.SealedSecretText | UnsetType = UNSET
    otp_url: fields.OtpUrlText | UnsetType = UNSET
    subject: fields.Subject | UnsetType = UNSET


class SteamVerify(SteamKey, tag="verify", kw_only=True):
    code: Annotated[str, Meta(max_length=fields.MAX_CODE_LENGTH, pattern=STEAM_CODE)]


class SteamEnrolled(enrolment.Enrolled, kw_only=True):
    period: int
    type: Literal["steam"]


class SteamVerdict(Struct):
    type: Literal["steam"]
    valid: bool
    reason: str | None


def _place(key: OtpKey, subject: str | None) -> rules.Place:
    own = hashlib.sha256(b"toy-steam\x00" + oath.state_bytes(key)).hexdigest()
    return rules.place((own,), subject, rules.CODES, key.sealed_at)


def generate(request: SteamGenerate) -> SteamEnrolled:
    key = OtpKey(STEAM, secrets.token_bytes(20), "SHA1", 5, 30)
    return enrolment.enrol(request, key, SteamEnrolled, period=key.period, type="steam")


def verify(request: SteamVerify) -> SteamVerdict:
    key, now = spellings.key_of(request, STEAM), time.time()
    fields.require_code_length(key, code=request.code)
    step = oath.step_at(now, key.period)
    found = oath.matches(request.code, key, range(step - 1, step + 2))
    used = {START.placeholder: min(found, key=lambda c: abs(c - step)) * key.period} if found else {}
    unused = AnyOf((Missing(LAST_USED), Compare(LAST_USED, "<", START)))
    moved = rules.Progress(unused=unused, sets={LAST_USED.name: START}, values=used)
    place = _place(key, spellings.subject_of(request))
    verdict = apply.settle(place, moved if found else None, get_verify_settings(), now, table.STORE)
    return SteamVerdict(type="steam", valid=verdict.valid, reason=verdict.reason)


STEAM_KIND = Kind(
    type="steam_guard",
    synonyms=(),
    actions={SteamGenerate: generate, SteamVerify: verify},
    responses=(SteamEnrolled, SteamVerdict),
    rules={
        "code": f"must be the key's 5 characters of {ALPHABET}, as a JSON string",
        "otp_url": "must be an otpauth://steam/ URI with a base32 secret",
    },
    keyed=Keyed(
        SteamKey,
        lambda request: _place(spellings.key_of(request, STEAM), spellings.subject_of(request)),
        prefix="Steam",
    ),
    scheme=STEAM,
)


# --- through the handler -------------------------------------------------------------------------------------------


@pytest.fixture
def steam_registered(monkeypatch):
    served = kinds.REGISTRY
    monkeypatch.setattr(kinds, "REGISTRY", Registry.of(*served.kinds, STEAM_KIND, person=served.person))  # one line
    handler_module.cache_clear()
    yield
    handler_module.cache_clear()


def post(at: float, **params) -> tuple[int, dict]:
    with time_machine.travel(at, tick=False):
        status, _, body = call("otp", params)
    return status, body


def independent_code(secret: str, at: float) -> str:
    """Steam Guard's code computed apart from the kind (struct, not int.from_bytes; its own loop): and its
    truncation is the one pyotp's RFC 6238 code is the last six decimal digits of."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = mac[19] & 0x0F
    (value,) = struct.unpack(">I", mac[offset : offset + 4])
    value &= 0x7FFFFFFF
    assert f"{value % 10**6:06d}" == pyotp.TOTP(secret).at(at)
    return "".join(ALPHABET[(value // len(ALPHABET) ** i) % len(ALPHABET)] for i in range(5))


def test_its_keys_enrol_seal_and_verify_through_the_shared_spellings(steam_registered):
    status, made = post(NOW, type="steam_guard", action="generate", label="ana", seal=True, subject="ana")
    assert status == 200, made
    assert made["otp_url"].startswith("otpauth://steam/otp-api:ana?") and "digits=5" in made["otp_url"]
    code = independent_code(made["secret"], NOW)
    typed = " ".join(code.lower())  # spaces and lower case, as its scheme reads a typed code
    token = made["sealed_secret"]
    assert post(NOW, type="steam_guard", action="verify", sealed_secret=token, subject="ana", code=typed) == (
        200,
        {"type": "steam", "valid": True, "reason": None},
    )
    assert post(NOW + 1, type="steam_guard", action="verify", sealed_secret=token, subject="ana", code=code)[1][
        "reason"
    ] == ("already_used")
    # its otpauth URI and its base32 secret name the same key, read by the same scheme
    later = independent_code(made["secret"], NOW + 30)
    url = made["otp_url"]
    assert post(NOW + 30, type="steam_guard", action="verify", otp_url=url, code=later)[1]["valid"] is True
    secret, step_after = made["secret"], independent_code(made["secret"], NOW + 60)
    assert post(NOW + 60, type="steam_guard", action="verify", secret=secret, code=step_after)[1]["valid"] is True


def test_its_sealed_secrets_carry_its_own_tag(steam_registered):
    key = OtpKey(STEAM, bytes(range(20)), "SHA1", 5, 30)
    first = spellings.sealed_payload(key)[0]
    assert (first & oath.TAG_BITS, first & oath.TIMED) == (STEAM.tag, oath.TIMED)
    assert first & oath.TAG_BITS not in {scheme.tag for scheme in oath.SCHEMES}


def test_a_code_of_another_length_is_worded_in_its_own_unit(steam_registered):
    _, made = post(NOW, type="steam_guard", action="generate", label="bo")
    status, body = post(NOW, type="steam_guard", action="verify", secret=made["secret"], code="BCDFGH")
    assert (status, body["parameter"], body["message"]) == (
        400,
        "code",
        "code must be 5 characters: this key's codes have 5",
    )


def test_it_and_the_oath_kinds_refuse_each_others_keys(steam_registered):
    _, steam = post(NOW, type="steam_guard", action="generate", label="cy", seal=True)
    _, totp = post(NOW, type="time_based", action="generate", label="cy", seal=True, qrcode="none")
    # The OATH kinds know no Steam key: its token is refused as any foreign token, its URI as no TOTP URI.
    status, body = post(NOW, type="time_based", action="verify", sealed_secret=steam["sealed_secret"], code="123456")
    assert (status, body["parameter"], body["message"]) == (400, "sealed_secret", spellings.SEALED_SECRET.refused)
    status, body = post(NOW, type="time_based", action="verify", otp_url=steam["otp_url"], code="123456")
    assert (status, body["parameter"]) == (400, "otp_url")
    assert body["message"].startswith("otp_url must be an otpauth://totp/ URI")
    # The Steam kind knows the OATH schemes (oath.SCHEMES): their keys are named.
    for named in ("sealed_secret", "otp_url"):
        status, body = post(NOW, type="steam_guard", action="verify", **{named: totp[named]}, code="BCDFG")
        assert (status, body["parameter"], body["message"]) == (
            400,
            named,
            f"this {named} is of type time_based (totp): send it with that type",
        )


def test_the_registry_refuses_a_scheme_that_would_read_another_kinds_keys():
    served = kinds.REGISTRY
    for clash, found in (
        (structs.replace(STEAM, tag=oath.HOTP.tag), "scheme tag registered twice: 128"),
        (structs.replace(STEAM, name="totp"), "scheme name registered twice: totp"),
        (structs.replace(STEAM, tag=oath.TIMED), "scheme tag outside oath.TAG_BITS: steam"),
    ):
        with pytest.raises(ValueError, match=found):
            Registry.of(*served.kinds, structs.replace(STEAM_KIND, scheme=clash), person=served.person)


def test_a_uri_without_digits_has_its_schemes_default_length(steam_registered):
    _, made = post(NOW, type="steam_guard", action="generate", label="ed")
    url = made["otp_url"].replace("&digits=5", "").replace("digits=5&", "")
    assert "digits" not in url
    code = independent_code(made["secret"], NOW)
    assert post(NOW, type="steam_guard", action="verify", otp_url=url, code=code)[1]["valid"] is True


def test_revoking_a_key_bound_to_its_user_stops_its_codes(steam_registered):
    # Its person's item holds the key's state once a code of it was verified: revoke goes there too.
    _, made = post(NOW, type="steam_guard", action="generate", label="di", seal=True, subject="di")
    key = {"type": "steam_guard", "sealed_secret": made["sealed_secret"], "subject": "di"}
    assert post(NOW, action="verify", code=independent_code(made["secret"], NOW), **key)[1]["valid"] is True
    assert post(NOW + 1, action="revoke", **key) == (200, {"revoked": True})
    status, body = post(NOW + 30, action="verify", code=independent_code(made["secret"], NOW + 30), **key)
    assert (status, body["valid"], body["reason"]) == (200, False, "revoked")


def test_a_kind_whose_place_leaves_out_the_subject_fails_closed(monkeypatch):
    # A Keyed place that drops the request's subject would revoke a key's own item while its person's item holds
    # its state, and answer revoked: true. The registry refuses to act on such a place: a 500, nothing written.
    served = kinds.REGISTRY
    careless = structs.replace(
        STEAM_KIND, keyed=Keyed(SteamKey, lambda r: _place(spellings.key_of(r, STEAM), None), "Steam")
    )
    monkeypatch.setattr(kinds, "REGISTRY", Registry.of(*served.kinds, careless, person=served.person))
    handler_module.cache_clear()
    try:
        _, made = post(NOW, type="steam_guard", action="generate", label="fa", seal=True, subject="fa")
        key = {"type": "steam_guard", "sealed_secret": made["sealed_secret"], "subject": "fa"}
        assert post(NOW, action="revoke", **key)[0] == 500
        assert post(NOW, action="verify", code=independent_code(made["secret"], NOW), **key)[1]["valid"] is True
    finally:
        handler_module.cache_clear()
