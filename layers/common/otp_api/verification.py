"""POST /otp, action=verify: each kind of one-time password verifies in its module of verify/ (time_based), on
the shared rules (verify/rules.py) and store (verify/store.py)."""

from otp_api.models import CodesResponse, VerifyRequest, VerifyResponse
from otp_api.verify import time_based


def verify(request: VerifyRequest) -> VerifyResponse | CodesResponse:
    return time_based.verify(request)
