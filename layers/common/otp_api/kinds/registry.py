"""The one table of kinds of one-time password: routing by `type` and `action`, the type synonyms, the rules in
words and the OpenAPI unions all come from it. A kind is one module that declares a `Kind`; `register` adds it."""

import functools
import operator
from collections.abc import Callable
from typing import Any

from msgspec import Struct, field

from otp_api import fields, params


class Kind(Struct, frozen=True):
    type: str  # the `type` of its requests
    synonyms: tuple[str, ...]  # other names of the type (what its answers call it, say)
    actions: dict[Any, Callable[[Any], Any]]  # request model (a msgspec Struct tagged by `action`) -> its action
    responses: tuple[Any, ...]  # the models its actions answer with
    rules: dict[str, str] = field(default_factory=dict)  # its own parameters' rules in words
    body_only: frozenset[str] = frozenset()  # its own secret-bearing parameters (fields.BODY_ONLY: the shared)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.type, *self.synonyms)

    @property
    def requests(self) -> Any:
        """The union of its request models, which msgspec tells apart by `action`."""
        return functools.reduce(operator.or_, self.actions)

    @property
    def action_names(self) -> tuple[str, ...]:
        return tuple(model.__struct_config__.tag for model in self.actions)


KINDS: list[Kind] = []
_BY_NAME: dict[str, Kind] = {}
_ACTIONS: dict[Any, Callable[[Any], Any]] = {}
# Every parameter POST /otp defines, with its rule in words; and those it takes in the JSON body only. Kept as
# kinds register, so that what the handler holds is always whole.
RULES: dict[str, str] = {"type": "", "action": "must be an action of the type", **fields.RULES}
BODY_ONLY: set[str] = set(fields.BODY_ONLY)


def register(kind: Kind) -> Kind:
    """Add a kind: its type and synonyms, actions and rules must be new (a rule may be restated word for word), and
    every parameter of its models must have a rule."""
    import msgspec

    taken = [name for name in kind.names if name in _BY_NAME] + [m.__name__ for m in kind.actions if m in _ACTIONS]
    taken += [name for name, rule in kind.rules.items() if RULES.get(name, rule) != rule]
    if taken:
        raise ValueError(f"already registered: {', '.join(taken)}")
    parameters = {field.name for model in kind.actions for field in msgspec.structs.fields(model)}
    if unruled := sorted(parameters - RULES.keys() - kind.rules.keys() - {"type"}):
        raise ValueError(f"{kind.type}: no rule in words for {', '.join(unruled)}")
    params.typed_fields(kind.requests)  # now, not on the first request
    KINDS.append(kind)
    _BY_NAME.update(dict.fromkeys(kind.names, kind))
    _ACTIONS.update(kind.actions)
    RULES.update(kind.rules, type=_type_rule())
    BODY_ONLY.update(kind.body_only)
    return kind


def _choices(values: list[str]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


def _type_rule() -> str:
    spelled = [kind.type + (f" (or {', '.join(kind.synonyms)})" if kind.synonyms else "") for kind in KINDS]
    return "must be " + (", ".join(spelled[:-1]) + ", or " + spelled[-1] if len(spelled) > 1 else spelled[0])


_PERSON: dict[Any, Callable[[Any], Any]] = {}
_PERSON_RESPONSES: list[Any] = []


def register_person(actions: dict[Any, Callable[[Any], Any]], responses: tuple[Any, ...]) -> None:
    """The actions on a person: requests with a `subject` and no `type`."""
    params.typed_fields(functools.reduce(operator.or_, actions))
    _PERSON.update(actions)
    _ACTIONS.update(actions)
    _PERSON_RESPONSES.extend(responses)


def _person_actions() -> tuple[str, ...]:
    return tuple(model.__struct_config__.tag for model in _PERSON)


def request_model(params: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """The request models of the kind a request's `type` names (the first kind's when it names none: the error
    then names `type`), and the rules to word its errors with: its own actions. A request with no `type` and an
    action on a person (status, unlock, revoke) is one."""
    name = params.get("type")
    if name is None and params.get("action") in _person_actions():
        action = f"must be {_choices(list(_person_actions()))} for a person (no type)"
        return functools.reduce(operator.or_, _PERSON), {**RULES, "action": action}
    kind = _BY_NAME.get(name, KINDS[0]) if isinstance(name, str) else KINDS[0]
    return kind.requests, {**RULES, "action": f"must be {_choices(list(kind.action_names))} for {kind.type}"}


def answer(request: Any) -> Any:
    return _ACTIONS[type(request)](request)


def request_models() -> list[Any]:
    return [model for kind in KINDS for model in kind.actions] + list(_PERSON)


def response_models() -> list[Any]:
    return list(dict.fromkeys([*(model for kind in KINDS for model in kind.responses), *_PERSON_RESPONSES]))
