"""The one table of kinds of one-time password: routing by `type` and `action`, the type synonyms, the rules in
words and the OpenAPI unions all come from it. A kind is one module that declares a `Kind`; `Registry.of` builds the
table from the kinds, once, and nothing changes it afterwards (kinds/__init__.py holds the one the API serves)."""

import functools
import operator
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from msgspec import Struct, field

from otp_api import fields, oath, params


class Keyed(Struct, frozen=True):
    """How a kind names the state of one key (set of codes, passkey): the request fields that name it (`names`, a
    Struct tagged by `action`) and where that state is, and whose (`place`, a request to its `rules.Place`).
    From these the registry gives the kind unlock, revoke and status, with models named `prefix` + UnlockRequest...:
    a prefix of its own for every kind but one, since each model's name is its name in the OpenAPI document."""

    names: Any
    place: Callable[[Any], Any]
    prefix: str = ""


class Kind(Struct, frozen=True):
    type: str  # the `type` of its requests
    synonyms: tuple[str, ...]  # other names of the type (what its answers call it, say)
    actions: dict[Any, Callable[[Any], Any]]  # request model (a msgspec Struct tagged by `action`) -> its action
    responses: tuple[Any, ...]  # the models its actions answer with
    # its own parameters' rules in words, and its own wording of a shared parameter (a recovery code is no digits)
    rules: dict[str, str] = field(default_factory=dict)
    body_only: frozenset[str] = frozenset()  # its own secret-bearing parameters (fields.BODY_ONLY: the shared)
    keyed: Keyed | None = None  # how it names one key's state: unlock, revoke and status then come from the registry
    scheme: oath.Scheme | None = None  # what its codes are, if its keys are OATH-like (oath.TOTP, HOTP or its own)

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


class Registry(Struct, frozen=True):
    """The kinds, in the order their type is listed (the first answers a request that names no type), and the
    actions on a person: requests with a `subject` and no `type` (kinds/person.py)."""

    kinds: tuple[Kind, ...]
    person: Kind
    # every parameter POST /otp defines, with its shared rule in words; and those it takes in the JSON body only
    rules: Mapping[str, str]
    body_only: frozenset[str]
    by_name: Mapping[str, Kind]  # each type and synonym
    routes: Mapping[Any, Callable[[Any], Any]]  # each request model to its action

    @classmethod
    def of(cls, *kinds: Kind, person: Kind) -> "Registry":
        """The registry of `kinds`: each type, synonym and request model once, and every parameter of every model
        with a rule in words (shared, or the kind's own)."""
        import msgspec

        kinds = tuple(_with_lifecycle(kind) for kind in kinds)
        names = [name for kind in kinds for name in kind.names]
        models = [model for kind in (*kinds, person) for model in kind.actions]
        titles = [model.__name__ for model in models]  # the OpenAPI document's names for them: one each
        taken = sorted({n for n in names if names.count(n) > 1} | {t for t in titles if titles.count(t) > 1})
        if taken:
            raise ValueError(f"registered twice: {', '.join(taken)}")
        _check_schemes([kind.scheme for kind in kinds if kind.scheme is not None])
        for kind in (*kinds, person):
            parameters = {field.name for model in kind.actions for field in msgspec.structs.fields(model)}
            if unruled := sorted(parameters - fields.RULES.keys() - kind.rules.keys() - {"type"}):
                raise ValueError(f"{kind.type}: no rule in words for {', '.join(unruled)}")
            params.typed_fields(kind.requests)  # now, not on the first request
        spelled = [kind.type + (f" (or {', '.join(kind.synonyms)})" if kind.synonyms else "") for kind in kinds]
        own = {name: rule for kind in kinds for name, rule in kind.rules.items() if name not in fields.RULES}
        rules = {"type": "must be " + _listed(spelled), "action": "must be an action of the type", **fields.RULES}
        return cls(
            kinds=kinds,
            person=person,
            rules=MappingProxyType(rules | own),
            body_only=frozenset(fields.BODY_ONLY).union(*(kind.body_only for kind in kinds)),
            by_name=MappingProxyType({name: kind for kind in kinds for name in kind.names}),
            routes=MappingProxyType({model: act for kind in (*kinds, person) for model, act in kind.actions.items()}),
        )

    def request_model(self, params: Mapping[str, Any]) -> tuple[Any, dict[str, str]]:
        """The request models of the kind a request's `type` names (the first kind's when it names none: the error
        then names `type`), and the rules to word its errors with: its own, over the shared. A request with no
        `type` and an action on a person (status, unlock, revoke) is one."""
        name = params.get("type")
        if name is None and params.get("action") in self.person.action_names:
            action = f"must be {_choices(self.person.action_names)} for a person (no type)"
            return self.person.requests, {**self.rules, **self.person.rules, "action": action}
        kind = self.by_name.get(name, self.kinds[0]) if isinstance(name, str) else self.kinds[0]
        action = f"must be {_choices(kind.action_names)} for {kind.type}"
        return kind.requests, {**self.rules, **kind.rules, "action": action}

    def answer(self, request: Any) -> Any:
        return self.routes[type(request)](request)

    def request_models(self) -> list[Any]:
        return [model for kind in (*self.kinds, self.person) for model in kind.actions]

    def response_models(self) -> list[Any]:
        return list(dict.fromkeys(model for kind in (*self.kinds, self.person) for model in kind.responses))


