"""crossling: the suite's own namespace for the parts every package shares.

The suite has four user-facing packages, each with its ``python -m`` commands::

    crossling (shared core)  <-  probes  <-  representations
                                        <-  transfer          <-  analysis

``crossling`` holds only plumbing: errors (:mod:`crossling.errors`), registries
(:mod:`crossling.registry`), typed configs (:mod:`crossling.config`), the shared
command-line layer (:mod:`crossling.cli`), atomic files (:mod:`crossling.io`),
tidy tables and their schemas (:mod:`crossling.tables`, :mod:`crossling.schemas`),
default locations (:mod:`crossling.paths`), records (:mod:`crossling.types`),
language codes (:mod:`crossling.languages`), the layer grammar
(:mod:`crossling.layers`), the figure style (:mod:`crossling.plotstyle`) and the
Ray session helper (:mod:`crossling._ray`). It imports nothing heavy (no torch,
no transformers) and nothing from the four packages. See docs/design.md.
"""

from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("crossling")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "cli", "config", "errors", "io", "languages", "layers", "paths",
           "plotstyle", "registry", "schemas", "tables", "types"]
