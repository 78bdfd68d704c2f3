"""Barcode images in the bucket: the domain behind /barcodes."""

import hashlib
import json

from otp_api import storage
from otp_api.errors import InvalidParameter
from otp_api.models import BarcodeRequest, BarcodeResponse
from otp_api.observability import count_outcome
from otp_api.render import DEFAULT_BORDER, DEFAULT_ERROR, render

PREFIX = "barcodes/"
RENDER_VERSION = 2  # bump when rendering changes, so stored images are not reused across versions


def _key(request: BarcodeRequest, border: int, error: str | None) -> str:
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


def create(request: BarcodeRequest) -> BarcodeResponse:
    """Render the image, or reuse the one an identical request stored, and return a presigned URL to it."""
    if request.data.strip().lower().startswith("otpauth:"):
        # An enrolment URI holds a secret: here it would sit in a URL, a trace and, as an image, in S3 for a day
        # under a key derived from it. POST /otp renders it without any of that.
        raise InvalidParameter(
            "data must not be an otpauth:// URI (it holds a secret): POST /otp with qrcode inline or url makes the "
            "enrolment QR code",
            "data",
        )
    border = DEFAULT_BORDER[request.type] if request.border is None else request.border
    # Normalised, so that equivalent requests share one stored image (Data Matrix has no choice of level).
    error = (request.error or DEFAULT_ERROR[request.type]) if DEFAULT_ERROR[request.type] else None
    key = _key(request, border, error)
    # Look before rendering: a HEAD costs a twelfth of a PUT and skips the render (README, Performance).
    found = storage.find_fresh(key)
    if found and found.get("width", "").isdigit() and found.get("height", "").isdigit():
        width, height = int(found["width"]), int(found["height"])
        link = storage.presign(key)
        count_outcome("BarcodeServed", symbology=request.type, cache="hit")
    else:
        image = render(request.data, request.type, request.scale, request.format, border, error)
        width, height = image.width, image.height
        link = storage.store(key, image.data, image.content_type, {"width": str(width), "height": str(height)})
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
