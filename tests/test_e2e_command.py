"""`make e2e API_URL=... API_KEY=...`: the suite against a running API passes with its key, and fails (never skips)
with a wrong one. The local server here is the one `OTP_API_KEY=... make dev` runs."""

import os
import subprocess
import sys
import threading

import pytest
from support import ROOT

from devserver.server import serve
from devserver.stack import LocalStack

pytestmark = pytest.mark.local_stack


@pytest.fixture(scope="module")
def running_api():
    with LocalStack() as stack:
        server = serve(stack, "127.0.0.1", 0, api_key="the-right-key")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        server.server_close()


def run_suite(url: str, key: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "E2E_API_URL": url, "E2E_API_KEY": key}
    env.pop("E2E_STACK", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_suite_passes_against_a_running_api_with_its_key(running_api):
    result = run_suite(running_api, "the-right-key")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "the-right-key" not in result.stdout + result.stderr


def test_the_suite_fails_with_a_wrong_key(running_api):
    result = run_suite(running_api, "a-wrong-key")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "refused the API key" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert " error" in summary and "a-wrong-key" not in result.stdout + result.stderr
