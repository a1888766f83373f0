"""Lazy public surfaces: a package's ``__all__`` without importing torch on ``import``.

A package ``__init__`` maps each public name to the module that defines it::

    __all__ = ["ActivationStore", "extract"]
    __getattr__, __dir__ = lazy_exports(__name__, {
        "ActivationStore": "probes.extraction.store",
        "extract": "probes.extraction",
    })

``import probes`` stays cheap; ``probes.ActivationStore`` imports its module
on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` that import public names on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : mapping of str to str
        Public name -> dotted module that defines it (the attribute of the same name).

    Returns
    -------
    (getattr, dir)
        Assign them to the package's ``__getattr__`` and ``__dir__``.

    Examples
    --------
    >>> get, _ = lazy_exports("demo", {"sqrt": "math"})
    >>> get("sqrt")(9.0)
    3.0
    """
    table = dict(names)

    def __getattr__(name: str) -> Any:
        try:
            module = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return sorted(table)

    return __getattr__, __dir__
