"""Recovery codes, `type: "recovery_codes"`: when a code matches, and what an accepted code moves.

- generate: `count` codes (10 by default), each 10 characters of Crockford's base32 (50 bits from a CSPRNG; no
  I, L, O or U to misread), shown grouped as `K7QM-2XW9-HF`. The app shows them once and stores `sealed_codes`: a
  KMS-sealed token (under the stack's key, as sealed secrets are, in a context of its own) holding a random set id
  and a salted SHA-256 of each code, never the codes. Without kms:Decrypt under the context nothing can be learnt
  from it, and even with it only hashes of 50-bit codes.
- A code matches if its hash is one of the set's, compared in constant time against every one. Case, spaces and
  hyphens do not matter, and Crockford's look-alikes read as what they look like (O as 0, I and L as 1).
- State (rules.py) is kept per set, in this kind's domain: `used`, the indexes of the codes accepted. A code is
  unused if its index is not in it. The state never expires: a used code must stay used for as long as its token
  exists. Failures count towards the same lockout as TOTP's, per set.
"""

import hashlib
import hmac
import secrets
import struct
import time

from otp_api import sealing
from otp_api.errors import InvalidParameter
from otp_api.models import (
    RecoveryCodesResponse,
    RecoveryGenerateRequest,
    RecoveryUnlockRequest,
    RecoveryVerifyRequest,
    RecoveryVerifyResponse,
    UnlockResponse,
)
from otp_api.observability import count_outcome
from otp_api.settings import get_verify_settings
from otp_api.verify import rules, store
from otp_api.verify.expressions import Attr, Contains, Not, Value

PREFIX = "r1."
CODES = sealing.Sealed(
    PREFIX,
    {**sealing.CONTEXT, "kind": "recovery-codes"},
    "sealed_codes",
    "sealed_codes is not a sealed set of recovery codes of this API",
)
DOMAIN = b"otp-api/recovery-codes/v1\x00"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_LENGTH = 10  # 50 bits
SET_ID_BYTES, HASH_BYTES = 16, 16
_HEADER = struct.Struct(">B16sB")  # version, set id, count
USED, INDEX = Attr("used"), Value(":index")


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper().translate(LOOK_ALIKES)


def _hash(set_id: bytes, code: str) -> bytes:
    return hashlib.sha256(DOMAIN + set_id + code.encode("ascii", "replace")).digest()[:HASH_BYTES]


def _unsealed(token: str, subject: str | None) -> tuple[bytes, list[bytes]]:
    plain = sealing.unseal_bytes(token, CODES, subject)
    if len(plain) < _HEADER.size:
        raise InvalidParameter(CODES.refused, CODES.parameter)
    version, set_id, count = _HEADER.unpack_from(plain)
    hashes = plain[_HEADER.size :]
    if version != 1 or not 1 <= count <= 20 or len(hashes) != count * HASH_BYTES:
        raise InvalidParameter(CODES.refused, CODES.parameter)
    return set_id, [hashes[i : i + HASH_BYTES] for i in range(0, len(hashes), HASH_BYTES)]


def _needs_key_and_state() -> None:
    from otp_api.settings import get_settings

    if not get_settings().kms_key_id:
        raise InvalidParameter(
            "recovery codes need the stack's sealing key, and sealing is off (SealedSecrets)", "type"
        )
    if not get_verify_settings().table:
        raise InvalidParameter("recovery codes need the verify-state table (TABLE_NAME)", "type")


def state_pk(set_id: bytes) -> str:
    return hashlib.sha256(DOMAIN + set_id).hexdigest()


def generate(request: RecoveryGenerateRequest) -> RecoveryCodesResponse:
    _needs_key_and_state()
    subject = request.subject if isinstance(request.subject, str) else None
    set_id = secrets.token_bytes(SET_ID_BYTES)
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)) for _ in range(request.count)]
    plain = _HEADER.pack(1, set_id, request.count) + b"".join(_hash(set_id, code) for code in codes)
    sealed = sealing.seal_bytes(plain, CODES, subject, "type")
    count_outcome("RecoveryCodesGenerated", count=str(request.count))
    return RecoveryCodesResponse(
        type="recovery_codes",
        codes=[f"{code[:4]}-{code[4:8]}-{code[8:]}" for code in codes],
        sealed_codes=sealed,
        count=request.count,
    )


def matching_index(code: str, set_id: bytes, hashes: list[bytes]) -> int | None:
    """The index of the set's code that `code` is, or None; every hash is compared, in constant time."""
    candidate = _hash(set_id, _normalised(code))
    matched = None
    for index, known in enumerate(hashes):
        if hmac.compare_digest(candidate, known) and matched is None:
            matched = index
    return matched


def progress(index: int) -> rules.Progress:
    # (two placeholders: the condition compares a number, ADD takes a set of one)
    adds = {USED.name: Value(":index_set")}
    return rules.Progress(unused=Not(Contains(USED, INDEX)), adds=adds, values={":index": index, ":index_set": index})


def verify(request: RecoveryVerifyRequest) -> RecoveryVerifyResponse:
    _needs_key_and_state()
    subject = request.subject if isinstance(request.subject, str) else None
    set_id, hashes = _unsealed(request.sealed_codes, subject)
    index = matching_index(request.code, set_id, hashes)
    moved = None if index is None else progress(index)
    valid, reason, item = rules.settle(state_pk(set_id), moved, get_verify_settings(), time.time(), None, store.write)
    used = item.get(USED.name) or set()
    count_outcome("RecoveryCodeVerified", result="valid" if valid else str(reason))
    return RecoveryVerifyResponse(
        type="recovery_codes", valid=valid, remaining=len(hashes) - len(used) if valid else None, reason=reason
    )


def unlock(request: RecoveryUnlockRequest) -> UnlockResponse:
    _needs_key_and_state()
    subject = request.subject if isinstance(request.subject, str) else None
    set_id, _ = _unsealed(request.sealed_codes, subject)
    unlocked = rules.release(state_pk(set_id), get_verify_settings(), time.time(), store.write)
    count_outcome("OtpUnlocked", type="recovery_codes", result="unlocked" if unlocked else "not_locked")
    return UnlockResponse(unlocked=unlocked)
