"""Names a driver package exports but loads only on first use (PEP 562).

A stick's driver package names its radio at the top, but importing the package must not
load the stick's library (bellows, zigpy-deconz) until the radio is really used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: Mapping[str, str]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name in ``exports`` is imported from
    its submodule (``".radio"``) the first time it is asked for, then kept in
    ``namespace`` (the package's globals)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return __getattr__
