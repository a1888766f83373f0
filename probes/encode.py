"""Deprecated alias of :mod:`probes.extraction.encode` (moved in 0.2, removed in 0.3)."""

from crossling._compat import alias_module

alias_module(__name__, "probes.extraction.encode")
