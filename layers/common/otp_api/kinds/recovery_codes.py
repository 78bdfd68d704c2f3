"""Recovery codes, `type: "recovery_codes"`: its requests and answers, when a code is accepted, what an accepted
code moves, and its actions (generate, verify, unlock).

- generate: `count` codes (10 by default), each 10 characters of Crockford's base32 (50 bits from a CSPRNG; no
  I, L, O or U to misread), shown grouped as `K7QM-2XW9-HF`. The app shows them once and stores `sealed_codes`: a
  KMS-sealed token (under the stack's key, as sealed secrets are, in a context of its own) holding a random set id
  and a salted SHA-256 of each code, never the codes. Without kms:Decrypt under the context nothing can be learnt
  from it, and even with it only hashes of 50-bit codes.
- A code matches if its hash is one of the set's, compared in constant time against every one. Case, spaces and
  hyphens do not matter, and Crockford's look-alikes read as what they look like (O as 0, I and L as 1).
- State (state/rules.py) is kept per set, in this kind's domain: `used`, the indexes of the codes accepted, and
  `set_size`, how many the set has (written with each accepted code, for the event that says how many remain). A
  code is unused if its index is not in it. The state never expires: a used code must stay used for as long as its token
  exists. Failures count towards the same lockout as TOTP's, per set.

The writes each outcome sends are pinned in tests/handler/test_golden_writes.py.
"""

import hashlib
import hmac
import math
import re
import secrets
import struct
import time
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from otp_api import kms, spellings
from otp_api.errors import InvalidParameter
from otp_api.fields import Subject
from otp_api.kinds.registry import Keyed, Kind
from otp_api.observability import count_outcome
from otp_api.settings import get_verify_settings
from otp_api.state import apply, rules, table
from otp_api.state.conditions import Attr, Contains, Not, Value
from otp_api.state.rules import Reason

SEALED_CODES = kms.SealedForm(
    "r1.",
    {**kms.CONTEXT, "kind": "recovery-codes"},
    "sealed_codes",
    "sealed_codes is not a sealed set of recovery codes of this API",
)
MAX_COUNT = 20
DOMAIN = b"otp-api/recovery-codes/v1\x00"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_LENGTH = 10  # 50 bits
SET_ID_BYTES, HASH_BYTES = 16, 16
_HEADER = struct.Struct(">B16sB")  # version, set id, count
_SEALED_AT = struct.Struct(">Q")  # version 2: when the set was sealed (Unix milliseconds), after the header
USED, INDEX, SET_SIZE, SIZE = Attr("used"), Value(":index"), Attr("set_size"), Value(":size")
INDEX_SET = Value(":index_set")  # {index}, to ADD to `used`
RecoveryCodes = Literal["recovery_codes"]
SealedCodes = Annotated[
    str,
    Meta(
        max_length=4096,
        pattern=rf"^{re.escape(SEALED_CODES.prefix)}[A-Za-z0-9_-]+$",
        description="The sealed_codes of generate.",
    ),
]


# --- requests and answers -----------------------------------------------------------------------------------------


class RecoveryGenerateRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="generate"):
    type: RecoveryCodes
    count: Annotated[int, Meta(ge=1, le=MAX_COUNT, description="How many codes.")] = 10
    subject: Subject | UnsetType = UNSET


class RecoveryVerifyRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="verify"):
    type: RecoveryCodes
    sealed_codes: SealedCodes
    code: Annotated[str, Meta(max_length=64, description="One recovery code; case, spaces and hyphens ignored.")]
    subject: Subject | UnsetType = UNSET


class _RecoverySet(Struct, forbid_unknown_fields=True, tag_field="action"):
    """A set of recovery codes, by its sealed form (and its user, if it was generated for one)."""

    type: RecoveryCodes
    sealed_codes: SealedCodes
    subject: Subject | UnsetType = UNSET


class RecoveryCodesResponse(Struct):
    """New recovery codes: show them to the user once, store only sealed_codes."""

    type: RecoveryCodes
    codes: list[str]
    sealed_codes: str
    count: int


class RecoveryVerifyResponse(Struct):
    type: RecoveryCodes
    valid: bool
    remaining: Annotated[int | None, Meta(description="Codes of the set still unused, when valid.")]
    reason: Reason | None


# --- the codes, sealed --------------------------------------------------------------------------------------------


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper().translate(LOOK_ALIKES)


def _hash(set_id: bytes, code: str) -> bytes:
    return hashlib.sha256(DOMAIN + set_id + code.encode("ascii", "replace")).digest()[:HASH_BYTES]


