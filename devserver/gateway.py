"""Translate between HTTP and API Gateway's proxy events, as the deployed API does: a REST API's (payload 1.0), or
an HTTP API's payload 2.0 (ApiType=HTTP, OTP_API_TYPE=http)."""

import base64
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

STAGE = "Prod"


def to_event(
    method: str, path: str, resource: str, query: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    multi_headers: dict[str, list[str]] = {}
    for key, value in headers:
        multi_headers.setdefault(key, []).append(value)
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {key: values[-1] for key, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {key: values[-1] for key, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "accountId": "000000000000",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": dict(headers).get("User-Agent", "")},
            "requestTimeEpoch": int(time.time() * 1000),
            "domainName": "127.0.0.1",
        },
        "body": text if body else None,
        "isBase64Encoded": is_base64,
    }


def to_event_v2(
    method: str, path: str, route: str, query: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """An HTTP API's payload 2.0 event: header names in lower case, repeated headers and query values joined with
    commas, cookies apart, the query string also as sent (rawQueryString), and the $default stage (no stage in the
    path). https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html"""
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for key, value in headers:
        if key.lower() == "cookie":
            cookies += [part.strip() for part in value.split(";") if part.strip()]
            continue
        name = key.lower()
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if multi_query:
        event["queryStringParameters"] = {key: ",".join(values) for key, values in multi_query.items()}
    if body:
        event["body"] = text
    return event


def from_response(response: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    headers: list[tuple[str, str]] = []
    multi = response.get("multiValueHeaders") or {}
    for key, values in multi.items():
        headers += [(key, str(value)) for value in values]
    for key, value in (response.get("headers") or {}).items():
        if key not in multi:
            headers.append((key, str(value)))
    for cookie in response.get("cookies") or []:  # payload 2.0: each a Set-Cookie header
        headers.append(("Set-Cookie", str(cookie)))
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
    return int(response.get("statusCode", 502)), headers, data
