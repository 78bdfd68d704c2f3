"""Write openapi.json from the code: Powertools' document of each function's routes (summaries, responses),
with the request models of the kinds (otp_api/kinds) and of /barcodes as request bodies and query parameters.

    python scripts/openapi.py          write openapi.json
    python scripts/openapi.py --check  fail if openapi.json is stale
"""

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUTPUT = ROOT / "openapi.json"
REF = "#/components/schemas/{name}"
API_KEY_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "x-api-key",
    "description": "The stack's API key (output ApiKeyId); none locally unless OTP_API_KEY is set.",
}
# The RFC test secret ("12345678901234567890": RFC 4226's HOTP vectors, RFC 6238's TOTP): examples that need no
# earlier answer, so that Swagger UI's "Execute" works on a fresh `make dev`. An app would send sealed_secret.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # noqa: S105 - published test vectors
# A set of recovery codes for `user-7f3a` sealed by `make dev`, whose KMS key is the same at every start
# (devserver/moto_server.py): the examples verify and unlock on a fresh local server as given. A deployed stack's
# key did not seal it: there, a 400 until the generate example's answer is pasted in.
LOCAL_SEALED_CODES = (
    "r1.MGNhYjFlMDAtMDdhMC00MDAwLTgwMDAtMDAwMDAwMDBjMGRlvGpHY4eEypaczqhZJdDbxg7tg2lXl_xyvAj5JlzkHhgmKfKuZ"
    "k9RtyrBUOoXyJEwzaTk3ssmgIA2dyUhRw3jigYPbkHhmH3VSobQV6f-abL_MBtiPInUjDdgeCvldxvbM0gRc5Y2CP0ouY9V7jUE2"
    "5RcoS6Eak3Hp9URzjjd5KF_mqnP-9mlSTiEujo_NAJMe8jNQqzextlZExoABFrK1HpJ0tlUNgosGJ26-3Y13i7_Yaq6X4PPHtfiI"
    "0s3Gy9-O_4x_wZO04Kao9G6ma8"
)
LOCAL_RECOVERY_CODE = "6V1P-1B7S-NE"  # the set's first code


class Example(NamedTuple):
    """A request Swagger UI offers, with what it shows beside it and the status it answers on a fresh local server
    (the browser test executes each one)."""

    value: dict[str, Any]
    description: str
    status: int = 200


