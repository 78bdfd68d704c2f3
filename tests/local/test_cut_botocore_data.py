"""The built layer carries botocore's data cut to what the code calls (the Makefile's build-CommonLayer,
scripts/botocore_data.py), cut from the botocore the layer ships, and the built functions load their models from
there alone (the events function's PutEvents too), whatever botocore the runtime has."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from otp_api.aws_operations import OPERATIONS
from tooling import packaging

SERVICES = sorted(OPERATIONS)  # dynamodb, events (the events function's PutEvents), kms, s3

PROBE = """
import json, sys
sys.path[:0] = sys.argv[1:4]
import botocore
from otp_api import aws
from otp_api.state import table
table.connect()
loader = aws._session().get_component("data_loader")
print(json.dumps({"version": botocore.__version__, "searched": loader.search_paths,
                  "services": loader.list_available_services("service-2")}))
"""


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return packaging.build(tmp_path_factory.mktemp("sam") / "build", packaging.host_architecture())


def test_the_layer_holds_its_botocore_and_the_cut_made_from_it(build_dir):
    layer = build_dir / "CommonLayer" / "python"
    (folder,) = (layer / "otp_api" / "botocore_data").iterdir()
    (dist,) = layer.glob("botocore-*.dist-info")
    assert folder.name == packaging.layer_pin("botocore") == dist.name.removeprefix("botocore-").split(".dist")[0]
    assert not (layer / "botocore" / "data").exists() and not (layer / "boto3").exists()
    assert sorted(path.name for path in folder.iterdir() if path.is_dir()) == SERVICES
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    assert size < 300_000  # botocore's own data: 28 MB


@pytest.mark.parametrize("runtime", ["pin", "newest"])
def test_the_built_function_loads_models_from_the_cut_alone(build_dir, runtime):
    # Whatever botocore the runtime ships (its pin, or the newest the registry serves), the layer's runs.
    site = packaging.runtime_site(None if runtime == "pin" else packaging.newest_botocore())
    paths = [build_dir / "OtpFunction", build_dir / "CommonLayer" / "python", site]
    env = {"AWS_REGION": "eu-west-1", "IMAGE_BUCKET_NAME": "b", "VERIFY_STATE_TABLE_NAME": "t", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, *map(str, paths)], env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(result.stdout)
    cut = build_dir / "CommonLayer" / "python" / "otp_api" / "botocore_data" / found["version"]
    assert found["version"] == packaging.layer_pin("botocore")
    assert found["searched"] == [str(cut)] and found["services"] == SERVICES


EVENTS_PROBE = """
import json, sys
sys.path[:0] = sys.argv[1:4]
from otp_api import aws
from otp_api.events import bus
client = bus._client()
request = client._serializer.serialize_to_request(
    {"Entries": [{"Source": "otp-api", "DetailType": "Key Revoked", "Detail": "{}"}]},
    client.meta.service_model.operation_model("PutEvents"),
)
print(json.dumps({"searched": aws._session().get_component("data_loader").search_paths,
                  "target": request["headers"]["X-Amz-Target"], "endpoint": client.meta.endpoint_url}))
"""


def test_the_built_events_function_puts_events_with_the_cut_alone(build_dir):
    paths = [build_dir / "EventsFunction", build_dir / "CommonLayer" / "python", packaging.runtime_site()]
    env = {"AWS_REGION": "eu-west-1", "IMAGE_BUCKET_NAME": "b", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", EVENTS_PROBE, *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(result.stdout)
    assert len(found["searched"]) == 1 and found["searched"][0].startswith(str(build_dir / "CommonLayer"))
    assert found["target"] == "AWSEvents.PutEvents"
    assert found["endpoint"] == "https://events.eu-west-1.amazonaws.com"
