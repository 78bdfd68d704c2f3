"""The layer's cut of botocore's data (scripts/botocore_data.py) against botocore's full data, with the botocore
the functions run (the layer's own, pinned in layers/common/requirements.txt): every request the code makes is the
same request, byte for byte, signature included (time frozen), and endpoints resolve the same in every partition,
FIPS and dual-stack included. No network: a `before-send` hook answers as AWS would and records what was sent."""

import base64
import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import botocore
import pytest
import time_machine
from support import ROOT, FakeContext, event_with

from otp_api import aws, image_bucket, kms, spellings
from otp_api.aws_operations import OPERATIONS
from otp_api.settings import get_settings, get_verify_settings
from otp_api.state import table
from scripts import botocore_data

MOMENT = 1_900_000_000  # frozen: the same signatures from both clients
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.fixture(scope="module")
def cut(tmp_path_factory) -> str:
    return str(botocore_data.generate(tmp_path_factory.mktemp("botocore_data"), OPERATIONS))


def test_the_cut_is_for_the_botocore_lambda_runs():
    # the tests run the botocore the layer ships (requirements-local.txt takes the layer's pins)
    from tooling.packaging import layer_pin

    assert botocore.__version__ == layer_pin("botocore")


def test_the_cut_holds_the_listed_operations_and_no_documentation(cut):
    for service, operations in OPERATIONS.items():
        (model_file,) = Path(cut, service).glob("*/service-2.json")
        model = json.loads(model_file.read_text())
        assert sorted(model["operations"]) == sorted(operations)
        # (botocore requires a clientContextParams entry's documentation)
        without_context_params = {k: v for k, v in model.items() if k != "clientContextParams"}
        assert '"documentation"' not in json.dumps(without_context_params)
    sizes = {path.relative_to(cut).as_posix(): path.stat().st_size for path in Path(cut).rglob("*.json")}
    assert sizes["dynamodb/2012-08-10/service-2.json"] < 12_000  # the full model: 94 kB gzipped
    assert sizes["endpoints.json"] < 40_000  # the full one: 1.25 MB


def test_an_operation_the_model_lacks_fails_the_build(tmp_path):
    with pytest.raises(SystemExit, match="DynamoDB has no operation GetItems"):
        botocore_data.generate(tmp_path, {"dynamodb": ("GetItems",)})


def test_aws_uses_the_cut_for_its_own_botocore_only(tmp_path, monkeypatch):
    # Given a layer whose cut was made for another botocore
    (tmp_path / "botocore_data" / "0.0.1").mkdir(parents=True)
    monkeypatch.setattr("otp_api.aws_operations.__file__", str(tmp_path / "aws_operations.py"))
    # Then botocore's own data is used
    assert aws.cut_data_folder() is None
    (tmp_path / "botocore_data" / botocore.__version__).mkdir()
    assert aws.cut_data_folder() == str(tmp_path / "botocore_data" / botocore.__version__)


class _Raw(io.BytesIO):
    def stream(self, **_kwargs: Any):
        yield self.read()


