"""The key of a one-time password: its bytes and parameters, however a request spelled or sealed it."""

import base64
from dataclasses import dataclass

from otp_api.models import Algorithm


@dataclass(frozen=True, slots=True)
class OtpKey:
    secret_bytes: bytes
    algorithm: Algorithm
    digits: int
    period: int  # seconds per step (TOTP; 30 for an HOTP key, which has none)
    source: str = "secret"  # which request parameter named it (key_sources.KEY_PARAMETERS)
    counter: int | None = None  # HOTP: the token's first counter; None: a TOTP key

    @property
    def kind(self) -> str:
        return "totp" if self.counter is None else "hotp"

    @property
    def base32(self) -> str:
        """The key as pyotp and authenticator apps spell it: base32 without padding."""
        return base64.b32encode(self.secret_bytes).decode("ascii").rstrip("=")


def secret_bytes(text: str) -> bytes:
    """The key bytes a secret spells, as people paste it: spaces, lower case and '=' padding are fine (the request
    model has checked it is base32 of at least 112 bits). A length no encoder produces (1, 3 or 6 past a multiple
    of 8) ends in bits that make no whole byte: they are dropped, as authenticator apps do, so that every spelling
    of a key has the same bytes."""
    secret = "".join(text.split()).rstrip("=").upper()
    if len(secret) % 8 in (1, 3, 6):
        secret = secret[:-1]
    return base64.b32decode(secret + "=" * (-len(secret) % 8))
