"""Golden writes of passkeys: the literal DynamoDB requests a registration and each outcome of a sign-in send
(accepted, the same assertion replayed, a clone, a revoked credential), through the handler with frozen time, a
fixed credential and decisions' ids d1, d2, ... (as tests/handler/test_golden_writes.py does for the codes). A
change here is a change to what every deployed table holds: make it on purpose, and say so in docs/verification.md."""

import time_machine
from cryptography.hazmat.primitives.asymmetric import ec
from support import call
from test_golden_writes import SENT, recorded  # noqa: F401 - the fixture: every request recorded, ids d1, d2, ...
from test_passkey import Authenticator, relying_party  # noqa: F401 - the fixture

from otp_api.kinds import passkey
from otp_api.state import rules

NOW = 1_790_000_010.25
CREDENTIAL_ID = bytes(range(16))


def sent(moment: float, **params) -> tuple[dict, list]:
    start = len(SENT)
    with time_machine.travel(moment, tick=False):
        _, _, body = call("otp", {"type": "passkey", "subject": "user-7", **params})
    return body, SENT[start:]


def story() -> dict[str, list]:
    device = Authenticator(key=ec.derive_private_key(7, ec.SECP256R1()), credential_id=CREDENTIAL_ID)
    made, _ = sent(NOW, action="generate")
    done, registering = sent(
        NOW + 1, action="register", challenge_token=made["challenge_token"], credential=device.create(made["options"])
    )
    sealed = [done["sealed_credential"]]
    asked, _ = sent(NOW + 2, action="challenge", sealed_credentials=sealed)
    assertion = device.get(asked["options"])
    _, accepted = sent(
        NOW + 3,
        action="verify",
        challenge_token=asked["challenge_token"],
        sealed_credentials=sealed,
        credential=assertion,
    )
    _, replayed = sent(
        NOW + 4,
        action="verify",
        challenge_token=asked["challenge_token"],
        sealed_credentials=sealed,
        credential=assertion,
    )
    asked, _ = sent(NOW + 5, action="challenge", sealed_credentials=sealed)
    _, cloned = sent(
        NOW + 6,
        action="verify",
        challenge_token=asked["challenge_token"],
        sealed_credentials=sealed,
        credential=device.get(asked["options"], count=2),
    )
    _, revoking = sent(NOW + 7, action="revoke", sealed_credential=sealed[0])
    asked, _ = sent(NOW + 8, action="challenge", sealed_credentials=sealed)
    _, revoked = sent(
        NOW + 9,
        action="verify",
        challenge_token=asked["challenge_token"],
        sealed_credentials=sealed,
        credential=device.get(asked["options"]),
    )
    return {
        "register": registering,
        "accepted": accepted,
        "replay": replayed,
        "cloned": cloned,
        "revoke": revoking,
        "revoked": revoked,
    }


def test_what_passkeys_send_for_each_outcome():
    # The credential's prefix in its person's item: from a SHA-256 of its id
    assert rules.key_prefix(passkey.state_pk(CREDENTIAL_ID)) == "k98e69b03c0f21357149f_"
    assert story() == PASSKEY