# The lifecycle every kind with a Keyed has: (action, docstring of its request model).
LIFECYCLE = (
    (
        "unlock",
        "Clear the failures and lockout of what the request names (never its replay state), once its user proved "
        "themselves another way.",
    ),
    ("revoke", "Retire what the request names for good: it never verifies, resyncs or unlocks again."),
    (
        "status",
        "Where what the request names stands with its attempt limits (its person's, with a subject): never a "
        "secret or a code.",
    ),
)


def _check_schemes(schemes: list[oath.Scheme]) -> None:
    """Each scheme's name (its otpauth type) and its tag (its sealed secrets' mark) once, the tag within TAG_BITS:
    a sealed secret or URI of one kind is never read as another's key."""
    for what, values in (("scheme name", [s.name for s in schemes]), ("scheme tag", [str(s.tag) for s in schemes])):
        if twice := sorted({v for v in values if values.count(v) > 1}):
            raise ValueError(f"{what} registered twice: {', '.join(twice)}")
    if outside := [s.name for s in schemes if s.tag & ~oath.TAG_BITS]:
        raise ValueError(f"scheme tag outside oath.TAG_BITS: {', '.join(outside)}")


def _with_lifecycle(kind: Kind) -> Kind:
    """`kind` with unlock, revoke and status, if it says how it names a key's state (`keyed`)."""
    if kind.keyed is None:
        return kind
    import msgspec

    from otp_api.kinds import actions

    keyed, generated = kind.keyed, {}
    for action, doc in LIFECYCLE:
        model = msgspec.defstruct(
            f"{keyed.prefix}{action.capitalize()}Request", [], bases=(keyed.names,), tag=action, kw_only=True
        )
        model.__doc__ = doc
        generated[model] = functools.partial(_act, action, kind.type, keyed)
    answers = (actions.UnlockResponse, actions.RevokeResponse, actions.StatusResponse)
    lifecycle = {"actions": {**kind.actions, **generated}, "responses": (*kind.responses, *answers), "keyed": None}
    return msgspec.structs.replace(kind, **lifecycle)  # given once: a registry built from these kinds adds none


def _act(action: str, kind: str, keyed: Keyed, request: Any) -> Any:
    from otp_api.kinds import actions

    place, named = keyed.place(request), getattr(request, "subject", None)
    if isinstance(named, str) and place.subject != named:  # fail closed: a key's own item is not its person's state
        raise RuntimeError(f"{kind}: Keyed.place left out the subject the request named")
    return getattr(actions, action)(place, kind)


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


def _listed(values: list[str]) -> str:
    return ", ".join(values[:-1]) + ", or " + values[-1] if len(values) > 1 else values[0]
