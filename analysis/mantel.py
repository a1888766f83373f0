"""Deprecated alias of :mod:`analysis.stats._mantel` (moved in 0.2, removed in 0.3); import from :mod:`analysis.stats`."""

from crossling._compat import alias_module

alias_module(__name__, "analysis.stats._mantel")
