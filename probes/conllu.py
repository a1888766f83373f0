"""Deprecated alias of :mod:`probes.readers.conllu` (moved in 0.2, removed in 0.3)."""

from crossling._compat import alias_module

alias_module(__name__, "probes.readers.conllu")
