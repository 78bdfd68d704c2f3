"""What each function makes at init, before its first request.

Lambda often initialises an environment before a request needs it (it pre-initialises on-demand environments;
SnapStart and provisioned concurrency always do), so work done at init is off the user's path and work deferred
to the first request is on it. Each function therefore makes at init the clients its common requests need, as the
stack's configuration says, and nothing of AWS otherwise:
- the OTP function: DynamoDB with replay protection or lockout on (every verify writes), KMS with sealing on (the
  recommended verify is sealed). Not S3: only enrolment with a stored image uses it, and its client would add about
  22 ms to every init (measured beside the others, docs/performance.md) for a request made once per user;
- the barcodes function: S3, which every request uses.
Where the environment is not restored from a snapshot, init also makes cheap calls on each client it made
(`aws.warm_up`), so that the first request finds its TCP and TLS connection open and botocore has made its first
call of each operation the common requests make (about 2 ms each, otherwise on the first request): a GetItem of a
key no item has and an UpdateItem whose condition can never hold (nothing written), an Encrypt that nothing will
unseal and a Decrypt of a blob that is no ciphertext; all within the role's permissions.
`first_use` then resolves one request with the function's own resolver, has msgspec build its request models'
decoders and parses the logger's correlation id path: what a first request would otherwise pay for Powertools',
msgspec's and JMESPath's first use. The OTP function also makes one code of a throwaway key (pyotp, HMAC-SHA-1 and
base32's encoding table, built on first use).
With SnapStart (`warm_up_at_init`), the snapshot is taken once per version: there everything is made, S3 and a
first render included. Secrets come from os.urandom after a restore too, so nothing predictable is captured.
Each function's module turns the garbage collector off as its first statement and calls `done` as its last: what
init makes (modules, classes, clients, about 78,000 objects of which a few hundred are garbage) lives as long as the
environment, and the collector's passes over it during init cost 10 to 25 ms (docs/performance.md).
"""

import contextlib
from collections.abc import Iterable
from typing import Any

from otp_api.settings import get_settings, get_verify_settings


def otp_function() -> list[str]:
    """Make the OTP function's clients, and open their connections (not with SnapStart, whose snapshot's connections
    would not survive its restore); the services made, for the test that checks them."""
    made, warm_ups = [], []
    if get_verify_settings().stateful:
        warm_ups.append(_state_table_calls())
        made.append("dynamodb")
    if get_settings().kms_key_id:
        from otp_api import kms

        warm_ups.append(kms.connect())
        made.append("kms")
    if warm_ups and not get_settings().warm_up_at_init:
        from otp_api import aws

        aws.warm_up(*warm_ups)
    from otp_api import oath  # a code of a throwaway key: pyotp, HMAC-SHA-1 and base32's tables (built on first use)

    oath.code_at(oath.OtpKey(oath.TOTP, bytes(20), "SHA1", 6, 30), 0)
    if get_settings().warm_up_at_init:
        from otp_api import image_bucket
        from otp_api.kinds import enrolment
        from otp_api.render import render

        image_bucket.connect()
        made.append("s3")
        uri = "otpauth://totp/warm-up?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        render(uri, "qr_code", enrolment.QR_SCALE, "png", error=enrolment.QR_ERROR, qr_writer=enrolment.QR_WRITER)
    return made


def barcodes_function() -> list[str]:
    from otp_api import image_bucket

    image_bucket.connect()
    if get_settings().warm_up_at_init:
        from otp_api.render import render

        for symbology in ("qr_code", "aztec_code", "data_matrix"):
            render("warm-up", symbology)
    return ["s3"]


def _state_table_calls() -> Any:
    """The verify-state table's client, and its warm-up: the GetItem `table.connect` makes, then an UpdateItem of the
    same missing item whose condition contradicts itself, so DynamoDB refuses it and writes nothing."""
    from botocore.exceptions import ClientError

    from otp_api.state import table

    get_item = table.connect()

    def calls() -> None:
        get_item()
        with contextlib.suppress(ClientError):  # ConditionalCheckFailedException, as meant
            table._client().update_item(
                TableName=get_verify_settings().table,
                Key=table.WARM_UP_KEY,
                UpdateExpression="SET #w = :w",
                ConditionExpression="attribute_exists(#w) AND attribute_not_exists(#w)",
                ExpressionAttributeNames={"#w": "warm_up"},
                ExpressionAttributeValues={":w": {"N": "0"}},
            )

    return calls


def done() -> None:
    """Init is over: what it made is moved out of the collector's sight for good (gc.freeze: never scanned again,
    which also spares every later full collection), and the collector is on again for what requests make."""
    import gc

    gc.freeze()
    gc.enable()


def first_use(app: Any, models: Iterable[Any], correlation_id_path: str | None = None) -> None:
    """Pay at init for what the first request would: Powertools' resolver on its first request (a GET of a path
    no route has: route matching, the middleware and a JSON answer, nothing logged or counted), msgspec's decoder of
    each request model (built on first use; an empty object is refused once), and the logger's JMESPath expression
    for the correlation id (parsed on first use; the handler's decorator names the same path)."""
    import msgspec

    event = {"httpMethod": "GET", "path": "/", "headers": {}, "requestContext": {"stage": "Prod", "path": "/Prod/"}}
    app.resolve(event, None)
    for model in models:
        with contextlib.suppress(msgspec.ValidationError):
            msgspec.convert({}, model, strict=False)
    if correlation_id_path:
        from aws_lambda_powertools.utilities.jmespath_utils import query

        query(data=event, envelope=correlation_id_path)
