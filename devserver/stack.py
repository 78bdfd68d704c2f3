"""The local stand-in for the deployed stack: moto's S3 (and DynamoDB) server plus one process per function."""

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from devserver.functions import FunctionProcess
from tooling import template

REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


class LocalCloud:
    """Start with `LocalCloud().start()`; `stop()` ends every process and thread it started."""

    def __init__(
        self,
        template_path: Path = template.ROOT / "template.yaml",
        extra_env: dict[str, str] | None = None,
        built: bool = False,
        runtime_paths: tuple[Path, ...] = (),
        verbose: bool = False,
    ):
        """`built`: run a `sam build` output (layers under python/) in isolated interpreters that see only the
        function, its layers and `runtime_paths` (what the Lambda runtime itself provides, such as boto3).
        `verbose`: the functions' output as CloudWatch would get it (JSON logs, metrics); otherwise one short line
        per log record, metrics left out (worker.py)."""
        self.template = template.load(template_path)
        self.verbose = verbose
        self.extra_env = extra_env or {}
        self.built = built
        self.runtime_paths = list(runtime_paths)
        self.functions: dict[str, FunctionProcess] = {}
        self.routes: dict[tuple[str, str], FunctionProcess] = {}
        self.endpoint = ""
        self._moto: Any = None
        self._restarting = threading.Lock()

    def start(self) -> "LocalCloud":
        try:
            self._start_moto()
            names = {**self.template.parameters, **self._create_resources()}
            for fn in self.template.functions.values():
                env = {
                    key: template.resolve(value, names, self.template.conditions)
                    for key, value in fn.environment.items()
                }
                layers = [layer / "python" for layer in fn.layer_dirs] if self.built else fn.layer_dirs
                process = FunctionProcess(
                    fn.name,
                    fn.handler,
                    [fn.code_dir, *layers, *self.runtime_paths],
                    {**self.aws_env(), **env, "OTP_LOCAL_MEMORY_MB": str(fn.memory_mb), **self.extra_env},
                    isolated=self.built,
                    timeout=fn.timeout,
                    verbose=self.verbose,
                )
                self.functions[fn.name] = process
                for route in fn.routes:
                    self.routes[route] = process
        except BaseException:
            self.stop()
            raise
        return self

    def route(self, method: str, path: str) -> FunctionProcess | None:
        """The function behind a route, with the AWS stand-in checked first: if moto's server has died, it is
        started again (and the functions with it, for its new resources), and the server says so."""
        if self._moto is not None and self._moto.poll() is not None:
            with self._restarting:
                if self._moto is not None and self._moto.poll() is not None:
                    code = self._moto.returncode
                    eprint(
                        f"moto's server exited (code {code}): starting S3, DynamoDB and KMS again (their data is gone)"
                    )
                    self.stop()
                    self.start()
        return self.routes.get((method, path))

    def _start_moto(self) -> None:
        """moto's server in a process of its own: its state stays apart from any in-process mock."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._moto = subprocess.Popen(  # noqa: S603 - moto's own server module
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._moto.poll() is not None:
                raise RuntimeError(f"moto's server exited (code {self._moto.returncode})")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moto's server did not start within 30 s")

    def aws_env(self) -> dict[str, str]:
        region = {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
        return {**FAKE_CREDENTIALS, **region, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto's server takes any key
        )

    def _create_resources(self) -> dict[str, str]:
        names = {}
        s3 = self.client("s3")
        for logical in self.template.buckets:
            names[logical] = f"otp-api-local-{logical.lower()}"
            s3.create_bucket(Bucket=names[logical])
        if self.template.tables:
            dynamodb = self.client("dynamodb")
            for logical, props in self.template.tables.items():
                names[logical] = f"otp-api-local-{logical.lower()}"
                dynamodb.create_table(
                    TableName=names[logical],
                    KeySchema=props["KeySchema"],
                    AttributeDefinitions=props["AttributeDefinitions"],
                    BillingMode="PAY_PER_REQUEST",
                )
        if self.template.keys:
            kms = self.client("kms")
            for logical in self.template.keys:
                names[logical] = kms.create_key(Description=f"otp-api local {logical}")["KeyMetadata"]["Arn"]
        return names

    def stop(self) -> None:
        for process in self.functions.values():
            process.close()
        self.functions.clear()
        self.routes.clear()
        if self._moto is not None:
            self._moto.terminate()
            try:
                self._moto.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._moto.kill()
                self._moto.wait()
            self._moto = None

    def __enter__(self) -> "LocalCloud":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def eprint(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)
