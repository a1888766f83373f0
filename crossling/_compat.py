"""Deprecated import paths that keep working for one release.

The 0.2 layout (issue #19) moved modules to new homes. Scripts that import an
old path, such as ``probes.errors``, still work: the old module name becomes an
alias of the new module (the very same module object, so registries,
``isinstance`` checks and monkeypatching behave as before) and a
:class:`DeprecationWarning` names the new path. The aliases are removed in 0.3.

A shim is a module whose whole body is ``alias_module(__name__, "new.path")``;
tests/test_public_api.py finds every shim by that call and checks it.
"""

from __future__ import annotations

import importlib
import sys
import warnings

__all__ = ["alias_module", "REMOVAL_VERSION"]

#: The release that removes the deprecated import paths.
REMOVAL_VERSION = "0.3"

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
