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

# Patterns that msgspec enforces and the OpenAPI document states (Python `re` syntax, also valid in ECMA 262).
NAME_PATTERN = r"^[^:\x00-\x1f\x7f-\x9f]*$"  # no colon (it separates issuer and account), no control characters
SECRET_PATTERN = r"^\s*(?:[A-Za-z2-7]\s*){23,}(?:=\s*)*$"  # noqa: S105 - a pattern: base32, >= 112 bits, as pasted
CODE_PATTERN = r"^\s*(?:[0-9]\s*)+$"

Name = Annotated[str, Meta(max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)]
Period = Annotated[int, Meta(ge=MIN_PERIOD, le=MAX_PERIOD, description="Seconds per time step.")]
Digits = Literal[6, 8]

# Parameters whose case does not matter; folded before validation.
CASE_FOLD = {"algorithm": str.upper, "format": str.lower, "error": str.upper}

RULES = {
    "type": "must be time_based (/otp), or qr_code, aztec_code or data_matrix (/barcodes)",
    "action": "must be 'generate' or 'verify'",
    "label": f"must be text of at most {MAX_NAME_LENGTH} characters, without a colon or control characters",
    "issuer": f"must be text of at most {MAX_NAME_LENGTH} characters, without a colon or control characters",
    "digits": "must be 6 or 8",
    "algorithm": "must be SHA1, SHA256 or SHA512",
    "period": f"must be a whole number of seconds from {MIN_PERIOD} to {MAX_PERIOD}",
    "secret": "must be base32 (letters A-Z and digits 2-7) of at least 112 bits; spaces and '=' padding are fine",
    "code": "must be text of digits (spaces are ignored), at most 32 characters",
    "data": "must be text of 4 to 1663 characters",
    "scale": "must be a whole number from 1 to 10",
    "format": "must be png or svg",
    "border": "must be a whole number of modules from 0 to 20",
    "error": "must be L, M, Q or H",
}


class GenerateRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="generate"):
    type: Literal["time_based"]
    label: Name = ""
    issuer: Annotated[
        Name | None, Meta(description="Defaults to the stack's DefaultIssuer; an empty string means none.")
    ] = None
    digits: Digits = 6
    algorithm: Algorithm = "SHA1"
    period: Period = 30

    def __post_init__(self) -> None:
        self.label = self.label.strip()
        self.issuer = self.issuer.strip() if self.issuer is not None else None


class VerifyRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="verify"):
    type: Literal["time_based"]
    secret: Annotated[
        str,
        Meta(
            max_length=256,
            pattern=SECRET_PATTERN,
            description="Base32, at least 112 bits; lower case, spaces and '=' padding are accepted.",
        ),
    ]
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
    digits: Digits = 6
    algorithm: Algorithm = "SHA1"
    period: Period = 30


OtpRequest = GenerateRequest | VerifyRequest


class GenerateResponse(Struct):
    algorithm: Algorithm
    digits: int
    issuer: str
    label: str
    otp_url: str
    period: int
    qrcode_url: str
    qrcode_expires_at: str
    secret: str
    type: Literal["totp"] = "totp"


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
        Annotated[int, Meta(ge=0, le=20, description="Quiet zone in modules; the symbology's usual default.")] | None
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


# What each path takes and answers, for the OpenAPI document (scripts/openapi.py).
REQUEST_MODELS: dict[str, Any] = {"/otp": OtpRequest, "/barcodes": BarcodeRequest}
