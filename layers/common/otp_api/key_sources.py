"""The key of a one-time password: its bytes and parameters, from whichever form the request names it in.

Exactly one of `secret` (base32 text, with `digits`, `algorithm` and `period`), `sealed_secret` (a token from
generate with `seal`, which carries them) or `otp_url` (an otpauth:// URI, which carries them) names the key. Each
form is one small reader in `SOURCES`; all give the same `OtpKey`, so replay state and lockout, keyed by the key's
bytes, are shared by every form and spelling of one key.
"""

from collections.abc import Callable
from typing import Any

from msgspec import UNSET

from otp_api.errors import InvalidParameter, MissingParameter
from otp_api.otp_key import OtpKey, secret_bytes

KEY_PARAMETERS = ("secret", "sealed_secret", "otp_url")
KEY_OPTIONS = ("digits", "algorithm", "period")  # given with a secret; a token or URI carries its own


def _hotp(request: Any) -> bool:
    return getattr(request, "type", "") in ("counter_based", "hotp")


def _from_secret(request: Any) -> OtpKey:
    return OtpKey(
        secret_bytes=secret_bytes(request.secret),
        algorithm=request.algorithm or "SHA1",
        digits=request.digits or 6,
        period=getattr(request, "period", None) or 30,
        counter=(request.counter if isinstance(request.counter, int) else 0) if _hotp(request) else None,
    )


def _from_otp_url(request: Any) -> OtpKey:
    from otp_api import otpauth

    uri = otpauth.parse(request.otp_url)
    return OtpKey(secret_bytes(uri.secret), uri.algorithm, uri.digits, uri.period, "otp_url", uri.counter)


def _from_sealed_secret(request: Any) -> OtpKey:
    from otp_api import sealing

    subject = request.subject if isinstance(request.subject, str) else None
    return sealing.unseal(request.sealed_secret, subject)


SOURCES: dict[str, Callable[[Any], OtpKey]] = {
    "secret": _from_secret,
    "sealed_secret": _from_sealed_secret,
    "otp_url": _from_otp_url,
}


def key_of(request: Any, to_seal: bool = False) -> OtpKey:
    """The key a request names (its `secret`, `sealed_secret` or `otp_url`, exactly one; a seal request has no
    sealed_secret to give). `subject` binds a sealed secret: it belongs with one, or with a key `to_seal`."""
    given = [name for name in KEY_PARAMETERS if getattr(request, name, UNSET) is not UNSET]
    if not given:
        raise MissingParameter("secret is required (or sealed_secret, or otp_url)", "secret")
    if len(given) > 1:
        raise InvalidParameter(f"give one of secret, sealed_secret or otp_url, not {' and '.join(given)}", given[1])
    (source,) = given
    if source != "secret":
        for name in (*KEY_OPTIONS, "counter"):
            if getattr(request, name, UNSET) is not UNSET:
                raise InvalidParameter(f"{name} comes from the {source}: leave it out", name)
    if source != "sealed_secret" and not to_seal and request.subject is not UNSET:
        raise InvalidParameter("subject belongs to a sealed_secret: leave it out with a secret or otp_url", "subject")
    key = SOURCES[source](request)
    if key.kind != ("hotp" if _hotp(request) else "totp"):  # an hotp URI or token for a time_based request
        wanted = "counter_based (hotp)" if key.kind == "hotp" else "time_based (totp)"
        raise InvalidParameter(f"this {source} is of type {wanted}: send it with that type", source)
    return key
