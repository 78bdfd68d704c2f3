"""HTTP plumbing shared by every function: the resolver, JSON responses, and errors mapped to status codes."""

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import msgspec
from msgspec import Struct

from otp_api.errors import ApiError, InvalidParameter, MissingParameter, UnknownParameter
from otp_api.observability import logger
from otp_api.params import MAX_BODY_BYTES, typed_fields
from otp_api.powertools import APIGatewayHttpResolver, APIGatewayRestResolver, CORSConfig, ProxyEventType, Response

NO_STORE = "no-store"


class ErrorResponse(Struct):
    error: str
    parameter: str | None
    message: str


# Parameters whose case does not matter; folded before validation.
CASE_FOLD = {"algorithm": str.upper, "format": str.lower, "error": str.upper}
_FIELD = re.compile(r"field `([^`]*)`")  # "Object missing required field `x`", "... contains unknown field `x`"
_PATH = re.compile(r"- at `\$\.([A-Za-z_]+)")  # "Expected `int` <= 300 - at `$.period`"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """Every response of the API goes through here: JSON, and never stored by a browser or proxy. The body is
    msgspec's encoding of the response models (Powertools' `serializer=` would take dicts); every route also needs
    its own headers, so each returns a Response."""
    return Response(
        status_code=status,
        content_type="application/json",
        body=msgspec.json.encode(body).decode(),
        headers={"Cache-Control": NO_STORE, **(headers or {})},
    )


def _short(name: str) -> str:
    return name if len(name) <= 64 else name[:61] + "..."


def _api_error(exc: msgspec.ValidationError, rules: dict[str, str], names: frozenset[str]) -> ApiError:
    """Name the parameter msgspec complains about and state its rule (never the value that was sent). `names`: the
    parameters of the request, for a hint at a mistyped one.

    msgspec reports errors as text in a documented form: the field's name in backticks, or its path after "- at"."""
    text = str(exc)
    if text.startswith("Object missing required field"):
        name = _short(_FIELD.search(text).group(1))  # type: ignore[union-attr]
        return MissingParameter(f"{name} is required", name)
    if text.startswith("Object contains unknown field"):
        name = _FIELD.search(text).group(1)  # type: ignore[union-attr]
        return UnknownParameter(name, defined=name in rules, known=names)
    path = _PATH.search(text)
    if path is None:
        return InvalidParameter("the request parameters are not valid", None)
    name = path.group(1)
    return InvalidParameter(f"{name} {rules.get(name, 'is not valid')}", name)


@cache
def _names(model: Any, action: Any) -> frozenset[str]:
    """The parameters a request to `model` takes: for a union tagged by `action`, those of the action named (of
    every model of the union when none is named), its tag field included."""
    from msgspec import inspect

    info = inspect.type_info(model)
    structs = info.types if isinstance(info, inspect.UnionType) else (info,)
    chosen = [s for s in structs if getattr(s, "tag", None) == action] or structs
    return frozenset(
        name
        for struct in chosen
        for name in (*(field.name for field in getattr(struct, "fields", ())), getattr(struct, "tag_field", None))
        if name
    )


def parse(model: Any, params: dict[str, Any], rules: dict[str, str]) -> Any:
    """Validate request parameters into `model` (a model, or a union tagged by `action`), wording errors with
    `rules`. One rule for numbers: a JSON integer, an integral JSON number (8.0) or text of digits (as query strings
    send them), never a boolean. Booleans: JSON true/false or the text "true"/"false", never numbers. A code is
    always text (leading zeros)."""
    numbers, booleans = typed_fields(model)
    folded = {
        key: CASE_FOLD[key](value) if key in CASE_FOLD and isinstance(value, str) else value
        for key, value in params.items()
    }
    for key in numbers & folded.keys():
        value = folded[key]
        if isinstance(value, float) and value.is_integer():
            folded[key] = int(value)
        elif isinstance(value, str):  # only digits: msgspec alone would also take "6e1" or "60.0" as text
            text = value.strip()
            if not (text.isascii() and text.isdigit() and len(text) <= 9):
                raise InvalidParameter(f"{key} {rules.get(key, 'is not valid')}", key)
            folded[key] = int(text)
    for key in booleans & folded.keys():
        value = folded[key]
        if isinstance(value, str) and value.lower() in ("true", "false"):
            folded[key] = value.lower() == "true"
        elif not isinstance(value, bool):
            raise InvalidParameter(f"{key} {rules.get(key, 'is not valid')}", key)
    try:
        return msgspec.convert(folded, model, strict=False)
    except msgspec.ValidationError as exc:
        action = params.get("action")
        raise _api_error(exc, rules, _names(model, action if isinstance(action, str) else None)) from None


