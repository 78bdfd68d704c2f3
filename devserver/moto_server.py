"""moto's server (`python -m moto.server`), with one change: the KMS key it makes has a fixed id and fixed key
material, so that a sealed token (`s1.`, `r1.`) from an earlier `make dev` still opens in the next one. Like the
local SigV4 key pair, these are local only and no secret: they seal nothing outside this machine's test data.

Everything else moto keeps, it keeps in memory: the verify state (replay, lockout, HOTP counters, used recovery
codes), the images and the events are lost at every restart (docs/development.md)."""

import hashlib
import sys

LOCAL_KEY_ID = "0cab1e00-07a0-4000-8000-00000000c0de"
LOCAL_KEY_MATERIAL = hashlib.sha256(b"otp-api make dev: the local sealing key").digest()  # AES-256, as moto's own


def main() -> None:
    from moto.kms import models
    from moto.server import main as serve

    # moto's Key reads both from its module (moto/kms/models.py: `generate_key_id`, `generate_master_key`)
    models.generate_key_id = lambda multi_region=False: ("mrk-" if multi_region else "") + LOCAL_KEY_ID
    models.generate_master_key = lambda: LOCAL_KEY_MATERIAL
    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
