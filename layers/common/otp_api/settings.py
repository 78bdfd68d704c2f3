"""Environment variables, read and checked once per cold start."""

import os
from dataclasses import dataclass
from functools import cache

MAX_URL_EXPIRY_SECONDS = 3600
MAX_FAILED_ATTEMPTS = 20  # the state item keeps one attribute per failure it remembers (verify/rules.py)


class SettingsError(RuntimeError):
    """The function is misconfigured: fail the cold start loudly rather than serve wrong answers."""


@dataclass(frozen=True, slots=True)
class Settings:
    bucket: str
    region: str
    default_issuer: str
    url_expiry_seconds: int
    warm_up_at_init: bool  # SnapStart: do at init (snapshotted) what the first requests would pay for
    kms_key_id: str  # the KMS key that seals secrets (ARN or alias); empty: sealing is off


def _int(name: str, default: str, low: int, high: int) -> int:
    raw = os.environ.get(name, default)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class VerifySettings:
    table: str
    replay_protection: bool
    max_failed_attempts: int  # 0: no lockout
    lockout_seconds: int
    list_codes: bool  # verify without a code lists the codes around now (the reference's behaviour)
    totp_resync_window: int = 10  # steps either side of now that a TOTP resync searches
    hotp_look_ahead: int = 10  # counters from the next expected that an HOTP code may be (RFC 4226 7.4)
    hotp_resync_window: int = 100  # counters from the next expected that an HOTP resync searches

    @property
    def stateful(self) -> bool:
        return self.replay_protection or self.max_failed_attempts > 0


def _bool(name: str, default: str) -> bool:
    raw = os.environ.get(name, default).strip().lower()
    if raw not in ("true", "false"):
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


@cache
def get_verify_settings() -> VerifySettings:
    """Replay protection and lockout (the OTP function only); on unless configured off."""
    settings = VerifySettings(
        table=os.environ.get("TABLE_NAME", ""),
        replay_protection=_bool("REPLAY_PROTECTION", "true"),
        max_failed_attempts=_int("MAX_FAILED_ATTEMPTS", "5", 0, MAX_FAILED_ATTEMPTS),
        lockout_seconds=_int("LOCKOUT_SECONDS", "900", 1, 86_400),
        list_codes=_bool("LIST_CODES", "true"),
        totp_resync_window=_int("TOTP_RESYNC_WINDOW", "10", 1, 60),
        hotp_look_ahead=_int("HOTP_LOOK_AHEAD", "10", 1, 100),
        hotp_resync_window=_int("HOTP_RESYNC_WINDOW", "100", 2, 1000),
    )
    if settings.stateful and not settings.table:
        raise SettingsError("TABLE_NAME is not set, but replay protection or lockout is on")
    return settings


def cors_origins() -> list[str]:
    """Origins allowed to call the API from a browser (CORS_ALLOWED_ORIGINS, comma-separated); none by default."""
    return [origin.strip() for origin in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if origin.strip()]


@cache
def get_settings() -> Settings:
    bucket = os.environ.get("BUCKET_NAME", "")
    if not bucket:
        raise SettingsError("BUCKET_NAME is not set")
    issuer = os.environ.get("DEFAULT_ISSUER", "")
    if ":" in issuer or len(issuer) > 64:
        raise SettingsError("DEFAULT_ISSUER must have no colon and at most 64 characters")
    return Settings(
        bucket=bucket,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        default_issuer=issuer,
        url_expiry_seconds=_int("URL_EXPIRY_SECONDS", "300", 1, MAX_URL_EXPIRY_SECONDS),
        warm_up_at_init=_bool("WARM_UP_AT_INIT", "false"),
        kms_key_id=os.environ.get("SEALING_KEY", ""),
    )
