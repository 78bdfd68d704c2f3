"""SigV4 for the local server in `ApiAuth=iam` mode (`OTP_API_AUTH=iam make dev`): a request must be signed for
execute-api with the local key pair, as API Gateway's AWS_IAM authorisation asks. The signature is recomputed with
botocore's own signer over the headers the request says it signed, so the local check and AWS's agree on what a
right signature is. Signing, as a caller does, is tooling/sigv4.py."""

import hmac
import re
from datetime import UTC, datetime, timedelta

from devserver.stack import REGION  # the region the local endpoint answers as
from tooling.sigv4 import SERVICE, KeyPair

MAX_SKEW = timedelta(minutes=5)  # API Gateway refuses a signature dated more than 5 minutes off
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)
# API Gateway's own answers to a missing or a wrong signature.
MISSING = b'{"message":"Missing Authentication Token"}'
MISMATCH = (
    b'{"message":"The request signature we calculated does not match the signature you provided. Check your AWS '
    b'Secret Access Key and signing method. Consult the service documentation for details."}'
)


def curl_options(pair: KeyPair) -> str:
    """curl's options that sign a request as `pair` for the local endpoint (curl 7.75 and later)."""
    return f"--aws-sigv4 aws:amz:{REGION}:{SERVICE} --user {pair.access_key}:{pair.secret_key}"


def refusal(pair: KeyPair, method: str, url: str, headers: dict[str, str], body: bytes) -> bytes | None:
    """None for a request signed with `pair`; otherwise API Gateway's answer to it. `headers` in lower case."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    match = AUTHORIZATION.fullmatch(headers.get("authorization", "").strip())
    if not match:
        return MISSING
    if match["key"] != pair.access_key or (match["region"], match["service"]) != (REGION, SERVICE):
        return MISMATCH
    try:
        signed_at = datetime.strptime(headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return MISMATCH
    if abs(datetime.now(UTC) - signed_at) > MAX_SKEW or match["date"] != headers["x-amz-date"][:8]:
        return MISMATCH
    signed = match["signed"].split(";")
    if "host" not in signed or any(name not in headers for name in signed):
        return MISMATCH
    request = AWSRequest(method=method, url=url, data=body, headers={name: headers[name] for name in signed})
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(pair.access_key, pair.secret_key), SERVICE, REGION)
    # botocore's own canonical request, over exactly the headers the caller signed
    signer.headers_to_sign = lambda _request: request.headers
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return None if hmac.compare_digest(expected, match["signature"]) else MISMATCH
