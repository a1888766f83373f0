"""Every module of the suite, found by walking the packages on disk (no hand-kept lists).

Used by the generated tests (tests/test_public_api.py, tests/test_doctests.py) so that they
follow the layout as modules move: a new module is checked the moment it exists.

The walk reads the file system (``pkgutil.iter_modules``) and imports nothing, so it can
tell a deprecated shim (a module whose body calls ``alias_module(__name__, "new.path")``)
from a real module without triggering its :class:`DeprecationWarning`. ``__main__``
modules are skipped: importing them runs a command.
"""

from __future__ import annotations

import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: The top-level packages of the suite, each of which must declare ``__all__``.
TOP_PACKAGES = ("crossling", "probes", "representations", "transfer", "analysis")

_SHIM = re.compile(r"""alias_module\(\s*__name__\s*,\s*["']([\w.]+)["']\s*\)""")


@dataclass(frozen=True)
class SuiteModule:
    """One module of the suite as found on disk."""

    name: str  #: dotted module name
    path: Path  #: its source file (``__init__.py`` for a package)
    is_package: bool
    alias_of: str | None  #: the new dotted path when the module is a deprecated shim

    @property
    def is_shim(self) -> bool:
        return self.alias_of is not None

    @property
    def is_private(self) -> bool:
        return any(part.startswith("_") and part != "__init__" for part in self.name.split("."))


def _walk(name: str, directory: Path) -> list[SuiteModule]:
    init = directory / "__init__.py"
    found = [_module(name, init, True)]
    if found[0].is_shim:  # a package turned alias: whatever lies below is not the suite's any more
        return found
    for info in sorted(pkgutil.iter_modules([str(directory)]), key=lambda i: i.name):
        if info.name == "__main__":
            continue
        dotted = f"{name}.{info.name}"
        if info.ispkg:
            found.extend(_walk(dotted, directory / info.name))
        else:
            found.append(_module(dotted, directory / f"{info.name}.py", False))
    return found


def _module(name: str, path: Path, is_package: bool) -> SuiteModule:
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    m = _SHIM.search(text) if "alias_module" in text and name != "crossling._compat" else None
    return SuiteModule(name=name, path=path, is_package=is_package, alias_of=m.group(1) if m else None)


def suite_modules() -> list[SuiteModule]:
    """Every module and package under :data:`TOP_PACKAGES`, shims included, sorted by name."""
    out: list[SuiteModule] = []
    for top in TOP_PACKAGES:
        out.extend(_walk(top, REPO / top))
    return sorted(out, key=lambda m: m.name)


def real_modules() -> list[SuiteModule]:
    """:func:`suite_modules` without the deprecated shims."""
    return [m for m in suite_modules() if not m.is_shim]


def shim_modules() -> list[SuiteModule]:
    """The deprecated shims (old import paths kept for one release)."""
    return [m for m in suite_modules() if m.is_shim]