class FakeAws:
    """Answers as AWS would, enough for the code to go on: KMS as an identity cipher, DynamoDB an accepted write
    and a missing item, S3 takes every PUT and finds every second HEAD's object. Records each request as
    (operation, method, URL, headers, body)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []
        self.heads = 0

    def __call__(self, request: Any, event_name: str, **_kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = event_name.rsplit(".", 1)[1]
        headers = {k: v for k, v in request.headers.items() if k.lower() != "amz-sdk-invocation-id"}  # a uuid4
        body = request.body or b""
        body = body.read() if hasattr(body, "read") else body  # (an S3 PUT's aws-chunked body, checksum trailer)
        body = body.encode() if isinstance(body, str) else body
        self.sent.append((operation, request.method, request.url, repr(sorted(headers.items())), body.hex()))
        answer, headers, status = b"", {}, 200
        if operation in ("Encrypt", "Decrypt"):
            sent = json.loads(body)
            blob = sent.get("Plaintext") or sent.get("CiphertextBlob")
            field = "CiphertextBlob" if operation == "Encrypt" else "Plaintext"
            answer = json.dumps({field: blob, "KeyId": "arn:aws:kms:eu-west-1:123456789012:key/test"}).encode()
        elif operation == "UpdateItem":
            item = {"last_used": {"N": str(MOMENT)}, "used": {"NS": ["0"]}, "decided_by": {"S": "0" * 16}}
            answer = json.dumps({"Attributes": item}).encode()
        elif operation == "GetItem":
            answer = b"{}"
        elif operation == "HeadObject":
            self.heads += 1
            status = 404 if self.heads % 2 else 200
            headers = {"Last-Modified": "Sun, 17 Mar 2030 17:46:40 GMT", "x-amz-meta-width": "228"}
            headers["x-amz-meta-height"] = "228"
        elif operation == "PutObject":
            headers = {"ETag": '"0"'}
        return AWSResponse(request.url, status, headers, _Raw(answer))


def _session_sending_to(fake: FakeAws, cut_folder: str | None, monkeypatch) -> None:
    """A fresh aws session with botocore's full data (None) or the cut, whose clients send to `fake`."""
    monkeypatch.setattr(aws, "cut_data_folder", lambda: cut_folder)
    for cached in (aws._session, table._client, kms._client, image_bucket._client):
        cached.cache_clear()
    aws._session().register("before-send", fake)


