"""Packages entered without running their __init__, where the functions use a few of their modules and the
__init__ imports much more (docs/performance.md, "What paid").

`enter` puts such a package in sys.modules as it would be before its __init__ runs: its submodules import as usual,
and the first other name it lacks runs its own __init__ then (PEP 562), once, so that every import of the package
still works, only later. A package imported already is left as it is. tests/unit/test_powertools.py and
tests/unit/test_packages.py run both ways in fresh interpreters.
"""

import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any


def enter(package: str) -> ModuleType | None:
    """`package`, in sys.modules without its __init__ having run; None if it was imported already, or is not
    installed. A parent package not imported yet is not imported for it (`attach` binds it to the parent later)."""
    if package in sys.modules:
        return None
    parent, _, _ = package.rpartition(".")
    if parent and parent not in sys.modules:  # (found without importing it: a top-level parent)
        parent_spec = importlib.util.find_spec(parent)
        locations = parent_spec.submodule_search_locations if parent_spec else None
        spec = importlib.machinery.PathFinder.find_spec(package, locations) if locations else None
    else:
        spec = importlib.util.find_spec(package)
    if spec is None or spec.loader is None:
        return None
    module = sys.modules[package] = importlib.util.module_from_spec(spec)

    def __getattr__(name: str) -> Any:  # a name the shell lacks: the package's own __init__ now, once
        if name.startswith("__") and name != "__all__":
            raise AttributeError(name)
        if importlib.machinery.PathFinder.find_spec(f"{package}.{name}", module.__path__):
            raise AttributeError(name)  # a submodule not imported yet (`from package import submodule` asks first)
        del module.__getattr__
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return getattr(module, name)

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def attach(package: str) -> None:
    """Bind `package` to its parent package, as importing it would have, if both are imported and it is not yet
    (a package entered before its parent was imported)."""
    parent, _, name = package.rpartition(".")
    if package in sys.modules and parent in sys.modules and not hasattr(sys.modules[parent], name):
        setattr(sys.modules[parent], name, sys.modules[package])
