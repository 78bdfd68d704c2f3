"""Request and response models of the HTTP API (pydantic): one place for names, types, defaults and bounds."""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from otp_api.render import ImageFormat, QrErrorLevel, Symbology

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
MIN_PERIOD, MAX_PERIOD = 15, 300
MAX_NAME_LENGTH = 64


def _six_or_eight(value: int) -> int:
    if value not in (6, 8):
        raise ValueError("must be 6 or 8")
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _plain_name(value: str) -> str:
    value = value.strip()
    if ":" in value:
        raise ValueError("must not contain a colon (the otpauth label uses it to separate issuer and account)")
    if any(not ch.isprintable() for ch in value):
        raise ValueError("must not contain control characters")
    return value


Digits = Annotated[int, AfterValidator(_six_or_eight)]
AlgorithmParam = Annotated[Algorithm, BeforeValidator(_upper)]
Period = Annotated[int, Field(ge=MIN_PERIOD, le=MAX_PERIOD)]
Name = Annotated[str, Field(max_length=MAX_NAME_LENGTH), AfterValidator(_plain_name)]


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
    secret: str = Field(max_length=256, description="Base32; lower case, spaces and '=' padding are accepted.")
    code: str | None = Field(None, max_length=32, description="The code to check; spaces are ignored.")
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
    scale: int = Field(2, ge=1, le=10, description="Pixels per module.")
    format: Annotated[ImageFormat, BeforeValidator(_lower)] = "png"
    border: int | None = Field(None, ge=0, le=20, description="Quiet zone in modules; the symbology's usual default.")
    error: Annotated[QrErrorLevel | None, BeforeValidator(_upper)] = Field(
        None, description="QR error correction level (qr_code only); default M."
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
