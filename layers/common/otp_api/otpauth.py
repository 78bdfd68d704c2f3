"""Key URI format (otpauth://) as authenticator apps read it."""

from urllib.parse import quote, urlencode

from otp_api.models import Algorithm

ALGORITHMS: dict[str, Algorithm] = {"sha1": "SHA1", "sha256": "SHA256", "sha512": "SHA512"}


def totp_uri(secret: str, label: str, issuer: str, algorithm: str, digits: int, period: int) -> str:
    """`otpauth://totp/Issuer:label?...`; without an issuer the label stands alone."""
    path = f"{quote(issuer, safe='')}:{quote(label, safe='')}" if issuer and label else quote(issuer or label, safe="")
    query = {"secret": secret, "issuer": issuer, "algorithm": algorithm, "digits": digits, "period": period}
    if not issuer:
        del query["issuer"]
    return f"otpauth://totp/{path}?{urlencode(query, quote_via=quote)}"


def parse_totp_uri(uri: str) -> tuple[str, Algorithm, int, int]:
    """The secret, algorithm, digits and period of an `otpauth://totp/` URI (pyotp's parser: duplicates, unknown
    algorithms and a mismatched issuer are refused). Anything else, an HOTP URI included, is a 400 naming otp_url."""
    import re

    import pyotp

    from otp_api.errors import InvalidParameter
    from otp_api.models import MAX_PERIOD, MIN_PERIOD, SECRET_PATTERN

    refused = InvalidParameter(
        "otp_url must be an otpauth://totp/ URI with a base32 secret of at least 112 bits, "
        "6 or 8 digits and a period of 15 to 300 seconds",
        "otp_url",
    )
    from urllib.parse import parse_qsl, urlsplit

    # Numbers as ASCII digits only: Python's int() would also read full-width or Arabic-Indic digits, or "6_0".
    try:
        numbers = [v for k, v in parse_qsl(urlsplit(uri).query) if k in ("digits", "period", "counter")]
    except ValueError:
        raise refused from None
    if not all(value.isascii() and value.isdigit() for value in numbers):
        raise refused
    try:
        otp = pyotp.parse_uri(uri)
    except (ValueError, TypeError):
        raise refused from None
    algorithm = ALGORITHMS.get(otp.digest().name)
    if (
        not isinstance(otp, pyotp.TOTP)
        or algorithm is None
        or otp.digits not in (6, 8)
        or not MIN_PERIOD <= otp.interval <= MAX_PERIOD
        or not re.fullmatch(SECRET_PATTERN, otp.secret or "")
    ):
        raise refused
    return otp.secret, algorithm, otp.digits, otp.interval
