"""KMS, below the kinds: a sealed form (a prefix, an encryption context, the parameter that carries it) and the
two calls, seal and unseal, under the stack's key. Each form is one sort of sealed token: `s1.` sealed secrets
(spellings.py), `r1.` sets of recovery codes (kinds/recovery_codes.py).

A sealed token is its form's prefix and the URL-safe base64 (unpadded) of a KMS ciphertext. The encryption context
names the purpose, the version, the form and, when the app gives one, the `subject` (its user's stable id): a
ciphertext made for anything else, for another user, or under another stack's key, does not decrypt here. KMS
authenticates the ciphertext and its context (AES-GCM), so any change to a token is refused, and a token copied
into another user's row opens for no one.

The KMS client is made on first use (or at init, at_init.py): the plain-secret paths never import anything of it.
"""

import base64
import binascii
import contextlib
from collections.abc import Callable
from functools import cache
from typing import Any

from msgspec import Struct

from otp_api import aws
from otp_api.errors import InvalidParameter, SealingUnavailable
from otp_api.observability import logger
from otp_api.settings import get_settings

# The key policy lets the OTP function use the key only under this purpose; the forms are told apart by the rest
# of the context, so that no form opens as another.
CONTEXT = {"purpose": "otp-api/sealed-secret", "version": "1"}
# Codes of KMS errors that mean "this token is not one of ours" (KMS API Reference, Decrypt, Errors): the caller
# sent something wrong, and no retry changes that: a 400, never a 503 with Retry-After. Anything else (throttling,
# KMS unavailable, a disabled key, missing permissions on our key) is ours.
NOT_OURS = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})
# AccessDeniedException from a Decrypt is either: KMS denies us our own key (a key policy or grant changed: ours), or
# the ciphertext's key is one we may not use ("The ciphertext refers to a customer master key that does not exist,
# does not exist in this region, or you are not allowed to access": moto's answer for a token of another key, such
# as an earlier `make dev`'s, and KMS's for a ciphertext of a key elsewhere). Told apart by one Encrypt under our
# key, on this path only: if it works, the token is not ours.
MAYBE_NOT_OURS = "AccessDeniedException"


@cache
def _client() -> Any:
    return aws.client("kms")


def connect() -> Callable[[], Any]:
    """Create the client now (at init) rather than on the first request; answer cheap calls that open its
    connection and make botocore's first call of each operation (about 2 ms more than the next): one byte sealed
    under the key policy's purpose and a version no token has, which nothing will ever unseal, then a Decrypt of a
    blob that is no ciphertext (KMS refuses it: InvalidCiphertextException)."""
    from botocore.exceptions import ClientError

    context, key = WARM_UP_CONTEXT, get_settings().kms_key_id
    _client()

    def calls() -> None:
        _warm_up_encrypt()
        with contextlib.suppress(ClientError):  # InvalidCiphertextException, as meant
            _client().decrypt(KeyId=key, CiphertextBlob=b"\0" * 16, EncryptionContext=context)

    return calls


WARM_UP_CONTEXT = {**CONTEXT, "version": "warm-up"}  # a version no token has: nothing sealed so ever unseals


def _warm_up_encrypt() -> Any:
    """One byte sealed under the stack's key and the warm-up context."""
    return _client().encrypt(KeyId=get_settings().kms_key_id, Plaintext=b"\0", EncryptionContext=WARM_UP_CONTEXT)


class SealedForm(Struct, frozen=True):
    """One sort of sealed token: its prefix, its encryption context and the parameter that carries it."""

    prefix: str
    context: dict[str, str]
    parameter: str
    refused: str  # the one message for any token this stack did not seal

    def context_for(self, subject: str | None) -> dict[str, str]:
        """The token's encryption context: its form, and the user it is bound to, if any."""
        return self.context if subject is None else {**self.context, "subject": subject}


def require_key(parameter: str) -> str:
    """The stack's sealing key; where sealing is off, a 400 naming `parameter`."""
    kms_key_id = get_settings().kms_key_id
    if not kms_key_id:
        raise InvalidParameter("sealing is off on this stack (SealedSecrets=false)", parameter)
    return kms_key_id


def _kms(operation: str, form: SealedForm, parameter: str, subject: str | None, **request: Any) -> dict[str, Any]:
    """One KMS call under the stack's key and the form's context; `parameter` is the one to name if sealing is
    off on this stack."""
    from botocore.exceptions import ClientError

    kms_key_id = require_key(parameter)
    operate = getattr(_client(), operation)
    try:
        answer: dict[str, Any] = aws.call(
            operate, final=NOT_OURS, KeyId=kms_key_id, EncryptionContext=form.context_for(subject), **request
        )
        return answer
    except ClientError:  # one of NOT_OURS
        raise InvalidParameter(form.refused, form.parameter) from None
    except aws.AwsFailure as failure:
        if operation == "decrypt" and failure.code == MAYBE_NOT_OURS and _our_key_works():
            raise InvalidParameter(form.refused, form.parameter) from None
        logger.warning("KMS failed", extra={"error_code": failure.code})
        raise SealingUnavailable("the key service is unavailable; try again") from None


def _our_key_works() -> bool:
    """Whether the stack's key seals for us now (the warm-up's Encrypt, which nothing will ever unseal)."""
    try:
        aws.call(_warm_up_encrypt)
    except aws.AwsFailure:
        return False
    return True


def seal(plaintext: bytes, form: SealedForm, subject: str | None, off_parameter: str) -> str:
    """A token of `form` holding `plaintext`; `off_parameter` is named if sealing is off on this stack."""
    blob = _kms("encrypt", form, off_parameter, subject, Plaintext=plaintext)["CiphertextBlob"]
    return form.prefix + base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=")


def unseal(token: str, form: SealedForm, subject: str | None) -> bytes:
    """What a token of `form` holds. Any token this stack did not seal as that form for `subject` is a 400
    naming the form's parameter, with one message whatever the reason (tampered, another stack's, another form,
    another subject's or none, another version, not base64). The request model has checked the prefix and the
    alphabet."""
    body = token.removeprefix(form.prefix)
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise InvalidParameter(form.refused, form.parameter) from None
    # One spelling per token (no trailing bits that decode to nothing), and a length KMS accepts (1 to 6144 bytes).
    if base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=") != body or not 0 < len(blob) <= 6144:
        raise InvalidParameter(form.refused, form.parameter)
    plaintext: bytes = _kms("decrypt", form, form.parameter, subject, CiphertextBlob=blob)["Plaintext"]
    return plaintext
