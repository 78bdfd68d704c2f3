"""Key URI format (otpauth://), written as authenticator apps read it and read as apps and other tools write it.

One reader for `otpauth://totp/` and `otpauth://hotp/`. It takes every URI generate makes (all periods from 15 to
300 s, both digit counts, all algorithms, any names) and the spellings other generators write: an upper-case
scheme or type (RFC 3986: schemes are case-insensitive), `+` for a space in the label and issuer, a lower-case
algorithm. It refuses what is ambiguous or unsafe: a parameter given twice, a label prefix that contradicts
`issuer`, an unknown algorithm, numbers that are not ASCII digits, a secret under 112 bits, an HOTP URI without its
counter.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

from otp_api.errors import InvalidParameter
from otp_api.models import MAX_COUNTER, MAX_PERIOD, MIN_PERIOD, SECRET_PATTERN, Algorithm

ALGORITHMS: dict[str, Algorithm] = {"sha1": "SHA1", "sha256": "SHA256", "sha512": "SHA512"}
REFUSED = (
    "otp_url must be an otpauth://totp/ or otpauth://hotp/ URI with a base32 secret of at least 112 bits, 6 or 8 "
    "digits, a period of 15 to 300 seconds (totp) or a counter (hotp), each parameter once"
)


@dataclass(frozen=True, slots=True)
class KeyUri:
    kind: str  # "totp" or "hotp"
    secret: str
    algorithm: Algorithm
    digits: int
    period: int  # totp (30 when an hotp URI)
    counter: int | None  # hotp
    label: str
    issuer: str | None


def _path(issuer: str, label: str) -> str:
    return f"{quote(issuer, safe='')}:{quote(label, safe='')}" if issuer and label else quote(issuer or label, safe="")


def totp_uri(secret: str, label: str, issuer: str, algorithm: str, digits: int, period: int) -> str:
    """`otpauth://totp/Issuer:label?...`; without an issuer the label stands alone."""
    query = {"secret": secret, "issuer": issuer, "algorithm": algorithm, "digits": digits, "period": period}
    if not issuer:
        del query["issuer"]
    return f"otpauth://totp/{_path(issuer, label)}?{urlencode(query, quote_via=quote)}"


def hotp_uri(secret: str, label: str, issuer: str, algorithm: str, digits: int, counter: int) -> str:
    """`otpauth://hotp/Issuer:label?...&counter=N`."""
    query = {"secret": secret, "issuer": issuer, "algorithm": algorithm, "digits": digits, "counter": counter}
    if not issuer:
        del query["issuer"]
    return f"otpauth://hotp/{_path(issuer, label)}?{urlencode(query, quote_via=quote)}"


def _text(raw: str) -> str:
    """A label or issuer as other generators encode it: %-escapes, and `+` for a space."""
    return unquote(raw.replace("+", " "), errors="strict")


def _number(params: dict[str, str], name: str, default: int | None) -> int | None:
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 20):
        raise InvalidParameter(REFUSED, "otp_url")
    return int(raw)


def parse(uri: str) -> KeyUri:
    """Read an otpauth URI; anything it refuses is a 400 naming otp_url, with one message."""
    match = re.fullmatch(
        r"(?i:otpauth)://(?P<kind>(?i:totp|hotp))/(?P<label>[^?#]*)(?:\?(?P<query>[^#]*))?", uri.strip()
    )
    if not match:
        raise InvalidParameter(REFUSED, "otp_url")
    params: dict[str, str] = {}
    try:
        for part in filter(None, (match["query"] or "").split("&")):
            name, _, value = part.partition("=")
            name = unquote(name, errors="strict").lower()
            if name in params:  # a parameter given twice: which one an app reads is anyone's guess
                raise InvalidParameter(REFUSED, "otp_url")
            params[name] = _text(value)
        label = _text(match["label"])
    except UnicodeDecodeError:
        raise InvalidParameter(REFUSED, "otp_url") from None
    kind = match["kind"].lower()
    prefix, colon, account = label.partition(":")
    issuer = params.get("issuer")
    if colon and issuer is not None and prefix.strip() != issuer.strip():
        raise InvalidParameter(REFUSED, "otp_url")  # the label's issuer contradicts the issuer parameter
    secret = "".join(params.get("secret", "").split()).rstrip("=").upper()
    algorithm = ALGORITHMS.get(params.get("algorithm", "sha1").lower())
    digits = _number(params, "digits", 6)
    period = _number(params, "period", 30)
    counter = _number(params, "counter", None)
    if (
        not re.fullmatch(SECRET_PATTERN, secret)
        or algorithm is None
        or digits not in (6, 8)
        or period is None
        or (kind == "totp" and not MIN_PERIOD <= period <= MAX_PERIOD)
        or (kind == "hotp" and (counter is None or counter > MAX_COUNTER))
    ):
        raise InvalidParameter(REFUSED, "otp_url")
    return KeyUri(
        kind=kind,
        secret=secret,
        algorithm=algorithm,
        digits=int(digits),
        period=period,
        counter=counter if kind == "hotp" else None,
        label=(account if colon else label).strip(),
        issuer=issuer if issuer is not None else (prefix.strip() if colon else None),
    )
