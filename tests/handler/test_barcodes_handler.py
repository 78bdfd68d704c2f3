"""GET/POST /barcodes through the handler: every symbology and format decodes back to exactly the data."""

import io
import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from support import BUCKET, decode_image, event_with, invoke, load_event

SYMBOLOGIES = ["qr_code", "aztec_code", "data_matrix"]
TEXTS = {
    "shortest": "abcd",
    "url": "https://example.com/path?q=1&r=two",
    "non-ascii": "Grüße aus Köln ✓ 日本語テキスト",
    "longest-ascii": ("The quick brown fox jumps over the lazy dog. " * 40)[:1663],
}


def key_of(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def fetch(s3, url: str) -> dict:
    return s3.get_object(Bucket=BUCKET, Key=key_of(url))


def svg_to_png(svg: bytes) -> bytes:
    """Rasterise the SVG by its own path: segno writes one `M x y.5 hN` run per horizontal line of dark modules."""
    from PIL import Image, ImageDraw

    text = svg.decode()
    width, height = (int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', text).groups())
    scale = int(re.search(r"scale\((\d+)\)", text).group(1))
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', text).group(1)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for cmd, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if cmd == "M":
            x, y = float(a), float(b)
        elif cmd == "m":
            x, y = x + float(a), y + float(b)
        else:
            length = float(a)
            if length:
                draw.rectangle([x * scale, (y - 0.5) * scale, (x + length) * scale - 1, (y + 0.5) * scale - 1], fill=0)
            x += length
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def post(params: dict) -> tuple[int, dict, dict]:
    return invoke("barcodes", event_with("barcodes-post", body=params))


@pytest.mark.parametrize("symbology", SYMBOLOGIES)
@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_render_and_decode_back(s3, symbology, fmt, text):
    status, headers, body = post({"type": symbology, "data": text, "format": fmt})
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    obj = fetch(s3, body["url"])
    data = obj["Body"].read()
    assert obj["ContentType"] == ("image/png" if fmt == "png" else "image/svg+xml")
    assert (body["type"], body["format"], body["scale"]) == (symbology, fmt, 2)
    png = data if fmt == "png" else svg_to_png(data)
    assert decode_image(png) == text
    if fmt == "png":
        from PIL import Image

        assert Image.open(io.BytesIO(data)).size == (body["width"], body["height"])


@pytest.mark.parametrize("symbology", SYMBOLOGIES)
def test_width_grows_linearly_with_scale(s3, symbology):
    widths = [post({"type": symbology, "data": "linear scale", "scale": scale})[2]["width"] for scale in (1, 2, 5, 10)]
    assert widths == [widths[0] * scale for scale in (1, 2, 5, 10)]


def test_same_request_twice_stores_one_object(s3):
    first = post({"type": "qr_code", "data": "same request", "scale": 3})[2]
    second = post({"type": "qr_code", "data": "same request", "scale": 3})[2]
    post({"type": "qr_code", "data": "same request", "scale": 4})
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 2
    assert key_of(first["url"]) == key_of(second["url"])
    assert (first["width"], first["height"]) == (second["width"], second["height"])
    assert all(key.startswith("barcodes/") for key in keys)


def test_a_stale_object_is_rendered_again(s3):
    import time_machine

    first = post({"type": "qr_code", "data": "stale after a day"})[2]
    with time_machine.travel("2100-01-01"):
        status, _, body = post({"type": "qr_code", "data": "stale after a day"})
    assert status == 200
    assert key_of(body["url"]) == key_of(first["url"])
    assert decode_image(fetch(s3, body["url"])["Body"].read()) == "stale after a day"


def test_get_event_file_redirects_to_the_image(s3):
    status, headers, _ = invoke("barcodes", load_event("barcodes-get"))
    assert status == 302
    assert headers["Cache-Control"] == "no-store"
    location = headers["Location"]
    assert parse_qs(urlsplit(location).query)["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert decode_image(fetch(s3, location)["Body"].read()) == "https://example.com/hello"


def test_post_event_file(s3):
    status, _, body = invoke("barcodes", load_event("barcodes-post"))
    assert status == 200, body
    assert set(body) == {"url", "expires_at", "type", "format", "scale", "width", "height"}
    assert (body["type"], body["format"], body["scale"]) == ("aztec_code", "svg", 3)
    assert decode_image(svg_to_png(fetch(s3, body["url"])["Body"].read())) == "Hello, Aztec!"


def test_border_and_error_level_change_the_image(s3):
    plain = post({"type": "qr_code", "data": "options"})[2]
    bordered = post({"type": "qr_code", "data": "options", "border": 1})[2]
    high = post({"type": "qr_code", "data": "options", "error": "h"})[2]
    assert bordered["width"] == plain["width"] - 2 * 3 * 2  # 1 module a side instead of 4, at scale 2
    assert len({key_of(plain["url"]), key_of(bordered["url"]), key_of(high["url"])}) == 3
    assert decode_image(fetch(s3, high["url"])["Body"].read()) == "options"


BAD = [
    ({"data": "abcd"}, 400, "type"),
    ({"type": "pdf417", "data": "abcd"}, 400, "type"),
    ({"type": "qr_code"}, 400, "data"),
    ({"type": "qr_code", "data": "abc"}, 400, "data"),
    ({"type": "qr_code", "data": "x" * 1664}, 400, "data"),
    ({"type": "qr_code", "data": 12345}, 400, "data"),
    ({"type": "qr_code", "data": "abcd", "scale": 0}, 400, "scale"),
    ({"type": "qr_code", "data": "abcd", "scale": 11}, 400, "scale"),
    ({"type": "qr_code", "data": "abcd", "scale": "big"}, 400, "scale"),
    ({"type": "qr_code", "data": "abcd", "scale": 2.5}, 400, "scale"),
    ({"type": "qr_code", "data": "abcd", "format": "gif"}, 400, "format"),
    ({"type": "qr_code", "data": "abcd", "border": -1}, 400, "border"),
    ({"type": "qr_code", "data": "abcd", "error": "X"}, 400, "error"),
    ({"type": "qr_code", "data": "abcd", "border": False}, 400, "border"),
    ({"type": "qr_code", "data": "abcd", "scale": True}, 400, "scale"),
    ({"type": "qr_code", "data": "abcd", "size": 3}, 400, None),  # not a name of the API's: never answered
    ({"type": "qr_code", "data": "漢字" * 831, "error": "H"}, 400, "data"),  # too long for a QR code at level H
]


@pytest.mark.parametrize(("params", "status", "parameter"), BAD)
def test_bad_input_post(s3, params, status, parameter):
    code, headers, body = post(params)
    assert code == status, body
    assert headers["Cache-Control"] == "no-store"
    assert body["parameter"] == parameter
    assert body["message"]


# As a query string every value is text: leave out the cases whose point is a JSON type.
BAD_QUERY = [
    case for case in BAD if not isinstance(case[0].get("data"), int) and not isinstance(case[0].get("scale"), float)
]


@pytest.mark.parametrize(("params", "status", "parameter"), BAD_QUERY)
def test_bad_input_get(s3, params, status, parameter):
    query = {key: str(value) for key, value in params.items()}
    code, headers, body = invoke("barcodes", event_with("barcodes-get", query=query))
    assert code == status, body
    assert headers["Content-Type"] == "application/json"
    assert body["parameter"] == parameter


def test_aztec_error_levels_change_the_symbol_and_decode(s3):
    text = "aztec error levels " * 5
    low = post({"type": "aztec_code", "data": text, "error": "L"})[2]
    high = post({"type": "aztec_code", "data": text, "error": "H"})[2]
    assert high["width"] > low["width"]
    assert decode_image(fetch(s3, high["url"])["Body"].read()) == text


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_data_matrix_symbols_are_square(s3, text):
    body = post({"type": "data_matrix", "data": text})[2]
    assert body["width"] == body["height"]


def test_data_matrix_has_one_error_level(s3):
    plain = post({"type": "data_matrix", "data": "fixed ecc 200"})[2]
    with_level = post({"type": "data_matrix", "data": "fixed ecc 200", "error": "H"})[2]
    assert key_of(plain["url"]) == key_of(with_level["url"])  # the same image, stored once


def test_lone_surrogate_in_json_is_refused(s3):
    raw = '{"type": "qr_code", "data": "ab\\ud800cd"}'
    code, _, body = invoke("barcodes", event_with("barcodes-post", raw_body=raw))
    assert (code, body["error"]) == (400, "malformed_request")


def test_malformed_json_body(s3):
    code, _, body = invoke("barcodes", event_with("barcodes-post", raw_body='{"type": "qr_code",'))
    assert (code, body["error"]) == (400, "malformed_request")


def test_storage_failure_is_a_503(s3):
    s3.delete_bucket(Bucket=BUCKET)
    code, _, body = post({"type": "qr_code", "data": "no bucket"})
    assert (code, body["error"]) == (503, "storage_unavailable")
    assert "url" not in body


@pytest.mark.parametrize(
    "data",
    [
        "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "  OTPAUTH://hotp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0",
        "\totpauth:totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGEdFWkRHTkJWR1kzVFFPSlFHRVpER05CVkdZM1RRT0pR",
        "OTPAUTH-MIGRATION://offline?data=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "\ufeffotpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",  # a byte-order mark first
        "\u200botp\u200bauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",  # zero-width spaces
        "o t p a u t h : totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "apple-otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",  # iCloud Keychain's
        'scan: "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"',  # text before it
        "\uff4f\uff54\uff50\uff41\uff55\uff54\uff48://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",  # fullwidth
        "%6Ftpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",  # percent-encoded
        "otp\u3164auth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",  # a Hangul filler
        "otp\u034fauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",  # a combining grapheme joiner
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_otpauth_uri_is_refused_and_nothing_is_stored(s3, data, method):
    # A secret in a barcode request would sit in the URL (GET), in X-Ray, and as an image in S3 for a day.
    params = {"type": "qr_code", "data": data}
    kind = "barcodes-get" if method == "GET" else "barcodes-post"
    event = event_with(kind, query=params) if method == "GET" else event_with(kind, body=params)
    code, _, body = invoke("barcodes", event)
    assert (code, body["parameter"]) == (400, "data") and "POST /otp" in body["message"]
    assert "GEZDGNBV" not in json.dumps(body)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_the_border_is_at_most_the_qr_standards_quiet_zone(s3):
    assert post({"type": "qr_code", "data": "abcd", "border": 4})[0] == 200
    code, _, body = post({"type": "qr_code", "data": "abcd", "border": 5})
    assert (code, body["parameter"]) == (400, "border")
