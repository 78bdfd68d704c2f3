"""openapi.json is generated from the code; this fails when it is stale."""

import subprocess
import sys

from support import ROOT


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
        parsed = parse(kinds.request_model(example)[0], example, kinds.request_model(example)[1])
        assert type(parsed).__name__.endswith("Request"), name
