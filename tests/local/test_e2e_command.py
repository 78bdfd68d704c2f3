"""`make e2e`'s targets: against a running API (API_URL, API_KEY) the suite passes with its key and fails (never
skips) with a wrong one; STACK reads the URL, key and settings of a deployed stack. The local server here is the one
`OTP_API_KEY=... make dev` runs."""

import os
import subprocess
import sys
import threading

import pytest
from support import ROOT

from devserver.server import serve
from devserver.stack import LocalCloud


@pytest.fixture(scope="module")
def running_api():
    with LocalCloud() as stack:
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


def test_the_suite_signs_its_requests_for_a_server_that_requires_sigv4():
    # `OTP_API_AUTH=iam make dev`: the suite's signing path (the one a stack with ApiAuth=iam takes), against a
    # server that recomputes each signature with botocore's signer and refuses unsigned or forged requests.
    env = {**os.environ, "E2E_LOCAL_AUTH": "iam"}
    for name in ("E2E_STACK", "E2E_API_URL", "E2E_API_KEY"):
        env.pop(name, None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "tests/e2e"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "test_unsigned_and_wrongly_signed_requests_are_refused" not in result.stdout  # not among the skipped


def test_a_stack_target_comes_from_its_outputs_parameters_and_key(mocked_aws):
    # moto's CloudFormation and API Gateway stand in for the deployed stack: its outputs and parameters as
    # DescribeStacks returns them, the key's value from GetApiKey.
    import boto3
    import yaml
    from e2e.target import from_stack

    key = boto3.client("apigateway", region_name="eu-west-1").create_api_key(name="k", value="k" * 24, enabled=True)
    body = {
        "Parameters": {
            "CorsAllowedOrigins": {"Type": "String"},
            "MaxFailedAttempts": {"Type": "Number"},
            "KeyId": {"Type": "String"},
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ApiUrl": {"Value": "https://abc.execute-api.eu-west-1.amazonaws.com/Prod/"},
            "ApiKeyId": {"Value": {"Ref": "KeyId"}},
        },
    }
    parameters = {
        "CorsAllowedOrigins": "https://a.example,https://b.example",
        "MaxFailedAttempts": "3",
        "KeyId": key["id"],
    }
    boto3.client("cloudformation", region_name="eu-west-1").create_stack(
        StackName="otp-api",
        TemplateBody=yaml.safe_dump(body),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    target = from_stack("otp-api")
    assert target.url == "https://abc.execute-api.eu-west-1.amazonaws.com/Prod"
    assert target.api_key == "k" * 24 and "k" * 24 not in repr(target)
    assert target.cors_origins == ("https://a.example", "https://b.example")
    assert (target.max_failed_attempts, target.lockout_seconds, target.replay_protection) == (3, 900, True)
