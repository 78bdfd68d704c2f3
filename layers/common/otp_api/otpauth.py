"""Key URI format (otpauth://), written as authenticator apps read it and read as apps and other tools write it.

One reader for the URIs of a scheme (`otpauth://totp/`, `otpauth://hotp/`, or a kind's own). It takes every URI
generate makes (all periods from 15 to 300 s, both digit counts, all algorithms, any names) and the spellings
other generators write: an upper-case scheme or type (RFC 3986: schemes are case-insensitive), `+` for a space in
the label and issuer, a lower-case algorithm. It refuses what is ambiguous or unsafe: a parameter given twice, a
label prefix that contradicts `issuer`, an unknown algorithm, numbers that are not ASCII digits, a secret under
112 bits, an HOTP URI (a counted scheme's) without its counter.
"""

import re
from typing import Any
from urllib.parse import quote, unquote, urlencode

from msgspec import Struct

from otp_api.errors import InvalidParameter
from otp_api.oath import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    DEFAULT_PERIOD,
    MAX_COUNTER,
    MAX_PERIOD,
    MIN_PERIOD,
    MIN_SECRET_BITS,
    SECRET_PATTERN,
    Algorithm,
    OtpKey,
    Scheme,
    normalised_secret,
)

ALGORITHM_NAMES: dict[str, Algorithm] = {name.lower(): name for name in ALGORITHMS}  # apps write them in any case
URI = re.compile(r"(?i:otpauth)://(?P<scheme>[A-Za-z][A-Za-z0-9]*)/(?P<label>[^?#]*)(?:\?(?P<query>[^#]*))?")


def refused(scheme: Scheme) -> str:
    """The one message for an otp_url a scheme's reader refuses."""
    moving = "a counter" if scheme.counted else f"a period of {MIN_PERIOD} to {MAX_PERIOD} seconds"
    return (
        f"otp_url must be an otpauth://{scheme.name}/ URI with a base32 secret of at least {MIN_SECRET_BITS} bits, "
        f"{' or '.join(map(str, scheme.lengths))} {scheme.unit}, {moving}, each parameter once"
    )


class KeyUri(Struct, frozen=True):
    scheme: str  # its type: the scheme's name
    secret: str
    algorithm: Algorithm
    digits: int
    period: int  # a scheme of time steps' (30 for a counted one)
    counter: int | None  # a counted scheme's
    label: str
    issuer: str | None


def _path(issuer: str, label: str) -> str:
    return f"{quote(issuer, safe='')}:{quote(label, safe='')}" if issuer and label else quote(issuer or label, safe="")


def uri(key: OtpKey, label: str, issuer: str) -> str:
    """`otpauth://totp/Issuer:label?...&period=N`, or `otpauth://hotp/...&counter=N` for an HOTP key (a counted
    scheme's); without an issuer the label stands alone."""
    query: dict[str, Any] = {"secret": key.base32, "issuer": issuer, "algorithm": key.algorithm, "digits": key.digits}
    if not issuer:
        del query["issuer"]
    query |= {"counter": key.counter} if key.scheme.counted else {"period": key.period}
    return f"otpauth://{key.scheme.name}/{_path(issuer, label)}?{urlencode(query, quote_via=quote)}"


def _text(raw: str) -> str:
    """A label or issuer as other generators encode it: %-escapes, and `+` for a space."""
    return unquote(raw.replace("+", " "), errors="strict")


def _number(params: dict[str, str], name: str, default: int | None, scheme: Scheme) -> int | None:
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 20):
        raise InvalidParameter(refused(scheme), "otp_url")
    return int(raw)


def type_of(uri: str) -> str | None:
    """The type an otpauth URI names (lower case), if it is one."""
    match = URI.fullmatch(uri.strip())
    return match["scheme"].lower() if match else None


def parse(uri: str, scheme: Scheme) -> KeyUri:
    """Read an otpauth URI of `scheme`; anything it refuses is a 400 naming otp_url, with one message."""
    match = URI.fullmatch(uri.strip())
    if not match or match["scheme"].lower() != scheme.name:
        raise InvalidParameter(refused(scheme), "otp_url")
    params: dict[str, str] = {}
    try:
        for part in filter(None, (match["query"] or "").split("&")):
            name, _, value = part.partition("=")
            name = unquote(name, errors="strict").lower()
            if name in params:  # a parameter given twice: which one an app reads is anyone's guess
                raise InvalidParameter(refused(scheme), "otp_url")
            params[name] = _text(value)
        label = _text(match["label"])
    except UnicodeDecodeError:
        raise InvalidParameter(refused(scheme), "otp_url") from None
    prefix, colon, account = label.partition(":")
    issuer = params.get("issuer")
    if colon and issuer is not None and prefix.strip() != issuer.strip():
        raise InvalidParameter(refused(scheme), "otp_url")  # the label's issuer contradicts the issuer parameter
    secret = normalised_secret(params.get("secret", ""))
    algorithm = ALGORITHM_NAMES.get(params.get("algorithm", DEFAULT_ALGORITHM).lower())
    digits = _number(params, "digits", scheme.lengths[0], scheme)
    period = _number(params, "period", DEFAULT_PERIOD, scheme)
    counter = _number(params, "counter", None, scheme)
    if (
        not re.fullmatch(SECRET_PATTERN, secret)
        or algorithm is None
        or digits not in scheme.lengths
        or period is None
        or (not scheme.counted and not MIN_PERIOD <= period <= MAX_PERIOD)
        or (scheme.counted and (counter is None or counter > MAX_COUNTER))
    ):
        raise InvalidParameter(refused(scheme), "otp_url")
    return KeyUri(
        scheme=scheme.name,
        secret=secret,
        algorithm=algorithm,
        digits=int(digits),
        period=period,
        counter=counter if scheme.counted else None,
        label=(account if colon else label).strip(),
        issuer=issuer if issuer is not None else (prefix.strip() if colon else None),
    )
