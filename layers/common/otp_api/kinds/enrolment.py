"""What every kind's `generate` of a key shares: the issuer and names checked, the answer's common fields, the key
sealed if asked (before the image is stored: a KMS failure then leaves nothing behind), the QR code attached, the
enrolment counted. The kinds import it for `Enrolled`; URI building, rendering and S3 are imported by `enrol`
alone, so a verify-only instance never pays for them."""

from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

from otp_api import spellings
from otp_api.errors import InvalidParameter
from otp_api.fields import Enrols
from otp_api.oath import Algorithm, OtpKey
from otp_api.observability import count_outcome
from otp_api.render import ErrorLevel, QrWriter  # (types: render imports its libraries when it renders)
from otp_api.settings import get_settings

QR_PREFIX = "otp-qr/"
QR_SCALE = 4  # pixels per module: 180-324 px with the quiet zone for ASCII names, 660 px at most (docs/api.md)
QR_ERROR: ErrorLevel = "M"  # 15 % recovery: a failed scan at enrolment costs more than the 1-2 versions it adds over L
# zxing-cpp's QR writer: 0.36 ms for an otpauth URI against segno's 1.2 ms (with its mask search fixed to one mask).
# tests/handler/test_enrolment_qr.py decodes thousands of random enrolments with two readers, zbar and zxing-cpp.
QR_WRITER: QrWriter = "zxing-cpp"


class Enrolled(Struct, kw_only=True):
    """What every generate of a key answers besides its kind's own fields. Only the optional fields that apply
    are in the JSON (UNSET fields are left out)."""

    algorithm: Algorithm
    digits: int
    issuer: str
    label: str
    otp_url: str
    secret: str
    qrcode_url: str | UnsetType = UNSET
    qrcode_expires_at: str | UnsetType = UNSET
    qrcode_data_uri: Annotated[str, Meta(description="data:image/png;base64,... (qrcode: inline)")] | UnsetType = UNSET
    sealed_secret: Annotated[str, Meta(description="Store this, not the secret (seal: true).")] | UnsetType = UNSET


def enrol[T: Enrolled](request: Enrols, key: OtpKey, answer: type[T], **own: Any) -> T:
    """A new key's answer: its otpauth URI, sealed secret and QR code as the request asks (`own`: its kind's
    fields)."""
    from otp_api import otpauth

    issuer = get_settings().default_issuer if request.issuer is None else request.issuer
    _check_names(request.label, issuer)
    subject = spellings.subject_of(request)
    if subject is not None and not request.seal:
        raise InvalidParameter("subject binds a sealed secret to its user: give it with seal: true", "subject")
    response = answer(
        algorithm=key.algorithm,
        digits=key.digits,
        issuer=issuer,
        label=request.label,
        otp_url=otpauth.uri(key, request.label, issuer),
        secret=key.base32,
        **own,
    )
    if request.seal:
        response.sealed_secret = spellings.seal(key, subject)
    if request.qrcode != "none":
        _attach_qr_code(response, request.qrcode)
    count_outcome("OtpGenerated", type=key.scheme.kind, algorithm=key.algorithm)
    return response


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


def _attach_qr_code(response: Enrolled, delivery: str) -> None:
    """The QR code of the otpauth URI: stored under a random name behind a presigned URL, or inline as a data URI
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

    from otp_api import image_bucket

    # A random name: nothing about the secret can be read from the URL or the bucket listing.
    link = image_bucket.store(f"{QR_PREFIX}{secrets.token_urlsafe(24)}.png", image.data, image.content_type)
    response.qrcode_url, response.qrcode_expires_at = link.url, link.expires_at_text
