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
from typing import Any

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
# The requests of each path, for Swagger UI's examples list: "Try it out" starts from the first, the README's.
SEALED, CODES = "s1.AQICAHhExampleSealedSecret", "r1.AQICAHhExampleSealedCodes"  # (shapes only)
EXAMPLES_OF = {
    "/otp": {
        "totp generate": {
            "type": "time_based",
            "action": "generate",
            "label": "alice@example.com",
            "issuer": "Example Corp",
        },
        "totp generate, sealed and bound": {
            "type": "time_based",
            "action": "generate",
            "label": "alice@example.com",
            "seal": True,
            "subject": "user-7f3a",
            "qrcode": "inline",
        },
        "totp verify": {
            "type": "time_based",
            "action": "verify",
            "sealed_secret": SEALED,
            "code": "123456",
            "subject": "user-7f3a",
        },
        "totp resync": {
            "type": "time_based",
            "action": "resync",
            "sealed_secret": SEALED,
            "code": "123456",
            "next_code": "654321",
        },
        "totp seal (import)": {
            "type": "time_based",
            "action": "seal",
            "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            "subject": "user-7f3a",
        },
        "totp unlock": {"type": "time_based", "action": "unlock", "sealed_secret": SEALED},
        "totp revoke (retire a key for good)": {"type": "time_based", "action": "revoke", "sealed_secret": SEALED},
        "hotp generate": {"type": "counter_based", "action": "generate", "label": "fob-17", "counter": 0, "seal": True},
        "hotp verify": {"type": "counter_based", "action": "verify", "sealed_secret": SEALED, "code": "755224"},
        "hotp resync": {
            "type": "counter_based",
            "action": "resync",
            "sealed_secret": SEALED,
            "code": "287082",
            "next_code": "359152",
        },
        "recovery codes generate": {
            "type": "recovery_codes",
            "action": "generate",
            "count": 10,
            "subject": "user-7f3a",
        },
        "recovery code verify": {
            "type": "recovery_codes",
            "action": "verify",
            "sealed_codes": CODES,
            "code": "K7QM-2XW9-HF",
            "subject": "user-7f3a",
        },
        "recovery codes unlock": {
            "type": "recovery_codes",
            "action": "unlock",
            "sealed_codes": CODES,
            "subject": "user-7f3a",
        },
    },
}
EXAMPLES = {
    "/barcodes": {"type": "qr_code", "data": "hello world", "scale": 4},
}


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
    per_path = {"/otp": kinds.request_models(), "/barcodes": [barcodes.BarcodeRequest]}
    per_path = {path: per_path[path] for path in paths}
    request_models = [model for models in per_path.values() for model in models]
    response_models = [*kinds.response_models(), barcodes.BarcodeResponse, ErrorResponse]
    request_schemas, components = msgspec.json.schema_components(request_models + response_models, ref_template=REF)
    schemas.update(components)
    for path, operations in paths.items():
        found = [request_schemas[request_models.index(model)] for model in per_path[path]]
        schema = found[0] if len(found) == 1 else {"oneOf": found}
        if "$ref" in schema:  # a single model: the GET query parameters need its properties inline
            schema = components[schema["$ref"].rsplit("/", 1)[1]]
        for method, operation in operations.items():
            operation.pop("operationId", None)
            operation["operationId"] = f"{method}_{path.strip('/').replace('/', '_')}"
            if method == "get":
                props = schema.get("properties", {})
                required = set(schema.get("required", []))
                operation["parameters"] = [
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                    for name, prop in props.items()
                ]
            else:
                content: dict[str, Any] = {"schema": schema}
                if path in EXAMPLES_OF:
                    content["examples"] = {name: {"value": value} for name, value in EXAMPLES_OF[path].items()}
                elif path in EXAMPLES:
                    content["example"] = EXAMPLES[path]
                operation["requestBody"] = {
                    "required": True,
                    "description": "Parameters may also come as query-string parameters; the body wins on a conflict.",
                    "content": {"application/json": content},
                }
            # API Gateway asks for the key (ApiAuth=api_key, the default); Swagger UI's Authorize sends it.
            operation["security"] = [{"apiKey": []}]
        for operation in operations.values():
            for response in operation["responses"].values():
                if response.get("content") == {"application/json": {}}:
                    del response["content"]  # a redirect has no body worth describing
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
    return document


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
