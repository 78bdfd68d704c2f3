"""Read template.yaml: functions, their code, layers, environment and API routes (so nothing is listed twice)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation short-form tags (!Ref X) as {"Ref": X}-style dicts."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
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
    routes: list[tuple[str, str]] = field(default_factory=list)  # (METHOD, /path)


@dataclass
class Template:
    parameters: dict[str, Any]
    conditions: dict[str, bool]  # with the parameters at their defaults
    buckets: list[str]
    tables: dict[str, dict[str, Any]]
    keys: list[str]  # KMS keys the defaults create
    functions: dict[str, Function]


def raw_document(path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """The template as YAML reads it, short-form tags (!Ref X) as {"Ref": X}."""
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def load(path: Path = ROOT / "template.yaml") -> Template:
    doc = raw_document(path)
    resources: dict[str, Any] = doc.get("Resources", {})
    parameters = {name: spec.get("Default", "") for name, spec in doc.get("Parameters", {}).items()}
    for name, spec in doc.get("Parameters", {}).items():
        if spec.get("Type") == "CommaDelimitedList":
            parameters[name] = [item for item in str(parameters[name]).split(",") if item]
    globals_fn = doc.get("Globals", {}).get("Function", {})
    conditions = doc.get("Conditions", {})

    def condition(name: str | None) -> bool:
        """A condition of the template, with the parameters at their defaults (as `make dev` runs them); no
        condition holds."""
        if name is None:
            return True

        def value(node: Any) -> Any:
            if isinstance(node, dict) and len(node) == 1:
                ((op, arg),) = node.items()
                if op == "Ref":
                    return parameters[arg]
                if op == "Condition":
                    return condition(arg)
                if op == "Fn::Equals":
                    left, right = (value(item) for item in arg)
                    return str(left) == str(right)
                if op == "Fn::Not":
                    return not value(arg[0])
                if op == "Fn::And":
                    return all(value(item) for item in arg)
                if op == "Fn::Or":
                    return any(value(item) for item in arg)
                if op == "Fn::Join":
                    return arg[0].join(str(item) for item in value(arg[1]))
            if isinstance(node, list):
                return [value(item) for item in node]
            return node

        return bool(value(conditions[name]))

    base = path.parent

    def layer_dir(ref: Any) -> Path:
        logical = ref["Ref"] if isinstance(ref, dict) else ref
        return base / resources[logical]["Properties"]["ContentUri"]

    functions = {}
    for name, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        env = {
            **globals_fn.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        fn = Function(
            name=name,
            code_dir=base / props["CodeUri"],
            handler=props.get("Handler", globals_fn.get("Handler", "")),
            layer_dirs=[layer_dir(ref) for ref in props.get("Layers", globals_fn.get("Layers", []))],
            environment=env,
        )
        for event in props.get("Events", {}).values():
            if "Fn::If" in event:  # an event that only some parameter values create (the CORS preflights)
                when, if_true, if_false = event["Fn::If"]
                event = if_true if condition(when) else if_false
            if event.get("Type") == "Api":
                fn.routes.append((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
        functions[name] = fn

    def of_type(kind: str) -> dict[str, Any]:
        return {name: res.get("Properties", {}) for name, res in resources.items() if res.get("Type") == kind}

    keys = [name for name, res in resources.items()
            if res.get("Type") == "AWS::KMS::Key" and condition(res.get("Condition"))]  # fmt: skip
    return Template(
        parameters=parameters,
        conditions={name: condition(name) for name in conditions},
        buckets=list(of_type("AWS::S3::Bucket")),
        tables=of_type("AWS::DynamoDB::Table"),
        keys=keys,
        functions=functions,
    )


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
