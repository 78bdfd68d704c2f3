"""Init makes exactly the clients the stack's configuration says its common requests need (at_init.py), in a
fresh interpreter per configuration, as Lambda runs init: none for a stateless, unsealed stack, which imports
nothing of AWS at all."""

import json
import os
import subprocess
import sys

import pytest
from support import ROOT

PROBE = """
import gc, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from otp_api import image_bucket, kms
from otp_api.state import table
made = [name for name, cached in (("dynamodb", table._client), ("kms", kms._client), ("s3", image_bucket._client))
        if cached.cache_info().currsize]
# (Powertools imports botocore's package itself, 0.4 ms, to tag its user agent: the cost is its client machinery.)
aws = "botocore.client" in sys.modules or "botocore.session" in sys.modules
# what a first request would otherwise make: JMESPath expressions parsed (the logger's correlation id), base32's
# encoding table (a key's base32 spelling, which pyotp takes)
import base64, jmespath.parser
first_use = {"parsed": sorted(jmespath.parser.Parser._CACHE), "base32": bool(base64._b32tab2)}
collector = [gc.isenabled(), gc.get_freeze_count() > 10_000]
print(json.dumps({"made": made, "botocore": aws, "collector": collector, "first_use": first_use}))
"""

OTP, BARCODES, EVENTS = (ROOT / "functions" / name / "app.py" for name in ("otp", "barcodes", "events"))


def at_init(app, **env: str) -> dict:
    # (AWS on a closed local port: init's warm-up calls fail at once, and nothing leaves the machine)
    environment = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'layers' / 'common'}",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(app)], env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("env", "made"),
    [
        ({}, ["dynamodb", "kms"]),  # the defaults: replay protection, lockout, sealing
        ({"SEALING_KEY_ARN": ""}, ["dynamodb"]),
        ({"REPLAY_PROTECTION": "false"}, ["dynamodb", "kms"]),  # lockout still writes
        ({"REPLAY_PROTECTION": "false", "MAX_FAILED_ATTEMPTS": "0"}, ["kms"]),
        ({"ENABLE_SNAP_START": "true"}, ["dynamodb", "kms", "s3"]),  # SnapStart: everything, once per version
    ],
)
def test_the_otp_function_makes_the_clients_its_configuration_needs(env, made):
    assert at_init(OTP, **env)["made"] == made


def test_a_stateless_unsealed_stack_imports_nothing_of_aws_at_init():
    found = at_init(OTP, REPLAY_PROTECTION="false", MAX_FAILED_ATTEMPTS="0", SEALING_KEY_ARN="")
    assert found["made"] == [] and found["botocore"] is False


def test_the_barcodes_function_makes_its_s3_client():
    assert at_init(BARCODES)["made"] == ["s3"]


@pytest.mark.parametrize("app", [OTP, BARCODES, EVENTS], ids=["otp", "barcodes", "events"])
def test_init_ends_with_the_collector_on_and_what_init_made_frozen(app):
    # Each function turns the collector off for its init and on again at its end, its objects frozen (at_init.done)
    assert at_init(app, EVENT_BUS_NAME="otp-api-events")["collector"] == [True, True]


@pytest.mark.parametrize("app", [OTP, BARCODES], ids=["otp", "barcodes"])
def test_init_parses_the_correlation_id_path_the_logger_reads_on_each_request(app):
    from aws_lambda_powertools.logging import correlation_paths

    assert correlation_paths.API_GATEWAY_REST in at_init(app)["first_use"]["parsed"]


def test_the_otp_functions_init_makes_a_code():
    # pyotp spells a key in base32 for each code: its table is built at init, not on the first verify
    assert at_init(OTP)["first_use"]["base32"] is True
    assert at_init(BARCODES)["first_use"]["base32"] is False  # (nothing at init builds it by chance)
