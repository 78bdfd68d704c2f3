"""The functions' settings, each declared once (`SETTINGS`: environment variable, the template parameter that sets
it, default, bounds), read and checked once per cold start. The environment variable is the parameter's name in
upper snake case; tests/unit/test_settings.py holds template.yaml to this table."""

import os
import re
from functools import cache
from typing import Any

from msgspec import Struct
from msgspec.structs import fields

MAX_FAILED_ATTEMPTS = 20  # the state item keeps one attribute per failure it remembers (state/rules.py)
_REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]"
# StateRegions: empty (one Region), or three Regions of a global table in strong consistency, the third of which
# may be a witness (`witness:<region>`): docs/operations.md, Three Regions.
STATE_REGIONS_PATTERN = rf"^({_REGION},{_REGION},(witness:)?{_REGION})?$"
WITNESS = "witness:"


class SettingsError(RuntimeError):
    """The function is misconfigured: fail the cold start loudly rather than serve wrong answers."""


class Setting(Struct, frozen=True):
    parameter: str  # the template parameter (or, for what the stack makes, the output) that gives the value
    default: str
    bounds: tuple[int, int] | None = None  # a whole number within these
    boolean: bool = False  # "true" or "false"
    max_length: int | None = None  # text of at most this many characters,
    pattern: str | None = None  # matching this
    description: str = ""

    @property
    def env(self) -> str:
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", self.parameter).upper()

    def read(self) -> Any:
        raw = os.environ.get(self.env, self.default)
        if self.boolean:
            if raw.strip().lower() not in ("true", "false"):
                raise SettingsError(f"{self.env} must be true or false, got {raw!r}")
            return raw.strip().lower() == "true"
        if self.bounds is not None:
            low, high = self.bounds
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{self.env} must be an integer, got {raw!r}") from None
            if not low <= value <= high:
                raise SettingsError(f"{self.env} must be between {low} and {high}, got {value}")
            return value
        if self.max_length is not None and len(raw) > self.max_length:
            raise SettingsError(f"{self.env} must have at most {self.max_length} characters")
        if self.pattern is not None and not re.fullmatch(self.pattern, raw):
            raise SettingsError(f"{self.env} must match {self.pattern}")
        return raw


SETTINGS: dict[str, Setting] = {
    # made by the stack (outputs of the same name), or adopted
    "bucket": Setting("ImageBucketName", ""),
    "table": Setting("VerifyStateTableName", ""),
    "kms_key_id": Setting("SealingKeyArn", "", description="empty: sealing is off"),
    # template parameters
    "default_issuer": Setting("DefaultIssuer", "otp-api", max_length=64, pattern="^[^:]*$"),
    "url_expiry_seconds": Setting("QrUrlExpirySeconds", "300", (1, 3600)),
    "warm_up_at_init": Setting("EnableSnapStart", "false", boolean=True),
    "cors_allowed_origins": Setting("CorsAllowedOrigins", ""),
    "replay_protection": Setting("ReplayProtection", "true", boolean=True),
    "max_failed_attempts": Setting("MaxFailedAttempts", "5", (0, MAX_FAILED_ATTEMPTS)),
    "lockout_seconds": Setting("LockoutWindowSeconds", "900", (1, 86_400)),
    "max_consecutive_failures": Setting("MaxConsecutiveFailures", "100", (1, 100)),
    "max_failures_in_thirty_days": Setting("MaxFailuresInThirtyDays", "100", (1, 1000)),
    "list_codes": Setting("ListCodes", "true", boolean=True),
    "totp_resync_window": Setting("TotpResyncWindow", "10", (1, 60)),
    "hotp_look_ahead": Setting("HotpLookAhead", "10", (1, 100)),
    "hotp_resync_window": Setting("HotpResyncWindow", "100", (2, 1000)),
    # passkeys (kinds/passkey.py): the relying party's id (a domain; empty: passkeys are off), the origins a
    # ceremony may come from, and whether the authenticator must verify its user
    "passkey_rp_id": Setting("PasskeyRpId", "", max_length=253, pattern=r"^([a-z0-9-]+(\.[a-z0-9-]+)*)?$"),
    "passkey_origins": Setting("PasskeyOrigins", ""),
    "passkey_user_verification": Setting(
        "PasskeyUserVerification", "preferred", pattern="^(preferred|required|discouraged)$"
    ),
    "state_regions": Setting("StateRegions", "", max_length=100, pattern=STATE_REGIONS_PATTERN),
    # the events function's (docs/events.md): an EventBridge bus name, never a pattern an IAM grant would widen
    "event_bus": Setting("EventBusName", "default", max_length=256, pattern=r"^[/.\-_A-Za-z0-9]+$"),
}


