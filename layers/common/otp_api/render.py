"""Render text as a 2D symbol (QR with segno; Aztec and Data Matrix with zxing-cpp), written by segno's writers.

Both libraries are imported when first used: the verify path never renders, and cold start should not pay for it.
"""

import io
from dataclasses import dataclass
from typing import Literal

from otp_api.errors import InvalidParameter

Symbology = Literal["qr_code", "aztec_code", "data_matrix"]
ImageFormat = Literal["png", "svg"]
ErrorLevel = Literal["L", "M", "Q", "H"]
# Aztec's error correction is a share of the symbol; ISO 24778 recommends 23 % + 3 codewords.
AZTEC_EC_PERCENT: dict[str, int] = {"L": 10, "M": 23, "Q": 36, "H": 50}
DEFAULT_ERROR: dict[str, ErrorLevel | None] = {"qr_code": "M", "aztec_code": "M", "data_matrix": None}

CONTENT_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}
# Quiet zone in modules as each standard asks: QR 4 (ISO 18004), Data Matrix 1 (ISO 16022), Aztec none.
DEFAULT_BORDER: dict[str, int] = {"qr_code": 4, "aztec_code": 0, "data_matrix": 1}

Matrix = tuple[bytearray, ...]


@dataclass(frozen=True, slots=True)
class Rendered:
    data: bytes
    content_type: str
    width: int
    height: int


def _qr_matrix(text: str, error: ErrorLevel | None) -> tuple[Matrix, tuple[int, int]]:
    import segno

    try:
        qr = segno.make_qr(text, error=error or "M", boost_error=False)
    except segno.DataOverflowError:
        raise InvalidParameter("data is too long for a QR code with these options", "data") from None
    return qr.matrix, qr.symbol_size(scale=1, border=0)


def _zxing_matrix(text: str, symbology: Symbology, error: ErrorLevel | None) -> tuple[Matrix, tuple[int, int]]:
    import zxingcpp

    # zxing-cpp takes creator options as keyword arguments and ignores unknown ones: tests check both take effect.
    if symbology == "aztec_code":
        fmt, options = zxingcpp.BarcodeFormat.Aztec, {"ec_level": f"{AZTEC_EC_PERCENT[error or 'M']}%"}
    else:  # square symbols: rectangular Data Matrix is less widely read
        fmt, options = zxingcpp.BarcodeFormat.DataMatrix, {"force_square": True}
    try:
        symbol = zxingcpp.create_barcode(text, fmt, **options)
    except ValueError:
        raise InvalidParameter(f"data is too long for {symbology}", "data") from None
    image = symbol.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    # zxing-cpp draws dark modules as 0 and light ones as 255; segno's writers want 1 for dark.
    pixels = memoryview(image).tobytes().translate(bytes([1] + [0] * 255))
    matrix = tuple(bytearray(pixels[row * width : (row + 1) * width]) for row in range(height))
    return matrix, (width, height)


def render(
    text: str,
    symbology: Symbology = "qr_code",
    scale: int = 2,
    fmt: ImageFormat = "png",
    border: int | None = None,
    error: ErrorLevel | None = None,
) -> Rendered:
    """Render `text`; `scale` is the size of one module in pixels, `border` the quiet zone in modules, `error` the
    error correction level (QR and Aztec; Data Matrix ECC 200 has a fixed one)."""
    from segno import writers

    if symbology == "qr_code":
        matrix, (width, height) = _qr_matrix(text, error)
    else:
        matrix, (width, height) = _zxing_matrix(text, symbology, error)
    border = DEFAULT_BORDER[symbology] if border is None else border
    out = io.BytesIO()
    if fmt == "png":
        writers.write_png(matrix, (width, height), out, scale=scale, border=border)
    else:
        writers.write_svg(
            matrix, (width, height), out, scale=scale, border=border, xmldecl=False, nl=False, light="#fff"
        )
    return Rendered(
        data=out.getvalue(),
        content_type=CONTENT_TYPES[fmt],
        width=(width + 2 * border) * scale,
        height=(height + 2 * border) * scale,
    )
