"""The kinds of one-time password, each a module that owns its requests, answers, state rule and actions. A new
kind is one module and one line here (kinds/registry.py says what a kind declares)."""

from otp_api.kinds import counter_based, passkey, person, recovery_codes, time_based
from otp_api.kinds.registry import Registry

REGISTRY = Registry.of(
    time_based.KIND,
    counter_based.KIND,
    recovery_codes.KIND,
    passkey.KIND,
    person=person.KIND,
)

__all__ = ["REGISTRY"]
