"""The key's spellings: how a request names the key of a one-time password, read into one `OtpKey`.

Exactly one of `secret` (base32 text, with `digits`, `algorithm` and `period` or `counter`), `sealed_secret` (a
token from generate with `seal`, which carries them) or `otp_url` (an otpauth:// URI, which carries them) names the
key. Each is one small reader in `READERS`; all give the same `OtpKey`, so the state of a key, kept by its bytes,
is shared by every spelling of it.

A sealed secret (`s1.`) holds, under the stack's KMS key: one byte for the algorithm (its high bit set for an HOTP
key, the next for a token that carries its sealing time), one for the digits, then two bytes of period (TOTP) or
eight of first counter (HOTP), then eight of the sealing time (Unix milliseconds; a person's revocation retires
the tokens sealed before it; tokens sealed before this field existed count as sealed at 0), then the key bytes.
What decrypts is still checked: a payload of an unknown algorithm, digits or period, or too short to hold a key,
is refused like any foreign token (only a holder of kms:Encrypt under the context could make one).
"""

import math
import struct
import time
from collections.abc import Callable
from typing import Any

from msgspec import UNSET

from otp_api import kms, oath
from otp_api.errors import InvalidParameter, MissingParameter
from otp_api.oath import OtpKey

KEY_PARAMETERS = ("secret", "sealed_secret", "otp_url")
KEY_OPTIONS = ("digits", "algorithm", "period", "counter")  # given with a secret; a token or URI carries its own
SEALED_SECRET = kms.SealedForm("s1.", kms.CONTEXT, "sealed_secret", "sealed_secret is not a sealed secret of this API")
_TOTP_HEADER = struct.Struct(">BBH")  # algorithm index, digits, period
_HOTP_HEADER = struct.Struct(">BBQ")  # algorithm index with HOTP set, digits, first counter
_SEALED_AT = struct.Struct(">Q")
HOTP = 0x80  # the algorithm byte's high bit: an HOTP key
TIMED = 0x40  # its next: the sealing time follows the header


def subject_of(request: Any) -> str | None:
    """The user a request's sealed token is (or is to be) bound to, if it names one."""
    subject = getattr(request, "subject", UNSET)
    return subject if isinstance(subject, str) else None


def sealed_payload(key: OtpKey) -> bytes:
    """What a sealed secret encrypts: the parameters, then the key bytes."""
    algorithm = oath.ALGORITHMS.index(key.algorithm) | TIMED
    sealed_at = _SEALED_AT.pack(math.floor(time.time() * 1000))
    if key.counter is not None:
        return _HOTP_HEADER.pack(algorithm | HOTP, key.digits, key.counter) + sealed_at + key.secret_bytes
    return _TOTP_HEADER.pack(algorithm, key.digits, key.period) + sealed_at + key.secret_bytes


def seal(key: OtpKey, subject: str | None, off_parameter: str = "seal") -> str:
    """The key's sealed secret, bound to `subject` if given."""
    return kms.seal(sealed_payload(key), SEALED_SECRET, subject, off_parameter)


def unseal(token: str, subject: str | None = None) -> OtpKey:
    """The key and parameters a sealed secret carries; any token this stack did not seal, or a payload out of
    bounds, is one 400 naming sealed_secret."""
    plain = kms.unseal(token, SEALED_SECRET, subject)
    hotp, timed = bool(plain) and bool(plain[0] & HOTP), bool(plain) and bool(plain[0] & TIMED)
    header = _HOTP_HEADER if hotp else _TOTP_HEADER
    size = header.size + (_SEALED_AT.size if timed else 0)
    if len(plain) < size + oath.MIN_SECRET_BYTES:
        raise InvalidParameter(SEALED_SECRET.refused, SEALED_SECRET.parameter)
    algorithm, digits, number = header.unpack_from(plain)
    algorithm &= ~(HOTP | TIMED)
    (sealed_at,) = _SEALED_AT.unpack_from(plain, header.size) if timed else (0,)
    period = oath.DEFAULT_PERIOD if hotp else number
    if (
        algorithm >= len(oath.ALGORITHMS)
        or digits not in oath.DIGITS
        or not oath.MIN_PERIOD <= period <= oath.MAX_PERIOD
    ):
        raise InvalidParameter(SEALED_SECRET.refused, SEALED_SECRET.parameter)
    return OtpKey(plain[size:], oath.ALGORITHMS[algorithm], digits, period, number if hotp else None, sealed_at)


def _given(request: Any, name: str, default: Any) -> Any:
    value = getattr(request, name, UNSET)
    return default if value is UNSET else value


def _from_secret(request: Any, scheme: str) -> OtpKey:
    return OtpKey(
        secret_bytes=oath.secret_bytes(request.secret),
        algorithm=_given(request, "algorithm", oath.DEFAULT_ALGORITHM),
        digits=_given(request, "digits", oath.DEFAULT_DIGITS),
        period=_given(request, "period", oath.DEFAULT_PERIOD),
        counter=_given(request, "counter", 0) if scheme == "hotp" else None,
    )


def _from_otp_url(request: Any, _scheme: str) -> OtpKey:
    from otp_api import otpauth

    uri = otpauth.parse(request.otp_url)
    return OtpKey(oath.secret_bytes(uri.secret), uri.algorithm, uri.digits, uri.period, uri.counter)


def _from_sealed_secret(request: Any, _scheme: str) -> OtpKey:
    return unseal(request.sealed_secret, subject_of(request))


READERS: dict[str, Callable[[Any, str], OtpKey]] = {
    "secret": _from_secret,
    "sealed_secret": _from_sealed_secret,
    "otp_url": _from_otp_url,
}


def key_of(request: Any, scheme: str, to_seal: bool = False) -> OtpKey:
    """`request`: a kind's request model with some of secret, sealed_secret, otp_url, digits, algorithm, period,
    counter and subject (UNSET where not given).

    The key of `scheme` ("totp" or "hotp") a request names (its `secret`, `sealed_secret` or `otp_url`, exactly
    one; a seal request has no sealed_secret to give); a key of the other scheme is a 400. With a secret, the
    key's parameters are the request's own (`period` for TOTP, `counter` for HOTP). `subject` binds a sealed
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
    key = READERS[source](request, scheme)
    if key.scheme != scheme:  # an hotp URI or token for a time_based request
        wanted = "counter_based (hotp)" if key.scheme == "hotp" else "time_based (totp)"
        raise InvalidParameter(f"this {source} is of type {wanted}: send it with that type", source)
    return key