class Unsealed(Struct, frozen=True):
    set_id: bytes
    hashes: list[bytes]
    sealed_at: int  # Unix milliseconds; 0 for a set sealed before sets carried it (version 1)


def _unsealed(token: str, subject: str | None) -> Unsealed:
    plain = kms.unseal(token, SEALED_CODES, subject)
    if len(plain) < _HEADER.size:
        raise InvalidParameter(SEALED_CODES.refused, SEALED_CODES.parameter)
    version, set_id, count = _HEADER.unpack_from(plain)
    size = _HEADER.size + (_SEALED_AT.size if version == 2 else 0)
    hashes = plain[size:]
    if version not in (1, 2) or not 1 <= count <= MAX_COUNT or len(hashes) != count * HASH_BYTES:
        raise InvalidParameter(SEALED_CODES.refused, SEALED_CODES.parameter)
    (sealed_at,) = _SEALED_AT.unpack_from(plain, _HEADER.size) if version == 2 else (0,)
    return Unsealed(set_id, [hashes[i : i + HASH_BYTES] for i in range(0, len(hashes), HASH_BYTES)], sealed_at)


def _needs_key_and_state() -> None:
    kms.require_key("type")
    apply.require_state(get_verify_settings(), "recovery_codes", "type")


def state_pk(set_id: bytes) -> str:
    return hashlib.sha256(DOMAIN + set_id).hexdigest()


def generate(request: RecoveryGenerateRequest) -> RecoveryCodesResponse:
    _needs_key_and_state()
    subject = spellings.subject_of(request)
    set_id = secrets.token_bytes(SET_ID_BYTES)
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)) for _ in range(request.count)]
    sealed_at = _SEALED_AT.pack(math.floor(time.time() * 1000))
    plain = _HEADER.pack(2, set_id, request.count) + sealed_at + b"".join(_hash(set_id, code) for code in codes)
    sealed = kms.seal(plain, SEALED_CODES, subject, "type")
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


def progress(index: int, count: int) -> rules.Progress:
    """Accept the code at `index` of a set of `count` (kept as `set_size`, so that an event can say how many
    remain)."""
    # (two placeholders: the condition compares a number, ADD takes a set of one)
    adds = {USED.name: INDEX_SET}
    values = {INDEX.placeholder: index, INDEX_SET.placeholder: {index}, SIZE.placeholder: count}
    return rules.Progress(unused=Not(Contains(USED, INDEX)), sets={SET_SIZE.name: SIZE}, adds=adds, values=values)


def verify(request: RecoveryVerifyRequest) -> RecoveryVerifyResponse:
    _needs_key_and_state()
    subject = spellings.subject_of(request)
    found = _unsealed(request.sealed_codes, subject)
    hashes = found.hashes
    index = matching_index(request.code, found.set_id, hashes)
    moved = None if index is None else progress(index, len(hashes))
    settings = get_verify_settings()
    verdict = apply.settle(_place(found, subject), moved, settings, time.time(), table.STORE)
    valid, reason = verdict.valid, verdict.reason
    used = verdict.state.get(USED.name) or set()
    count_outcome("RecoveryCodeVerified", result="valid" if valid else str(reason))
    return RecoveryVerifyResponse(
        type="recovery_codes", valid=valid, remaining=len(hashes) - len(used) if valid else None, reason=reason
    )


def _place(found: Unsealed, subject: str | None) -> rules.Place:
    """Where a set's state is: its own item, or its person's (a subject), with limits of its own (the way back)."""
    return rules.place((state_pk(found.set_id),), subject, rules.RECOVERY, found.sealed_at)


def _place_of(sealed_codes: str, subject: str | None) -> rules.Place:
    _needs_key_and_state()
    return _place(_unsealed(sealed_codes, subject), subject)


def _place_of_set(request: _RecoverySet) -> rules.Place:
    return _place_of(request.sealed_codes, spellings.subject_of(request))


KIND = Kind(
    type="recovery_codes",
    synonyms=(),
    actions={
        RecoveryGenerateRequest: generate,
        RecoveryVerifyRequest: verify,
    },
    responses=(RecoveryCodesResponse, RecoveryVerifyResponse),
    rules={
        "count": f"must be a whole number of codes from 1 to {MAX_COUNT}",
        "code": f"must be one recovery code as generate gave it: {CODE_LENGTH} letters and digits (case, spaces and "
        "hyphens are ignored), as a JSON string of at most 64 characters",
        "sealed_codes": "is not a sealed set of recovery codes of this API",
    },
    body_only=frozenset({"sealed_codes"}),
    keyed=Keyed(_RecoverySet, _place_of_set, prefix="Recovery"),  # unlock, revoke and status
)
