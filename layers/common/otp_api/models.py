"""Request and response models of the HTTP API (msgspec): one place for names, types, defaults and bounds.

msgspec validates and serialises in a fraction of pydantic's cold-start time and package size, and states the
same rules as JSON Schema for the OpenAPI document. `RULES` gives each parameter's rule in words for error messages.
"""

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from otp_api.render import ErrorLevel, ImageFormat, Symbology

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
Reason = Literal["no_match", "already_used"]  # why a code was refused
MIN_PERIOD, MAX_PERIOD = 15, 300
MAX_NAME_LENGTH = 64
MAX_BORDER = 4  # modules: the QR standard's quiet zone, the most any of the three needs
MAX_SUBJECT_LENGTH = 128
SUBJECT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"  # any text but control characters

# Patterns that msgspec enforces and the OpenAPI document states (Python `re` syntax, also valid in ECMA 262).
NAME_PATTERN = r"^[^:\x00-\x1f\x7f-\x9f]*$"  # no colon (it separates issuer and account), no control characters
SECRET_PATTERN = r"^\s*(?:[A-Za-z2-7]\s*){23,}(?:=\s*)*$"  # noqa: S105 - a pattern: base32, >= 112 bits, as pasted
CODE_PATTERN = r"^\s*(?:[0-9]\s*)+$"
SEALED_PATTERN = r"^s1\.[A-Za-z0-9_-]+$"  # sealing.PREFIX and unpadded URL-safe base64
SEALED_CODES_PATTERN = r"^r1\.[A-Za-z0-9_-]+$"  # recovery_codes.PREFIX and unpadded URL-safe base64
MAX_RECOVERY_CODES = 20

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
Period = Annotated[int, Meta(ge=MIN_PERIOD, le=MAX_PERIOD, description="Seconds per time step.")]
Digits = Literal[6, 8]
OtpType = Literal["time_based", "totp"]  # totp: what generate and verify answer as `type`
HotpType = Literal["counter_based", "hotp"]  # hotp: what they answer as `type`
MAX_COUNTER = 2**63 - 1  # RFC 4226's counter has 8 bytes; JSON schema tools (and msgspec's bounds) stop at int64
# JSON integers, integral floats (8.0) or digit text
NUMBERS = frozenset({"digits", "period", "scale", "border", "count", "counter"})
QrDelivery = Literal["url", "inline", "none"]

# Parameters that carry a secret, or a code: JSON body only. URLs reach access logs, proxies, browser history and
# traces (request_params refuses them in the query string).
BODY_ONLY = frozenset({"secret", "code", "next_code", "otp_url", "sealed_secret", "sealed_codes"})

# Parameters whose case does not matter; folded before validation.
CASE_FOLD = {"algorithm": str.upper, "format": str.lower, "error": str.upper}
BOOLEANS = frozenset({"seal"})  # true/false in JSON, or "true"/"false" in a query string; never 0 or 1

RULES = {
    "type": "is not a type of this route",  # each route states its own (TYPE_RULES)
    "action": "must be generate, verify, resync, seal or unlock (counter_based: no seal; recovery_codes: no resync)",
    "label": f"must be text of at most {MAX_NAME_LENGTH} characters, without a colon or control characters",
    "issuer": f"must be text of at most {MAX_NAME_LENGTH} characters, without a colon or control characters",
    "digits": "must be 6 or 8",
    "algorithm": "must be SHA1, SHA256 or SHA512",
    "period": f"must be a whole number of seconds from {MIN_PERIOD} to {MAX_PERIOD}",
    "secret": "must be base32 (letters A-Z and digits 2-7) of at least 112 bits; spaces and '=' padding are fine",
    "code": "must be the code as a JSON string of digits (spaces are ignored), at most 32 characters",
    "seal": "must be true or false",
    "subject": f"must be the user's stable id: text of 1 to {MAX_SUBJECT_LENGTH} characters without control characters",
    "qrcode": "must be url, inline or none",
    "sealed_secret": "is not a sealed secret of this API",  # one message whatever is wrong with it (sealing.py)
    "otp_url": "must be an otpauth://totp/ or otpauth://hotp/ URI with a base32 secret",
    "next_code": "must be the code after `code`, as a JSON string of digits",
    "counter": "must be a whole number from 0 to 2**63 - 1: the token's first counter",
    "data": "must be text of 4 to 1663 characters",
    "count": f"must be a whole number of codes from 1 to {MAX_RECOVERY_CODES}",
    "sealed_codes": "is not a sealed set of recovery codes of this API",
    "scale": "must be a whole number from 1 to 10",
    "format": "must be png or svg",
    "border": f"must be a whole number of modules from 0 to {MAX_BORDER}",
    "error": "must be L, M, Q or H",
}


class GenerateRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="generate"):
    type: OtpType
    label: Name = ""
    issuer: Annotated[
        Name | None, Meta(description="Defaults to the stack's DefaultIssuer; an empty string means none.")
    ] = None
    digits: Digits = 6
    algorithm: Algorithm = "SHA1"
    period: Period = 30
    seal: Annotated[bool, Meta(description="Also answer sealed_secret: the key sealed under the stack's KMS key.")] = (
        False
    )
    qrcode: Annotated[
        QrDelivery,
        Meta(description="url: a presigned URL (stored one day); inline: a data URI, nothing stored; none: no image."),
    ] = "url"
    subject: Subject | UnsetType = UNSET

    def __post_init__(self) -> None:
        self.label = self.label.strip()
        self.issuer = self.issuer.strip() if self.issuer is not None else None


SecretText = Annotated[
    str,
    Meta(
        max_length=256,
        pattern=SECRET_PATTERN,
        description="Base32, at least 112 bits; lower case, spaces and '=' padding are accepted.",
    ),
]
SealedSecretText = Annotated[
    str, Meta(max_length=8200, pattern=SEALED_PATTERN, description="A sealed_secret from generate (seal: true).")
]
OtpUrlText = Annotated[str, Meta(max_length=2048, description="An otpauth:// URI, as generate or an app gives it.")]
Code = Annotated[str, Meta(max_length=32, pattern=CODE_PATTERN, description="A code, as digits (spaces ignored).")]
Counter = Annotated[int, Meta(ge=0, le=MAX_COUNTER, description="The token's first counter (HOTP).")]


class _NamesAKey(Struct, forbid_unknown_fields=True, tag_field="action", kw_only=True):
    """Exactly one of secret, sealed_secret and otp_url names the key. The parameters (digits, algorithm, and a
    TOTP key's period or an HOTP key's first counter) come with `secret`, and from the token or the URI otherwise."""

    secret: SecretText | UnsetType = UNSET
    sealed_secret: SealedSecretText | UnsetType = UNSET
    otp_url: OtpUrlText | UnsetType = UNSET
    digits: Digits | UnsetType = UNSET
    algorithm: Algorithm | UnsetType = UNSET
    subject: Subject | UnsetType = UNSET


class _TotpKey(_NamesAKey, kw_only=True):
    type: OtpType
    period: Period | UnsetType = UNSET


class _HotpKey(_NamesAKey, kw_only=True):
    type: HotpType
    counter: Counter | UnsetType = UNSET  # with a secret: the token's first counter, if the server knows none yet


class VerifyRequest(_TotpKey, tag="verify", kw_only=True):
    code: (
        Annotated[
            str,
            Meta(
                max_length=32,
                pattern=CODE_PATTERN,
                description="The code to check (spaces are ignored); without it, the codes around now are listed.",
            ),
        ]
        | UnsetType
    ) = UNSET


class SealRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="seal"):
    """Import a secret an app already has: its sealed form, as generate with seal would give it."""

    type: OtpType
    secret: SecretText | UnsetType = UNSET
    otp_url: OtpUrlText | UnsetType = UNSET
    digits: Digits | UnsetType = UNSET
    algorithm: Algorithm | UnsetType = UNSET
    period: Period | UnsetType = UNSET
    subject: Subject | UnsetType = UNSET


