"""The request fields every kind of one-time password shares (msgspec types: names, bounds and descriptions, which
the OpenAPI document states too), each with its rule in words for error messages (`RULES`), and the base models
that name a key. A kind's own fields and rules live in its module (kinds/)."""

import re
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from otp_api import oath
from otp_api.errors import InvalidParameter
from otp_api.oath import Algorithm, Digits, OtpKey
from otp_api.spellings import SEALED_SECRET

MAX_NAME_LENGTH = 64
MAX_SUBJECT_LENGTH = 128
SUBJECT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"  # any text but control characters
# Patterns that msgspec enforces and the OpenAPI document states (Python `re` syntax, also valid in ECMA 262).
NAME_PATTERN = r"^[^:\x00-\x1f\x7f-\x9f]*$"  # no colon (it separates issuer and account), no control characters
CODE_PATTERN = r"^\s*(?:[0-9]\s*)+$"
MAX_CODE_LENGTH = 32


def _choices(values: tuple[Any, ...]) -> str:
    return ", ".join(str(value) for value in values[:-1]) + f" or {values[-1]}"


RULES = {
    "label": f"must be text of at most {MAX_NAME_LENGTH} characters, without a colon or control characters",
    "issuer": f"must be text of at most {MAX_NAME_LENGTH} characters, without a colon or control characters",
    "digits": f"must be {_choices(oath.DIGITS)}",
    "algorithm": f"must be {_choices(oath.ALGORITHMS)}",
    "period": f"must be a whole number of seconds from {oath.MIN_PERIOD} to {oath.MAX_PERIOD}",
    "secret": f"must be base32 (letters A-Z and digits 2-7) of at least {oath.MIN_SECRET_BITS} bits; spaces and '='"
    " padding are fine",
    "code": f"must be the code as a JSON string of digits (spaces are ignored), at most {MAX_CODE_LENGTH} characters",
    "seal": "must be true or false",
    "subject": f"must be the user's stable id: text of 1 to {MAX_SUBJECT_LENGTH} characters without control characters",
    "qrcode": "must be url, inline or none",
    "sealed_secret": "is not a sealed secret of this API",  # one message whatever is wrong with it (spellings.py)
    "otp_url": "must be an otpauth://totp/ or otpauth://hotp/ URI with a base32 secret",
    "next_code": "must be the code after `code`, as a JSON string of digits",
}
# Parameters that carry a secret, or a code: JSON body only. URLs reach access logs, proxies, browser history and
# traces (params.request_params refuses them in the query string).
BODY_ONLY = frozenset({"secret", "code", "next_code", "otp_url", "sealed_secret"})

Name = Annotated[str, Meta(max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)]
Subject = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_SUBJECT_LENGTH,
        pattern=SUBJECT_PATTERN,
        description="The user's opaque, stable id (never an e-mail that may change): a sealed secret bound to it "
        "verifies only with the same subject.",
    ),
]
Period = Annotated[int, Meta(ge=oath.MIN_PERIOD, le=oath.MAX_PERIOD, description="Seconds per time step.")]
Counter = Annotated[int, Meta(ge=0, le=oath.MAX_COUNTER, description="The device's first counter (HOTP).")]
QrDelivery = Literal["url", "inline", "none"]
SecretText = Annotated[
    str,
    Meta(
        max_length=256,
        pattern=oath.SECRET_PATTERN,
        description=f"Base32, at least {oath.MIN_SECRET_BITS} bits; lower case, spaces and '=' padding are accepted.",
    ),
]
SealedSecretText = Annotated[
    str,
    Meta(
        max_length=8200,
        pattern=rf"^{re.escape(SEALED_SECRET.prefix)}[A-Za-z0-9_-]+$",  # the prefix and unpadded URL-safe base64
        description="A sealed_secret from generate (seal: true).",
    ),
]
OtpUrlText = Annotated[str, Meta(max_length=2048, description="An otpauth:// URI, as generate or an app gives it.")]
Code = Annotated[
    str, Meta(max_length=MAX_CODE_LENGTH, pattern=CODE_PATTERN, description="A code, as digits (spaces ignored).")
]
QrCode = Annotated[
    QrDelivery,
    Meta(description="url: a presigned URL (stored one day); inline: a data URI, nothing stored; none: no image."),
]
Seal = Annotated[bool, Meta(description="Also answer sealed_secret: the key sealed under the stack's KMS key.")]
Issuer = Annotated[Name | None, Meta(description="Defaults to the stack's DefaultIssuer; an empty string means none.")]


class NamesAKey(Struct, forbid_unknown_fields=True, tag_field="action", kw_only=True):
    """Exactly one of secret, sealed_secret and otp_url names the key (spellings.py). The parameters (digits,
    algorithm, and a TOTP key's period or an HOTP key's first counter) come with `secret`, and from the token or the
    URI otherwise."""

    secret: SecretText | UnsetType = UNSET
    sealed_secret: SealedSecretText | UnsetType = UNSET
    otp_url: OtpUrlText | UnsetType = UNSET
    digits: Digits | UnsetType = UNSET
    algorithm: Algorithm | UnsetType = UNSET
    subject: Subject | UnsetType = UNSET


class Enrols(Struct, forbid_unknown_fields=True, tag_field="action", kw_only=True):
    """What every generate of a key takes besides its kind's own parameters (kinds/enrolment.py)."""

    label: Name = ""
    issuer: Issuer = None
    digits: Digits = oath.DEFAULT_DIGITS
    algorithm: Algorithm = oath.DEFAULT_ALGORITHM
    seal: Seal = False
    qrcode: QrCode = "url"
    subject: Subject | UnsetType = UNSET

    def __post_init__(self) -> None:
        self.label = self.label.strip()
        self.issuer = self.issuer.strip() if self.issuer is not None else None


def require_code_length(key: OtpKey, **codes: str) -> None:
    """Each code (by its parameter's name) has the length of the key's codes, as its scheme reads a typed code
    (spaces aside): a code of another length is no code of this key, and is refused before any state is read or
    written (it neither counts as a failure nor is compared). The length is no secret: the key's enrolment URI and
    its codes show it."""
    unit = key.scheme.unit
    for name, code in codes.items():
        if len(key.scheme.typed(code)) != key.digits:
            raise InvalidParameter(f"{name} must be {key.digits} {unit}: this key's codes have {key.digits}", name)
