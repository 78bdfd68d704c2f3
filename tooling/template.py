"""Read template.yaml: functions, their code, layers, environment, API routes and stream mappings (so nothing is
listed twice)."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOCAL_REGION = "us-east-1"  # the Region the local server's conditions are evaluated in (its first, with REGIONS=3)


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation short-form tags (!Ref X) as {"Ref": X}-style dicts."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass
class Function:
    name: str
    code_dir: Path
    handler: str
    layer_dirs: list[Path]
    environment: dict[str, Any]
    timeout: int = 3  # seconds (Lambda's default)
    memory_mb: int = 128
    routes: list[tuple[str, str]] = field(default_factory=list)  # (METHOD, /path)


@dataclass
class StreamMapping:
    """An event source mapping from a table's stream to a function, as the defaults create it."""

    function: str
    table: str  # the table's logical id
    batch_size: int
    filters: list[dict[str, Any]]  # FilterCriteria patterns: a record goes to the function if any matches
    retries: int


@dataclass
class Template:
    parameters: dict[str, Any]
    conditions: dict[str, bool]  # with the parameters at their defaults
    buckets: list[str]
    tables: dict[str, dict[str, Any]]
    keys: list[str]  # KMS keys the defaults create
    functions: dict[str, Function]
    stream_mappings: list[StreamMapping] = field(default_factory=list)


