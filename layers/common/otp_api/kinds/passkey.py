"""Passkeys, `type: "passkey"` (or `webauthn`): a phishing-resistant second factor beside the one-time passwords.
WebAuthn is done by py_webauthn (the `webauthn` package), imported on this kind's path only: the OTP paths' cold
start never loads it. Requests and answers use WebAuthn Level 3's JSON forms: `options` goes straight to
`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`, and `credential` is what the
browser's `credential.toJSON()` gives.

- generate: creation options and a `challenge_token`; register: the browser's answer checked (challenge, origin, RP
  ID, user presence and verification per PasskeyUserVerification, attestation `none`), answered with a
  `sealed_credential` (the credential id, its COSE public key, the sign count it reported, when it was sealed),
  KMS-sealed in a context of its own and bound to the subject, which every passkey request must name.
- challenge: request options and a `challenge_token`; verify: the assertion checked against the sealed credential
  whose id it carries, then decided in one conditional write.
- A `challenge_token` is KMS-sealed too, in a context naming its ceremony (create or get) and the subject: it holds
  the challenge bytes, when it was made and when it expires (CHALLENGE_SECONDS later). A token of another subject
  or ceremony, or altered, is refused with a 400; an expired one is a failure (`expired`).
- State (state/rules.py), in the person's item: once for all their passkeys, `pk_create_challenge_at` and
  `pk_get_challenge_at`, when the last challenge accepted for each ceremony was made (Unix milliseconds); under the
  credential's prefix, `sign_count`, the count it reported last. A registration's condition is that its challenge
  is newer than the last registration's (one credential per generate) and that the person does not have the
  credential yet (`already_registered`: a second registration would rewind its count). A sign-in's is that its
  challenge is newer than the last sign-in's, whichever credential signed it (a challenge is used once; an older one
  is refused once a newer one was used), and that the sign count grew (unless the credential always reports 0, as
  synced passkeys do): a replay is `already_used`, a lower or equal count `cloned`. A credential counts as sealed
  when its registration's challenge was made: a person revoked during the ceremony revokes it too.
- Failures count in the person's item in a group of their own (`pk_`): nothing about a passkey can be guessed, so it
  is never locked by the codes' budget, only at a cap no honest user reaches (docs/verification.md). Revocation (of
  the credential, or of the person) is as for every factor.
"""

import base64
import hashlib
import math
import re
import secrets
import struct
import time
from typing import Annotated, Any, Literal, cast

from msgspec import UNSET, Meta, Struct, UnsetType
from msgspec.structs import replace

from otp_api import kms
from otp_api.errors import InvalidParameter
from otp_api.fields import Name, Subject
from otp_api.kinds.registry import Keyed, Kind
from otp_api.observability import count_outcome
from otp_api.settings import PasskeySettings, get_passkey_settings, get_settings, get_verify_settings
from otp_api.state import apply, rules, table
from otp_api.state.conditions import AllOf, AnyOf, Attr, Compare, Cond, Missing, Value

CHALLENGE_SECONDS = 300  # a challenge expires 5 minutes after it was made
MAX_CREDENTIALS = 10  # sealed credentials one request may name
DOMAIN = b"otp-api/passkey/v1\x00"
USER_DOMAIN = b"otp-api/passkey-user/v1\x00"
CREATE, GET = "create", "get"
_CONTEXT = {**kms.CONTEXT, "kind": "passkey-challenge"}
CHALLENGES = {
    CREATE: kms.SealedForm(
        "wc1.",
        {**_CONTEXT, "ceremony": CREATE},
        "challenge_token",
        "challenge_token is not a registration challenge of this API for this subject",
    ),
    GET: kms.SealedForm(
        "wg1.",
        {**_CONTEXT, "ceremony": GET},
        "challenge_token",
        "challenge_token is not a sign-in challenge of this API for this subject",
    ),
}
SEALED_CREDENTIAL = kms.SealedForm(
    "pk1.",
    {**kms.CONTEXT, "kind": "passkey"},
    "sealed_credentials",
    "sealed_credentials holds a token that is not a sealed passkey of this API for this subject",
)
_CHALLENGE = struct.Struct(">BBQQ32s")  # version, ceremony (0 create, 1 get), made at and expires at (ms), challenge
_CREDENTIAL = struct.Struct(">BQIH")  # version, sealed at (ms), sign count at registration, id length; id, key
# The person's, once for all their passkeys: when the last challenge accepted for each ceremony was made (so that a
# challenge is used once, whichever credential signs it). The credential's own: the sign count it last reported.
CHALLENGE_AT = {CREATE: Attr(rules.PASSKEYS + "create_challenge_at"), GET: Attr(rules.PASSKEYS + "get_challenge_at")}
SIGN_COUNT = Attr("sign_count")
MADE, COUNT = Value(":challenge_at"), Value(":sign_count")
MAX_ID_BYTES = 1023  # WebAuthn Level 3: a credential id longer than this is to be ignored
MAX_KEY_BYTES = 1024  # a COSE public key: RSA 4096 takes about 530 bytes; the sealed credential stays under 4 kB
Passkey = Literal["passkey", "webauthn"]
Reason = Literal["not_verified", "expired", "already_used", "already_registered", "cloned", "revoked"]


