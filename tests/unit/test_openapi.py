"""openapi.json is generated from the code; this fails when it is stale."""

import subprocess
import sys

from support import ROOT


def test_openapi_document_is_fresh():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "openapi.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
