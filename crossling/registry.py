"""One small, generic registry used for every extensible thing in the suite.

Model sources, corpora, probe tasks, downstream tasks, similarity metrics and
feature sources each have one :class:`Registry`. A unit registers itself with a
decorator; users may also name their own unit as ``"package.module:Name"`` in
a config or on the command line, which is imported on demand.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from crossling.errors import ConfigError, suggest

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object mapping with helpful errors.

    Parameters
    ----------
    kind : str
        What is registered (``"probe task"``), used in error messages.

    Examples
    --------
    >>> metrics = Registry("metric")
    >>> @metrics.register("one")
    ... def one(x):
    ...     return 1
    >>> metrics.get("one")(None)
    1
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, *, overwrite: bool = False) -> Callable[[T], T]:
        """Return a decorator registering its argument under ``name``."""

        def deco(obj: T) -> T:
            if not overwrite and name in self._items and self._items[name] is not obj:
                old = self._items[name]
                raise ConfigError(
                    f"A {self.kind} named {name!r} is already registered "
                    f"({getattr(old, '__qualname__', old)!r}); cannot register "
                    f"{getattr(obj, '__qualname__', obj)!r} under the same name. "
                    "Choose another name or pass overwrite=True."
                )
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """Look ``name`` up; ``"module:Name"`` imports a user's object.

        Raises
        ------
        ConfigError
            If the name is unknown; the message lists the available names.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"A {self.kind} name must be a non-empty string, got {name!r}.")
        if name in self._items:
            return self._items[name]
        if ":" in name and not name.startswith(("morph:",)):
            mod_name, _, attr = name.partition(":")
            try:
                module = importlib.import_module(mod_name)
            except ImportError as exc:
                raise ConfigError(
                    f"Cannot import module {mod_name!r} for {self.kind} {name!r}: {exc}. "
                    "Check that the module is on PYTHONPATH."
                ) from None
            try:
                return getattr(module, attr)
            except AttributeError:
                raise ConfigError(
                    f"Module {mod_name!r} has no attribute {attr!r} (from {self.kind} {name!r})."
                ) from None
        raise ConfigError(
            f"Unknown {self.kind} {name!r}.{suggest(name, self._items)} "
            f"Available: {', '.join(sorted(self._items))}."
        )

    def names(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