def _fresh_app(function: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"{function}_cut_test", ROOT / "functions" / function / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # init: the clients, and the warm-up calls
    return module.lambda_handler


def _sealed(payload: bytes, prefix: str) -> str:
    """A token as FakeAws's KMS seals it."""
    return prefix + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _requests() -> list[tuple[str, dict]]:
    """One request of each kind that calls AWS, with the event it goes in."""
    import struct

    from support import independent_code, independent_hotp

    from otp_api.kinds import recovery_codes
    from otp_api.oath import HOTP, TOTP, OtpKey

    key = OtpKey(TOTP, base64.b32decode(SECRET), "SHA1", 6, 30)
    hotp_key = OtpKey(HOTP, base64.b32decode(SECRET), "SHA1", 6, 30, counter=0)
    set_id, recovery = b"\x01" * 16, "K7QM2XW9HF"
    codes = struct.pack(">B16sB", 1, set_id, 2) + recovery_codes._hash(set_id, recovery) + b"\x00" * 16
    code = independent_code(SECRET, MOMENT)
    sealed = _sealed(spellings.sealed_payload(key), spellings.SEALED_SECRET.prefix)
    sealed_hotp = _sealed(spellings.sealed_payload(hotp_key), spellings.SEALED_SECRET.prefix)
    otp = [
        {"type": "time_based", "action": "generate", "label": "alice@example.com", "issuer": "Example"},
        {"type": "time_based", "action": "seal", "secret": SECRET},
        {"type": "time_based", "action": "verify", "secret": SECRET, "code": code},
        {"type": "time_based", "action": "verify", "secret": SECRET},
        {"type": "time_based", "action": "verify", "sealed_secret": sealed, "code": code},
        {"type": "hotp", "action": "verify", "secret": SECRET, "code": independent_hotp(SECRET, 0)},
        {"type": "hotp", "action": "verify", "sealed_secret": sealed_hotp, "code": independent_hotp(SECRET, 1)},
        {
            "type": "recovery_codes",
            "action": "verify",
            "sealed_codes": _sealed(codes, recovery_codes.SEALED_CODES.prefix),
            "code": recovery,
        },
        {"type": "recovery_codes", "action": "generate", "count": 2},
    ]
    barcodes = [{"type": "qr_code", "data": "https://example.com/put"}, {"type": "aztec_code", "data": "found it"}]
    return [("otp", body) for body in otp] + [("barcodes", body) for body in barcodes]


@pytest.fixture
def fresh_state(monkeypatch):
    """Settings read again, clients made again; randomness fixed, so that both runs send the same bytes."""
    import secrets

    monkeypatch.setattr(secrets, "token_bytes", lambda n=32: bytes(n))
    monkeypatch.setattr(secrets, "choice", lambda seq: seq[0])
    get_settings.cache_clear()
    get_verify_settings.cache_clear()
    yield
    get_settings.cache_clear()
    get_verify_settings.cache_clear()
    for cached in (aws._session, table._client, kms._client, image_bucket._client):
        cached.cache_clear()


def _every_call(cut_folder: str | None, monkeypatch) -> tuple[list[tuple[str, ...]], list[Any]]:
    """Init both functions, then one request of every kind: what was sent to AWS, and what the API answered."""
    fake = FakeAws()
    _session_sending_to(fake, cut_folder, monkeypatch)
    answers = []
    with time_machine.travel(MOMENT, tick=False):
        handlers = {"otp": _fresh_app("otp"), "barcodes": _fresh_app("barcodes")}
        for function, body in _requests():
            response = handlers[function](
                event_with(f"{function}-post" if function == "barcodes" else "otp-verify", body=body), FakeContext()
            )
            assert response["statusCode"] < 400, (body, response)
            answers.append(response["body"])
    return fake.sent, answers


def test_every_request_the_code_makes_is_the_same_with_the_cut(cut, monkeypatch, fresh_state):
    full_sent, full_answers = _every_call(None, monkeypatch)
    cut_sent, cut_answers = _every_call(cut, monkeypatch)
    # (the two services' warm-up calls run concurrently: their order may differ)
    assert sorted(cut_sent) == sorted(full_sent)
    assert cut_answers == full_answers  # presigned URLs included
    sent_operations = {request[0] for request in full_sent}
    assert sent_operations == {"GetItem", "UpdateItem", "Encrypt", "Decrypt", "PutObject", "HeadObject"}
    # at init: GetItem and a refused UpdateItem, Encrypt and a refused Decrypt (each operation's first call)
    assert sum(1 for request in full_sent if b"warm-up".hex() in request[4]) == 4
    operations = [request[0] for request in full_sent]
    assert operations.count("HeadObject") == 2 and operations.count("PutObject") == 2  # generate; one image missing


def _endpoints(cut_folder: str | None, monkeypatch) -> list[Any]:
    """Where each of the code's clients sends a request (or why it cannot), and an S3 presigned URL."""
    fake = FakeAws()
    _session_sending_to(fake, cut_folder, monkeypatch)
    attempts = {
        "dynamodb": lambda: table._client().get_item(TableName="t", Key={"pk": {"S": "k"}}),
        "kms": lambda: kms._client().encrypt(KeyId="alias/k", Plaintext=b"k"),
        "s3": lambda: image_bucket._client().put_object(Bucket="otp-api-images", Key="otp-qr/k.png", Body=b"k"),
        "s3 presigned": lambda: image_bucket.presign("otp-qr/k.png").url,
    }
    found: list[Any] = []
    with time_machine.travel(MOMENT, tick=False):
        for name, attempt in attempts.items():
            try:
                found.append((name, attempt()))
            except Exception as exc:  # (a partition without FIPS or dual-stack endpoints: the same refusal)
                found.append((name, type(exc).__name__, str(exc)))
    clients = (table._client(), kms._client(), image_bucket._client())
    found.extend((client.meta.endpoint_url, client.meta.region_name) for client in clients)
    return [*found, *fake.sent]


VARIANTS = {
    "plain": {},
    "fips": {"AWS_USE_FIPS_ENDPOINT": "true"},
    "dual-stack": {"AWS_USE_DUALSTACK_ENDPOINT": "true"},
    "fips and dual-stack": {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"])
def test_endpoints_resolve_the_same_with_the_cut(cut, monkeypatch, fresh_state, region, variant):
    # Given the function's region, and FIPS or dual-stack endpoints as an operator would ask for them
    monkeypatch.setenv("AWS_REGION", region)
    for name, value in VARIANTS[variant].items():
        monkeypatch.setenv(name, value)
    # When the code's clients send a request with either data, Then each goes to the same place, signed for the
    # same region and service
    full, trimmed = _endpoints(None, monkeypatch), _endpoints(cut, monkeypatch)
    assert trimmed == full
    sent_to = [request[2] for request in full if isinstance(request[0], str) and request[0][0].isupper()]
    assert sent_to and all(url.startswith("https://") for url in sent_to)