PASSKEY = {
    "register": [
        (
            "update_item",
            {
                "update": "SET pk_create_challenge_at = :challenge_at, k98e69b03c0f21357149f_sign_count = "
                ":sign_count, decided_by = :decision, accepted_by = :decision, pk_accepted_at = "
                ":now, subject = :subject REMOVE pk_last_failure, pk_failures",
                "if": "(((attribute_not_exists(pk_create_challenge_at)) OR (pk_create_challenge_at < "
                ":challenge_at)) AND (attribute_not_exists(k98e69b03c0f21357149f_sign_count))) AND "
                "((attribute_not_exists(k98e69b03c0f21357149f_revoked_at)) AND "
                "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) AND "
                "(attribute_exists(k98e69b03c0f21357149f_seen)) AND (NOT (pk_failures >= :cap)) AND "
                "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                "values": {
                    ":challenge_at": 1790000010249,
                    ":sign_count": 1,
                    ":decision": "d1",
                    ":now": 1790000011,
                    ":cap": 10000,
                    ":sealed_at": 1790000010249,
                    ":subject": "user-7",
                },
            },
        ),
        ("get_item", {"consistent": True}),
        (
            "update_item",
            {
                "update": "SET k98e69b03c0f21357149f_seen = :now",
                "if": "attribute_not_exists(k98e69b03c0f21357149f_seen)",
                "values": {":now": 1790000011},
            },
        ),
        (
            "update_item",
            {
                "update": "SET pk_create_challenge_at = :challenge_at, k98e69b03c0f21357149f_sign_count = "
                ":sign_count, decided_by = :decision, accepted_by = :decision, pk_accepted_at = "
                ":now, subject = :subject REMOVE pk_last_failure, pk_failures",
                "if": "(((attribute_not_exists(pk_create_challenge_at)) OR (pk_create_challenge_at < "
                ":challenge_at)) AND (attribute_not_exists(k98e69b03c0f21357149f_sign_count))) AND "
                "((attribute_not_exists(k98e69b03c0f21357149f_revoked_at)) AND "
                "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) AND "
                "(attribute_exists(k98e69b03c0f21357149f_seen)) AND (NOT (pk_failures >= :cap)) AND "
                "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                "values": {
                    ":challenge_at": 1790000010249,
                    ":sign_count": 1,
                    ":decision": "d1",
                    ":now": 1790000011,
                    ":cap": 10000,
                    ":sealed_at": 1790000010249,
                    ":subject": "user-7",
                },
            },
        ),
    ],
    "accepted": [
        (
            "update_item",
            {
                "update": "SET pk_get_challenge_at = :challenge_at, k98e69b03c0f21357149f_sign_count = "
                ":sign_count, decided_by = :decision, accepted_by = :decision, pk_accepted_at = "
                ":now, subject = :subject REMOVE pk_last_failure, pk_failures",
                "if": "(((attribute_not_exists(pk_get_challenge_at)) OR (pk_get_challenge_at < "
                ":challenge_at)) AND ((attribute_not_exists(k98e69b03c0f21357149f_sign_count)) OR "
                "(k98e69b03c0f21357149f_sign_count < :sign_count))) AND "
                "((attribute_not_exists(k98e69b03c0f21357149f_revoked_at)) AND "
                "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) AND "
                "(attribute_exists(k98e69b03c0f21357149f_seen)) AND (NOT (pk_failures >= :cap)) AND "
                "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                "values": {
                    ":challenge_at": 1790000012249,
                    ":sign_count": 2,
                    ":decision": "d2",
                    ":now": 1790000013,
                    ":cap": 10000,
                    ":sealed_at": 1790000010249,
                    ":subject": "user-7",
                },
            },
        )
    ],
    "replay": [
        (
            "update_item",
            {
                "update": "SET pk_get_challenge_at = :challenge_at, k98e69b03c0f21357149f_sign_count = "
                ":sign_count, decided_by = :decision, accepted_by = :decision, pk_accepted_at = "
                ":now, subject = :subject REMOVE pk_last_failure, pk_failures",
                "if": "(((attribute_not_exists(pk_get_challenge_at)) OR (pk_get_challenge_at < :challenge_at)) "
                "AND ((attribute_not_exists(k98e69b03c0f21357149f_sign_count)) OR "
                "(k98e69b03c0f21357149f_sign_count < :sign_count))) AND "
                "((attribute_not_exists(k98e69b03c0f21357149f_revoked_at)) AND "
                "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) AND "
                "(attribute_exists(k98e69b03c0f21357149f_seen)) AND (NOT (pk_failures >= :cap)) AND "
                "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                "values": {
                    ":challenge_at": 1790000012249,
                    ":sign_count": 2,
                    ":decision": "d3",
                    ":now": 1790000014,
                    ":cap": 10000,
                    ":sealed_at": 1790000010249,
                    ":subject": "user-7",
                },
            },
        ),
        (
            "update_item",
            {
                "update": "SET pk_last_failure = :now, decided_by = :decision, subject = :subject ADD pk_failures :one",
                "if": "((attribute_not_exists(k98e69b03c0f21357149f_revoked_at)) AND "
                "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) AND "
                "(attribute_exists(k98e69b03c0f21357149f_seen)) AND (NOT (pk_failures >= :cap)) AND "
                "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                "values": {
                    ":decision": "d3",
                    ":one": 1,
                    ":now": 1790000014,
                    ":cap": 10000,
                    ":sealed_at": 1790000010249,
                    ":subject": "user-7",
                },
            },
        ),
    ],
    "cloned": [
        (
            "update_item",
            {
                "update": "SET pk_get_challenge_at = :challenge_at, k98e69b03c0f21357149f_sign_count = "
                ":sign_count, decided_by = :decision, accepted_by = :decision, pk_accepted_at = "
                ":now, subject = :subject REMOVE pk_last_failure, pk_failures",
                "if": "(((attribute_not_exists(pk_get_challenge_at)) OR (pk_get_challenge_at < :challenge_at)) "
                "AND ((attribute_not_exists(k98e69b03c0f21357149f_sign_count)) OR "
                "(k98e69b03c0f21357149f_sign_count < :sign_count))) AND "
                "((attribute_not_exists(k98e69b03c0f21357149f_revoked_at)) AND "
                "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) AND "
                "(attribute_exists(k98e69b03c0f21357149f_seen)) AND (NOT (pk_failures >= :cap)) AND "
                "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                "values": {
                    ":challenge_at": 1790000015249,
                    ":sign_count": 2,
                    ":decision": "d4",
                    ":now": 1790000016,
                    ":cap": 10000,
                    ":sealed_at": 1790000010249,
                    ":subject": "user-7",
                },
            },
        ),
        (
            "update_item",
            {
                "update": "SET pk_last_failure = :now, decided_by = :decision, subject = :subject ADD pk_failures :one",
                "if": "((attribute_not_exists(k98e69b03c0f21357149f_revoked_at)) AND "
                "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) AND "
                "(attribute_exists(k98e69b03c0f21357149f_seen)) AND (NOT (pk_failures >= :cap)) AND "
                "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                "values": {
                    ":decision": "d4",
                    ":one": 1,
                    ":now": 1790000016,
                    ":cap": 10000,
                    ":sealed_at": 1790000010249,
                    ":subject": "user-7",
                },
            },
        ),
    ],
    "revoke": [
        (
            "update_item",
            {
                "update": "SET k98e69b03c0f21357149f_revoked_at = :now, decided_by = :decision, subject = :subject",
                "if": "(attribute_not_exists(k98e69b03c0f21357149f_revoked_at)) AND "
                "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                "values": {":now": 1790000017, ":decision": "d5", ":subject": "user-7"},
            },
        )
    ],
    "revoked": [
        (
            "update_item",
            {
                "update": "SET pk_get_challenge_at = :challenge_at, k98e69b03c0f21357149f_sign_count = "
                ":sign_count, decided_by = :decision, accepted_by = :decision, pk_accepted_at = "
                ":now, subject = :subject REMOVE pk_last_failure, pk_failures",
                "if": "(((attribute_not_exists(pk_get_challenge_at)) OR (pk_get_challenge_at < "
                ":challenge_at)) AND ((attribute_not_exists(k98e69b03c0f21357149f_sign_count)) OR "
                "(k98e69b03c0f21357149f_sign_count < :sign_count))) AND "
                "((attribute_not_exists(k98e69b03c0f21357149f_revoked_at)) AND "
                "((attribute_not_exists(revoked_before)) OR (revoked_before < :sealed_at))) AND "
                "(attribute_exists(k98e69b03c0f21357149f_seen)) AND (NOT (pk_failures >= :cap)) AND "
                "((attribute_not_exists(decided_by)) OR (decided_by <> :decision))",
                "values": {
                    ":challenge_at": 1790000018249,
                    ":sign_count": 3,
                    ":decision": "d6",
                    ":now": 1790000019,
                    ":cap": 10000,
                    ":sealed_at": 1790000010249,
                    ":subject": "user-7",
                },
            },
        ),
        (
            "update_item",
            {
                "update": "SET k98e69b03c0f21357149f_tried_by = :decision, subject = :subject ADD "
                "k98e69b03c0f21357149f_tries :one",
                "if": "((attribute_exists(k98e69b03c0f21357149f_revoked_at)) OR (revoked_before >= "
                ":sealed_at)) AND ((attribute_not_exists(k98e69b03c0f21357149f_tried_by)) OR "
                "(k98e69b03c0f21357149f_tried_by <> :decision))",
                "values": {":decision": "d6", ":one": 1, ":sealed_at": 1790000010249, ":subject": "user-7"},
            },
        ),
    ],
}
