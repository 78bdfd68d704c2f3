"""Enrolment: new TOTP and HOTP secrets (POST /otp, action=generate) and the import of existing ones (seal)."""

from typing import Any

from otp_api import totp
from otp_api.errors import InvalidParameter
from otp_api.models import (
    GenerateRequest,
    GenerateResponse,
    HotpGenerateRequest,
    HotpGenerateResponse,
    SealRequest,
    SealResponse,
)
from otp_api.observability import count_outcome
from otp_api.otp_key import OtpKey, secret_bytes
from otp_api.render import ErrorLevel, QrWriter
from otp_api.settings import get_settings

QR_PREFIX = "otp-qr/"
QR_SCALE = 4  # pixels per module: 180-324 px with the quiet zone for ASCII names, 660 px at most (README)
QR_ERROR: ErrorLevel = "M"  # 15 % recovery: a failed scan at enrolment costs more than the 1-2 versions it adds over L
# zxing-cpp's QR writer: 0.36 ms for an otpauth URI against segno's 1.2 ms (with its mask search fixed to one mask).
# tests/handler/test_enrolment_qr.py decodes thousands of random enrolments with two readers, zbar and zxing-cpp.
QR_WRITER: QrWriter = "zxing-cpp"


def generate(request: GenerateRequest) -> GenerateResponse:
    # Imported here: a verify-only instance never pays for URI building, rendering, S3 or KMS.
    from otp_api import otpauth

    issuer, subject = _issuer_and_subject(request)
    secret = totp.new_secret(request.algorithm)
    otp_url = otpauth.totp_uri(secret, request.label, issuer, request.algorithm, request.digits, request.period)
    response = GenerateResponse(
        algorithm=request.algorithm,
        digits=request.digits,
        issuer=issuer,
        label=request.label,
        otp_url=otp_url,
        period=request.period,
        secret=secret,
        type="totp",
    )
    key = OtpKey(secret_bytes(secret), request.algorithm, request.digits, request.period)
    return _finish(response, request, key, subject)


def generate_hotp(request: HotpGenerateRequest) -> HotpGenerateResponse:
    """An HOTP key for a counter token (or an app's counter-based account): its otpauth://hotp URI starts at
    `counter`, which is where the server expects the token to begin."""
    from otp_api import otpauth

    issuer, subject = _issuer_and_subject(request)
    secret = totp.new_secret(request.algorithm)
    response = HotpGenerateResponse(
        algorithm=request.algorithm,
        counter=request.counter,
        digits=request.digits,
        issuer=issuer,
        label=request.label,
        otp_url=otpauth.hotp_uri(secret, request.label, issuer, request.algorithm, request.digits, request.counter),
        secret=secret,
        type="hotp",
    )
    key = OtpKey(secret_bytes(secret), request.algorithm, request.digits, 30, counter=request.counter)
    return _finish(response, request, key, subject)


def _issuer_and_subject(request: Any) -> tuple[str, str | None]:
    """A generate request's issuer (the stack's default if it names none) and subject, both checked."""
    issuer = get_settings().default_issuer if request.issuer is None else request.issuer
    _check_names(request.label, issuer)
    subject = request.subject if isinstance(request.subject, str) else None
    if subject is not None and not request.seal:
        raise InvalidParameter("subject binds a sealed secret to its user: give it with seal: true", "subject")
    return issuer, subject


def _finish(response: Any, request: Any, key: OtpKey, subject: str | None) -> Any:
    """Seal the key if asked (before the image is stored: a KMS failure then leaves nothing behind), attach the QR
    code, count the enrolment."""
    if request.seal:
        from otp_api import sealing

        response.sealed_secret = sealing.seal(key, subject)
    if request.qrcode != "none":
        _attach_qr_code(response, request.qrcode)
    count_outcome("OtpGenerated", algorithm=request.algorithm)
    return response


def seal(request: SealRequest) -> SealResponse:
    """Import a secret an app already has (`secret` or `otp_url`): its sealed form, as generate with seal gives
    it, so that the app can store it and delete the plaintext. Never answers the secret."""
    from otp_api import sealing
    from otp_api.key_sources import key_of

    key = key_of(request, to_seal=True)
    subject = request.subject if isinstance(request.subject, str) else None
    sealed = sealing.seal(OtpKey(key.secret_bytes, key.algorithm, key.digits, key.period), subject)
    count_outcome("OtpSealed", algorithm=key.algorithm)
    return SealResponse(
        algorithm=key.algorithm, digits=key.digits, period=key.period, sealed_secret=sealed, type="totp"
    )


def _check_names(label: str, issuer: str) -> None:
    """What an authenticator will show must be what it says: no invisible characters that reorder or hide text
    (the model's pattern already refuses control characters and colons), and some name at all."""
    import unicodedata

    for name, value in (("label", label), ("issuer", issuer)):
        if any(unicodedata.category(char) in ("Cf", "Zl", "Zp") for char in value):
            message = (
                f"{name} must not contain format characters or line separators (such as right-to-left "
                "overrides or zero-width spaces): apps would show another name"
            )
            raise InvalidParameter(message, name)
    if not label and not issuer:
        raise InvalidParameter("label is required when issuer is empty: an authenticator needs a name to show", "label")


def _attach_qr_code(response: Any, delivery: str) -> None:
    """The QR code of the otpauth URI: stored under a random key behind a presigned URL, or inline as a data URI
    (then it exists nowhere at rest)."""
    from otp_api.render import render

    # Every label and issuer within their limits fits: the longest otpauth URI (64 four-byte characters in each, a
    # SHA512 key) is 2476 characters, a version 36 symbol at level M (tests/handler/test_interop.py reads it back).
    image = render(response.otp_url, "qr_code", scale=QR_SCALE, fmt="png", error=QR_ERROR, qr_writer=QR_WRITER)
    if delivery == "inline":
        import base64

        response.qrcode_data_uri = f"data:{image.content_type};base64,{base64.b64encode(image.data).decode('ascii')}"
        return
    import secrets

    from otp_api import storage

    # A random key: nothing about the secret can be read from the URL or the bucket listing.
    link = storage.store(f"{QR_PREFIX}{secrets.token_urlsafe(24)}.png", image.data, image.content_type)
    response.qrcode_url, response.qrcode_expires_at = link.url, link.expires_at_text
