"""Enrolment and verification of TOTP secrets: the domain behind POST /otp."""

import time

from otp_api import totp, verify_state
from otp_api.errors import TooManyAttempts
from otp_api.models import GenerateRequest, GenerateResponse, Reason, VerifyRequest, VerifyResponse
from otp_api.observability import count, count_event
from otp_api.render import ErrorLevel
from otp_api.settings import get_settings, get_verify_settings

QR_PREFIX = "otp-qr/"
QR_SCALE = 4  # pixels per module: an otpauth URI makes a 57-69 module symbol, about 230-280 px with its quiet zone
QR_ERROR: ErrorLevel = "M"  # 15 % recovery: a failed scan at enrolment costs more than the 1-2 versions it adds over L
# Data mask 2 is the one segno's own search picks most often for otpauth URIs; fixing it skips the search (most of
# the render time). tests/test_qr_mask.py decodes thousands of random enrolments with two independent readers.
QR_MASK = 2


def warm_up() -> None:
    """With SnapStart the init phase is snapshotted and restored: do there everything the first requests would
    otherwise pay for (clients, libraries, a first render). Random secrets come from os.urandom after a restore
    too, so nothing predictable is captured in the snapshot."""
    from otp_api import storage
    from otp_api.render import render

    storage.connect()
    verify_state.connect()
    warm_up_uri = "otpauth://totp/warm-up?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    render(warm_up_uri, "qr_code", scale=QR_SCALE, fmt="png", error=QR_ERROR, mask=QR_MASK)


def generate(request: GenerateRequest) -> GenerateResponse:
    # Imported here: a verify-only instance never pays for URI building, rendering or S3.
    import secrets

    from otp_api import otpauth, storage
    from otp_api.render import render

    issuer = get_settings().default_issuer if request.issuer is None else request.issuer
    secret = totp.new_secret(request.algorithm)
    otp_url = otpauth.totp_uri(secret, request.label, issuer, request.algorithm, request.digits, request.period)
    image = render(otp_url, "qr_code", scale=QR_SCALE, fmt="png", error=QR_ERROR, mask=QR_MASK)
    # A random key: nothing about the secret can be read from the URL or the bucket listing.
    link = storage.store(f"{QR_PREFIX}{secrets.token_urlsafe(24)}.png", image.data, image.content_type)
    count("OtpGenerated", algorithm=request.algorithm)
    return GenerateResponse(
        algorithm=request.algorithm,
        digits=request.digits,
        issuer=issuer,
        label=request.label,
        otp_url=otp_url,
        period=request.period,
        qrcode_url=link.url,
        qrcode_expires_at=link.expires_at_text,
        secret=secret,
        type="totp",
    )


def verify(request: VerifyRequest) -> VerifyResponse:
    secret = totp.normalise_secret(request.secret)
    now = time.time()
    codes = totp.codes_around(secret, request.digits, request.algorithm, request.period, now)
    response = VerifyResponse(
        algorithm=request.algorithm,
        digits=request.digits,
        otp_codes=codes,
        period=request.period,
        secret=secret,
        type="totp",
    )
    if request.code is not None:
        matched = totp.match(request.code, codes, request.period)
        response.valid, response.reason = _check_state(secret, matched, now, request.period)
        response.matched = matched if response.valid else None
        count("OtpVerified", result="valid" if response.valid else response.reason or "invalid")
    return response


def _check_state(secret: str, matched: str | None, now: float, period: int) -> tuple[bool, Reason | None]:
    """Replay protection and lockout; answers (valid, reason). Raises TooManyAttempts or StateUnavailable."""
    settings = get_verify_settings()
    if not settings.stateful:
        return matched is not None, None if matched else "no_match"
    key = verify_state.secret_key(secret)
    if matched is None:
        attempt = verify_state.record_failure(key, int(now), period)
        if attempt.failures == settings.max_failed_attempts:
            count_event("OtpLockout")
        reason: Reason | None = "no_match"
    else:
        attempt = verify_state.accept(key, totp.step_of(matched, now, period), int(now), period)
        reason = attempt.reason
    if attempt.locked_for:
        raise TooManyAttempts(attempt.locked_for)
    return attempt.accepted, reason
