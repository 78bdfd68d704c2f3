"""POST /otp: each request model (a `type` and an `action`) to the domain function that answers it."""

from collections.abc import Callable
from typing import Any

from otp_api import enrolment, models
from otp_api.verify import counter_based, recovery_codes, time_based

ACTIONS: dict[type, Callable[[Any], Any]] = {
    models.GenerateRequest: enrolment.generate,
    models.SealRequest: enrolment.seal,
    models.VerifyRequest: time_based.verify,
    models.UnlockRequest: time_based.unlock,
    models.ResyncRequest: time_based.resync,
    models.HotpGenerateRequest: enrolment.generate_hotp,
    models.HotpVerifyRequest: counter_based.verify,
    models.HotpResyncRequest: counter_based.resync,
    models.HotpUnlockRequest: counter_based.unlock,
    models.RecoveryGenerateRequest: recovery_codes.generate,
    models.RecoveryVerifyRequest: recovery_codes.verify,
    models.RecoveryUnlockRequest: recovery_codes.unlock,
}


def answer(request: Any) -> Any:
    return ACTIONS[type(request)](request)
