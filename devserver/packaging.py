"""Build the deployment package: `sam build`, then bytecode compiled for Python 3.13 into it.

/var/task and /opt are read-only on Lambda, so without .pyc files every cold start compiles every module it imports.
The .pyc files use unchecked hashes: zip archives round file times, which would make timestamp-checked bytecode
look stale and be compiled again at every cold start.

    python -m devserver.packaging                 arm64, as deployed, into .aws-sam/build
    python -m devserver.packaging --host DIR      this machine's architecture into DIR (to run it here)
"""

import argparse
import compileall
import io
import os
import platform
import py_compile
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
    """sam build into `build_dir` (for another architecture from a rewritten copy of the template), then compile."""
    if not SAM.exists():
        raise SystemExit("SAM CLI is missing: `make test` or `make build` installs it into .venv-sam")
    template = ROOT / "template.yaml"
    if architecture != "arm64":
        build_dir.parent.mkdir(parents=True, exist_ok=True)
        template = build_dir.parent / f"template-{architecture}.yaml"
        template.write_text((ROOT / "template.yaml").read_text().replace("arm64", architecture))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    command = [
        str(SAM),
        "build",
        "--template-file",
        str(template),
        "--base-dir",
        str(ROOT),
        "--build-dir",
        str(build_dir),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    compile_bytecode(build_dir)
    return build_dir


def compile_bytecode(build_dir: Path) -> None:
    if sys.version_info[:2] != (3, 13):
        raise SystemExit("compile with Python 3.13, the Lambda runtime's version")
    ok = compileall.compile_dir(
        build_dir, quiet=2, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    if not ok:
        raise RuntimeError("some modules in the package do not compile")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", type=Path, metavar="DIR", help="build for this machine's architecture into DIR")
    args = parser.parse_args()
    out = build(args.host, host_architecture()) if args.host else build(ROOT / ".aws-sam" / "build")
    for part in sorted(p for p in out.iterdir() if p.is_dir()):
        print(f"{part.name:20} {zipped_size(part) / 1e6:6.2f} MB zipped")


if __name__ == "__main__":
    main()
