"""Cut botocore's data to the operations the functions call, for the layer (the Makefile's build-CommonLayer).

    python3.13 scripts/botocore_data.py OUTPUT [--operations PATH] [--expect-botocore-in FOLDER]

writes OUTPUT/<botocore version>/, from the botocore this Python imports:
- for each service of `aws_operations.OPERATIONS`, its latest API version's model holding only the listed
  operations and the shapes they reach, its sdk extras merged in and its documentation left out, and its endpoint
  rule set (documentation left out);
- endpoints.json with only those services in each partition, and partitions.json, _retry.json and
  sdk-default-configuration.json as they are.

The folder is named after the botocore version because it is valid for that botocore only: aws.py uses it when the
running botocore is the same, and botocore's own full data otherwise. The layer ships the botocore it cuts from
(`--expect-botocore-in`: the build fails unless the botocore imported is the one in that folder), so in Lambda the
two always match, whatever botocore the runtime has. An operation that the service's model does not have fails the
build.
"""

import argparse
import importlib.util
import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS_FILE = ROOT / "layers" / "common" / "otp_api" / "aws_operations.py"
VERBATIM = ("partitions", "_retry", "sdk-default-configuration")
DOCUMENTATION = ("documentation", "documentationUrl")


def read_operations(path: Path = OPERATIONS_FILE) -> dict[str, tuple[str, ...]]:
    """`OPERATIONS` of aws_operations.py, read from its file (the layer's package is not importable here)."""
    spec = importlib.util.spec_from_file_location("aws_operations", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.OPERATIONS)


def _undocumented(node: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if key not in DOCUMENTATION}


def _references(shape: dict[str, Any]) -> Iterable[str]:
    """The shapes a shape names: a structure's (or union's) members, a list's member, a map's key and value."""
    for member in shape.get("members", {}).values():
        yield member["shape"]
    for part in ("member", "key", "value"):
        if part in shape:
            yield shape[part]["shape"]


def cut_model(model: dict[str, Any], operations: Iterable[str]) -> dict[str, Any]:
    """`model` (a service-2 document, extras merged) with only `operations`, the shapes they reach (input, output,
    errors, and what those name), and no documentation."""
    wanted = list(operations)
    missing = [name for name in wanted if name not in model["operations"]]
    if missing:
        raise SystemExit(f"{model['metadata']['serviceId']} has no operation {', '.join(missing)}")
    kept_operations = {name: _undocumented(op) for name, op in model["operations"].items() if name in wanted}
    reached: set[str] = set()
    pending = [
        ref["shape"]
        for op in kept_operations.values()
        for ref in (op.get("input"), op.get("output"), *op.get("errors", ()))
        if ref
    ]
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(_references(model["shapes"][name]))
    shapes = {}
    for name, shape in model["shapes"].items():
        if name in reached:
            shape = _undocumented(shape)
            if "members" in shape:
                shape["members"] = {key: _undocumented(member) for key, member in shape["members"].items()}
            shapes[name] = shape
    return {**_undocumented(model), "operations": kept_operations, "shapes": shapes}


def strip_documentation(node: Any) -> Any:
    """A rule set without its documentation strings (botocore reads them as optional)."""
    if isinstance(node, dict):
        return {key: strip_documentation(value) for key, value in node.items() if key != "documentation"}
    if isinstance(node, list):
        return [strip_documentation(value) for value in node]
    return node


def cut_endpoints(endpoints: dict[str, Any], prefixes: Iterable[str]) -> dict[str, Any]:
    """endpoints.json with only the services of `prefixes` (their endpoint prefixes) in each partition."""
    keep = set(prefixes)
    partitions = [
        {**partition, "services": {name: s for name, s in partition["services"].items() if name in keep}}
        for partition in endpoints["partitions"]
    ]
    return {**endpoints, "partitions": partitions}


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":")))


def generate(output: Path, operations: dict[str, tuple[str, ...]]) -> Path:
    """Write the cut data for the botocore this Python imports into output/<its version>/; return that folder."""
    try:
        import botocore
        from botocore.loaders import Loader
    except ImportError:
        raise SystemExit("botocore_data.py needs botocore: run `make build` (the project's venv)") from None

    # botocore's own data (its sdk extras merged in, as a client loads it), never models of ~/.aws/models
    loader = Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False)
    folder = output / botocore.__version__
    shutil.rmtree(folder, ignore_errors=True)
    prefixes = []
    for service, names in sorted(operations.items()):
        version = loader.determine_latest_version(service, "service-2")
        model = cut_model(loader.load_service_model(service, "service-2", version), names)
        prefixes.append(model["metadata"]["endpointPrefix"])
        _write(folder / service / version / "service-2.json", model)
        rules = loader.load_service_model(service, "endpoint-rule-set-1", version)
        _write(folder / service / version / "endpoint-rule-set-1.json", strip_documentation(rules))
    _write(folder / "endpoints.json", cut_endpoints(loader.load_data("endpoints"), prefixes))
    for name in VERBATIM:
        _write(folder / f"{name}.json", loader.load_data(name))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--operations", type=Path, default=OPERATIONS_FILE)
    parser.add_argument("--expect-botocore-in", type=Path, help="fail unless botocore is imported from here")
    args = parser.parse_args()
    if args.expect_botocore_in:
        import botocore

        imported = Path(botocore.__file__).resolve().parent.parent
        if imported != args.expect_botocore_in.resolve():
            raise SystemExit(f"botocore_data.py cut from {imported}, not from {args.expect_botocore_in}")
    folder = generate(args.output, read_operations(args.operations))
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    print(f"botocore data cut to {folder} ({size / 1000:.0f} kB)", file=sys.stderr)


if __name__ == "__main__":
    main()