class Settings(Struct, frozen=True):
    """What both functions read."""

    bucket: str
    region: str
    default_issuer: str
    url_expiry_seconds: int
    warm_up_at_init: bool  # SnapStart: do at init (snapshotted) what the first requests would pay for
    kms_key_id: str  # the KMS key that seals secrets (ARN or alias); empty: sealing is off


class VerifySettings(Struct, frozen=True):
    """Replay protection and lockout (the OTP function only); on unless configured off."""

    table: str
    replay_protection: bool
    max_failed_attempts: int  # 0: no lockout
    lockout_seconds: int
    max_consecutive_failures: int  # failures since the last accepted code that lock until unlock
    max_failures_in_thirty_days: int  # a person's TOTP and HOTP failures in any 30 days that lock
    list_codes: bool  # verify without a code lists the codes around now (the reference's behaviour)
    totp_resync_window: int  # steps either side of now that a TOTP resync searches
    hotp_look_ahead: int  # counters from the next expected that an HOTP code may be (RFC 4226 7.4)
    hotp_resync_window: int  # counters from the next expected that an HOTP resync searches
    state_regions: str = ""  # empty: one Region; else the global table's Regions (replicas, and maybe a witness)

    @property
    def stateful(self) -> bool:
        return self.replay_protection or self.max_failed_attempts > 0


class EventSettings(Struct, frozen=True):
    """What the events function reads: where events go, and the lockout settings that tell a lock from a failure
    (the OTP function's own values, from the same template parameters)."""

    event_bus: str
    max_failed_attempts: int
    lockout_seconds: int
    max_consecutive_failures: int
    max_failures_in_thirty_days: int
    table: str = ""  # the verify-state table whose stream (NEW_AND_OLD_IMAGES) the records must come from
    state_regions: str = ""  # as VerifySettings'


def _read(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: SETTINGS[name].read() for name in names}


def own_region() -> str:
    """The Region this function runs in (Lambda sets AWS_REGION)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def replica_regions(state_regions: str) -> tuple[str, ...]:
    """The Regions that hold a replica of the state table, in StateRegions' order (a witness holds none); () in
    one Region."""
    return tuple(region for region in state_regions.split(",") if region and not region.startswith(WITNESS))


def writer_region(state_regions: str) -> str | None:
    """What each state write records as its writer (the events function publishes only its own Region's writes):
    this function's Region with StateRegions, nothing in one Region. Checked: three different Regions, and this
    function runs in one holding a replica (a stack in the witness Region, or in none of them, is misconfigured)."""
    if not state_regions:
        return None
    env, region = SETTINGS["state_regions"].env, own_region()
    named = [name.removeprefix(WITNESS) for name in state_regions.split(",")]
    if len(set(named)) != len(named):
        raise SettingsError(f"{env} must name three different Regions, got {state_regions!r}")
    if region not in replica_regions(state_regions):
        raise SettingsError(f"{env} names no replica in this function's Region ({region}): {state_regions!r}")
    return region


@cache
def get_verify_settings() -> VerifySettings:
    settings = VerifySettings(**_read(tuple(field.name for field in fields(VerifySettings))))
    if settings.stateful and not settings.table:
        raise SettingsError(f"{SETTINGS['table'].env} is not set, but replay protection or lockout is on")
    writer_region(settings.state_regions)
    return settings


@cache
def get_event_settings() -> EventSettings:
    settings = EventSettings(**_read(tuple(field.name for field in fields(EventSettings))))
    if not settings.table:
        raise SettingsError(f"{SETTINGS['table'].env} is not set: the events function checks its records' source")
    writer_region(settings.state_regions)
    return settings


class PasskeySettings(Struct, frozen=True):
    """The relying party passkeys are made for (kinds/passkey.py); an empty rp_id turns them off."""

    rp_id: str
    origins: tuple[str, ...]
    user_verification: str  # preferred, required or discouraged


@cache
def get_passkey_settings() -> PasskeySettings:
    values = _read(("passkey_rp_id", "passkey_origins", "passkey_user_verification"))
    origins = tuple(origin.strip() for origin in values["passkey_origins"].split(",") if origin.strip())
    if values["passkey_rp_id"] and not origins:
        raise SettingsError(f"{SETTINGS['passkey_origins'].env} is not set, but {SETTINGS['passkey_rp_id'].env} is")
    return PasskeySettings(values["passkey_rp_id"], origins, values["passkey_user_verification"])


def cors_origins() -> list[str]:
    """Origins allowed to call the API from a browser (comma-separated); none by default."""
    return [origin.strip() for origin in SETTINGS["cors_allowed_origins"].read().split(",") if origin.strip()]


@cache
def get_settings() -> Settings:
    values = _read(("bucket", "default_issuer", "url_expiry_seconds", "warm_up_at_init", "kms_key_id"))
    if not values["bucket"]:
        raise SettingsError(f"{SETTINGS['bucket'].env} is not set")
    return Settings(region=own_region(), **values)
