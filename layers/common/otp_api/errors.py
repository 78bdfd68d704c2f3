"""Domain errors: what went wrong, in words a caller can act on, and the HTTP status and error code each answers
with. `http.py` turns them into responses in one place (one exception handler, as the cookbook does)."""


class ApiError(Exception):
    """Base class: a failure the caller can be told about in plain words."""

    status = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter


class InvalidParameter(ApiError):
    code = "invalid_parameter"


class MissingParameter(ApiError):
    code = "missing_parameter"


class UnknownParameter(ApiError):
    code = "unknown_parameter"


class MalformedRequest(ApiError):
    code = "malformed_request"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class TooManyAttempts(ApiError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts for this secret; retry after {retry_after} seconds", "code")
        self.retry_after = retry_after


class StorageUnavailable(ApiError):
    status = 503
    code = "storage_unavailable"
    retry_after = 1


class StateUnavailable(ApiError):
    """Replay and lockout state could not be read or written: fail closed, never accept a code unchecked."""

    status = 503
    code = "state_unavailable"
    retry_after = 1


class SealingUnavailable(ApiError):
    """KMS could not seal or unseal (throttled, unavailable, or the key unusable): nothing was handed out or
    accepted."""

    status = 503
    code = "sealing_unavailable"
    retry_after = 1
