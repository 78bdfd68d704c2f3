"""Request parameters: from the query string and a JSON body, merged (the body wins on a conflict)."""

import base64
import binascii
import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from functools import cache
from typing import Any

from otp_api.errors import InvalidParameter, MalformedRequest, PayloadTooLarge, UnknownParameter, UnsupportedMediaType
from otp_api.powertools import APIGatewayProxyEvent

MAX_BODY_BYTES = 16 * 1024


def _header(event: APIGatewayProxyEvent, name: str) -> str:
    for key, value in (event.headers or {}).items():
        if key.lower() == name:
            return value or ""
    return ""


def _query(event: APIGatewayProxyEvent, known: Mapping[str, str]) -> dict[str, Any]:
    if event.get("version") == "2.0":  # an HTTP API's payload 2.0: repeated values joined by commas; read the raw one
        from urllib.parse import parse_qs

        multi, single = parse_qs(event.get("rawQueryString") or "", keep_blank_values=True), {}
    else:
        multi = event.multi_value_query_string_parameters or {}
        single = event.query_string_parameters or {}
    merged: dict[str, Any] = {}
    for name in {*multi, *single}:
        values = set(multi.get(name) or [single[name]])
        if len(values) > 1:
            if name not in known:  # not a name the route defines: the caller's text, never answered
                raise UnknownParameter(name, defined=False, known=known)
            raise MalformedRequest(f"{name} is given more than once with different values", name)
        merged[name] = values.pop()
    return merged


def _body(event: APIGatewayProxyEvent) -> dict[str, Any]:
    raw = event.body
    if not raw:
        return {}
    if len(raw) > MAX_BODY_BYTES * 2:  # cheap bound before any decoding work
        raise PayloadTooLarge(f"the request body must be at most {MAX_BODY_BYTES} bytes")
    data: bytes
    if event.is_base64_encoded:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedRequest("the request body is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body must be at most {MAX_BODY_BYTES} bytes")
    if not data.strip():
        return {}
    _require_json(_header(event, "content-type"))
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise MalformedRequest("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise MalformedRequest("the request body must be a JSON object")
    try:  # JSON may escape lone surrogates (\ud800), which no encoder downstream accepts
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedRequest("the request body contains invalid Unicode (a lone surrogate)") from None
    return body


def _require_json(content_type: str) -> None:
    """A body only as `application/json` (a UTF-8 charset may be named). Anything else, no Content-Type included,
    is a 415: `text/plain`, form and multipart bodies are what any web page can send cross-site without a CORS
    preflight."""
    media_type, _, rest = content_type.partition(";")
    parameters = [part.strip().lower().replace('"', "") for part in rest.split(";") if part.strip()]
    if media_type.strip().lower() != "application/json" or any(p not in ("charset=utf-8",) for p in parameters):
        raise UnsupportedMediaType(
            "send parameters as a JSON body with Content-Type: application/json (UTF-8)", "Content-Type"
        )


def request_params(
    event: APIGatewayProxyEvent, known: Mapping[str, str], body_only: AbstractSet[str]
) -> dict[str, Any]:
    """All parameters of the request; values from the JSON body override the query string's. `known`: the names
    the route defines. Parameters in `body_only` are refused in the query string: URLs reach access logs, proxies,
    browser history and traces."""
    query = _query(event, known)
    for name in sorted(body_only & query.keys()):
        raise InvalidParameter(f"send {name} in the JSON body, never in the URL (URLs end up in logs)", name)
    return {**query, **_body(event)}


def _leaf(info: Any) -> Any:
    """A field's type without None around it (msgspec's inspection leaves UNSET out already)."""
    from msgspec import inspect

    while isinstance(info, inspect.Metadata):  # Annotated[...]
        info = info.type
    if isinstance(info, inspect.UnionType):
        kinds = [t for t in info.types if not isinstance(t, inspect.NoneType)]
        return _leaf(kinds[0]) if len(kinds) == 1 else info
    return info


@cache
def typed_fields(model: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the whole-number and the true/false fields of `model` (or of any model of a union)."""
    from msgspec import inspect

    info = inspect.type_info(model)
    structs = info.types if isinstance(info, inspect.UnionType) else (info,)
    numbers, booleans = set(), set()
    for struct in structs:
        for field in getattr(struct, "fields", ()):
            leaf = _leaf(field.type)
            if isinstance(leaf, inspect.IntType) or (
                isinstance(leaf, inspect.LiteralType) and all(type(value) is int for value in leaf.values)
            ):
                numbers.add(field.name)
            elif isinstance(leaf, inspect.BoolType):
                booleans.add(field.name)
    return frozenset(numbers), frozenset(booleans)
