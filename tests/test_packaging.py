"""Build with `sam build`, then run each function from the build output alone: the function's folder, the layer's
python/ folder and the runtime's boto3, in an interpreter without site-packages. A missing dependency or a wrong
layer layout fails here, not in AWS.

The template targets arm64; this machine may not run arm64 wheels, so the build here targets the machine's own
architecture from a copy of the template. Everything else (requirements, layout, handlers) is the same.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import decode_image

pytestmark = pytest.mark.local_stack

ROOT = Path(__file__).resolve().parent.parent
SAM = ROOT / ".venv-sam" / "bin" / "sam"
RUNTIME = ROOT / ".venv" / "lambda-runtime"  # boto3 as the Lambda runtime ships it (not in the package)
RUNTIME_BOTO3 = ["boto3==1.44.5", "botocore==1.44.8"]
sys.path.insert(0, str(ROOT))

from devserver.stack import LocalStack  # noqa: E402


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    if not SAM.exists():
        pytest.fail("SAM CLI is missing: run `make test`, which installs it into .venv-sam")
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    work = tmp_path_factory.mktemp("sam")
    (work / "template.yaml").write_text((ROOT / "template.yaml").read_text().replace("arm64", arch))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [str(SAM), "build", "--template-file", str(work / "template.yaml"), "--base-dir", str(ROOT),
         "--build-dir", str(work / "build")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    if not (RUNTIME / "boto3").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(RUNTIME), *RUNTIME_BOTO3],
                       check=True)  # fmt: skip
    return work / "build"


def test_layer_layout(build_dir):
    layer = build_dir / "CommonLayer" / "python"
    assert (layer / "otp_api" / "totp.py").exists()
    for package in ("aws_lambda_powertools", "pydantic", "pyotp", "segno", "zxingcpp"):
        assert (layer / package).exists(), package
    assert not (layer / "boto3").exists() and not (layer / "botocore").exists()  # the runtime ships them
    assert not (layer / "python").exists()  # no python/python nesting
    assert (build_dir / "OtpFunction" / "app.py").exists()


def test_built_functions_answer_the_sample_events(build_dir):
    events = {name: json.loads((ROOT / "events" / f"{name}.json").read_text()) for name in
              ("otp-generate", "otp-verify", "barcodes-get", "barcodes-post")}  # fmt: skip
    with LocalStack(build_dir / "template.yaml", built=True, runtime_paths=(RUNTIME,)) as stack:
        otp, barcodes = stack.functions["OtpFunction"], stack.functions["BarcodesFunction"]
        generated = otp.invoke(events["otp-generate"])
        assert generated["statusCode"] == 200, generated
        body = json.loads(generated["body"])
        bucket = body["qrcode_url"].split("/")[3]
        key = body["qrcode_url"].split("?")[0].split("/", 4)[4]
        png = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        assert decode_image(png) == body["otp_url"]
        verified = otp.invoke(events["otp-verify"])
        assert verified["statusCode"] == 200 and "otp_codes" in json.loads(verified["body"])
        redirect = barcodes.invoke(events["barcodes-get"])
        assert redirect["statusCode"] == 302, redirect
        posted = barcodes.invoke(events["barcodes-post"])
        assert posted["statusCode"] == 200 and json.loads(posted["body"])["format"] == "svg"


def test_isolated_interpreter_really_is_isolated(build_dir, tmp_path):
    # A function that imports a dev-only package must fail to start: otherwise the test above proves nothing.
    code = tmp_path / "fn"
    code.mkdir()
    (code / "app.py").write_text("import moto\n\ndef lambda_handler(event, context):\n    return {}\n")
    from devserver.functions import FunctionError, FunctionProcess

    with pytest.raises(FunctionError, match="moto"):
        FunctionProcess("Probe", "app.lambda_handler", [code, build_dir / "CommonLayer" / "python", RUNTIME], {},
                        isolated=True)  # fmt: skip
    shutil.rmtree(code)
