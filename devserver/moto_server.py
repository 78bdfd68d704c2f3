"""moto's server (`python -m moto.server`), with three changes:

- The KMS key it makes has a fixed id and fixed key material, so that a sealed token (`s1.`, `r1.`) from an earlier
  `make dev` still opens in the next one, and, with `make dev REGIONS=3`, in every Region (as a multi-Region key's
  replicas share its material). Like the local SigV4 key pair, these are local only and no secret: they seal
  nothing outside this machine's test data.
- DynamoDB applies one request at a time, as DynamoDB applies each conditional write atomically. moto's server
  serves requests on threads and does not: measured, about 3 double acceptances in 1,000 three-way races of one
  conditional write (tests/local/test_make_dev_regions.py races it with the lock).
- With `OTP_LOCAL_STATE_REGION=<region>` (`make dev REGIONS=3`), every Region's DynamoDB and DynamoDB Streams are
  that Region's: one table, as a global table in multi-Region strong consistency is one table to its writers, and
  one stream, which every Region's events function reads (each telling only its own Region's writes).

Everything else moto keeps, it keeps in memory: the verify state (replay, lockout, HOTP counters, used recovery
codes), the images and the events are lost at every restart (docs/development.md)."""

import hashlib
import os
import sys
import threading
from typing import Any

LOCAL_KEY_ID = "0cab1e00-07a0-4000-8000-00000000c0de"
LOCAL_KEY_MATERIAL = hashlib.sha256(b"otp-api make dev: the local sealing key").digest()  # AES-256, as moto's own
SHARED_STATE_REGION = "OTP_LOCAL_STATE_REGION"


def one_request_at_a_time() -> None:
    """Every DynamoDB request (its condition checked, its item changed) under one lock: atomic, as DynamoDB's."""
    from moto.dynamodb.responses import DynamoHandler

    lock, call_action = threading.Lock(), DynamoHandler.call_action

    def serialised(self: Any) -> Any:
        with lock:
            return call_action(self)

    DynamoHandler.call_action = serialised  # type: ignore[method-assign]


def one_table_for_every_region(region: str) -> None:
    """DynamoDB and its streams answer every Region from `region`'s backend."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    DynamoHandler.dynamodb_backend = property(  # type: ignore[method-assign,assignment]
        lambda self: dynamodb_backends[self.current_account][region]
    )
    DynamoDBStreamsBackend.dynamodb = property(  # type: ignore[method-assign,assignment]
        lambda self: dynamodb_backends[self.account_id][region]
    )


def main() -> None:
    from moto.kms import models
    from moto.server import main as serve

    # moto's Key reads both from its module (moto/kms/models.py: `generate_key_id`, `generate_master_key`)
    models.generate_key_id = lambda multi_region=False: ("mrk-" if multi_region else "") + LOCAL_KEY_ID
    models.generate_master_key = lambda: LOCAL_KEY_MATERIAL
    one_request_at_a_time()
    if os.environ.get(SHARED_STATE_REGION):
        one_table_for_every_region(os.environ[SHARED_STATE_REGION])
    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
