"""The local stand-in for the deployed stack: moto's server (S3, DynamoDB and its streams, KMS, EventBridge, SQS)
plus one process per function, and the security events' path: the state table's stream to the events function,
its events on moto's bus, and from there one line each in the terminal and on the demo page."""

import collections
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from devserver.functions import FunctionProcess
from devserver.streams import Mapping, StreamReader
from tooling import template

EVENTS_KEPT = 200  # the latest events, for the demo page (GET /local/events)
EVENTS_POLL_SECONDS = 0.3
EVENTS_QUEUE = "otp-api-local-events"
MOTO_SERVER = Path(__file__).with_name("moto_server.py")

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
        parameters: dict[str, str] | None = None,
        region: str = REGION,
        moto_endpoint: str = "",
        state_regions: str = "",
    ):
        """`built`: run a `sam build` output (layers under python/) in isolated interpreters that see only the
        function, its layers and `runtime_paths` (what the Lambda runtime itself provides, such as boto3).
        `verbose`: the functions' output as CloudWatch would get it (JSON logs, metrics); otherwise one short line
        per log record, metrics left out (worker.py). `parameters`: template parameters other than their defaults,
        as `sam deploy --parameter-overrides` would set them (checked by the template's rules: ParameterError).
        `region`, `moto_endpoint`, `state_regions`: one Region of `make dev REGIONS=3` (regions.py), on a moto server
        started for all of them, whose one state table the first Region creates and the others adopt."""
        self.template = template.load(template_path, parameters)
        self.parameters = dict(parameters or {})
        self.verbose = verbose
        self.extra_env = extra_env or {}
        self.built = built
        self.runtime_paths = list(runtime_paths)
        self.functions: dict[str, FunctionProcess] = {}
        self.routes: dict[tuple[str, str], FunctionProcess] = {}
        self.region, self.state_regions = region, state_regions
        self.endpoint = moto_endpoint
        self._moto: Any = None
        self._restarting = threading.Lock()
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=EVENTS_KEPT)
        self._pump: threading.Thread | None = None
        self._stopping = threading.Event()

    def serve_passkeys_at(self, port: int) -> None:
        """Passkeys for the local pages: RP ID `localhost` and the origin http://localhost:`port` (browsers take
        `localhost` as a secure context; an IP address is no RP ID), unless PARAMETERS set them. Before start."""
        if "PasskeyRpId" not in self.parameters:
            self.extra_env.setdefault("PASSKEY_RP_ID", "localhost")
        if "PasskeyOrigins" not in self.parameters:
            self.extra_env.setdefault("PASSKEY_ORIGINS", f"http://localhost:{port}")

    def start(self) -> "LocalCloud":
        try:
            if not self.state_regions:
                self._start_moto()
            names = {**self.template.parameters, **self._create_resources()}
            for fn in self.template.functions.values():
                env = template.resolve_environment(fn.environment, names, self.template.conditions)
                layers = [layer / "python" for layer in fn.layer_dirs] if self.built else fn.layer_dirs
                process = FunctionProcess(
                    fn.name,
                    fn.handler,
                    [fn.code_dir, *layers, *self.runtime_paths],
                    {**self.aws_env(), **env, **self.regions_env(fn.name), **self.extra_env},
                    isolated=self.built,
                    timeout=fn.timeout,
                    verbose=self.verbose,
                )
                self.functions[fn.name] = process
                for route in fn.routes:
                    self.routes[route] = process
            self._start_events(names)
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
                        f"moto's server exited (code {code}): starting S3, DynamoDB and KMS again (their data is "
                        "gone; the sealing key is the same)"
                    )
                    self.stop()
                    self.start()
        return self.routes.get((method, path))

    def _start_events(self, names: dict[str, Any]) -> None:
        """The security events' path as deployed (template.yaml: EventsFromVerifyState): the stream's records to the
        events function as Lambda's mapping gives them, the function's PutEvents to moto's bus; then, as a consumer
        would, a rule to a queue this server reads, for the terminal and the demo page."""
        mappings = [m for m in self.template.stream_mappings if m.function in self.functions and m.table in names]
        if not mappings:
            return
        bus = str(self.template.parameters.get("EventBusName") or "default")
        events, sqs, streams = self.client("events"), self.client("sqs"), self.client("dynamodbstreams")
        if bus != "default":
            events.create_event_bus(Name=bus)
        queue = sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        source = json.loads((template.ROOT / "docs" / "events.schema.json").read_text())["source"]
        events.put_rule(Name=EVENTS_QUEUE, EventBusName=bus, EventPattern=json.dumps({"source": [source]}))
        events.put_targets(Rule=EVENTS_QUEUE, EventBusName=bus, Targets=[{"Id": "local", "Arn": queue_arn}])
        pumps = []
        for mapping in mappings:
            table = self.client("dynamodb").describe_table(TableName=names[mapping.table])["Table"]
            reader = StreamReader(streams, table["LatestStreamArn"])
            pumps.append((reader, Mapping(mapping, gave_up=self._gave_up), self.functions[mapping.function]))
        self._stopping.clear()
        self._pump = threading.Thread(target=self._pump_events, args=(pumps, sqs, queue), daemon=True)
        self._pump.start()

    def _pump_events(self, pumps: list[tuple[StreamReader, Mapping, FunctionProcess]], sqs: Any, queue: str) -> None:
        failing = False
        while not self._stopping.wait(EVENTS_POLL_SECONDS):
            try:
                for reader, mapping, function in pumps:
                    mapping.feed(reader.read())
                    mapping.deliver(function.invoke)
                for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
                    event = json.loads(message["Body"])
                    self.events.append(event)
                    eprint(event_line(event))
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                failing = False
            except Exception as exc:  # moto gone (the next request starts it again) or stopping: said once
                if not failing and not self._stopping.is_set():
                    eprint(f"security events paused: {type(exc).__name__}")
                failing = True

    def _gave_up(self, records: list[dict[str, Any]]) -> None:
        eprint(
            f"EventsFunction: {len(records)} stream records given up after its retries (deployed: EventsFailedQueue)"
        )

    def _start_moto(self) -> None:
        """moto's server in a process of its own: its state stays apart from any in-process mock. Its KMS key is
        the same at every start (moto_server.py): tokens sealed before a restart still open."""
        self._moto, self.endpoint = start_moto()

    def regions_env(self, function: str) -> dict[str, str]:
        """What the template sets with StateRegions (which the local server's PARAMETERS refuse: REGIONS=3 sets it),
        for the functions that read it; and each function's memory."""
        memory = {"OTP_LOCAL_MEMORY_MB": str(self.template.functions[function].memory_mb)}
        if not self.state_regions or "VERIFY_STATE_TABLE_NAME" not in self.template.functions[function].environment:
            return memory
        return {**memory, "STATE_REGIONS": self.state_regions}

    def aws_env(self) -> dict[str, str]:
        region = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        return {**FAKE_CREDENTIALS, **region, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto's server takes any key
        )

    def _create_resources(self) -> dict[str, str]:
        names = {}
        s3 = self.client("s3")
        for logical in self.template.buckets:  # (moto's bucket names are global, as S3's: one per Region)
            names[logical] = f"otp-api-local-{logical.lower()}" + (f"-{self.region}" if self.state_regions else "")
            where = {} if self.region == "us-east-1" else {"LocationConstraint": self.region}
            s3.create_bucket(Bucket=names[logical], **({"CreateBucketConfiguration": where} if where else {}))
        if self.template.tables:
            dynamodb = self.client("dynamodb")
            for logical, props in self.template.tables.items():
                names[logical] = f"otp-api-local-{logical.lower()}"
                if self.state_regions and self.region != self.state_regions.split(",")[0]:
                    continue  # the first Region's table, which moto serves to every Region (moto_server.py)
                stream = (
                    {"StreamEnabled": True, **props["StreamSpecification"]} if "StreamSpecification" in props else {}
                )
                dynamodb.create_table(
                    TableName=names[logical],
                    KeySchema=props["KeySchema"],
                    AttributeDefinitions=props["AttributeDefinitions"],
                    BillingMode="PAY_PER_REQUEST",
                    **({"StreamSpecification": stream} if stream else {}),
                )
        if self.template.keys:
            kms = self.client("kms")
            for logical in self.template.keys:
                # with three Regions, the same key id and key material in each, as a multi-Region key's replicas have
                # (moto_server.py; not moto's own multi-Region keys, whose `mrk-` ids its ciphertexts cut short)
                names[logical] = kms.create_key(Description=f"otp-api local {logical}")["KeyMetadata"]["Arn"]
        return names

    def stop(self) -> None:
        self._stopping.set()
        if self._pump is not None and self._pump is not threading.current_thread():
            self._pump.join(timeout=15)
        self._pump = None
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


def start_moto(environment: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """moto's server (moto_server.py) on a free port, once it accepts connections: the process and its endpoint.
    `environment`: added to this process's, for moto_server.py's options."""
    import os

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto = subprocess.Popen(  # noqa: S603 - moto's own server, run by our module
        [sys.executable, str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(environment or {})},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if moto.poll() is not None:
            raise RuntimeError(f"moto's server exited (code {moto.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return moto, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    moto.kill()
    moto.wait()
    raise RuntimeError("moto's server did not start within 30 s")


def event_line(event: dict[str, Any]) -> str:
    """One terminal line per security event: its detail-type, its user and state (opaque), and its own fields."""
    detail = dict(event["detail"])
    common = [f"subject={detail['subject']}"] if "subject" in detail else []
    common.append(f"state={str(detail.get('state_id', ''))[:8]}")
    own = [
        f"{name}={value}" for name, value in detail.items() if name not in ("event_id", "state_id", "time", "subject")
    ]
    return f"event {event['detail-type']}: {' '.join(common + own)}"


def eprint(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)
