"""Deprecated import paths that keep working for one release.

The 0.2 layout (issue #19) moved modules to new homes. Scripts that import an
old path, such as ``probes.errors``, still work: the old module name becomes an
alias of the new module (the very same module object, so registries,
``isinstance`` checks and monkeypatching behave as before) and a
:class:`DeprecationWarning` names the new path. The aliases are removed in 0.3.
"""

from __future__ import annotations

import importlib
import sys
import warnings

__all__ = ["alias_module", "MOVED_MODULES", "REMOVAL_VERSION"]

REMOVAL_VERSION = "0.3"

#: old import path -> new import path; one source of truth for the shims and
#: for the test that proves every old path still imports.
MOVED_MODULES: dict[str, str] = {
    "probes.errors": "crossling.errors",
    "probes.registry": "crossling.registry",
    "probes.config": "crossling.config",
    "probes.cli": "crossling.cli",
    "probes.io": "crossling.io",
    "probes.tables": "crossling.tables",
    "probes.paths": "crossling.paths",
    "probes.types": "crossling.types",
    "probes.languages": "crossling.languages",
    "probes.layers": "crossling.layers",
    "probes.plotstyle": "crossling.plotstyle",
    "probes._ray": "crossling._ray",
}


def alias_module(old: str, new: str) -> None:
    """Make module ``old`` an alias of module ``new`` and warn once.

    Parameters
    ----------
    old : str
        The deprecated dotted module path (the shim calls this with ``__name__``).
    new : str
        The dotted path of the module's new home.
    """
    warnings.warn(
        f"`{old}` moved to `{new}`; import `{new}` instead (the old path is removed in {REMOVAL_VERSION})",
        DeprecationWarning,
        stacklevel=3,
    )
    module = importlib.import_module(new)
    sys.modules[old] = module
    parent, _, child = old.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)
