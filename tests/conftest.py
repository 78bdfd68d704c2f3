"""Every test: the functions' environment as the template gives it (and fake AWS credentials) before any boto3
client exists. The paths (the repository, the layer, tests/) come from pyproject.toml's pytest settings.

Where each kind of test lives, by what it needs:
- unit/: pure functions; no AWS, no network, no zbar (`make unit`)
- handler/: the functions in process, AWS from moto's in-process mock (moto_fixtures.py)
- aws_semantics/: AWS's own answers where moto answers otherwise, on the wire of one botocore call
- template/: template.yaml as CloudFormation receives it
- local/: the local server and the built package (schemathesis, the browser, packaging, `make e2e`'s targets)
- e2e/: the end-to-end suite of `make e2e`: the local server, or a deployed stack
"""

import os

from support import BUCKET, SEALING_KEY_ARN, TABLE

# Fake credentials and a fixed region for moto, unless the run reads a deployed stack with yours (`make e2e
# STACK=...`, which runs tests/e2e only; moto's mock would still put fake keys around any in-process test).
if not os.environ.get("E2E_STACK"):
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_REGION": "eu-west-1",
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        os.environ.pop(name, None)
os.environ.update(
    {
        "IMAGE_BUCKET_NAME": BUCKET,
        "VERIFY_STATE_TABLE_NAME": TABLE,
        "REPLAY_PROTECTION": "true",
        "MAX_FAILED_ATTEMPTS": "5",
        "LOCKOUT_WINDOW_SECONDS": "900",
        "DEFAULT_ISSUER": "otp-api",
        "QR_URL_EXPIRY_SECONDS": "300",
        "POWERTOOLS_SERVICE_NAME": "otp-api",
        "POWERTOOLS_METRICS_NAMESPACE": "OtpApi",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",  # the leak tests want to see everything that could be logged
        "SEALING_KEY_ARN": SEALING_KEY_ARN,
    }
)
