"""The OATH vocabulary (RFC 4226 HOTP, RFC 6238 TOTP), once: a key as bytes with its parameters and its scheme,
the bounds every spelling of a key is held to, how secrets and codes are normalised, and codes computed and matched
in constant time (on top of pyotp). Nothing here knows HTTP, DynamoDB or KMS.

A `Scheme` says what a kind's codes are: what moves them (a counter, or time steps), how a key makes the code of a
counter or step, how a typed code is compared, what its length counts and its mark in a sealed secret. TOTP and HOTP
share RFC 4226's decimal codes (`SCHEMES`); a kind with codes of its own brings a scheme of its own, and the
spellings, the sealed secret, the otpauth URI and the matcher below follow it."""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import pyotp
from msgspec import Struct

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
# A sealed secret's first byte: the algorithm's index (its two low bits), TIMED (0x40: the sealing time follows), and
# the scheme's tag in the other bits.
ALGORITHM_BITS, TIMED = 0x03, 0x40
TAG_BITS = 0xFF & ~(ALGORITHM_BITS | TIMED)


def normalised_code(code: str) -> bytes:
    """A code as typed (spaces ignored), as the bytes compared."""
    return "".join(code.split()).encode()


def decimal(key: "OtpKey") -> Callable[[int], str]:
    """RFC 4226's codes of a key: its `digits` decimal digits of the dynamic truncation, per counter (or step)."""
    return pyotp.OTP(key.base32, digits=key.digits, digest=DIGESTS[key.algorithm]).generate_otp


class Scheme(Struct, frozen=True):
    """What a kind's codes are (above). Its `name` is its otpauth type and what its answers call it, `kind` the
    `type` its requests are sent with."""

    name: str
    kind: str
    tag: int  # its mark in a sealed secret's first byte, within TAG_BITS (TOTP's, 0, is every older token's)
    counted: bool  # a counter moves it (HOTP: the key has a first counter); otherwise time steps of its period
    coder: Callable[["OtpKey"], Callable[[int], str]] = decimal  # a key's code of each counter or step
    typed: Callable[[str], bytes] = normalised_code  # a code as typed, as compared
    unit: str = "digits"  # what a code's length (the key's `digits`) counts, in words
    lengths: tuple[int, ...] = DIGITS  # the code lengths its keys may have, the default first


TOTP = Scheme("totp", "time_based", tag=0x00, counted=False)
HOTP = Scheme("hotp", "counter_based", tag=0x80, counted=True)
SCHEMES = (TOTP, HOTP)  # the OATH kinds'; a kind's own scheme is its own


@dataclass(frozen=True, slots=True)  # (not a Struct as the other values are: `sealed_at` is left out of equality)
class OtpKey:
    """A key, its scheme and its parameters, however a request spelled or sealed it."""

    scheme: Scheme
    secret_bytes: bytes
    algorithm: Algorithm
    digits: int  # its codes' length (of the scheme's `unit`)
    period: int  # seconds per step (DEFAULT_PERIOD for a key of a counted scheme, which has none)
    counter: int | None = None  # a counted scheme's first counter (None otherwise)
    # when its sealed secret was sealed (Unix milliseconds; 0: a token sealed before tokens carried it, or no token)
    sealed_at: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if (self.counter is not None) != self.scheme.counted:
            raise ValueError(f"a {self.scheme.name} key {'needs' if self.scheme.counted else 'has no'} counter")

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


def new_secret(algorithm: Algorithm) -> str:
    """A fresh CSPRNG key as base32 without padding."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES[algorithm])).decode("ascii").rstrip("=")


def step_at(now: float, period: int) -> int:
    return int(now // period)


def step_label(offset: int, period: int) -> str:
    """How the answer names the step `offset` steps from now: "+30s", "current", "-30s", "-60s"."""
    return "current" if offset == 0 else f"{offset * period:+d}s"


def code_at(key: OtpKey, counter: int) -> str:
    """The code of a counter (HOTP) or of a time step (TOTP)."""
    return key.scheme.coder(key)(counter)


def codes_around(key: OtpKey, now: float) -> dict[str, str]:
    """Codes for the next, current, previous and second previous time step (steps before 1970 have none)."""
    code, step = key.scheme.coder(key), step_at(now, key.period)
    return {step_label(o, key.period): code(step + o) for o in LISTED_OFFSETS if step + o >= 0}


def _same(candidate: bytes, key: OtpKey, code: Callable[[int], str], count: int) -> bool:
    return hmac.compare_digest(candidate, key.scheme.typed(code(max(count, 0)))) and count >= 0  # (none < 0)


def matches(code: str, key: OtpKey, counters: range) -> list[int]:
    """Every counter (or step) among `counters` whose code is `code`. Not pyotp's `verify`: it answers only yes or
    no and stops at the first match, so its timing tells which matched; here every candidate is compared, in
    constant time."""
    candidate, made = key.scheme.typed(code), key.scheme.coder(key)
    return [counter for counter in counters if _same(candidate, key, made, counter)]


def pair_matches(code: str, next_code: str, key: OtpKey, counters: range) -> list[int]:
    """Every counter among `counters` whose code is `code` and whose next counter's code is `next_code`."""
    first, second, made = key.scheme.typed(code), key.scheme.typed(next_code), key.scheme.coder(key)
    return [c for c in counters if _same(first, key, made, c) & _same(second, key, made, c + 1)]


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