# Each path's requests, for Swagger UI's examples list: "Try it out" starts from the first, the quickstart's.
EXAMPLES_OF = {
    "/otp": {
        "totp generate": Example(
            {"type": "time_based", "action": "generate", "label": "alice@example.com", "issuer": "Example Corp"},
            "A new secret, its otpauth URI and a QR code to scan.",
        ),
        "totp generate, sealed and bound": Example(
            {
                "type": "time_based",
                "action": "generate",
                "label": "alice@example.com",
                "seal": True,
                "subject": "user-7f3a",
                "qrcode": "inline",
            },
            "What an app stores is `sealed_secret`: the key sealed under the stack's KMS key, bound to the user's "
            "stable id (`subject`). Verify it with the same subject.",
        ),
        "totp verify: the codes around now": Example(
            {"type": "time_based", "action": "verify", "secret": RFC_SECRET},
            "Without a code, a plain secret's codes around now are listed (ListCodes): copy one into the next "
            "example. A sealed secret is never listed.",
        ),
        "totp verify a code": Example(
            {"type": "time_based", "action": "verify", "secret": RFC_SECRET, "code": "123456"},
            "Put a code from the listing (or from `.venv/bin/python -c \"import pyotp; print(pyotp.TOTP('"
            + RFC_SECRET
            + "').now())\"`) in `code`: valid once, then "
            "`already_used`. As given, most likely `no_match`; 5 failures lock the key (the unlock example lifts "
            "it). An app sends `sealed_secret` and `subject` instead of `secret`.",
        ),
        "totp resync": Example(
            {
                "type": "time_based",
                "action": "resync",
                "secret": RFC_SECRET,
                "code": "123456",
                "next_code": "654321",
            },
            "Two consecutive codes (the listing's current and +30s) teach the server a device's clock drift. As "
            "given, `valid: false`.",
        ),
        "totp seal (import)": Example(
            {
                "type": "time_based",
                "action": "seal",
                "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                "subject": "user-7f3a",
            },
            "The sealed form of a secret an app already has (at least 112 bits), as generate with seal gives it.",
        ),
        "totp unlock": Example(
            {"type": "time_based", "action": "unlock", "secret": RFC_SECRET},
            "Clears the key's failures and lockout, once its user proved themselves another way.",
        ),
        "totp revoke": Example(
            {"type": "time_based", "action": "revoke", "secret": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"},
            "Retires a key for good (after its user re-enrolled): it never verifies, resyncs or unlocks again, and "
            "cannot be brought back. revoked is false when it already was. (This example's secret is used nowhere "
            "else.)",
        ),
        "hotp generate": Example(
            {"type": "counter_based", "action": "generate", "label": "fob-17", "counter": 0, "seal": True},
            "A key for a counter device, its URI starting at `counter`.",
        ),
        "hotp verify": Example(
            {"type": "counter_based", "action": "verify", "secret": RFC_SECRET, "counter": 0, "code": "755224"},
            "RFC 4226's code for counter 0: valid once (the server then expects counter 1), `already_used` after.",
        ),
        "hotp resync": Example(
            {
                "type": "counter_based",
                "action": "resync",
                "secret": RFC_SECRET,
                "counter": 0,
                "code": "287082",
                "next_code": "359152",
            },
            "RFC 4226's codes for counters 1 and 2: the server moves past both.",
        ),
        "recovery codes generate": Example(
            {"type": "recovery_codes", "action": "generate", "count": 10, "subject": "user-7f3a"},
            "Codes to show the user once; the app stores only `sealed_codes`.",
        ),
        "recovery code verify": Example(
            {
                "type": "recovery_codes",
                "action": "verify",
                "sealed_codes": LOCAL_SEALED_CODES,
                "code": LOCAL_RECOVERY_CODE,
                "subject": "user-7f3a",
            },
            "A set `make dev` sealed (its key is the same at every start) and its first code: valid once, then "
            "`already_used` until the server restarts. Against a deployed stack, paste the `sealed_codes` and one "
            "of the `codes` that the generate example answered (as given, a 400: another key sealed it).",
        ),
        "recovery codes unlock": Example(
            {
                "type": "recovery_codes",
                "action": "unlock",
                "sealed_codes": LOCAL_SEALED_CODES,
                "subject": "user-7f3a",
            },
            "Lifts the set's lockout (`unlocked: false` when it was not locked). Against a deployed stack, paste "
            "the `sealed_codes` that the generate example answered.",
        ),
    },
    "/barcodes": {
        "QR code, PNG": Example(
            {"type": "qr_code", "data": "hello world", "scale": 4}, "A QR code, 4 pixels a module."
        ),
        "Aztec code, SVG": Example({"type": "aztec_code", "data": "hello world", "format": "svg"}, "Scalable."),
        "Data Matrix": Example({"type": "data_matrix", "data": "hello world", "scale": 6, "border": 2}, ""),
    },
}
# GET /barcodes: the query parameters' values that Swagger UI fills in.
QUERY_EXAMPLE = {"/barcodes": EXAMPLES_OF["/barcodes"]["QR code, PNG"].value}


def _load_app(name: str, code_dir: Path, handler: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"openapi_{name}", code_dir / (handler.rsplit(".", 1)[0] + ".py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def build() -> dict[str, Any]:
    from tooling import template

    tpl = template.load()
    # the modules check their settings at import
    os.environ.setdefault("IMAGE_BUCKET_NAME", "documentation")
    os.environ.setdefault("VERIFY_STATE_TABLE_NAME", "documentation")
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for fn in tpl.functions.values():
        if not fn.routes:  # the events function: a stream consumer, no HTTP route (docs/events.md)
            continue
        sys.path[:0] = [str(path) for path in fn.layer_dirs]
        app = _load_app(fn.name, fn.code_dir, fn.handler)
        doc = json.loads(app.get_openapi_json_schema(title="otp-api", version="1"))
        for path, operations in doc["paths"].items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(doc.get("components", {}).get("schemas", {}))

    import msgspec

    from otp_api import barcodes, kinds
    from otp_api.http import ErrorResponse

    # Each path's request models (POST /otp: every kind's, each tagged by `action`); a KeyError: a new route
    # without its models.
    per_path = {"/otp": kinds.REGISTRY.request_models(), "/barcodes": [barcodes.BarcodeRequest]}
    per_path = {path: per_path[path] for path in paths}
    request_models = [model for models in per_path.values() for model in models]
    response_models = [*kinds.REGISTRY.response_models(), barcodes.BarcodeResponse, ErrorResponse]
    request_schemas, components = msgspec.json.schema_components(request_models + response_models, ref_template=REF)
    schemas.update(components)
    for path, operations in paths.items():
        found = [request_schemas[request_models.index(model)] for model in per_path[path]]
        schema = found[0] if len(found) == 1 else {"oneOf": found}
        if "$ref" in schema:  # a single model: the GET query parameters need its properties inline
            schema = components[schema["$ref"].rsplit("/", 1)[1]]
        refusals = _refusals(path)
        for method, operation in operations.items():
            operation.pop("operationId", None)
            operation["operationId"] = f"{method}_{path.strip('/').replace('/', '_')}"
            if method == "get":
                operation["parameters"] = _query_parameters(schema, QUERY_EXAMPLE.get(path, {}))
            else:
                examples = {
                    name: {
                        "summary": name,
                        **({"description": e.description} if e.description else {}),
                        "value": e.value,
                    }
                    for name, e in EXAMPLES_OF[path].items()
                }
                operation["requestBody"] = {
                    "required": True,
                    "description": "Parameters may also come as query-string parameters; the body wins on a conflict.",
                    "content": {"application/json": {"schema": schema, "examples": examples}},
                }
            # API Gateway asks for the key (ApiAuth=api_key, the default); Swagger UI's Authorize sends it.
            operation["security"] = [{"apiKey": []}]
            _describe_responses(method, operation["responses"], refusals)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "otp-api",
            "version": "1",
            "description": "TOTP and HOTP enrolment and verification, recovery codes, and barcode images.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {}, "securitySchemes": {"apiKey": API_KEY_SCHEME}},
    }
    document["components"]["schemas"] = {name: schemas[name] for name in sorted(_referenced(document, schemas))}
    typed: dict[str, Any] = _typed(document)
    return typed


# Answers that API Gateway makes itself (no function runs), and the redirect's parts.
GATEWAY_MESSAGE = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
    "additionalProperties": False,  # API Gateway's own shape, never an ErrorResponse (which this makes a oneOf)
}


def _gateway_refusals() -> dict[str, Any]:
    """API Gateway's 403s: template.yaml's own bodies for a wrong route and a wrong key (its GatewayResponses, in
    the API's error shape), and API Gateway's message for a wrong signature."""
    from devserver.sigv4 import MISMATCH
    from tooling.template import gateway_responses

    plain, iam = gateway_responses(iam=False), gateway_responses(iam=True)
    return {
        "no such route, or a method the route has not": json.loads(plain["MISSING_AUTHENTICATION_TOKEN"]),
        "no API key, or a wrong one (ApiAuth=api_key)": json.loads(plain["INVALID_API_KEY"]),
        "no such route, or no SigV4 signature (ApiAuth=iam)": json.loads(iam["MISSING_AUTHENTICATION_TOKEN"]),
        "a wrong SigV4 signature (ApiAuth=iam)": json.loads(MISMATCH),
    }


RETRY_AFTER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
LOCATION = {"description": "The presigned URL of the image", "schema": {"type": "string", "format": "uri"}}
REDIRECT_BODY = {"type": "object", "properties": {"url": {"type": "string", "format": "uri"}}, "required": ["url"]}
# What a client that follows the redirect gets (a browser, Swagger UI, curl -L): the image, from the bucket.
FOLLOWED = {
    "description": "After the redirect, which browsers, Swagger UI and `curl -L` follow: the image itself, from the "
    "presigned URL (S3 answers this, not the API)",
    "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in ("image/png", "image/svg+xml")},
}


def _refusals(path: str) -> dict[int, dict[str, Any]]:
    """Examples of each error status of `path`: what the code answers, produced by the code itself where a pure
    call reaches it (validation, the body's rules), else the error the code raises."""
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

    from otp_api import barcodes, kinds
    from otp_api.errors import ApiError, SealingUnavailable, StateUnavailable, StorageUnavailable, TooManyAttempts
    from otp_api.http import parse
    from otp_api.params import MAX_BODY_BYTES, request_params
    from otp_api.state.table import NOT_ACCEPTED

    if path == "/otp":
        known, body_only = kinds.REGISTRY.rules, frozenset(kinds.REGISTRY.body_only)

        def parsed(params: dict[str, Any]) -> Any:
            model, rules = kinds.REGISTRY.request_model(params)
            return parse(model, params, rules)

        invalid = {"type": "time_based", "action": "generate", "digits": 7}
        missing = {"type": "time_based", "action": "resync", "secret": RFC_SECRET, "code": "755224"}
        unknown = {"type": "time_based", "action": "generate", "lable": "alice@example.com"}
    else:
        known, body_only = barcodes.RULES, frozenset()

        def parsed(params: dict[str, Any]) -> Any:
            return parse(barcodes.BarcodeRequest, params, barcodes.RULES)

        invalid = {"type": "qr_code", "data": "hello world", "scale": 11}
        missing = {"type": "qr_code"}
        unknown = {"type": "qr_code", "data": "hello world", "sacle": 4}

    def request(body: str | None, content_type: str = "application/json", query: Any = None) -> Any:
        event = {"body": body, "headers": {"Content-Type": content_type}, "queryStringParameters": query}
        return request_params(APIGatewayProxyEvent(event), known, body_only)

    def refusal(call: Any, *args: Any) -> dict[str, Any]:
        try:
            call(*args)
        except ApiError as exc:
            return {"error": exc.code, "parameter": exc.parameter, "message": exc.message}
        raise AssertionError(f"{path}: an example refusal was accepted: {args}")

    def answer(exc: ApiError) -> dict[str, Any]:
        return {"error": exc.code, "parameter": exc.parameter, "message": exc.message}

    bad_request = {
        "a parameter out of its bounds": refusal(parsed, invalid),
        "a required parameter missing": refusal(parsed, missing),
        "an unknown parameter (a close name is offered)": refusal(parsed, unknown),
        "malformed JSON": refusal(request, '{"type": "qr_code",'),
    }
    if body_only:
        secret_in_url = {"type": "time_based", "action": "verify", "secret": RFC_SECRET}
        bad_request["a secret in the query string"] = refusal(request, None, "application/json", secret_in_url)
    refusals = {
        400: bad_request,
        413: {"a body over 16 KB": refusal(request, "{}" + " " * MAX_BODY_BYTES)},
        415: {"a body sent as text/plain (or form data)": refusal(request, "{}", "text/plain")},
        503: {"S3 unavailable": answer(StorageUnavailable("image storage is unavailable; try again"))},
    }
    if path == "/otp":
        refusals[429] = {"locked out": answer(TooManyAttempts(840))}
        refusals[503] = {
            "the verify state unavailable": answer(StateUnavailable(NOT_ACCEPTED)),
            "KMS unavailable": answer(SealingUnavailable("the key service is unavailable; try again")),
            **refusals[503],
        }
    return refusals


def _describe_responses(method: str, responses: dict[str, Any], refusals: dict[int, dict[str, Any]]) -> None:
    """Each response with what it carries: an example of every error, the headers that matter, API Gateway's own
    403 body, and a redirect's Location (and, for GET, the image a client gets after it)."""
    for status, response in list(responses.items()):
        code = int(status)
        if response.get("content") == {"application/json": {}}:
            del response["content"]  # Powertools' placeholder for a response without a model
        if code in refusals and "content" in response:
            examples = {name: {"summary": name, "value": value} for name, value in refusals[code].items()}
            response["content"]["application/json"]["examples"] = examples
        if code == 403:
            examples = {name: {"summary": name, "value": value} for name, value in _gateway_refusals().items()}
            schema = {"oneOf": [{"$ref": REF.format(name="ErrorResponse")}, GATEWAY_MESSAGE]}
            response["content"] = {"application/json": {"schema": schema, "examples": examples}}
        if 300 <= code < 400:
            response["headers"] = {"Location": LOCATION}
            response["content"] = {"application/json": {"schema": REDIRECT_BODY}}
            if method == "get":
                responses["200"] = FOLLOWED
        if code in (429, 503):
            response["headers"] = {"Retry-After": RETRY_AFTER}
    ordered = dict(sorted(responses.items()))
    responses.clear()
    responses.update(ordered)


def _query_parameters(schema: dict[str, Any], example: dict[str, Any]) -> list[dict[str, Any]]:
    """A model's properties as query parameters: typed, described, and with the example's values (which Swagger
    UI fills in). A query string cannot send null, so a property that may be null is its other branch."""
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _typed(prop)
        if isinstance(prop.get("type"), list):
            prop["type"] = next(kind for kind in prop["type"] if kind != "null")
            if "enum" in prop:
                prop["enum"] = [value for value in prop["enum"] if value is not None]
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        description = prop.pop("description", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if description:
            parameter["description"] = description
        parameter["schema"] = prop
        if name in example:
            parameter["example"] = example[name]
        parameters.append(parameter)
    return parameters


JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))  # bool is an int: first


