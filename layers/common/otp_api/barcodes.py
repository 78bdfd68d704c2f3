"""Barcode images in the bucket: the requests, answers and action behind /barcodes."""

import hashlib
import json
from typing import Annotated

from msgspec import Meta, Struct

from otp_api import image_bucket, params
from otp_api.errors import InvalidParameter
from otp_api.observability import count_outcome
from otp_api.render import DEFAULT_BORDER, DEFAULT_ERROR, ErrorLevel, ImageFormat, Symbology, render

PREFIX = "barcodes/"
RENDER_VERSION = 2  # bump when rendering changes, so stored images are not reused across versions
MAX_BORDER = 4  # modules: the QR standard's quiet zone, the most any of the three needs
RULES = {
    "type": "must be qr_code, aztec_code or data_matrix",
    "data": "must be text of 4 to 1663 characters",
    "scale": "must be a whole number from 1 to 10",
    "format": "must be png or svg",
    "border": f"must be a whole number of modules from 0 to {MAX_BORDER}",
    "error": "must be L, M, Q or H",
}


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


def _object_name(request: BarcodeRequest, border: int, error: str | None) -> str:
    normalised = {
        "v": RENDER_VERSION,
        "type": request.type,
        "data": request.data,
        "scale": request.scale,
        "format": request.format,
        "border": border,
        "error": error,
    }
    digest = hashlib.sha256(json.dumps(normalised, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"{PREFIX}{digest}.{request.format}"


def _bears_secrets(data: str) -> bool:
    """Whether `data` holds an otpauth URI of any scheme (`otpauth:`, `otpauth-migration:` of Google Authenticator's
    export, Apple's `apple-otpauth:`), however it is percent-encoded, spaced, cased, written in compatibility forms
    (fullwidth letters) or broken up by characters a reader skips (Unicode format characters, combining marks,
    fillers). Anywhere in the text: readers differ in what they take for its start."""
    import unicodedata
    from urllib.parse import unquote

    text = unicodedata.normalize("NFKC", unquote(data)).lower()
    letters = "".join(char for char in text if char.isascii() and char.isalnum())
    return "otpauth" in letters


def create(request: BarcodeRequest) -> BarcodeResponse:
    """Render the image, or reuse the one an identical request stored, and return a presigned URL to it."""
    if _bears_secrets(request.data):
        # An enrolment URI holds a secret (a migration URI, all of an app's): here it would sit in a URL, a trace
        # and, as an image, in S3 for a day under a name derived from it. POST /otp renders enrolment without any.
        raise InvalidParameter(
            "data must not hold an otpauth URI (otpauth, otpauth-migration or apple-otpauth: they carry secrets): "
            "POST /otp with qrcode inline or url makes the enrolment QR code",
            "data",
        )
    border = DEFAULT_BORDER[request.type] if request.border is None else request.border
    # Normalised, so that equivalent requests share one stored image (Data Matrix has no choice of level).
    error = (request.error or DEFAULT_ERROR[request.type]) if DEFAULT_ERROR[request.type] else None
    name = _object_name(request, border, error)
    # Look before rendering: a HEAD costs a twelfth of a PUT and skips the render (docs/performance.md).
    found = image_bucket.find_fresh(name)
    if found and found.get("width", "").isdigit() and found.get("height", "").isdigit():
        width, height = int(found["width"]), int(found["height"])
        link = image_bucket.presign(name)
        count_outcome("BarcodeServed", symbology=request.type, cache="hit")
    else:
        image = render(request.data, request.type, request.scale, request.format, border, error)
        width, height = image.width, image.height
        link = image_bucket.store(name, image.data, image.content_type, {"width": str(width), "height": str(height)})
        count_outcome("BarcodeServed", symbology=request.type, cache="miss")
    return BarcodeResponse(
        url=link.url,
        expires_at=link.expires_at_text,
        type=request.type,
        format=request.format,
        scale=request.scale,
        width=width,
        height=height,
    )


params.typed_fields(BarcodeRequest)  # now, not on the first request
