"""The key's spellings: how a request names the key of a one-time password, read into one `OtpKey`.

Exactly one of `secret` (base32 text, with `digits`, `algorithm` and `period` or `counter`), `sealed_secret` (a
token from generate with `seal`, which carries them) or `otp_url` (an otpauth:// URI, which carries them) names the
key. Each is one small reader in `READERS`; all give the same `OtpKey`, so the state of a key, kept by its bytes,
is shared by every spelling of it.

Each key is of one scheme (`oath.Scheme`: TOTP, HOTP, or a kind's own), which the request's kind names: a
well-formed key of another OATH scheme is a 400 that says so; anything else is refused as any foreign token or URI.

A sealed secret (`s1.`) holds, under the stack's KMS key: one byte for the algorithm, with the scheme's tag (HOTP's
is the high bit) and TIMED (a token that carries its sealing time), one for the digits, then two bytes of period (a
scheme of time steps) or eight of first counter (a counted scheme), then eight of the sealing time (Unix
milliseconds; a person's revocation retires the tokens sealed before it; tokens sealed before this field existed
count as sealed at 0), then the key bytes. What decrypts is still checked: a payload of an unknown algorithm,
digits or period, or too short to hold a key, is refused like any foreign token (only a holder of kms:Encrypt under
the context could make one).
"""

import math
import struct
import time
from collections.abc import Callable
from typing import Any

from msgspec import UNSET

from otp_api import kms, oath
from otp_api.errors import InvalidParameter, MissingParameter
from otp_api.oath import TIMED, OtpKey, Scheme

KEY_PARAMETERS = ("secret", "sealed_secret", "otp_url")
KEY_OPTIONS = ("digits", "algorithm", "period", "counter")  # given with a secret; a token or URI carries its own
SEALED_SECRET = kms.SealedForm("s1.", kms.CONTEXT, "sealed_secret", "sealed_secret is not a sealed secret of this API")
_TIMED_HEADER = struct.Struct(">BBH")  # algorithm index with the scheme's tag, digits, period
_COUNTED_HEADER = struct.Struct(">BBQ")  # algorithm index with the scheme's tag, digits, first counter
_SEALED_AT = struct.Struct(">Q")


def subject_of(request: Any) -> str | None:
    """The user a request's sealed token is (or is to be) bound to, if it names one."""
    subject = getattr(request, "subject", UNSET)
    return subject if isinstance(subject, str) else None


def _header(scheme: Scheme) -> struct.Struct:
    return _COUNTED_HEADER if scheme.counted else _TIMED_HEADER


def sealed_payload(key: OtpKey) -> bytes:
    """What a sealed secret encrypts: the parameters, then the key bytes."""
    first = oath.ALGORITHMS.index(key.algorithm) | key.scheme.tag | TIMED
    moving = key.counter if key.scheme.counted else key.period
    sealed_at = _SEALED_AT.pack(math.floor(time.time() * 1000))
    return _header(key.scheme).pack(first, key.digits, moving) + sealed_at + key.secret_bytes


def seal(key: OtpKey, subject: str | None, off_parameter: str = "seal") -> str:
    """The key's sealed secret, bound to `subject` if given."""
    return kms.seal(sealed_payload(key), SEALED_SECRET, subject, off_parameter)


def unseal(token: str, scheme: Scheme, subject: str | None = None) -> OtpKey:
    """The key of `scheme` and the parameters a sealed secret carries. Any token this stack did not seal, or whose
    payload is of no scheme `scheme` knows (itself and the OATH kinds') or out of its bounds, is the one 400 naming
    sealed_secret; a well-formed key of another known scheme, one that says which."""
    plain = kms.unseal(token, SEALED_SECRET, subject)
    tag = plain[0] & oath.TAG_BITS if plain else None
    found = next((known for known in (scheme, *oath.SCHEMES) if known.tag == tag), None)
    key = _payload_key(plain, found) if found is not None else None
    if key is None:
        raise InvalidParameter(SEALED_SECRET.refused, SEALED_SECRET.parameter)
    if key.scheme != scheme:  # an hotp token for a time_based request
        raise other_scheme("sealed_secret", key.scheme)
    return key