def _json_type(value: Any) -> str | None:
    return next((name for kind, name in JSON_TYPES if isinstance(value, kind)), None)


def _typed(node: Any) -> Any:
    """Every schema with its `type` stated, as Swagger UI shows it (without one it shows `any`): an `enum` (what
    msgspec makes of a Literal) gets the type of its values, and "X or null" (`anyOf` X and null: an Optional)
    becomes X with `type: [X's type, "null"]`. The same values validate as before; examples are left alone."""
    if isinstance(node, list):
        return [_typed(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: value if key in ("example", "examples") else _typed(value) for key, value in node.items()}
    if "enum" in node and "type" not in node:
        kinds = {_json_type(value) for value in node["enum"]}
        if len(kinds) == 1 and None not in kinds:
            node = {"type": kinds.pop(), **node}
    branches = node.get("anyOf", [])
    if len(branches) == 2 and {"type": "null"} in branches:
        (other,) = [branch for branch in branches if branch != {"type": "null"}]
        if isinstance(other.get("type"), str):
            merged = {**other, **{key: value for key, value in node.items() if key != "anyOf"}}
            merged["type"] = [other["type"], "null"]
            if "enum" in other:
                merged["enum"] = [*other["enum"], None]
            node = merged
    return node


def _referenced(node: Any, schemas: dict[str, Any], seen: set[str] | None = None) -> set[str]:
    """Names of the component schemas that `node` refers to, directly or through other schemas."""
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/") and (name := ref.rsplit("/", 1)[1]) not in seen:
            seen.add(name)
            _referenced(schemas[name], schemas, seen)
        for value in node.values():
            _referenced(value, schemas, seen)
    elif isinstance(node, list):
        for value in node:
            _referenced(value, schemas, seen)
    return seen


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    text = render()
    if "--check" in sys.argv:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            sys.exit("openapi.json is stale: run `make openapi` and commit it")
        return
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
