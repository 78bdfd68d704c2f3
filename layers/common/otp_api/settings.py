"""Environment variables, read and checked once per cold start."""

import os
from dataclasses import dataclass
from functools import cache

MAX_URL_EXPIRY_SECONDS = 3600


class SettingsError(RuntimeError):
    """The function is misconfigured: fail the cold start loudly rather than serve wrong answers."""


@dataclass(frozen=True, slots=True)
class Settings:
    bucket: str
    region: str
    default_issuer: str
    url_expiry_seconds: int


def _int(name: str, default: str, low: int, high: int) -> int:
    raw = os.environ.get(name, default)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


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
    )
