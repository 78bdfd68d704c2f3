"""The image bucket: put an object, or find one already there, and hand out a presigned GET URL.

The client is created on first use: the verify path never touches S3.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from msgspec import Struct

from otp_api import aws
from otp_api.errors import StorageUnavailable
from otp_api.observability import logger
from otp_api.settings import get_settings

# The bucket's lifecycle rule deletes objects one day after they were written (template.yaml).
OBJECT_LIFETIME = timedelta(days=1)
FRESHNESS_MARGIN = timedelta(minutes=5)
# The error codes of a HEAD whose object is missing: 404 with s3:ListBucket on the bucket, 403 without it. A HEAD
# answer has no body, so botocore reports the status code as the error code (tests/aws_semantics).
MISSING_OR_HIDDEN = frozenset({"404", "403"})


class Presigned(Struct, frozen=True):
    url: str
    expires_at: datetime

    @property
    def expires_at_text(self) -> str:
        """ISO 8601 in UTC with a Z, as the API answers it."""
        return self.expires_at.isoformat().replace("+00:00", "Z")


@cache
def _client() -> Any:
    # SigV4 explicitly: for presigned URLs botocore may otherwise sign with SigV2, which S3 no longer accepts.
    # Virtual-hosted style gives the regional host; "auto" presigns for the global one, which redirects.
    return aws.client("s3", signature_version="s3v4", s3={"addressing_style": "virtual"})


def connect() -> None:
    """Create the client now (at init) rather than on the first request."""
    _client()


@contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    try:
        yield
    except aws.AwsFailure as failure:
        logger.warning("S3 failed", extra={"error_code": failure.code})
        raise StorageUnavailable("image storage is unavailable; try again") from None


def presign(name: str) -> Presigned:
    """A presigned GET URL for the object `name`; signing is local, no request is made."""
    settings = get_settings()
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=settings.url_expiry_seconds)
    url = _client().generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.bucket, "Key": name},
        ExpiresIn=settings.url_expiry_seconds,
    )
    return Presigned(url=url, expires_at=expires_at)


def store(name: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> Presigned:
    """Put `data` under `name` (never cached by a browser or proxy) and return a presigned URL to it."""
    with _unavailable_on_failure():
        aws.call(
            _client().put_object,
            Bucket=get_settings().bucket,
            Key=name,
            Body=data,
            ContentType=content_type,
            CacheControl="no-store",
            Metadata=metadata or {},
        )
    return presign(name)


def find_fresh(name: str) -> dict[str, str] | None:
    """The metadata of the object `name`, or None if it is missing or old enough that the bucket's one-day
    lifecycle rule could delete it before a URL handed out now expires."""
    from botocore.exceptions import ClientError

    with _unavailable_on_failure():
        try:
            head = aws.call(_client().head_object, final=MISSING_OR_HIDDEN, Bucket=get_settings().bucket, Key=name)
        except ClientError as exc:
            # S3 answers a HEAD of a missing object with 403 unless the caller may list the bucket (HeadObject, API
            # reference), and this role may not: either way the image is not there to reuse. Rendering and putting
            # it is the answer; a put that is refused too is the real fault and becomes a 503.
            if exc.response.get("Error", {}).get("Code") in MISSING_OR_HIDDEN:
                return None
            raise  # (aws.call raises only those as ClientError)
    max_age = OBJECT_LIFETIME - timedelta(seconds=get_settings().url_expiry_seconds) - FRESHNESS_MARGIN
    if datetime.now(UTC) - head["LastModified"] > max_age:
        return None
    return head.get("Metadata", {})