def _fresh(ceremony: str) -> Cond:
    """The challenge is newer than the last one of its ceremony the person had accepted."""
    made_at = CHALLENGE_AT[ceremony]
    return AnyOf((Missing(made_at), Compare(made_at, "<", MADE)))


def _used(item: dict[str, Any], ceremony: str, challenge: "Challenge") -> bool:
    return int(item.get(CHALLENGE_AT[ceremony].name, 0)) >= challenge.made_at


ChallengeToken = Annotated[
    str,
    Meta(
        max_length=4096,
        pattern=r"^w[cg]1\.[A-Za-z0-9_-]+$",
        description="The challenge_token of generate (for register) or challenge (for verify).",
    ),
]
SealedCredential = Annotated[
    str,
    Meta(
        max_length=4096,
        pattern=rf"^{re.escape(SEALED_CREDENTIAL.prefix)}[A-Za-z0-9_-]+$",
        description="A sealed_credential of register.",
    ),
]
SealedCredentials = Annotated[
    list[SealedCredential], Meta(max_length=MAX_CREDENTIALS, description="The person's sealed credentials.")
]
Credential = Annotated[
    dict[str, Any],
    Meta(description="The browser's answer: `credential.toJSON()` of navigator.credentials.create() or get()."),
]


# --- requests and answers -----------------------------------------------------------------------------------------


class PasskeyGenerateRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="generate"):
    """Creation options for a new passkey of `subject`."""

    type: Passkey
    subject: Subject
    label: Annotated[Name, Meta(description="The user's name as the authenticator shows it.")] = ""
    sealed_credentials: SealedCredentials | UnsetType = UNSET  # those to exclude: the person has them


class PasskeyRegisterRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="register"):
    type: Passkey
    subject: Subject
    challenge_token: ChallengeToken
    credential: Credential


class PasskeyChallengeRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="challenge"):
    """Request options to sign in with one of `sealed_credentials` (none: any passkey the browser offers)."""

    type: Passkey
    subject: Subject
    sealed_credentials: SealedCredentials = []


class PasskeyVerifyRequest(Struct, forbid_unknown_fields=True, tag_field="action", tag="verify"):
    type: Passkey
    subject: Subject
    challenge_token: ChallengeToken
    sealed_credentials: Annotated[SealedCredentials, Meta(min_length=1)]
    credential: Credential


class _OnePasskey(Struct, forbid_unknown_fields=True, tag_field="action"):
    """One of the person's passkeys, by its sealed form."""

    type: Passkey
    subject: Subject
    sealed_credential: SealedCredential


class PasskeyOptionsResponse(Struct):
    """Options for the browser (WebAuthn Level 3 JSON), and the token that carries their challenge back."""

    type: Literal["passkey"]
    options: Annotated[
        dict[str, Any], Meta(description="PublicKeyCredentialCreationOptionsJSON or RequestOptionsJSON.")
    ]
    challenge_token: str


class PasskeyRegisterResponse(Struct):
    type: Literal["passkey"]
    valid: bool
    sealed_credential: Annotated[str | None, Meta(description="Store it with the user, when valid.")]
    credential_id: Annotated[str | None, Meta(description="The credential's id (base64url), when valid.")]
    reason: Reason | None


class PasskeyVerifyResponse(Struct):
    type: Literal["passkey"]
    valid: bool
    credential_id: Annotated[str | None, Meta(description="The credential that signed (base64url), when valid.")]
    reason: Reason | None


