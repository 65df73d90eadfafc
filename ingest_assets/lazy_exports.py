"""Lazy re-exports for package `__init__` modules (PEP 562).

A package that re-exports names of its heavy submodules (dlt, sqlalchemy, Dagster behind them)
lists them in a map and sets `__getattr__ = lazy_getattr(__name__, EXPORTS)`: importing the
package, or one light submodule of it, then imports none of them until a name is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module-level `__getattr__` for `package`.

    Args:
        package: the package's `__name__` (named in the error).
        exports: public name -> dotted name of the module that defines it.

    Returns:
        A function that imports the defining module of a name on its first access and returns
        the attribute. It raises `AttributeError` for a name not in `exports`, as a module does.
    """

    def attribute(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return attribute