class UnlockRequest(_TotpKey, tag="unlock", kw_only=True):
    """Clear a key's failures and lockout (never its replay state), once its user proved themselves another way."""


class ResyncRequest(_TotpKey, tag="resync", kw_only=True):
    """Two consecutive codes of a device whose clock drifts: its drift is learnt and stored."""

    code: Code
    next_code: Code


TotpRequest = GenerateRequest | VerifyRequest | SealRequest | UnlockRequest | ResyncRequest


class HotpGenerateRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="generate"):
    type: HotpType
    label: Name = ""
    issuer: Name | None = None
    digits: Digits = 6
    algorithm: Algorithm = "SHA1"
    counter: Counter = 0
    seal: bool = False
    qrcode: QrDelivery = "url"
    subject: Subject | UnsetType = UNSET

    def __post_init__(self) -> None:
        self.label = self.label.strip()
        self.issuer = self.issuer.strip() if self.issuer is not None else None


class HotpVerifyRequest(_HotpKey, tag="verify", kw_only=True):
    code: Code


class HotpResyncRequest(_HotpKey, tag="resync", kw_only=True):
    code: Code
    next_code: Code


class HotpUnlockRequest(_HotpKey, tag="unlock", kw_only=True):
    pass


HotpRequest = HotpGenerateRequest | HotpVerifyRequest | HotpResyncRequest | HotpUnlockRequest

RecoveryCodesType = Literal["recovery_codes"]
SealedCodes = Annotated[
    str, Meta(max_length=4096, pattern=SEALED_CODES_PATTERN, description="The sealed_codes of generate.")
]


class RecoveryGenerateRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="generate"):
    type: RecoveryCodesType
    count: Annotated[int, Meta(ge=1, le=MAX_RECOVERY_CODES, description="How many codes.")] = 10
    subject: Subject | UnsetType = UNSET


class RecoveryVerifyRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="verify"):
    type: RecoveryCodesType
    sealed_codes: SealedCodes
    code: Annotated[str, Meta(max_length=64, description="One recovery code; case, spaces and hyphens ignored.")]
    subject: Subject | UnsetType = UNSET


class RecoveryUnlockRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="unlock"):
    type: RecoveryCodesType
    sealed_codes: SealedCodes
    subject: Subject | UnsetType = UNSET


RecoveryCodesRequest = RecoveryGenerateRequest | RecoveryVerifyRequest | RecoveryUnlockRequest


def otp_request_model(params: dict[str, Any]) -> Any:
    """The request models of POST /otp for the `type` the request names (each type has its own actions)."""
    kind = params.get("type")
    if kind == "recovery_codes":
        return RecoveryCodesRequest
    return HotpRequest if kind in ("counter_based", "hotp") else TotpRequest


class GenerateResponse(Struct):
    algorithm: Algorithm
    digits: int
    issuer: str
    label: str
    otp_url: str
    period: int
    secret: str
    type: Literal["totp"]
    # Only those that apply (UNSET fields are left out of the JSON).
    qrcode_url: str | UnsetType = UNSET
    qrcode_expires_at: str | UnsetType = UNSET
    qrcode_data_uri: Annotated[str, Meta(description="data:image/png;base64,... (qrcode: inline)")] | UnsetType = UNSET
    sealed_secret: Annotated[str, Meta(description="Store this, not the secret (seal: true).")] | UnsetType = UNSET


class VerifyResponse(Struct):
    """The verdict on a code: never the secret, never codes."""

    algorithm: Algorithm
    digits: int
    period: int
    type: Literal["totp"]
    valid: bool
    matched: Annotated[str | None, Meta(description="The step whose code it was (+30s, current, -30s), when valid.")]
    reason: Annotated[
        Reason | None,
        Meta(description="Why the code was refused: it matched no step, or its step (or a later one) was accepted."),
    ]


