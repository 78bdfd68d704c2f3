"""Enrolment and verification of TOTP secrets: the domain behind POST /otp."""

import secrets

from otp_api import otpauth, storage, totp
from otp_api.models import GenerateRequest, GenerateResponse, VerifyRequest, VerifyResponse
from otp_api.observability import count
from otp_api.render import render
from otp_api.settings import get_settings

QR_PREFIX = "otp-qr/"
QR_SCALE = 4  # pixels per module: a version-7 code is about 240 px, easy for phone cameras


def generate(request: GenerateRequest) -> GenerateResponse:
    issuer = get_settings().default_issuer if request.issuer is None else request.issuer
    secret = totp.new_secret(request.algorithm)
    otp_url = otpauth.totp_uri(secret, request.label, issuer, request.algorithm, request.digits, request.period)
    image = render(otp_url, "qr_code", scale=QR_SCALE, fmt="png")
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
        qrcode_expires_at=link.expires_at.isoformat().replace("+00:00", "Z"),
        secret=secret,
        type="totp",
    )


def verify(request: VerifyRequest) -> VerifyResponse:
    secret = totp.normalise_secret(request.secret)
    codes = totp.codes_around(secret, request.digits, request.algorithm, request.period)
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
        response.valid = matched is not None
        response.matched = matched
        count("OtpVerified", result="valid" if response.valid else "invalid")
    return response