# --- sealed challenges and credentials ----------------------------------------------------------------------------


class Challenge(Struct, frozen=True):
    challenge: bytes
    made_at: int  # Unix milliseconds
    expires_at: int


class Sealed(Struct, frozen=True):
    credential_id: bytes
    public_key: bytes  # COSE
    sign_count: int  # as registered
    sealed_at: int  # Unix milliseconds


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _settings() -> PasskeySettings:
    """The relying party; the sealing key and the verify state are needed too."""
    passkeys = get_passkey_settings()
    if not passkeys.rp_id:
        raise InvalidParameter("passkeys are off on this stack (PasskeyRpId is empty)", "type")
    kms.require_key("type")
    apply.require_state(get_verify_settings(), "passkey", "type")
    return passkeys


def _seal_challenge(ceremony: str, subject: str) -> tuple[bytes, str]:
    challenge, now = secrets.token_bytes(32), math.floor(time.time() * 1000)
    plain = _CHALLENGE.pack(1, (CREATE, GET).index(ceremony), now, now + CHALLENGE_SECONDS * 1000, challenge)
    return challenge, kms.seal(plain, CHALLENGES[ceremony], subject, "type")


def _expected(passkeys: PasskeySettings, challenge: Challenge) -> dict[str, Any]:
    """What py_webauthn checks in either ceremony: its challenge, and the RP ID, origins and user verification the
    stack is set with."""
    return {
        "expected_challenge": challenge.challenge,
        "expected_rp_id": passkeys.rp_id,
        "expected_origin": list(passkeys.origins),
        "require_user_verification": passkeys.user_verification == "required",
    }


def _unsealed_challenge(token: str, ceremony: str, subject: str) -> Challenge:
    form = CHALLENGES[ceremony]
    if not token.startswith(form.prefix):
        raise InvalidParameter(form.refused, form.parameter)
    plain = kms.unseal(token, form, subject)
    if len(plain) != _CHALLENGE.size:
        raise InvalidParameter(form.refused, form.parameter)
    version, which, made_at, expires_at, challenge = _CHALLENGE.unpack(plain)
    if version != 1 or which != (CREATE, GET).index(ceremony):
        raise InvalidParameter(form.refused, form.parameter)
    return Challenge(challenge, made_at, expires_at)


def _unsealed_credential(token: str, subject: str, parameter: str) -> Sealed:
    """What a sealed credential holds; any token this stack did not seal as one for `subject` is a 400 naming
    `parameter` (sealed_credential, or sealed_credentials), with one message."""
    refused = f"{parameter} holds a token that is not a sealed passkey of this API for this subject"
    form = replace(SEALED_CREDENTIAL, parameter=parameter, refused=refused)  # the same context
    plain = kms.unseal(token, form, subject)
    if len(plain) < _CREDENTIAL.size:
        raise InvalidParameter(refused, parameter)
    version, sealed_at, sign_count, length = _CREDENTIAL.unpack_from(plain)
    rest = plain[_CREDENTIAL.size :]
    if version != 1 or not 0 < length < len(rest):
        raise InvalidParameter(refused, parameter)
    return Sealed(rest[:length], rest[length:], sign_count, sealed_at)


def state_pk(credential_id: bytes) -> str:
    return hashlib.sha256(DOMAIN + credential_id).hexdigest()


def _place(sealed: Sealed, subject: str) -> rules.Place:
    """A credential's state: under its prefix in its person's item, its failures in the passkeys' own group."""
    return rules.place((state_pk(sealed.credential_id),), subject, rules.PASSKEYS, sealed.sealed_at)


def progress(challenge: Challenge, sign_count: int, registered: int) -> rules.Progress | None:
    """Accept this challenge if it is newer than the last sign-in challenge the person had accepted, and the sign
    count if it grew (0 stays fine for a credential that always reports 0). None: the count is no higher than it
    was at registration."""
    if sign_count == 0 and registered == 0:
        counted = AnyOf((Missing(SIGN_COUNT), Compare(SIGN_COUNT, "=", COUNT)))
    elif sign_count > registered:
        counted = AnyOf((Missing(SIGN_COUNT), Compare(SIGN_COUNT, "<", COUNT)))
    else:
        return None

    def why_refused(item: dict[str, Any]) -> rules.Reason:
        return cast(rules.Reason, "already_used" if _used(item, GET, challenge) else "cloned")  # this kind's own

    return rules.Progress(
        unused=AllOf((_fresh(GET), counted)),
        sets={CHALLENGE_AT[GET].name: MADE, SIGN_COUNT.name: COUNT},
        values={MADE.placeholder: challenge.made_at, COUNT.placeholder: sign_count},
        why_refused=why_refused,
        personal=frozenset({CHALLENGE_AT[GET].name}),
    )


