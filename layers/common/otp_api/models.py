"""Request and response models of the HTTP API (pydantic): one place for names, types, defaults and bounds."""

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from otp_api.render import ErrorLevel, ImageFormat, Symbology

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
MIN_PERIOD, MAX_PERIOD = 15, 300
MAX_NAME_LENGTH = 64


def _number(value: object) -> object:
    """Numbers may arrive as text (query strings); booleans are not numbers, whatever Python thinks."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _plain_name(value: str) -> str:
    if ":" in value:
        raise ValueError("must not contain a colon (the otpauth label uses it to separate issuer and account)")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters")
    return value.strip()


# The validators enforce these rules with clear messages; the patterns state them in the OpenAPI document.
NAME_PATTERN = r"^[^:\p{Cc}]*$"
# base32 of at least 112 bits, with spaces, either case and padding as pasted
SECRET_PATTERN = r"^\s*(?:[A-Za-z2-7]\s*){23,}(?:=\s*)*$"  # noqa: S105 - a pattern, not a password
CODE_PATTERN = r"^\s*(?:[0-9]\s*)+$"


def bounded(low: int, high: int) -> Any:
    """An integer from `low` to `high` that may arrive as text (bounds first, so the schema shows them)."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_number)]


Digits = Annotated[Literal[6, 8], BeforeValidator(_number)]
AlgorithmParam = Annotated[Algorithm, BeforeValidator(_upper)]
Period = bounded(MIN_PERIOD, MAX_PERIOD)
Name = Annotated[
    str, Field(max_length=MAX_NAME_LENGTH, json_schema_extra={"pattern": NAME_PATTERN}), AfterValidator(_plain_name)
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateRequest(_Request):
    type: Literal["time_based"]
    action: Literal["generate"]
    label: Name = ""
    issuer: Name | None = Field(None, description="Defaults to the stack's DefaultIssuer; an empty string means none.")
    digits: Digits = 6
    algorithm: AlgorithmParam = "SHA1"
    period: Period = 30


class VerifyRequest(_Request):
    type: Literal["time_based"]
    action: Literal["verify"]
    secret: str = Field(
        max_length=256,
        description="Base32, at least 112 bits; lower case, spaces and '=' padding are accepted.",
        json_schema_extra={"pattern": SECRET_PATTERN},
    )
    code: str | None = Field(
        None,
        max_length=32,
        description="The code to check; spaces are ignored.",
        json_schema_extra={"pattern": CODE_PATTERN},
    )
    digits: Digits = 6
    algorithm: AlgorithmParam = "SHA1"
    period: Period = 30


OtpRequest = Annotated[GenerateRequest | VerifyRequest, Field(discriminator="action")]
otp_request = TypeAdapter(OtpRequest)


class GenerateResponse(BaseModel):
    algorithm: Algorithm
    digits: int
    issuer: str
    label: str
    otp_url: str
    period: int
    qrcode_url: str
    qrcode_expires_at: str
    secret: str
    type: Literal["totp"]


class VerifyResponse(BaseModel):
    algorithm: Algorithm
    digits: int
    otp_codes: dict[str, str]
    period: int
    secret: str
    type: Literal["totp"]
    valid: bool | None = Field(None, description="Present when a code was given.")
    matched: str | None = Field(None, description="The otp_codes key that matched; present when a code was given.")
    reason: Literal["no_match", "already_used"] | None = Field(
        None, description="Why the code was refused: it matched no step, or its step was accepted before."
    )


class BarcodeRequest(_Request):
    type: Symbology
    data: str = Field(min_length=4, max_length=1663, description="The text to encode.")
    scale: bounded(1, 10) = Field(2, description="Pixels per module.")  # type: ignore[valid-type]
    format: Annotated[ImageFormat, BeforeValidator(_lower)] = "png"
    border: bounded(0, 20) | None = Field(  # type: ignore[valid-type]
        None, description="Quiet zone in modules; the symbology's usual default."
    )
    error: Annotated[ErrorLevel | None, BeforeValidator(_upper)] = Field(
        None,
        description="Error correction: QR levels L/M/Q/H (default M); for Aztec 10/23/36/50 % (default 23 %); "
        "Data Matrix ECC 200 has a fixed level, so it is ignored there.",
    )


barcode_request = TypeAdapter(BarcodeRequest)


class BarcodeResponse(BaseModel):
    url: str
    expires_at: str
    type: Symbology
    format: ImageFormat
    scale: int
    width: int
    height: int


class ErrorResponse(BaseModel):
    error: str
    parameter: str | None = None
    message: str


# What each path takes, for the OpenAPI document (scripts/openapi.py); the routes parse with the same adapters.
REQUEST_MODELS: dict[str, Any] = {"/otp": OtpRequest, "/barcodes": BarcodeRequest}
