"""Domain errors: what went wrong, in words a caller can act on, and the HTTP status and error code each answers
with. `http.py` turns them into responses in one place (one exception handler, as the cookbook does)."""

from collections.abc import Iterable

HINT_CUTOFF = 0.8  # difflib's similarity ratio: `lable` to label is 0.8, `colour` to any name below 0.65
MAX_HINTED_NAME = 64  # longer is no typo of a parameter name (the longest is 13 characters)


class ApiError(Exception):
    """Base class: a failure the caller can be told about in plain words."""

    status = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(self, message: str, parameter: str | None = None, logged: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        self.logged = logged or {}  # for the log line only, never the answer


class InvalidParameter(ApiError):
    code = "invalid_parameter"


class MissingParameter(ApiError):
    code = "missing_parameter"


class UnknownParameter(ApiError):
    """A parameter this request does not take. A name the route defines (`defined`: for another action or kind) is
    named; any other, another route's included, is the caller's text (a secret pasted as a key, say): never
    answered, only a hash of it logged. When one of the request's own names (`known`) is close to it (`lable`),
    that name is offered; when none is (`colour`), the request's names are listed: the API's text either way."""

    code = "unknown_parameter"

    def __init__(self, name: str, defined: bool, known: Iterable[str] = ()) -> None:
        if defined:
            super().__init__(f"{name} is not a parameter of this request", name)
            return
        import hashlib

        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        logged = {"name_sha256": digest}
        known = sorted(known)
        message = "unknown parameter: this request takes only " + ", ".join(known)
        if suggestion := closest_name(name, known):
            message = f"unknown parameter: did you mean `{suggestion}`? Only the documented parameters are accepted"
            logged["suggested"] = suggestion
        super().__init__(message, None, logged)


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The one defined name that `name` is a likely typo of (`lable`: label, `sealedsecret`: sealed_secret), or
    None. A high cutoff: a hint only where a reader would make the same guess."""
    if len(name) > MAX_HINTED_NAME:
        return None
    import difflib

    found = difflib.get_close_matches(name.lower(), sorted(known), n=1, cutoff=HINT_CUTOFF)
    return found[0] if found else None


class MalformedRequest(ApiError):
    code = "malformed_request"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class TooManyAttempts(ApiError):
    """A key locked for a window (`retry_after` seconds), or until its user proves themselves another way and the
    app unlocks it (`retry_after` None: MaxConsecutiveFailures reached)."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int | None) -> None:
        if retry_after is None:
            message = "too many failed attempts; this key is locked until it is unlocked (action unlock)"
        else:
            message = f"too many failed attempts; retry after {retry_after} seconds"
        super().__init__(message, "code")
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


class StateMisconfigured(ApiError):
    """The verify-state table refused the request as not fitting it (a table of another key schema, or none of that
    name): no retry will pass, so no Retry-After. Fails closed like StateUnavailable: nothing accepted."""

    status = 500
    code = "configuration_error"


class SealingUnavailable(ApiError):
    """KMS could not seal or unseal (throttled, unavailable, or the key unusable): nothing was handed out or
    accepted."""

    status = 503
    code = "sealing_unavailable"
    retry_after = 1
