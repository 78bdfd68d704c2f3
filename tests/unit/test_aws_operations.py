"""Every AWS operation the runtime code calls is in aws_operations.OPERATIONS, which the layer's botocore data is
cut to: a call of an operation missing there fails here, not as a request in AWS (where the cut client would have
no such method).

The source is read, not run, so that every call counts, on every path: each use of a module's client (its
`_client()`, which returns `aws.client(<service>)`) must be a method call the scan can name, a presigned URL of a
named operation, or `getattr` with a name that comes from string constants; anything it cannot follow fails too.
(tests/unit/test_botocore_data.py runs the code with the cut data as well, every request compared.)
"""

import ast

import botocore.session
import pytest
from botocore import xform_name
from support import ROOT

from otp_api.aws_operations import OPERATIONS

LAYER = ROOT / "layers" / "common"
CLIENT_HELPERS = {"meta", "exceptions"}  # client attributes that are not operations


def runtime_sources() -> dict[str, str]:
    """Module name -> source, of everything that runs in Lambda: the layer's package and the handlers."""
    sources = {
        ".".join(path.relative_to(LAYER).with_suffix("").parts).removesuffix(".__init__"): path.read_text()
        for path in sorted((LAYER / "otp_api").rglob("*.py"))
    }
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        sources[f"functions.{app.parent.name}.app"] = app.read_text()
    return sources


def _factory_service(function: ast.FunctionDef) -> str | None:
    """The service of a `_client` function: the first argument of the `aws.client(...)` it returns."""
    for node in ast.walk(function):
        if _is_aws_client(node) and node.args and isinstance(node.args[0], ast.Constant):
            return str(node.args[0].value)
    return None


def _is_aws_client(node: ast.AST) -> bool:
    """`aws.client(...)`: how the runtime code makes a client."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "client"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "aws"
    )


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> module, for `from package import module` anywhere in the module (functions included)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _constant_arguments(tree: ast.Module, function: str, parameter: str) -> list[str] | None:
    """The string constants passed as `parameter` of `function` in its module; None if any call passes another
    kind of value (then the scan cannot say which operations it names)."""
    definition = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    position = [arg.arg for arg in definition.args.args].index(parameter)
    values = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function:
            given = node.args[position] if len(node.args) > position else None
            given = given or next((kw.value for kw in node.keywords if kw.arg == parameter), None)
            if not isinstance(given, ast.Constant) or not isinstance(given.value, str):
                return None
            values.append(given.value)
    return values


def client_calls(sources: dict[str, str]) -> tuple[set[tuple[str, str]], list[str]]:
    """(service, method name) of every use of a client in `sources`, and what the scan could not follow."""
    trees = {name: ast.parse(source) for name, source in sources.items()}
    factories = {}
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "_client" and (service := _factory_service(node)):
                factories[module] = service
    calls: set[tuple[str, str]] = set()
    unknown: list[str] = []
    for module, tree in trees.items():
        imports = _imports(tree)
        parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        functions = {
            child: parent
            for parent in ast.walk(tree)
            for child in ast.walk(parent)
            if isinstance(parent, ast.FunctionDef)
        }
        for node in ast.walk(tree):
            if _is_aws_client(node) and getattr(functions.get(node), "name", None) != "_client":
                unknown.append(f"{module}, line {node.lineno}: a client made outside a `_client()` function")
            if not (isinstance(node, ast.Call) and not node.args and not node.keywords):
                continue
            if isinstance(node.func, ast.Name) and node.func.id == "_client" and module in factories:
                service = factories[module]
            elif (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "_client"
                and isinstance(node.func.value, ast.Name)
                and imports.get(node.func.value.id) in factories
            ):
                service = factories[imports[node.func.value.id]]
            else:
                continue
            parent, where = parents[node], f"{module}, line {node.lineno}"
            if isinstance(parent, ast.Expr):  # `_client()` alone: made, not used
                continue
            if isinstance(parent, ast.Attribute) and parent.attr == "generate_presigned_url":
                call = parents[parent]
                if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant):
                    calls.add((service, str(call.args[0].value)))
                else:
                    unknown.append(f"{where}: a presigned URL of an operation the scan cannot name")
            elif isinstance(parent, ast.Attribute):
                if parent.attr not in CLIENT_HELPERS:
                    calls.add((service, parent.attr))
            elif isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "getattr":
                name = parent.args[1]
                if isinstance(name, ast.Constant):
                    calls.add((service, str(name.value)))
                    continue
                function = functions.get(parent)
                values = None
                if isinstance(name, ast.Name) and function is not None:
                    values = _constant_arguments(tree, function.name, name.id)
                if values is None:
                    unknown.append(f"{where}: getattr of a name the scan cannot follow")
                else:
                    calls.update((service, value) for value in values)
            else:
                unknown.append(f"{where}: a client used in a way the scan cannot follow")
    return calls, unknown


def unlisted(calls: set[tuple[str, str]]) -> list[str]:
    """The calls whose operation is not in OPERATIONS (or that are no operation of the service at all)."""
    session = botocore.session.get_session()  # botocore's full data: every operation's Python name
    missing = []
    for service, method in sorted(calls):
        names = {xform_name(op): op for op in session.get_service_model(service).operation_names}
        if names.get(method) not in OPERATIONS.get(service, ()):
            missing.append(f"{service}.{method}")
    return missing


def test_every_operation_the_runtime_code_calls_is_listed():
    calls, unknown = client_calls(runtime_sources())
    assert not unknown
    assert not unlisted(calls)
    # the scan does see the calls, through getattr (kms.py) and another module's client (at_init.py) too
    assert {("dynamodb", "get_item"), ("kms", "encrypt"), ("kms", "decrypt"), ("s3", "get_object")} <= calls


STORE = """
from otp_api import aws

def _client():
    return aws.client("dynamodb")
"""


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # Given a new call of an operation missing from the list, Then it is named
        ("def f():\n    _client().delete_item(TableName='t')\n", "dynamodb.delete_item"),
        ("def f():\n    aws.call(_client().query, TableName='t')\n", "dynamodb.query"),
        ("def f(op):\n    getattr(_client(), op)()\n\ndef g():\n    f('scan')\n", "dynamodb.scan"),
    ],
)
def test_a_call_of_an_unlisted_operation_fails(code, expected):
    calls, unknown = client_calls({"otp_api.state.table": STORE + code})
    assert not unknown and unlisted(calls) == [expected]


def test_a_use_the_scan_cannot_follow_fails():
    other = "from otp_api.state import table\n\ndef f():\n    client = table._client()\n    client.get_item()\n"
    _, unknown = client_calls({"otp_api.state.table": STORE, "otp_api.other": other})
    assert unknown == ["otp_api.other, line 4: a client used in a way the scan cannot follow"]
    elsewhere = "from otp_api import aws\n\nQUEUE = aws.client('sqs')\n"
    assert client_calls({"otp_api.queue": elsewhere})[1] == [
        "otp_api.queue, line 3: a client made outside a `_client()` function"
    ]
