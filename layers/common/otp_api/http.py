"""HTTP plumbing shared by every function: the resolver, JSON responses, and errors mapped to status codes."""

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from otp_api.errors import ApiError, InvalidParameter, MissingParameter, UnknownParameter
from otp_api.models import ErrorResponse
from otp_api.observability import logger

NO_STORE = "no-store"


def json_response(status: int, body: dict[str, Any] | BaseModel, headers: dict[str, str] | None = None) -> Response:
    """Every response of the API goes through here: JSON, and never stored by a browser or proxy."""
    payload = body.model_dump(mode="json", exclude_unset=True) if isinstance(body, BaseModel) else body
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        headers={"Cache-Control": NO_STORE, **(headers or {})},
    )


def _short(name: str) -> str:
    return name if len(name) <= 64 else name[:61] + "..."


def _api_error(exc: ValidationError) -> ApiError:
    """Turn pydantic's first complaint into a message that names the parameter (and never repeats its value)."""
    err = exc.errors(include_url=False, include_input=False)[0]
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "union_tag_not_found":
        name = str(ctx.get("discriminator", "")).strip("'")
        return MissingParameter(f"{name} is required", name)
    if kind == "union_tag_invalid":
        name = str(ctx.get("discriminator", "")).strip("'")
        return InvalidParameter(f"{name} must be one of {ctx.get('expected_tags')}", name)
    fields = [part for part in err["loc"] if isinstance(part, str)]
    name = _short(fields[-1]) if fields else "body"
    if kind == "missing":
        return MissingParameter(f"{name} is required", name)
    if kind == "extra_forbidden":
        return UnknownParameter(f"unknown parameter '{name}'", name)
    if kind == "literal_error":
        return InvalidParameter(f"{name} must be {ctx.get('expected')}", name)
    message = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    return InvalidParameter(f"{name} {message}", name)


def parse[T](adapter: TypeAdapter[T], params: dict[str, Any]) -> T:
    try:
        return adapter.validate_python(params)
    except ValidationError as exc:
        raise _api_error(exc) from None


def documented(status: int, description: str, model: Any = None) -> dict[int, Any]:
    """OpenAPI responses of a route: its own success, and the errors every route shares."""

    def json_of(schema: Any) -> dict[str, Any]:
        return {"content": {"application/json": {"model": schema}}}

    success = {"description": description, **(json_of(model) if model is not None else {})}
    return {
        status: success,
        400: {"description": "Invalid request; `parameter` names what is wrong", **json_of(ErrorResponse)},
        413: {"description": "Request body over 16 KB", **json_of(ErrorResponse)},
        415: {"description": "A body that is not JSON", **json_of(ErrorResponse)},
        503: {"description": "Storage unavailable; retry", **json_of(ErrorResponse)},
    }


def _cors() -> Any:
    """CORS only for the origins the operator listed; browsers elsewhere get no CORS headers."""
    from otp_api.settings import cors_origins

    origins = cors_origins()
    if not origins:
        return None
    from aws_lambda_powertools.event_handler import CORSConfig

    return CORSConfig(
        allow_origin=origins[0], extra_origins=origins[1:], allow_headers=["Content-Type", "X-Api-Key"], max_age=600
    )


def create_app() -> APIGatewayRestResolver:
    """A resolver whose every answer, errors included, is a JSON body with `Cache-Control: no-store`."""
    app = APIGatewayRestResolver(cors=_cors())

    @app.exception_handler(ApiError)
    def _api_error_response(exc: ApiError) -> Response:
        logger.info("request refused", extra={"error": exc.code, "parameter": exc.parameter, "status": exc.status})
        retry_after = getattr(exc, "retry_after", 1 if exc.status == 503 else None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body = {"error": exc.code, "parameter": exc.parameter, "message": exc.message}
        return json_response(exc.status, body, headers)

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return json_response(404, {"error": "not_found", "parameter": None, "message": "no such route"})

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The type only: a message or traceback could quote request data such as a secret.
        logger.error("unexpected error", extra={"error_type": type(exc).__name__})
        return json_response(500, {"error": "internal_error", "parameter": None, "message": "internal error"})

    return app
