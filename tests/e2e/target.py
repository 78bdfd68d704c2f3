"""Where the end-to-end suite points: a running API's URL, key and the settings the suite checks."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devserver import template


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

    def __repr__(self) -> str:  # never the key
        return f"Target({self.url}, key={'yes' if self.api_key else 'no'})"


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

    (stack,) = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    parameters = {
        **template.load().parameters,
        **{item["ParameterKey"]: item["ParameterValue"] for item in stack.get("Parameters", [])},
    }
    key = None
    if "ApiKeyId" in outputs:
        key = boto3.client("apigateway").get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)["value"]
    return Target(outputs["ApiUrl"].rstrip("/"), key, local=False, **settings_from(parameters))
