"""Sealed secrets: a TOTP key and its parameters encrypted under the stack's KMS key, so that the app that stores
them holds nothing usable outside this stack.

A token is `s1.` and the URL-safe base64 (unpadded) of a KMS ciphertext of: one byte for the algorithm, one for
the digits, two for the period, then the key bytes. The encryption context names the purpose, the version and,
when the app gives one, the `subject` (its user's stable id): a ciphertext made for anything else, for another
user, or under another stack's key, does not decrypt here. KMS authenticates the ciphertext and its context
(AES-GCM), so any change to a token is refused, and a token copied into another user's row opens for no one.
What decrypts is still checked: a payload of an unknown algorithm, digits or period, or too short to hold a key,
is refused like any foreign token (only a holder of kms:Encrypt under the context could make one).

The KMS client is made on first use: the plain-secret paths never import anything of it.
"""

import base64
import binascii
import struct
from dataclasses import dataclass
from functools import cache
from typing import Any

from otp_api import aws
from otp_api.errors import InvalidParameter, SealingUnavailable
from otp_api.models import MAX_PERIOD, MIN_PERIOD, Algorithm
from otp_api.observability import logger
from otp_api.otp_key import OtpKey
from otp_api.settings import get_settings

PREFIX = "s1."
CONTEXT = {"purpose": "otp-api/sealed-secret", "version": "1"}
ALGORITHMS: tuple[Algorithm, ...] = ("SHA1", "SHA256", "SHA512")
_HEADER = struct.Struct(">BBH")  # algorithm index, digits, period
_HOTP_HEADER = struct.Struct(">BBQ")  # algorithm index with HOTP set, digits, first counter
HOTP = 0x80  # the algorithm byte's high bit: an HOTP key
# Codes of KMS errors that mean "this token is not one of ours" (KMS API Reference, Decrypt, Errors): the caller
# sent something wrong. Anything else (throttling, KMS unavailable, a disabled key, missing permissions) is ours.
NOT_OURS = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})
REFUSED = "sealed_secret is not a sealed secret of this API"  # one message, whatever the reason
MIN_KEY_BYTES = 14  # 112 bits, the least a secret may have (models.SECRET_PATTERN)


@cache
def _client() -> Any:
    return aws.client("kms")


def connect() -> None:
    """Create the client now (at init) rather than on the first request."""
    _client()


@dataclass(frozen=True, slots=True)
class Sealed:
    """One kind of token: its prefix, its encryption context and how a request names it."""

    prefix: str
    context: dict[str, str]
    parameter: str
    refused: str  # the one message for any token this stack did not seal

    def context_for(self, subject: str | None) -> dict[str, str]:
        """The token's encryption context: its kind, and the user it is bound to, if any."""
        return self.context if subject is None else {**self.context, "subject": subject}


# The key policy lets the OTP function use the key only under purpose "otp-api/sealed-secret"; what is sealed is
# told apart by the rest of the context, so that no kind of token opens as another.
SECRETS = Sealed(PREFIX, CONTEXT, "sealed_secret", REFUSED)


def _kms(operation: str, kind: Sealed, parameter: str, subject: str | None, **request: Any) -> dict[str, Any]:
    """One KMS call under the stack's key and the kind's context; `parameter` is the one to name if sealing is
    off on this stack."""
    from botocore.exceptions import ClientError

    kms_key_id = get_settings().kms_key_id
    if not kms_key_id:
        raise InvalidParameter("sealing is off on this stack (SealedSecrets=false)", parameter)
    operate = getattr(_client(), operation)
    try:
        answer: dict[str, Any] = aws.call(
            operate, final=NOT_OURS, KeyId=kms_key_id, EncryptionContext=kind.context_for(subject), **request
        )
        return answer
    except ClientError:  # one of NOT_OURS
        raise InvalidParameter(kind.refused, kind.parameter) from None
    except aws.AwsFailure as failure:
        logger.warning("KMS failed", extra={"error_code": failure.code})
        raise SealingUnavailable("the key service is unavailable; try again") from None


def seal_bytes(plaintext: bytes, kind: Sealed, subject: str | None, off_parameter: str) -> str:
    """A token of `kind` holding `plaintext`; `off_parameter` is named if sealing is off on this stack."""
    blob = _kms("encrypt", kind, off_parameter, subject, Plaintext=plaintext)["CiphertextBlob"]
    return kind.prefix + base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=")


def unseal_bytes(token: str, kind: Sealed, subject: str | None) -> bytes:
    """What a token of `kind` holds. Any token this stack did not seal as that kind for `subject` is a 400
    naming the kind's parameter, with one message whatever the reason (tampered, another stack's, another kind,
    another subject's or none, another version, not base64). The request model has checked the prefix and the
    alphabet."""
    body = token.removeprefix(kind.prefix)
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise InvalidParameter(kind.refused, kind.parameter) from None
    # One spelling per token (no trailing bits that decode to nothing), and a length KMS accepts (1 to 6144 bytes).
    if base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=") != body or not 0 < len(blob) <= 6144:
        raise InvalidParameter(kind.refused, kind.parameter)
    plaintext: bytes = _kms("decrypt", kind, kind.parameter, subject, CiphertextBlob=blob)["Plaintext"]
    return plaintext


def payload(key: OtpKey) -> bytes:
    """What is encrypted: the parameters, then the key bytes. A TOTP key: algorithm, digits, period; an HOTP key:
    algorithm with the HOTP bit, digits, its first counter."""
    algorithm = ALGORITHMS.index(key.algorithm)
    if key.counter is not None:
        return _HOTP_HEADER.pack(algorithm | HOTP, key.digits, key.counter) + key.secret_bytes
    return _HEADER.pack(algorithm, key.digits, key.period) + key.secret_bytes


def seal(key: OtpKey, subject: str | None = None) -> str:
    return seal_bytes(payload(key), SECRETS, subject, "seal")


def unseal(token: str, subject: str | None = None) -> OtpKey:
    """The key and parameters a sealed secret carries (see unseal_bytes); a payload out of bounds is refused too."""
    plain = unseal_bytes(token, SECRETS, subject)
    if plain and plain[0] & HOTP:
        if len(plain) < _HOTP_HEADER.size + MIN_KEY_BYTES:
            raise InvalidParameter(REFUSED, "sealed_secret")
        algorithm, digits, counter = _HOTP_HEADER.unpack_from(plain)
        algorithm &= ~HOTP
        if algorithm >= len(ALGORITHMS) or digits not in (6, 8):
            raise InvalidParameter(REFUSED, "sealed_secret")
        key = plain[_HOTP_HEADER.size :]
        return OtpKey(key, ALGORITHMS[algorithm], digits, 30, source="sealed_secret", counter=counter)
    if len(plain) < _HEADER.size + MIN_KEY_BYTES:
        raise InvalidParameter(REFUSED, "sealed_secret")
    algorithm, digits, period = _HEADER.unpack_from(plain)
    if algorithm >= len(ALGORITHMS) or digits not in (6, 8) or not MIN_PERIOD <= period <= MAX_PERIOD:
        raise InvalidParameter(REFUSED, "sealed_secret")
    return OtpKey(plain[_HEADER.size :], ALGORITHMS[algorithm], digits, period, source="sealed_secret")
