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
RUNTIME_SITE = ROOT / ".venv" / "lambda-runtime"  # boto3 as the Lambda runtime provides it, never in the package
RUNTIME_BOTO3 = ["boto3==1.44.5", "botocore==1.44.8"]


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


def runtime_site() -> Path:
    """A folder with the boto3 the Lambda runtime ships, for running the package outside Lambda."""
    if not (RUNTIME_SITE / "boto3").exists():
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(RUNTIME_SITE), *RUNTIME_BOTO3],
            check=True,
        )
    return RUNTIME_SITE


def zipped_size(folder: Path) -> int:
    """Bytes of `folder` zipped as SAM uploads it (deflate)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.tell()
