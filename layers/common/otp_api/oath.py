"""The OATH vocabulary (RFC 4226 HOTP, RFC 6238 TOTP), once: a key as bytes with its parameters, the bounds every
spelling of a key is held to, how secrets and codes are normalised, and codes computed and matched in constant
time (on top of pyotp). Nothing here knows HTTP, DynamoDB or KMS."""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from typing import Literal

import pyotp

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
ALGORITHMS: tuple[Algorithm, ...] = ("SHA1", "SHA256", "SHA512")
Digits = Literal[6, 8]
DIGITS: tuple[Digits, ...] = (6, 8)
DEFAULT_ALGORITHM: Algorithm = "SHA1"
DEFAULT_DIGITS: Digits = 6
DEFAULT_PERIOD = 30
MIN_PERIOD, MAX_PERIOD = 15, 300
MAX_COUNTER = 2**63 - 1  # RFC 4226's counter has 8 bytes; JSON schema tools (and msgspec's bounds) stop at int64
MIN_SECRET_BITS = 112
MIN_SECRET_BYTES = MIN_SECRET_BITS // 8
# base32 (5 bits a character) of at least MIN_SECRET_BITS, as people paste it (Python `re` syntax, also ECMA 262)
SECRET_PATTERN = rf"^\s*(?:[A-Za-z2-7]\s*){{{-(-MIN_SECRET_BITS // 5)},}}(?:=\s*)*$"
# RFC 6238 §5.1: the key should be as long as the HMAC output; RFC 4226 §4 asks for at least 160 bits.
SECRET_BYTES: dict[Algorithm, int] = {"SHA1": 20, "SHA256": 32, "SHA512": 64}
DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
HMAC_BLOCK_BYTES: dict[Algorithm, int] = {"SHA1": 64, "SHA256": 64, "SHA512": 128}
LISTED_OFFSETS = (1, 0, -1, -2)  # listed as in the reference; the last is shown, never accepted


@dataclass(frozen=True, slots=True)  # (not a Struct as the other values are: `sealed_at` is left out of equality)
class OtpKey:
    """A key and its parameters, however a request spelled or sealed it."""

    secret_bytes: bytes
    algorithm: Algorithm
    digits: int
    period: int  # seconds per step (TOTP; DEFAULT_PERIOD for an HOTP key, which has none)
    counter: int | None = None  # HOTP: the device's first counter; None: a TOTP key
    # when its sealed secret was sealed (Unix milliseconds; 0: a token sealed before tokens carried it, or no token)
    sealed_at: int = field(default=0, compare=False)

    @property
    def scheme(self) -> str:
        """The key's otpauth type: "totp" or "hotp"."""
        return "totp" if self.counter is None else "hotp"

    @property
    def base32(self) -> str:
        """The key as pyotp and authenticator apps spell it: base32 without padding."""
        return base64.b32encode(self.secret_bytes).decode("ascii").rstrip("=")


def normalised_secret(text: str) -> str:
    """A secret as people paste it (spaces, lower case, '=' padding), as base32 without padding."""
    return "".join(text.split()).rstrip("=").upper()


def secret_bytes(text: str) -> bytes:
    """The key bytes a secret spells (the request model has checked it is base32 of at least 112 bits). A length no
    encoder produces (1, 3 or 6 past a multiple of 8) ends in bits that make no whole byte: they are dropped, as
    authenticator apps do, so that every spelling of a key has the same bytes."""
    secret = normalised_secret(text)
    if len(secret) % 8 in (1, 3, 6):
        secret = secret[:-1]
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def normalised_code(code: str) -> bytes:
    """A code as typed (spaces ignored), as the bytes compared."""
    return "".join(code.split()).encode()


def new_secret(algorithm: Algorithm) -> str:
    """A fresh CSPRNG key as base32 without padding."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES[algorithm])).decode("ascii").rstrip("=")


def step_at(now: float, period: int) -> int:
    return int(now // period)


def step_label(offset: int, period: int) -> str:
    """How the answer names the step `offset` steps from now: "+30s", "current", "-30s", "-60s"."""
    return "current" if offset == 0 else f"{offset * period:+d}s"


def _otp(key: OtpKey) -> pyotp.OTP:
    return pyotp.OTP(key.base32, digits=key.digits, digest=DIGESTS[key.algorithm])


def code_at(key: OtpKey, counter: int) -> str:
    """The code of a counter (HOTP) or of a time step (TOTP)."""
    return _otp(key).generate_otp(counter)


def codes_around(key: OtpKey, now: float) -> dict[str, str]:
    """Codes for the next, current, previous and second previous time step (steps before 1970 have none)."""
    otp, step = _otp(key), step_at(now, key.period)
    return {step_label(o, key.period): otp.generate_otp(step + o) for o in LISTED_OFFSETS if step + o >= 0}


def _same(candidate: bytes, otp: pyotp.OTP, count: int) -> bool:
    return hmac.compare_digest(candidate, otp.generate_otp(max(count, 0)).encode()) and count >= 0  # (none < 0)


def matches(code: str, key: OtpKey, counters: range) -> list[int]:
    """Every counter (or step) among `counters` whose code is `code`. Not pyotp's `verify`: it answers only yes or
    no and stops at the first match, so its timing tells which matched; here every candidate is compared, in
    constant time."""
    candidate, otp = normalised_code(code), _otp(key)
    return [counter for counter in counters if _same(candidate, otp, counter)]


def pair_matches(code: str, next_code: str, key: OtpKey, counters: range) -> list[int]:
    """Every counter among `counters` whose code is `code` and whose next counter's code is `next_code`."""
    first, second, otp = normalised_code(code), normalised_code(next_code), _otp(key)
    return [c for c in counters if _same(first, otp, c) & _same(second, otp, c + 1)]


def hmac_key(key: OtpKey) -> bytes:
    """The key as HMAC uses it (RFC 2104 §2), without the zero bytes HMAC pads it with: a key longer than its
    hash's block is hashed first, and a shorter one padded. How the state of a key was kept before it was kept by
    `state_bytes` (read, for keys where the two differ, so that nothing kept is lost)."""
    raw = key.secret_bytes
    if len(raw) > HMAC_BLOCK_BYTES[key.algorithm]:
        raw = DIGESTS[key.algorithm](raw).digest()
    return raw.rstrip(b"\x00")


def hmac_keys(key: OtpKey) -> set[bytes]:
    """The key as HMAC uses it under each algorithm (`hmac_key`): where the state of a key was kept before it was
    kept by its bytes, whatever algorithm the requests of then named it with."""
    return {hmac_key(replace(key, algorithm=algorithm)) for algorithm in ALGORITHMS}


def state_bytes(key: OtpKey) -> bytes:
    """What the state of a key is kept by: its bytes without trailing zero bytes, whatever the algorithm. K and K
    followed by zero bytes make the same codes (HMAC pads a short key with them) and share one state; so does one key
    under SHA1, SHA256 and SHA512: a key revoked, locked or used under one algorithm is under every one. (A key
    longer than its hash's block and that hash, which make the same codes under one algorithm, are two keys here.)"""
    return key.secret_bytes.rstrip(b"\x00")
