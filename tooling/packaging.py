"""The deployment package as `sam build` makes it, for running it on this machine (tests, bench).

`sam build` itself compiles the bytecode (template.yaml: BuildMethod makefile, the Makefile's build-* targets), so
`make build` is plain `sam build`. Here the same build targets this machine's architecture (LAMBDA_ARCH), since
arm64 wheels do not run on x86_64; everything else (requirements, layout, bytecode, handlers) is the same.
"""

import io
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAM = ROOT / ".venv-sam" / "bin" / "sam"
LAYER_REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
# boto3 as the Lambda runtime provides it (the layer's own botocore comes first on sys.path): one folder per botocore
# version, at the layer's pin (what the runtime shipped when it was chosen) or another (the bench's newest)
RUNTIME_SITES = ROOT / ".aws-sam" / "lambda-runtime"
RUNTIME_BOTO3_AT_PIN = "1.44.5"  # the boto3 the runtime shipped beside botocore 1.44.8


def layer_pin(package: str) -> str:
    """The version layers/common/requirements.txt pins `package` to."""
    for line in LAYER_REQUIREMENTS.read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package:
            return version.strip()
    raise LookupError(f"{package} is not pinned in {LAYER_REQUIREMENTS}")


def newest_botocore() -> str:
    """The newest botocore the package index serves (`pip index versions`), for a runtime that has moved on."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "botocore"], capture_output=True, text=True, check=True
    )
    first = result.stdout.splitlines()[0]  # "botocore (1.44.18)"
    return first.split("(", 1)[1].rstrip(")")


def host_architecture() -> str:
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]


def build(build_dir: Path, architecture: str = "arm64") -> Path:
    """`sam build` into `build_dir`, with wheels for `architecture`."""
    if not SAM.exists():
        raise SystemExit("SAM CLI is missing: `make test` or `make build` installs it into .venv-sam")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # python3.13 for the build targets
        "SAM_CLI_TELEMETRY": "0",
        "LAMBDA_ARCH": architecture,
    }
    command = [
        str(SAM),
        "build",
        "--template-file",
        str(ROOT / "template.yaml"),
        "--base-dir",
        str(ROOT),
        "--build-dir",
        str(build_dir),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return build_dir


def runtime_site(botocore_version: str | None = None) -> Path:
    """A folder with the boto3 and botocore the Lambda runtime ships, for running the package outside Lambda: at the
    layer's pin by default, or at `botocore_version` (with the newest boto3 that goes with it)."""
    version = botocore_version or layer_pin("botocore")  # (pip compiles its bytecode, as the runtime has it)
    folder = RUNTIME_SITES / version
    if not (folder / "botocore").exists():
        boto3 = f"boto3=={RUNTIME_BOTO3_AT_PIN}" if version == layer_pin("botocore") else "boto3"
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(folder)]
        subprocess.run([*pip, boto3, f"botocore=={version}"], check=True)  # noqa: S603
    return folder


def zipped_size(folder: Path) -> int:
    """Bytes of `folder` zipped as SAM uploads it (deflate)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.tell()