def raw_document(path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """The template as YAML reads it, short-form tags (!Ref X) as {"Ref": X}."""
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


class ParameterError(ValueError):
    """A parameter override the template would refuse: the message is one line that says why."""


# Parameters the local server cannot take, and why: it has no AWS account's resources, and its own settings say how
# callers authenticate.
NOT_LOCAL = {
    "SealingKeyArn": "it adopts a resource of an AWS account: the local server has none",
    "VerifyStateTableName": "it adopts a resource of an AWS account: the local server has none",
    "VerifyStateStreamArn": "it adopts a resource of an AWS account: the local server has none",
    "ApiAuth": "make dev's own settings say it: OTP_API_KEY=<key> (api_key) or OTP_API_AUTH=iam",
    "StateRegions": "make dev REGIONS=3 serves three Regions on one state table",
}


def parameter_overrides(text: str) -> dict[str, str]:
    """`Key=Value Key2=Value2`, as `sam deploy --parameter-overrides` spells them (shell quoting for a value with
    spaces; `ParameterKey=Key,ParameterValue=Value` too)."""
    import shlex

    try:
        words = shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        raise ParameterError(f"cannot read {text!r}: {exc}") from None
    overrides: dict[str, str] = {}
    for word in words:
        if word.startswith("ParameterKey=") and ",ParameterValue=" in word:
            name, _, value = word.removeprefix("ParameterKey=").partition(",ParameterValue=")
        else:
            name, equals, value = word.partition("=")
            if not equals or not name:
                raise ParameterError(f"{word!r} is not Name=Value (as sam deploy --parameter-overrides spells them)")
        overrides[name] = value
    return overrides


def check_overrides(overrides: dict[str, str], specs: dict[str, Any]) -> None:
    """Refuse what CloudFormation would refuse (the template's AllowedValues, MinValue, MaxValue, MinLength,
    MaxLength, AllowedPattern, and numbers for a Number), and what names an AWS account's resources."""
    import difflib
    import re

    for name, value in overrides.items():
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            hint = f"did you mean {close[0]}?" if close else f"its parameters: {', '.join(specs)}"
            raise ParameterError(f"{name} is not a parameter of template.yaml ({hint})")
        if name in NOT_LOCAL:
            raise ParameterError(f"{name} is not for the local server: {NOT_LOCAL[name]}")
        spec, rule = specs[name], ""
        allowed = [str(choice) for choice in spec.get("AllowedValues", [])]
        if allowed and value not in allowed:
            rule = f"must be one of {', '.join(allowed)}"
        elif spec.get("Type") == "Number":
            if not re.fullmatch(r"-?[0-9]+", value):
                rule = "must be a whole number"
            elif "MinValue" in spec and int(value) < spec["MinValue"]:
                rule = f"must be at least {spec['MinValue']} (MinValue)"
            elif "MaxValue" in spec and int(value) > spec["MaxValue"]:
                rule = f"must be at most {spec['MaxValue']} (MaxValue)"
        elif "MaxLength" in spec and len(value) > spec["MaxLength"]:
            rule = f"must be at most {spec['MaxLength']} characters (MaxLength)"
        elif "MinLength" in spec and len(value) < spec["MinLength"]:
            rule = f"must be at least {spec['MinLength']} characters (MinLength)"
        elif "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            rule = f"must match {spec['AllowedPattern']} (AllowedPattern)"
        if rule:
            raise ParameterError(f"{name}={value}: {name} {rule}, as template.yaml says")


def load(path: Path = ROOT / "template.yaml", overrides: dict[str, str] | None = None) -> Template:
    """The template with its parameters at their defaults, or at `overrides` (checked by the template's rules:
    ParameterError)."""
    doc = raw_document(path)
    resources: dict[str, Any] = doc.get("Resources", {})
    check_overrides(overrides or {}, doc.get("Parameters", {}))
    parameters = {name: spec.get("Default", "") for name, spec in doc.get("Parameters", {}).items()}
    parameters.update(overrides or {})
    for name, spec in doc.get("Parameters", {}).items():
        if spec.get("Type") == "CommaDelimitedList":
            parameters[name] = [item for item in str(parameters[name]).split(",") if item]
    conditions = {
        name: _evaluate(node, parameters, doc.get("Conditions", {})) for name, node in doc.get("Conditions", {}).items()
    }

    def holds(name: str | None) -> bool:  # no condition holds
        return name is None or conditions[name]

    def of_type(kind: str) -> dict[str, Any]:
        return {name: res for name, res in resources.items() if res.get("Type") == kind and holds(res.get("Condition"))}

    globals_fn = doc.get("Globals", {}).get("Function", {})
    functions = {
        name: _function(name, res["Properties"], globals_fn, resources, path.parent, holds)
        for name, res in of_type("AWS::Serverless::Function").items()
    }
    return Template(
        parameters=parameters,
        conditions=conditions,
        buckets=list(of_type("AWS::S3::Bucket")),
        tables={name: res.get("Properties", {}) for name, res in of_type("AWS::DynamoDB::Table").items()},
        keys=list(of_type("AWS::KMS::Key")),
        functions=functions,
        stream_mappings=[
            _stream_mapping(res["Properties"], conditions)
            for res in of_type("AWS::Lambda::EventSourceMapping").values()
        ],
    )


def _stream_mapping(props: dict[str, Any], conditions: dict[str, bool]) -> StreamMapping:
    """A mapping whose FunctionName is `!Ref <Function>.Alias` and whose source a table's `StreamArn`."""
    source = props["EventSourceArn"]
    while "Fn::If" in source:
        when, if_true, if_false = source["Fn::If"]
        source = if_true if conditions[when] else if_false
    return StreamMapping(
        function=props["FunctionName"]["Ref"].split(".")[0],
        table=source["Fn::GetAtt"][0],
        batch_size=int(props.get("BatchSize", 100)),
        filters=[json.loads(f["Pattern"]) for f in props.get("FilterCriteria", {}).get("Filters", [])],
        retries=int(props.get("MaximumRetryAttempts", -1)),
    )


def _evaluate(node: Any, parameters: dict[str, Any], conditions: dict[str, Any]) -> Any:
    """A condition's value, with the parameters as `make dev` runs them (their defaults, or its PARAMETERS)."""

    def value(node: Any) -> Any:
        if isinstance(node, list):
            return [value(item) for item in node]
        if not (isinstance(node, dict) and len(node) == 1):
            return node
        ((op, arg),) = node.items()
        operations = {
            "Ref": lambda: LOCAL_REGION if arg == "AWS::Region" else parameters[arg],
            "Condition": lambda: value(conditions[arg]),
            "Fn::Equals": lambda: str(value(arg[0])) == str(value(arg[1])),
            "Fn::Not": lambda: not value(arg[0]),
            "Fn::And": lambda: all(value(item) for item in arg),
            "Fn::Or": lambda: any(value(item) for item in arg),
            "Fn::Join": lambda: arg[0].join(str(item) for item in value(arg[1])),
            "Fn::Split": lambda: str(value(arg[1])).split(arg[0]),
            "Fn::Select": lambda: value(arg[1])[int(arg[0])],
            "Fn::Sub": lambda: re.sub(r"\$\{([^}]+)\}", lambda m: str(parameters[m.group(1)]), arg),
        }
        return operations[op]()

    return value(node)


def _function(
    name: str,
    props: dict[str, Any],
    globals_fn: dict[str, Any],
    resources: dict[str, Any],
    base: Path,
    holds: Callable[[str], bool],
) -> Function:
    """One AWS::Serverless::Function: its code, layers, environment (globals first) and API routes."""
    layers = []  # SAM puts Globals' layers before the function's own
    for ref in [*globals_fn.get("Layers", []), *props.get("Layers", [])]:
        while isinstance(ref, dict) and "Fn::If" in ref:  # a layer only some parameter values attach (passkeys)
            when, if_true, if_false = ref["Fn::If"]
            ref = if_true if holds(when) else if_false
        layer = ref["Ref"] if isinstance(ref, dict) else ref
        if layer != "AWS::NoValue":
            layers.append(layer)
    fn = Function(
        name=name,
        code_dir=base / props["CodeUri"],
        handler=props.get("Handler", globals_fn.get("Handler", "")),
        layer_dirs=[base / resources[layer]["Properties"]["ContentUri"] for layer in layers],
        environment={
            **globals_fn.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        },
        timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
        memory_mb=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
    )
    for event in props.get("Events", {}).values():
        while "Fn::If" in event:  # an event that only some parameter values create (the CORS preflights), or the
            when, if_true, if_false = event["Fn::If"]  # HTTP API's event instead of the REST API's (ApiType)
            event = if_true if holds(when) else if_false
        if event.get("Type") in ("Api", "HttpApi"):
            fn.routes.append((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    return fn


NO_VALUE = {"Ref": "AWS::NoValue"}


def resolve_environment(
    variables: dict[str, Any], names: dict[str, Any], conditions: dict[str, bool] | None = None
) -> dict[str, str]:
    """A function's environment resolved (`resolve`), without the variables whose !If chose AWS::NoValue."""
    chosen = {}
    for name, value in variables.items():
        while isinstance(value, dict) and "Fn::If" in value:
            when, if_true, if_false = value["Fn::If"]
            value = if_true if (conditions or {})[when] else if_false
        if value != NO_VALUE:
            chosen[name] = resolve(value, names, conditions)
    return chosen


def resolve(value: Any, names: dict[str, Any], conditions: dict[str, bool] | None = None) -> str:
    """An environment value with !Ref (parameters to their defaults, resources to their local names), !GetAtt
    (resources to their local names), !If and !Join resolved."""
    if isinstance(value, dict) and "Fn::If" in value:
        when, if_true, if_false = value["Fn::If"]
        return resolve(if_true if (conditions or {})[when] else if_false, names, conditions)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(names[value["Fn::GetAtt"][0]])
    if isinstance(value, dict) and "Ref" in value:
        resolved = names[value["Ref"]]
        return ",".join(resolved) if isinstance(resolved, list) else str(resolved)
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, items = value["Fn::Join"]
        parts = names[items["Ref"]] if isinstance(items, dict) else [resolve(item, names) for item in items]
        return separator.join(str(part) for part in parts)
    if isinstance(value, dict):
        raise ValueError(f"cannot resolve {value} locally")
    return str(value)


def gateway_responses(iam: bool, path: Path = ROOT / "template.yaml") -> dict[str, bytes]:
    """The bodies template.yaml gives API Gateway's own answers (its GatewayResponses' application/json templates:
    MISSING_AUTHENTICATION_TOKEN, INVALID_API_KEY), with ApiAuth=iam (`iam`) or not: the local server answers
    them as the deployed API does."""
    responses = raw_document(path)["Resources"]["Api"]["Properties"]["GatewayResponses"]
    return {
        name: resolve(spec["ResponseTemplates"]["application/json"], {}, {"UseIam": iam}).encode()
        for name, spec in responses.items()
        if "application/json" in spec.get("ResponseTemplates", {})
    }