def registered(challenge: Challenge, sign_count: int) -> rules.Progress:
    """A new credential's first state: the count it reported, on condition that the person took no registration
    with this challenge or a newer one (one credential per generate) and does not have this credential already (a
    second registration of it would rewind its count)."""

    def why_refused(item: dict[str, Any]) -> rules.Reason:
        return cast(rules.Reason, "already_used" if _used(item, CREATE, challenge) else "already_registered")

    return rules.Progress(
        unused=AllOf((_fresh(CREATE), Missing(SIGN_COUNT))),
        sets={CHALLENGE_AT[CREATE].name: MADE, SIGN_COUNT.name: COUNT},
        values={MADE.placeholder: challenge.made_at, COUNT.placeholder: sign_count},
        why_refused=why_refused,
        personal=frozenset({CHALLENGE_AT[CREATE].name}),
    )


def _decide(place: rules.Place, moved: rules.Progress | None) -> rules.Verdict:
    return apply.settle(place, moved, get_verify_settings(), time.time(), table.STORE)


# --- actions ------------------------------------------------------------------------------------------------------


def _descriptor(sealed: Sealed) -> Any:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

    return PublicKeyCredentialDescriptor(id=sealed.credential_id)


def generate(request: PasskeyGenerateRequest) -> PasskeyOptionsResponse:
    passkeys = _settings()
    from webauthn import generate_registration_options
    from webauthn.helpers import options_to_json_dict
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    subject = request.subject
    having = request.sealed_credentials or []
    excluded = [_descriptor(_unsealed_credential(token, subject, "sealed_credentials")) for token in having]
    challenge, token = _seal_challenge(CREATE, subject)
    options = generate_registration_options(
        rp_id=passkeys.rp_id,
        rp_name=get_settings().default_issuer or passkeys.rp_id,
        user_id=hashlib.sha256(USER_DOMAIN + subject.encode("utf-8", "surrogatepass")).digest(),
        user_name=request.label or subject,
        user_display_name=request.label or subject,
        challenge=challenge,
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement(passkeys.user_verification),
        ),
        exclude_credentials=excluded,
    )
    count_outcome("PasskeyOptions", ceremony=CREATE)
    return PasskeyOptionsResponse(type="passkey", options=options_to_json_dict(options), challenge_token=token)


def register(request: PasskeyRegisterRequest) -> PasskeyRegisterResponse:
    passkeys = _settings()
    from webauthn import verify_registration_response

    subject = request.subject
    challenge = _unsealed_challenge(request.challenge_token, CREATE, subject)
    if time.time() * 1000 >= challenge.expires_at:
        return _not_registered("expired")
    try:
        made = verify_registration_response(credential=request.credential, **_expected(passkeys, challenge))
    except Exception:  # the library's answer to any credential that does not verify, malformed ones included
        return _not_registered("not_verified")
    if len(made.credential_id) > MAX_ID_BYTES or len(made.credential_public_key) > MAX_KEY_BYTES:
        raise InvalidParameter(
            f"credential must have an id of at most {MAX_ID_BYTES} bytes and a public key of at most {MAX_KEY_BYTES}",
            "credential",
        )
    # Sealed when its challenge was made: a person revoked after that, during the ceremony, revokes it too.
    sealed = Sealed(made.credential_id, made.credential_public_key, made.sign_count, challenge.made_at)
    verdict = _decide(_place(sealed, subject), registered(challenge, made.sign_count))
    if not verdict.valid:
        return _not_registered(cast(Reason, verdict.reason))
    header = _CREDENTIAL.pack(1, sealed.sealed_at, sealed.sign_count, len(sealed.credential_id))
    token = kms.seal(header + sealed.credential_id + sealed.public_key, SEALED_CREDENTIAL, subject, "type")
    count_outcome("PasskeyRegistered", result="valid")
    return PasskeyRegisterResponse(
        type="passkey",
        valid=True,
        sealed_credential=token,
        credential_id=_b64url(sealed.credential_id),
        reason=None,
    )


