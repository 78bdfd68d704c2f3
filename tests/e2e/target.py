"""Where the end-to-end suite points: a running API's URL, key and the settings the suite checks."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tooling import template
from tooling.sigv4 import KeyPair


@dataclass(frozen=True)
class Target:
    url: str  # without a trailing slash
    api_key: str | None
    local: bool
    replay_protection: bool
    max_failed_attempts: int
    lockout_seconds: int
    cors_origins: tuple[str, ...]
    sealed_secrets: bool
    key_pair: KeyPair | None = None  # ApiAuth=iam: requests are signed with it (SigV4, execute-api)
    region: str = "us-east-1"

    def __repr__(self) -> str:  # never the key
        signed = f", signed as {self.key_pair.access_key}" if self.key_pair else ""
        return f"Target({self.url}, key={'yes' if self.api_key else 'no'}{signed})"


def settings_from(parameters: Mapping[str, Any]) -> dict[str, Any]:
    origins = parameters["CorsAllowedOrigins"]
    if isinstance(origins, str):
        origins = [item for item in origins.split(",") if item]
    return {
        "replay_protection": str(parameters["ReplayProtection"]).lower() == "true",
        "max_failed_attempts": int(parameters["MaxFailedAttempts"]),
        "lockout_seconds": int(parameters["LockoutWindowSeconds"]),
        "cors_origins": tuple(origin.strip() for origin in origins),
        "sealed_secrets": str(parameters["SealedSecrets"]).lower() == "true",
    }


def from_stack(name: str) -> Target:
    import boto3

    session = boto3.session.Session()
    (stack,) = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    parameters = {
        **template.load().parameters,
        **{item["ParameterKey"]: item["ParameterValue"] for item in stack.get("Parameters", [])},
    }
    key, key_pair = None, None
    if "ApiKeyId" in outputs:
        key = session.client("apigateway").get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)["value"]
    if parameters["ApiAuth"] == "iam":  # signed with your own credentials, which need execute-api:Invoke
        frozen = session.get_credentials().get_frozen_credentials()
        key_pair = KeyPair(frozen.access_key, frozen.secret_key, frozen.token)
    url = outputs["ApiUrl"].rstrip("/")
    return Target(url, key, False, **settings_from(parameters), key_pair=key_pair, region=session.region_name)
