"""Build with `sam build`, then run each function from the build output alone: the function's folder, the layer's
python/ folder and the runtime's boto3, in an interpreter without site-packages. A missing dependency or a wrong
layer layout fails here, not in AWS.

The template targets arm64; this machine may not run arm64 wheels, so the build here takes the wheels for the
machine's own architecture (LAMBDA_ARCH). Everything else (requirements, layout, bytecode, handlers) is the same.
"""

import json
import shutil
from pathlib import Path

import pytest
from support import ROOT, decode_image

from devserver.stack import LocalCloud
from tooling import packaging


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return packaging.build(tmp_path_factory.mktemp("sam") / "build", packaging.host_architecture())


@pytest.fixture(scope="module")
def runtime() -> Path:
    return packaging.runtime_site()


def test_layer_layout(build_dir):
    layer = build_dir / "CommonLayer" / "python"
    assert (layer / "otp_api" / "oath.py").exists()
    for package in ("aws_lambda_powertools", "msgspec", "pyotp", "segno", "zxingcpp", "botocore"):
        assert (layer / package).exists(), package
    assert not (layer / "boto3").exists()  # botocore alone: the functions never import boto3
    assert not (layer / "pydantic").exists()  # 3 MB zipped and 60 ms of cold start: the OpenAPI script alone uses it
    assert not (layer / "python").exists()  # no python/python nesting
    assert (build_dir / "OtpFunction" / "app.py").exists()


def test_passkeys_bring_their_own_layer(build_dir):
    # cryptography and py_webauthn are the passkey layer's alone: the common layer, which every function carries,
    # stays as small as it was (docs/performance.md gives both sizes).
    common, passkey = build_dir / "CommonLayer" / "python", build_dir / "PasskeyLayer" / "python"
    for package in ("webauthn", "cryptography", "OpenSSL", "cbor2"):
        assert (passkey / package).exists() and not (common / package).exists(), package
    assert not (passkey / "otp_api").exists()  # the kind's code is the common layer's, with every other kind


def test_the_built_otp_function_runs_a_passkey_ceremony_with_passkeys_on(build_dir, runtime):
    passkeys = {"PasskeyRpId": "localhost", "PasskeyOrigins": "http://localhost:3000"}
    body = {"type": "passkey", "action": "generate", "subject": "user-1", "label": "alice@example.com"}
    with LocalCloud(build_dir / "template.yaml", built=True, runtime_paths=(runtime,), parameters=passkeys) as stack:
        answered = stack.functions["OtpFunction"].invoke(_post_otp(body))
    assert answered["statusCode"] == 200, answered
    options = json.loads(answered["body"])["options"]
    assert options["rp"]["id"] == "localhost" and options["user"]["name"] == "alice@example.com"


def _post_otp(body: dict) -> dict:
    event = json.loads((ROOT / "events" / "otp-verify.json").read_text())
    return {**event, "body": json.dumps(body), "isBase64Encoded": False}


def test_plain_sam_build_ships_python_313_bytecode(build_dir):
    # /var/task and /opt are read-only: without .pyc files every cold start compiles everything it imports. The
    # build above is plain `sam build`; the bytecode comes from the Makefile's build targets it runs.
    import importlib.util

    modules = [path for path in build_dir.rglob("*.py") if "__pycache__" not in path.parts]
    compiled = [path for path in modules if (path.parent / "__pycache__" / f"{path.stem}.cpython-313.pyc").exists()]
    assert len(modules) > 100
    assert len(compiled) / len(modules) >= 0.95, sorted(set(map(str, modules)) - set(map(str, compiled)))[:10]
    header = (build_dir / "OtpFunction" / "__pycache__" / "app.cpython-313.pyc").read_bytes()[:8]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked: zip file times do not matter


def test_the_makefile_builds_for_the_templates_architecture():
    # The build targets pick wheels by LAMBDA_ARCH; its default must be what the functions run on.
    import re

    from tooling.template import raw_document

    default = re.search(r"^LAMBDA_ARCH \?= (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert default and raw_document()["Globals"]["Function"]["Architectures"] == [default.group(1)]


def test_built_functions_answer_the_sample_events(build_dir, runtime):
    events = {
        name: json.loads((ROOT / "events" / f"{name}.json").read_text())
        for name in ("otp-generate", "otp-verify", "barcodes-get", "barcodes-post")
    }
    with LocalCloud(build_dir / "template.yaml", built=True, runtime_paths=(runtime,)) as stack:
        otp, barcodes = stack.functions["OtpFunction"], stack.functions["BarcodesFunction"]
        generated = otp.invoke(events["otp-generate"])
        assert generated["statusCode"] == 200, generated
        body = json.loads(generated["body"])
        bucket = body["qrcode_url"].split("/")[3]
        key = body["qrcode_url"].split("?")[0].split("/", 4)[4]
        png = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        assert decode_image(png) == body["otp_url"]
        verified = otp.invoke(events["otp-verify"])
        assert verified["statusCode"] == 200 and "valid" in json.loads(verified["body"])
        redirect = barcodes.invoke(events["barcodes-get"])
        assert redirect["statusCode"] == 302, redirect
        posted = barcodes.invoke(events["barcodes-post"])
        assert posted["statusCode"] == 200 and json.loads(posted["body"])["format"] == "svg"


def test_isolated_interpreter_really_is_isolated(build_dir, runtime, tmp_path):
    # A function that imports a dev-only package must fail to start: otherwise the test above proves nothing.
    code = tmp_path / "fn"
    code.mkdir()
    (code / "app.py").write_text("import moto\n\ndef lambda_handler(event, context):\n    return {}\n")
    from devserver.functions import FunctionError, FunctionProcess

    with pytest.raises(FunctionError, match="moto"):
        FunctionProcess(
            "Probe", "app.lambda_handler", [code, build_dir / "CommonLayer" / "python", runtime], {}, isolated=True
        )
    shutil.rmtree(code)