def documented(
    status: int, description: str, model: Any = None, errors: dict[int, str] | None = None
) -> dict[int, Any]:
    """OpenAPI responses of a route: its own success, the errors every route shares, and the route's own error
    statuses (`errors={429: "..."}`). Schemas are referenced by model name; scripts/openapi.py adds them."""

    def json_of(model: Any) -> dict[str, Any]:
        models = model if isinstance(model, list) else getattr(model, "__args__", (model,))
        refs = [{"$ref": f"#/components/schemas/{m.__name__}"} for m in models]
        # anyOf, not oneOf: a sealed generate's answer is a valid SealResponse too
        return {"content": {"application/json": {"schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}}}

    responses = {
        status: {"description": description, **(json_of(model) if model is not None else {})},
        400: {
            "description": "Invalid request, malformed JSON included; `parameter` names what is wrong",
            **json_of(ErrorResponse),
        },
        403: {
            "description": "API Gateway: no such route, the x-api-key header missing or wrong, or (ApiAuth=iam) a "
            "request not signed with SigV4"
        },
        413: {"description": f"Request body over {MAX_BODY_BYTES // 1024} KB", **json_of(ErrorResponse)},
        415: {"description": "A body whose Content-Type is not application/json", **json_of(ErrorResponse)},
        503: {
            "description": "S3, DynamoDB or KMS unavailable; nothing was handed out or accepted; Retry-After",
            **json_of(ErrorResponse),
        },
    }
    for code, text in (errors or {}).items():
        responses[code] = {"description": text, **json_of(ErrorResponse)}
    return dict(sorted(responses.items()))


def _cors() -> Any:
    """CORS only for the origins the operator listed; browsers elsewhere get no CORS headers."""
    from otp_api.settings import cors_origins

    origins = cors_origins()
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0], extra_origins=origins[1:], allow_headers=["Content-Type", "X-Api-Key"], max_age=600
    )


class ApiResolver(APIGatewayRestResolver):
    """Powertools' REST resolver that also answers an HTTP API's payload 2.0 (ApiType=HTTP), as its HTTP resolver
    would: the event's `version` (2.0; a REST API's events have none, payload 1.0 says 1.0) picks the event class,
    and with it the answer's shape (2.0: `headers` and `cookies`, no multi-value headers). One dictionary lookup per
    request, and nothing more imported: the module holds both."""

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        v2 = event.get("version") == "2.0"
        self._proxy_type = ProxyEventType.APIGatewayProxyEventV2 if v2 else ProxyEventType.APIGatewayProxyEvent
        return super().resolve(event, context)

    def _get_base_path(self) -> str:
        if self._proxy_type is ProxyEventType.APIGatewayProxyEventV2:
            return APIGatewayHttpResolver._get_base_path(self)  # type: ignore[arg-type]
        return super()._get_base_path()


def create_app(rules: Mapping[str, str]) -> ApiResolver:
    """A resolver whose every answer, errors included, is a JSON body with `Cache-Control: no-store`. `rules`: the
    parameters its routes define (any other name in an error is the caller's text, never answered).

    Not Powertools' `enable_validation` (pydantic: 66 ms more cold start and 3.4 MB more layer, docs/performance.md;
    msgspec validates in `parse`) nor `enable_swagger` (its page loads Swagger UI from a CDN; the deployed API
    answers JSON only, and the local server serves Swagger UI offline)."""
    cors = _cors()
    app = ApiResolver(cors=cors)

    def _never_stored(app: ApiResolver, next_middleware: Any) -> Response:
        # Every answer, Powertools' own CORS preflight included. With CORS on, an answer depends on the Origin it
        # was asked from: a shared cache must not hand one origin's answer to another.
        response: Response = next_middleware(app)
        response.headers.setdefault("Cache-Control", NO_STORE)
        if cors is not None:
            response.headers["Vary"] = "Origin"
        return response

    app.use(middlewares=[_never_stored])

    @app.exception_handler(ApiError)
    def _api_error_response(exc: ApiError) -> Response:
        # Only names the API knows: an unknown parameter's name is the caller's text and could be anything.
        parameter = exc.parameter if exc.parameter in rules else None
        extra = {"error": exc.code, "parameter": parameter, "status": exc.status, **exc.logged}
        logger.info("request refused", extra=extra)
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
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
