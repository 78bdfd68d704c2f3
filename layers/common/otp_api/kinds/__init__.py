"""The kinds of one-time password, each a module that owns its requests, answers, state rule and actions. A new
kind is one module and one line here (kinds/registry.py says what a kind declares)."""

from otp_api.kinds import counter_based, passkey, person, recovery_codes, time_based
from otp_api.kinds.registry import (
    BODY_ONLY,
    RULES,
    answer,
    register,
    register_person,
    request_model,
    request_models,
    response_models,
)

for _kind in (time_based.KIND, counter_based.KIND, recovery_codes.KIND):
    register(_kind)
register(passkey.KIND)
register_person(person.ACTIONS, person.RESPONSES)

__all__ = ["BODY_ONLY", "RULES", "answer", "register", "request_model", "request_models", "response_models"]