def _not_registered(reason: Reason) -> PasskeyRegisterResponse:
    count_outcome("PasskeyRegistered", result=reason)
    return PasskeyRegisterResponse(
        type="passkey", valid=False, sealed_credential=None, credential_id=None, reason=reason
    )


def challenge(request: PasskeyChallengeRequest) -> PasskeyOptionsResponse:
    passkeys = _settings()
    from webauthn import generate_authentication_options
    from webauthn.helpers import options_to_json_dict
    from webauthn.helpers.structs import UserVerificationRequirement

    allowed = [
        _descriptor(_unsealed_credential(token, request.subject, "sealed_credentials"))
        for token in request.sealed_credentials
    ]
    made, token = _seal_challenge(GET, request.subject)
    options = generate_authentication_options(
        rp_id=passkeys.rp_id,
        challenge=made,
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement(passkeys.user_verification),
    )
    count_outcome("PasskeyOptions", ceremony=GET)
    return PasskeyOptionsResponse(type="passkey", options=options_to_json_dict(options), challenge_token=token)


def _signed_by(request: PasskeyVerifyRequest) -> Sealed:
    """The sealed credential the assertion names (by its id); a 400 if none of them is it."""
    named = request.credential.get("rawId", request.credential.get("id"))
    for token in request.sealed_credentials:
        sealed = _unsealed_credential(token, request.subject, "sealed_credentials")
        if isinstance(named, str) and named.rstrip("=") == _b64url(sealed.credential_id):
            return sealed
    raise InvalidParameter("credential was not made by any of sealed_credentials", "credential")


def verify(request: PasskeyVerifyRequest) -> PasskeyVerifyResponse:
    passkeys = _settings()
    from webauthn import verify_authentication_response

    subject = request.subject
    challenge = _unsealed_challenge(request.challenge_token, GET, subject)
    sealed = _signed_by(request)
    place = _place(sealed, subject)
    reason: Reason | None = None
    moved = None
    if time.time() * 1000 >= challenge.expires_at:
        reason = "expired"
    else:
        try:
            checked = verify_authentication_response(
                credential=request.credential,
                credential_public_key=sealed.public_key,
                credential_current_sign_count=0,  # the count is the state's to decide (progress)
                **_expected(passkeys, challenge),
            )
        except Exception:  # the library's answer to any assertion that does not verify, malformed ones included
            reason = "not_verified"
        else:
            moved = progress(challenge, checked.new_sign_count, sealed.sign_count)
            reason = None if moved is not None else "cloned"
    verdict = _decide(place, moved)
    if verdict.reason is not None and reason is None:
        reason = cast(Reason, verdict.reason)
    elif verdict.reason == "revoked":
        reason = "revoked"
    valid = verdict.valid and reason is None
    count_outcome("PasskeyVerified", result="valid" if valid else str(reason))
    return PasskeyVerifyResponse(
        type="passkey", valid=valid, credential_id=_b64url(sealed.credential_id) if valid else None, reason=reason
    )


def _place_of(request: _OnePasskey) -> rules.Place:
    _settings()
    return _place(
        _unsealed_credential(request.sealed_credential, request.subject, "sealed_credential"), request.subject
    )


KIND = Kind(
    type="passkey",
    synonyms=("webauthn",),
    actions={
        PasskeyGenerateRequest: generate,
        PasskeyRegisterRequest: register,
        PasskeyChallengeRequest: challenge,
        PasskeyVerifyRequest: verify,
    },
    responses=(
        PasskeyOptionsResponse,
        PasskeyRegisterResponse,
        PasskeyVerifyResponse,
    ),
    rules={
        "challenge_token": "must be the challenge_token of generate (register) or challenge (verify)",
        "credential": "must be the browser's credential.toJSON(), as a JSON object",
        "sealed_credential": "is not a sealed passkey of this API",
        "sealed_credentials": f"must be a list of at most {MAX_CREDENTIALS} sealed passkeys of this API",
    },
    body_only=frozenset({"challenge_token", "credential", "sealed_credential", "sealed_credentials"}),
    keyed=Keyed(_OnePasskey, _place_of, prefix="Passkey"),  # unlock, revoke, status
)
