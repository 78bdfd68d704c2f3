"""openapi.json is generated from the code; this fails when it is stale."""

import json
import subprocess
import sys

import pytest
from support import ROOT

DOCUMENT = json.loads((ROOT / "openapi.json").read_text())
OPERATIONS = [(path, method, op) for path, ops in DOCUMENT["paths"].items() for method, op in ops.items()]


def test_openapi_document_is_fresh():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "openapi.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_documented_example_is_a_request_the_api_parses():
    # Swagger UI offers these; each must pass the request models (a token's shape, not its seal, is checked here).
    import importlib.util

    from otp_api import kinds
    from otp_api.http import parse

    spec = importlib.util.spec_from_file_location("openapi_script", ROOT / "scripts" / "openapi.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for name, example in script.EXAMPLES_OF["/otp"].items():
        model, rules = kinds.REGISTRY.request_model(example.value)
        assert type(parse(model, example.value, rules)).__name__.endswith("Request"), name


def _schemas(node, where="#"):
    """Every schema in the document with where it is: components, parameters, bodies, responses, nested ones."""
    if isinstance(node, dict):
        if "type" in node or "$ref" in node or "anyOf" in node or "oneOf" in node or "enum" in node:
            yield where, node
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from _schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _schemas(value, f"{where}/{index}")


def test_every_schema_states_its_type():
    # Swagger UI shows `any` for a schema without a type: an enum alone (a Literal), or anyOf X and null (Optional)
    untyped = [
        where
        for where, schema in _schemas(DOCUMENT)
        if "type" not in schema
        and "$ref" not in schema
        and not ("oneOf" in schema and all("$ref" in s or "type" in s for s in schema["oneOf"]))
        and not ("anyOf" in schema and all("$ref" in s for s in schema["anyOf"]))
    ]
    assert untyped == []
    for path, method, operation in OPERATIONS:
        for parameter in operation.get("parameters", []):
            assert isinstance(parameter["schema"]["type"], str), (path, method, parameter)  # no null in a URL


def test_every_error_status_has_real_examples():
    for path, method, operation in OPERATIONS:
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            examples = response["content"]["application/json"]["examples"]
            assert examples, (path, method, status)
            for example in examples.values():
                value = example["value"]
                if status == "403" and set(value) == {"message"}:  # API Gateway's own answer to a wrong signature
                    continue
                assert set(value) == {"error", "parameter", "message"}, (path, method, status)
                assert value["error"] != "string" and len(value["message"]) > 10


def test_the_redirect_and_what_follows_it_are_documented():
    responses = DOCUMENT["paths"]["/barcodes"]["get"]["responses"]
    assert "Location" in responses["302"]["headers"]
    assert set(responses["200"]["content"]) == {"image/png", "image/svg+xml"}  # after the redirect: the image
    assert "Retry-After" in DOCUMENT["paths"]["/otp"]["post"]["responses"]["429"]["headers"]


@pytest.mark.parametrize(("path", "method"), [("/otp", "post"), ("/barcodes", "post"), ("/barcodes", "get")])
def test_415_is_a_content_type_and_malformed_json_a_400(path, method):
    responses = DOCUMENT["paths"][path][method]["responses"]
    assert "Content-Type" in responses["415"]["description"]
    messages = [e["value"]["message"] for e in responses["400"]["content"]["application/json"]["examples"].values()]
    assert "the request body is not valid JSON" in messages


def test_the_get_parameters_carry_values_swagger_ui_can_send():
    parameters = DOCUMENT["paths"]["/barcodes"]["get"]["parameters"]
    assert all("example" in p for p in parameters if p["required"])
