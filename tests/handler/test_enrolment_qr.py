"""The enrolment QR code comes from zxing-cpp's writer (enrolment.QR_WRITER), a quarter of segno's time. Proof
that this costs nothing in readability: thousands of random enrolments, rendered exactly as generate renders them,
each read back to exactly its otpauth URI by two decoders, zbar (independent of the writer) and zxing-cpp, at the
error correction level asked for."""

import io
import random

import zxingcpp
from PIL import Image
from pyzbar import pyzbar

from otp_api import oath, otpauth
from otp_api.kinds import enrolment
from otp_api.render import render

COUNT = 2000
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789@.+-_ ÄÖüßéñ日本"


def random_uri(rng: random.Random) -> str:
    algorithm = rng.choice(["SHA1", "SHA256", "SHA512"])
    label = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 64))).strip()
    issuer = rng.choice(["", "otp-api", "Example Corp", "Ünïcode GmbH", "x" * 64])
    key = oath.OtpKey(
        oath.TOTP,
        oath.secret_bytes(oath.new_secret(algorithm)),
        algorithm,
        rng.choice([6, 8]),
        rng.choice([30, 60]),
    )
    return otpauth.uri(key, label, issuer)


def test_enrolment_codes_read_back_with_zbar_and_zxing():
    rng = random.Random(20261126)
    misses = {"zxing-cpp": [], "zbar": []}
    levels = set()
    for _ in range(COUNT):
        uri = random_uri(rng)
        options = {"scale": enrolment.QR_SCALE, "error": enrolment.QR_ERROR, "qr_writer": enrolment.QR_WRITER}
        png = render(uri, "qr_code", fmt="png", **options).data
        image = Image.open(io.BytesIO(png)).convert("L")
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        levels.update(symbol.ec_level for symbol in found)
        by_zxing = [symbol.text for symbol in found]
        by_zbar = [found.data.decode() for found in pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE])]
        if by_zxing != [uri]:
            misses["zxing-cpp"].append(uri)
        if by_zbar != [uri]:
            misses["zbar"].append(uri)
    assert misses == {"zxing-cpp": [], "zbar": []}
    assert levels == {enrolment.QR_ERROR}