def _payload_key(plain: bytes, scheme: Scheme) -> OtpKey | None:
    """The key a payload of `scheme` carries, or None if it is out of bounds."""
    header = _header(scheme)
    size = header.size + (_SEALED_AT.size if plain[0] & TIMED else 0)
    if len(plain) < size + oath.MIN_SECRET_BYTES:
        return None
    algorithm, digits, moving = header.unpack_from(plain)
    algorithm &= oath.ALGORITHM_BITS
    (sealed_at,) = _SEALED_AT.unpack_from(plain, header.size) if plain[0] & TIMED else (0,)
    period = oath.DEFAULT_PERIOD if scheme.counted else moving
    if (
        algorithm >= len(oath.ALGORITHMS)
        or digits not in scheme.lengths
        or not oath.MIN_PERIOD <= period <= oath.MAX_PERIOD
    ):
        return None
    counter = moving if scheme.counted else None
    return OtpKey(scheme, plain[size:], oath.ALGORITHMS[algorithm], digits, period, counter, sealed_at)


def other_scheme(source: str, found: Scheme) -> InvalidParameter:
    """The 400 for a well-formed key of another scheme than the request's kind takes."""
    return InvalidParameter(f"this {source} is of type {found.kind} ({found.name}): send it with that type", source)


def _given(request: Any, name: str, default: Any) -> Any:
    value = getattr(request, name, UNSET)
    return default if value is UNSET else value


def _from_secret(request: Any, scheme: Scheme) -> OtpKey:
    return OtpKey(
        scheme=scheme,
        secret_bytes=oath.secret_bytes(request.secret),
        algorithm=_given(request, "algorithm", oath.DEFAULT_ALGORITHM),
        digits=_given(request, "digits", scheme.lengths[0]),
        period=_given(request, "period", oath.DEFAULT_PERIOD),
        counter=_given(request, "counter", 0) if scheme.counted else None,
    )


def _from_otp_url(request: Any, scheme: Scheme) -> OtpKey:
    from otp_api import otpauth

    named = otpauth.type_of(request.otp_url)
    found = next((known for known in oath.SCHEMES if known.name == named and known != scheme), None)
    if found is not None:  # an hotp URI for a time_based request: said so if it is a well-formed one
        try:
            otpauth.parse(request.otp_url, found)
        except InvalidParameter:
            raise InvalidParameter(otpauth.refused(scheme), "otp_url") from None
        raise other_scheme("otp_url", found)
    uri = otpauth.parse(request.otp_url, scheme)
    return OtpKey(scheme, oath.secret_bytes(uri.secret), uri.algorithm, uri.digits, uri.period, uri.counter)


def _from_sealed_secret(request: Any, scheme: Scheme) -> OtpKey:
    return unseal(request.sealed_secret, scheme, subject_of(request))


READERS: dict[str, Callable[[Any, Scheme], OtpKey]] = {
    "secret": _from_secret,
    "sealed_secret": _from_sealed_secret,
    "otp_url": _from_otp_url,
}


def key_of(request: Any, scheme: Scheme, to_seal: bool = False) -> OtpKey:
    """`request`: a kind's request model with some of secret, sealed_secret, otp_url, digits, algorithm, period,
    counter and subject (UNSET where not given).

    The key of `scheme` (its kind's: oath.TOTP, oath.HOTP or its own) a request names (its `secret`,
    `sealed_secret` or `otp_url`, exactly one; a seal request has no sealed_secret to give); a key of another
    scheme is a 400. With a secret, the key's parameters are the request's own (`period` for a scheme of time
    steps, `counter` for a counted one). `subject` binds a sealed
    secret: it belongs with one, or with a key `to_seal`."""
    given = [name for name in KEY_PARAMETERS if getattr(request, name, UNSET) is not UNSET]
    if not given:
        raise MissingParameter("secret is required (or sealed_secret, or otp_url)", "secret")
    if len(given) > 1:
        raise InvalidParameter(f"give one of secret, sealed_secret or otp_url, not {' and '.join(given)}", given[1])
    (source,) = given
    if source != "secret":
        for name in KEY_OPTIONS:
            if getattr(request, name, UNSET) is not UNSET:
                raise InvalidParameter(f"{name} comes from the {source}: leave it out", name)
    if source != "sealed_secret" and not to_seal and getattr(request, "subject", UNSET) is not UNSET:
        raise InvalidParameter("subject belongs to a sealed_secret: leave it out with a secret or otp_url", "subject")
    return READERS[source](request, scheme)