class HotpGenerateResponse(Struct):
    algorithm: Algorithm
    counter: int
    digits: int
    issuer: str
    label: str
    otp_url: str
    secret: str
    type: Literal["hotp"]
    qrcode_url: str | UnsetType = UNSET
    qrcode_expires_at: str | UnsetType = UNSET
    qrcode_data_uri: str | UnsetType = UNSET
    sealed_secret: str | UnsetType = UNSET


class HotpVerifyResponse(Struct):
    """The verdict on an HOTP code (or, for resync, on two): never the secret, never codes."""

    type: Literal["hotp"]
    valid: bool
    counter: Annotated[int | None, Meta(description="The counter of the code accepted (resync: of next_code).")]
    reason: Reason | None


class ResyncResponse(Struct):
    type: Literal["totp"]
    valid: bool
    drift: Annotated[int | None, Meta(description="The device's clock offset learnt, in steps, when valid.")]
    reason: Reason | None


class SealResponse(Struct):
    """An imported secret, sealed: never the secret itself."""

    algorithm: Algorithm
    digits: int
    period: int
    sealed_secret: str
    type: Literal["totp"]


class UnlockResponse(Struct):
    unlocked: Annotated[bool, Meta(description="Whether a lockout (or failures towards one) was cleared.")]


class RecoveryCodesResponse(Struct):
    """New recovery codes: show them to the user once, store only sealed_codes."""

    type: RecoveryCodesType
    codes: list[str]
    sealed_codes: str
    count: int


class RecoveryVerifyResponse(Struct):
    type: RecoveryCodesType
    valid: bool
    remaining: Annotated[int | None, Meta(description="Codes of the set still unused, when valid.")]
    reason: Reason | None


class CodesResponse(Struct):
    """The codes around now, as the reference lists them (verify without a code)."""

    algorithm: Algorithm
    digits: int
    otp_codes: dict[str, str]
    period: int
    secret: str
    type: Literal["totp"]


class BarcodeRequest(Struct, forbid_unknown_fields=True):
    type: Symbology
    data: Annotated[str, Meta(min_length=4, max_length=1663, description="The text to encode.")]
    scale: Annotated[int, Meta(ge=1, le=10, description="Pixels per module.")] = 2
    format: ImageFormat = "png"
    border: (
        Annotated[int, Meta(ge=0, le=MAX_BORDER, description="Quiet zone in modules; the symbology's default.")] | None
    ) = None
    error: (
        Annotated[
            ErrorLevel,
            Meta(
                description="Error correction: QR levels L/M/Q/H (default M); Aztec 10/23/36/50 % (default 23 %); "
                "Data Matrix ECC 200 has a fixed level, so it is ignored there."
            ),
        ]
        | None
    ) = None


class BarcodeResponse(Struct):
    url: str
    expires_at: str
    type: Symbology
    format: ImageFormat
    scale: int
    width: int
    height: int


class ErrorResponse(Struct):
    error: str
    parameter: str | None
    message: str


OTP_RESPONSES = (
    GenerateResponse
    | HotpGenerateResponse
    | HotpVerifyResponse
    | ResyncResponse
    | VerifyResponse
    | CodesResponse
    | SealResponse
    | UnlockResponse
    | RecoveryCodesResponse
    | RecoveryVerifyResponse
)
# What each path takes and answers, for the OpenAPI document (scripts/openapi.py).
REQUEST_MODELS: dict[str, Any] = {
    "/otp": (TotpRequest, HotpRequest, RecoveryCodesRequest),
    "/barcodes": BarcodeRequest,
}
# The `type` rule of each route's request: /otp's error never lists /barcodes' types, nor the other way round.
TYPE_RULES: dict[Any, str] = {
    TotpRequest: "must be time_based (or totp), counter_based (or hotp), or recovery_codes",
    HotpRequest: "must be time_based (or totp), counter_based (or hotp), or recovery_codes",
    RecoveryCodesRequest: "must be time_based (or totp), counter_based (or hotp), or recovery_codes",
    BarcodeRequest: "must be qr_code, aztec_code or data_matrix",
}
