"""Render text as a 2D symbol (QR with segno, or zxing-cpp for enrolment; Aztec and Data Matrix with zxing-cpp),
as PNG or (segno's) SVG.

Both libraries are imported when first used: the verify path never renders, and cold start should not pay for it.
"""

import io
import struct
import zlib
from typing import Any, Literal

from msgspec import Struct

from otp_api.errors import InvalidParameter

Symbology = Literal["qr_code", "aztec_code", "data_matrix"]
ImageFormat = Literal["png", "svg"]
ErrorLevel = Literal["L", "M", "Q", "H"]
QrWriter = Literal["segno", "zxing-cpp"]
# Aztec's error correction is a share of the symbol; ISO 24778 recommends 23 % + 3 codewords.
AZTEC_EC_PERCENT: dict[str, int] = {"L": 10, "M": 23, "Q": 36, "H": 50}
DEFAULT_ERROR: dict[str, ErrorLevel | None] = {"qr_code": "M", "aztec_code": "M", "data_matrix": None}

CONTENT_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}
# Quiet zone in modules as each standard asks: QR 4 (ISO 18004), Data Matrix 1 (ISO 16022), Aztec none.
DEFAULT_BORDER: dict[str, int] = {"qr_code": 4, "aztec_code": 0, "data_matrix": 1}

Matrix = tuple[bytearray, ...]


class Rendered(Struct, frozen=True):
    data: bytes
    content_type: str
    width: int
    height: int


def _qr_matrix(text: str, error: ErrorLevel | None) -> tuple[Matrix, tuple[int, int]]:
    import segno

    try:
        # eci: text beyond ISO 8859-1 (QR's default) goes as UTF-8 with an ECI marker, or readers guess its charset
        qr = segno.make_qr(text, error=error or "M", boost_error=False, eci=True)
    except segno.DataOverflowError:
        raise InvalidParameter("data is too long for a QR code with these options", "data") from None
    width, height = qr.symbol_size(scale=1, border=0)
    return qr.matrix, (int(width), int(height))


def _zxing_matrix(text: str, symbology: Symbology, error: ErrorLevel | None) -> tuple[Matrix, tuple[int, int]]:
    import zxingcpp

    # zxing-cpp takes creator options as keyword arguments and ignores unknown ones: tests check both take effect.
    options: dict[str, Any]
    if symbology == "qr_code":
        fmt, options = zxingcpp.BarcodeFormat.QRCode, {"ec_level": error or "M"}
    elif symbology == "aztec_code":
        fmt, options = zxingcpp.BarcodeFormat.Aztec, {"ec_level": f"{AZTEC_EC_PERCENT[error or 'M']}%"}
    else:  # square symbols: rectangular Data Matrix is less widely read
        fmt, options = zxingcpp.BarcodeFormat.DataMatrix, {"force_square": True}
    try:
        symbol = zxingcpp.create_barcode(text, fmt, **options)
    except ValueError:
        raise InvalidParameter(f"data is too long for {symbology}", "data") from None
    image = symbol.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    # zxing-cpp draws dark modules as 0 and light ones as 255; our matrices, like segno's, have 1 for dark.
    pixels = memoryview(image).tobytes().translate(bytes([1] + [0] * 255))
    matrix = tuple(bytearray(pixels[row * width : (row + 1) * width]) for row in range(height))
    return matrix, (width, height)


def png(matrix: Matrix, width: int, height: int, scale: int, border: int) -> bytes:
    """The symbol as an 8-bit greyscale PNG.

    segno's PNG writer builds every pixel in Python and took most of an enrolment's render time; here each module
    becomes a run of `scale` bytes and zlib does the rest, so a QR code of an otpauth URI takes a tenth of the time.
    Every test that decodes an image reads these files (Pillow, zxing-cpp, OpenCV).
    """
    light, dark = b"\xff" * scale, b"\x00" * scale
    side = light * border
    blank = b"\x00" + light * (width + 2 * border)  # each scanline starts with its filter type, 0: none
    rows = [blank] * (border * scale)
    for row in matrix:
        line = b"".join((b"\x00", side, *[dark if module else light for module in row], side))
        rows += [line] * scale
    rows += [blank] * (border * scale)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    size = ((width + 2 * border) * scale, (height + 2 * border) * scale)
    header = struct.pack(">IIBBBBB", *size, 8, 0, 0, 0, 0)  # 8 bits, greyscale, deflate, no filter, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + chunk(b"IEND", b"")
    )


def render(
    text: str,
    symbology: Symbology = "qr_code",
    scale: int = 2,
    fmt: ImageFormat = "png",
    border: int | None = None,
    error: ErrorLevel | None = None,
    qr_writer: QrWriter = "segno",
) -> Rendered:
    """Render `text`; `scale` is the size of one module in pixels, `border` the quiet zone in modules, `error` the
    error correction level (QR and Aztec; Data Matrix ECC 200 has a fixed one). QR codes come from segno, whose
    mode and ECI choices suit any text, or from zxing-cpp's C++ writer (`qr_writer`), a quarter of segno's time,
    which enrolment uses for its ASCII otpauth URIs."""
    if symbology == "qr_code" and qr_writer == "segno":
        matrix, (width, height) = _qr_matrix(text, error)
    else:
        matrix, (width, height) = _zxing_matrix(text, symbology, error)
    border = DEFAULT_BORDER[symbology] if border is None else border
    if fmt == "png":
        data = png(matrix, width, height, scale, border)
    else:
        from segno import writers

        out = io.BytesIO()
        svg_options = {"xmldecl": False, "nl": False, "light": "#fff"}  # a white background scans on dark pages
        write_svg = writers.write_svg  # type: ignore[attr-defined]  # defined through a decorator segno does not type
        write_svg(matrix, (width, height), out, scale=scale, border=border, **svg_options)
        data = out.getvalue()
    return Rendered(
        data=data,
        content_type=CONTENT_TYPES[fmt],
        width=(width + 2 * border) * scale,
        height=(height + 2 * border) * scale,
    )
