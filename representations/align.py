"""Alignment maps from an activation store (CLI: ``python -m representations.align``).

For a store of a parallel corpus (sentences aligned across languages by
``sentence_id``), computes for every pair of languages and every layer the
similarity of their sentence vectors (mean-pooled words, as stored) under
each chosen metric, a permutation-test p-value (the pairing of sentences
shuffled) and a percentile bootstrap interval over sentences; and, per
language, the layer-by-layer similarity matrix. Writes::

    <out>/alignment.parquet, alignment.csv        model, layer, lang_a, lang_b, metric, value,
                                                  ci_low, ci_high, p_value, n, null_level, null_draws,
                                                  dims_a, dims_b, dims_rule, length_control
    <out>/layer_similarity.parquet, .csv          model, lang, layer_a, layer_b, metric, value, n
    <out>/config.yaml                             the resolved configuration
    <out>/figures/heatmap_<metric>_L<layer>.png   languages ordered by hierarchical clustering
    <out>/figures/layers_<metric>.png             layer curves of the chosen pairs

Example::

    python -m representations.align --activations runs/pud-e5 --metric cka,svcca,pwcca,retrieval --layers all

See docs/representations.md.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main
from crossling.config import Interval, save_config, split_list
from crossling.errors import ConfigError, DataError
from crossling.io import DirLock
from crossling.layers import select_layers
from crossling.tables import write_table
from representations._maps import ALIGNMENT_COLUMNS, LAYER_COLUMNS, alignment_maps
from representations._metrics import METRICS, SimilarityMetric
from representations.figures import parse_pair, plot_heatmap, plot_layer_curves

__all__ = ["AlignConfig", "StoreViews", "align", "aligned_rows", "build_metrics", "main", "sentence_log_lengths",
           "build_parser", "DEFAULT_METRICS"]

#: Metrics computed when none are named.
DEFAULT_METRICS = ["cka", "svcca", "pwcca", "retrieval"]


@dataclass
class AlignConfig:
    """Configuration of ``python -m representations.align`` (YAML keys = field names).

    Attributes
    ----------
    activations : str
        Activation store directory (``python -m probes.extract --out``).
    out : str or None
        Output directory; default ``runs/align-<store directory name>``.
    metrics : list of str
        Names in :data:`representations.METRICS`: ``cka`` (linear, debiased:
        the default estimate), ``cka_biased``, ``rbf_cka``, ``svcca``,
        ``pwcca``, ``retrieval``, ``retrieval_centered``, or ``module:Class``.
    layers : str
        ``all`` or e.g. ``0,6,12`` (layers present in the store).
    languages : list of str
        Languages to compare (default: all in the store).
    n_permutations : int
        Permutations for the p-values (0 = none).
    n_bootstrap : int
        Bootstrap samples for the intervals (0 = none).
    ci_level : float
        Level of the percentile interval.
    resample_metrics : str
        Which metrics get p-values and intervals: ``auto`` (those whose
        resampling reuses the per-view work: the CKA variants and retrieval;
        SVCCA/PWCCA redo an SVD per view and bootstrap sample), ``all``,
        ``none``, or a comma-separated list.
    cca_keep_variance : float or None
        Share of variance kept by the SVD step of SVCCA and PWCCA (None: full rank).
    cca_max_dims : int or None
        At most this many SVD directions per view for SVCCA/PWCCA.
    rbf_median_fraction : float
        RBF bandwidth as a fraction of the median pairwise distance (``rbf_cka``).
    gram_max_n : int
        Above this many sentences the CKA metrics leave the ``n x n`` Gram form
        (memory ``n^2``) for the feature-space form (memory ``n d + d^2``).
    layer_matrices : bool
        Also compute each language's layer-by-layer similarity matrix.
    heatmap_layers : str
        Layers that get a heatmap: ``auto`` (first, middle, last), ``all``, ``none`` or a list.
    pairs : list of str
        Language pairs for the layer curves, as ``en-de``; default: ``en``
        (else the first language) with every other language.
    figures : bool
        Write figures.
    seed : int
        Seed of the permutations and bootstrap samples.
    threads : int or None
        BLAS threads (default: the library's default).
    jobs : int or None
        Threads evaluating SVCCA/PWCCA pairs in parallel (default: the CPUs this process may
        use; 1 inside Ray tasks).
    null_draws : int
        Random re-pairings behind the ``null_level`` column of metrics without
        p-values (with p-values: the mean of their permutation null).
    cca_null_draws : int
        The same for SVCCA/PWCCA without p-values (each draw costs one extra
        eigendecomposition per pair).
    length_control : bool
        Also compute every metric on sentence vectors residualised on log token
        count (rows ``<metric>_lenctl``, ``length_control = True``).
    backend : str
        ``serial`` (this process) or ``ray`` (one Ray task per layer and per
        language's layer matrix).
    ray_address : str or None
        Address of a running Ray cluster; none starts a local one with
        ``workers`` CPUs (stopped afterwards); an already initialised Ray is used as is.
    workers : int
        CPUs of the local Ray started without an address.
    overwrite : bool
        Replace existing results in ``out``.
    quiet : bool
        No progress lines on stderr.
    """

    activations: str = ""
    out: str | None = None
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    layers: str = "all"
    languages: list[str] = field(default_factory=list)
    n_permutations: int = 200
    n_bootstrap: int = 200
    ci_level: float = 0.95
    resample_metrics: str = "auto"
    cca_keep_variance: float | None = 0.99
    cca_max_dims: int | None = None
    rbf_median_fraction: float = 1.0
    gram_max_n: int = 8192
    layer_matrices: bool = True
    heatmap_layers: str = "auto"
    pairs: list[str] = field(default_factory=list)
    figures: bool = True
    seed: int = 0
    threads: int | None = None
    jobs: int | None = None
    null_draws: int = 10
    cca_null_draws: int = 1
    length_control: bool = True
    backend: str = "serial"
    ray_address: str | None = None
    workers: int = 2
    overwrite: bool = False
    quiet: bool = False

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "n_permutations": [Interval("int", 0, 10**7)],
        "n_bootstrap": [Interval("int", 0, 10**7)],
        "ci_level": [Interval("real", 0, 1, closed="neither")],
        "cca_keep_variance": [Interval("real", 0, 1, closed="right"), None],
        "cca_max_dims": [Interval("int", 1, None), None],
        "rbf_median_fraction": [Interval("real", 0, None, closed="neither")],
        "gram_max_n": [Interval("int", 1, None)],
        "seed": [Interval("int", 0, 2**32 - 1)],
        "threads": [Interval("int", 1, 4096), None],
        "jobs": [Interval("int", 1, 4096), None],
        "null_draws": [Interval("int", 0, 10**6)],
        "cca_null_draws": [Interval("int", 0, 10**6)],
        "workers": [Interval("int", 1, 4096)],
    }

    def validate(self) -> None:
        """Check every value once; raise :class:`ConfigError` naming the key."""
        if not self.activations:
            raise ConfigError("No activation store given: pass --activations DIR (a python -m probes.extract output).")
        if not self.metrics:
            raise ConfigError("metrics is empty; pass e.g. --metric cka,svcca,pwcca,retrieval.")
        if len(set(self.metrics)) != len(self.metrics):
            raise ConfigError(f"metrics {self.metrics} lists a metric twice.")
        for m in self.metrics:
            METRICS.get(m)  # unknown names raise, listing the available ones
        if self.backend not in ("serial", "ray"):
            raise ConfigError(f"backend must be 'serial' or 'ray', got {self.backend!r}.")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}.")
        for key in ("n_permutations", "n_bootstrap", "null_draws", "cca_null_draws"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must be >= 0, got {getattr(self, key)}.")
        if not 0.0 < self.ci_level < 1.0:
            raise ConfigError(f"ci_level must be in (0, 1), got {self.ci_level}; e.g. 0.95.")
        if self.cca_keep_variance is not None and not 0.0 < self.cca_keep_variance <= 1.0:
            raise ConfigError(f"cca_keep_variance must be in (0, 1] or none, got {self.cca_keep_variance}.")
        if self.cca_max_dims is not None and self.cca_max_dims < 1:
            raise ConfigError(f"cca_max_dims must be >= 1 or none, got {self.cca_max_dims}.")
        if self.gram_max_n < 4:
            raise ConfigError(f"gram_max_n must be >= 4, got {self.gram_max_n}.")
        if not self.rbf_median_fraction > 0:
            raise ConfigError(f"rbf_median_fraction must be > 0, got {self.rbf_median_fraction}.")
        for key in ("threads", "jobs"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1 or none, got {getattr(self, key)}.")
        rs = self.resample_metrics.strip().lower()
        if rs not in ("auto", "all", "none"):
            for m in split_list(self.resample_metrics):
                if m not in self.metrics:
                    raise ConfigError(
                        f"resample_metrics names {m!r}, which is not among metrics {self.metrics}. "
                        "Use auto, all, none or a subset of metrics."
                    )
        for p in self.pairs:
            parse_pair(p)

    def resolved_out(self) -> Path:
        """The output directory."""
        return Path(self.out) if self.out else Path("runs") / f"align-{Path(self.activations).resolve().name}"

    def resolved(self) -> AlignConfig:
        """This config with the default output directory filled in (what is saved beside the results)."""
        return replace(self, out=str(self.resolved_out()))


def build_metrics(cfg: AlignConfig) -> list[SimilarityMetric]:
    """Instantiate the configured metrics, passing each the options it declares."""
    out = []
    for name in cfg.metrics:
        cls = METRICS.get(name)
        opts = {k: getattr(cfg, k) for k in getattr(cls, "options", ()) if hasattr(cfg, k)}
        metric = cls(**opts) if inspect.isclass(cls) else cls
        if not getattr(metric, "name", ""):
            metric.name = name
        out.append(metric)
    return out


def _resample_names(cfg: AlignConfig, metrics: Sequence[SimilarityMetric]) -> list[str]:
    rs = cfg.resample_metrics.strip().lower()
    if rs == "all":
        return [m.name for m in metrics]
    if rs == "none":
        return []
    if rs == "auto":
        return [m.name for m in metrics if getattr(m, "resampling_cost", "cheap") == "cheap"]
    return split_list(cfg.resample_metrics)


def aligned_rows(store: Any, languages: Sequence[str]) -> tuple[dict[str, np.ndarray], list[Any], dict[str, int]]:
    """Rows of each language's sentence arrays for the sentences all languages share.

    Sentences are matched by ``sentence_id`` (never by position: treebanks
    order them differently), in the order of the first language.

    Returns
    -------
    rows : dict of str to int array
        Array rows per language, aligned.
    ids : list
        The shared sentence ids, in that order.
    dropped : dict of str to int
        Per language, how many of its sentences lack a counterpart somewhere.
    """
    index: dict[str, pd.Series] = {}
    for lang in languages:
        df = store.sentence_index(lang)
        if "sentence_id" not in df.columns:
            raise DataError(f"The sentence index of {lang!r} in store {str(store.path)!r} has no sentence_id column "
                            f"(columns: {list(df.columns)}); re-extract with a current probes.extract.")
        ids = df["sentence_id"].astype(str)
        dup = ids[ids.duplicated()]
        if len(dup):
            raise DataError(f"Language {lang!r} in store {str(store.path)!r} has duplicated sentence ids "
                            f"(e.g. {dup.iloc[0]!r}); sentences cannot be aligned across languages.")
        rowcol = df["row"].to_numpy() if "row" in df.columns else np.arange(len(df))
        index[lang] = pd.Series(rowcol, index=ids.to_numpy())
    common = set(index[languages[0]].index)
    for lang in languages[1:]:
        common &= set(index[lang].index)
    order = [i for i in index[languages[0]].index if i in common]
    if len(order) < 4:
        counts = {lang: len(s) for lang, s in index.items()}
        raise DataError(
            f"Only {len(order)} sentence id(s) are shared by all of {list(languages)} in store "
            f"{str(store.path)!r} (sentences per language: {counts}). Alignment needs a parallel corpus "
            "(e.g. --corpus pud) whose sentence ids match across languages."
        )
    rows = {lang: index[lang].loc[order].to_numpy(dtype=np.int64) for lang in languages}
    dropped = {lang: len(index[lang]) - len(order) for lang in languages}
    return rows, order, dropped


def sentence_log_lengths(store: Any, languages: Sequence[str], ids: Sequence[Any]) -> dict[str, np.ndarray]:
    """Per language, ``log(n_tokens)`` of the sentences ``ids`` (aligned order), for the length control."""
    out = {}
    for lang in languages:
        df = store.sentence_index(lang)
        if "n_tokens" not in df.columns:
            raise DataError(f"The sentence index of {lang!r} in store {str(store.path)!r} has no n_tokens column "
                            f"(columns: {list(df.columns)}); re-extract with a current probes.extract or pass "
                            "--no-length-control.")
        tokens = pd.Series(df["n_tokens"].to_numpy(dtype=np.float64), index=df["sentence_id"].astype(str).to_numpy())
        out[lang] = np.log(np.maximum(tokens.loc[list(ids)].to_numpy(), 1.0))
    return out


class StoreViews:
    """Picklable ``(lang, layer) -> sentence array`` of a store, opened lazily in each process (Ray workers)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._store: Any = None

    def __call__(self, lang: str, layer: int) -> np.ndarray:
        if self._store is None:
            from probes.extraction.store import ActivationStore

            self._store = ActivationStore(self.path)
        return self._store.sentences(lang, layer)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_store": None}


def _in_task(fn: Any, threads: int, *args: Any) -> Any:
    """Run one unit of the map in a Ray worker with ``threads`` BLAS threads."""
    with threadpool_limits(threads):
        return fn(*args)


@contextmanager
def _runner(cfg: AlignConfig, say: Any) -> Iterator[Any]:
    """The map's runner: None (in this process) or Ray tasks, one per layer / language.

    Same semantics as ``transfer.run``'s Ray backend: ``ray_address`` connects to a
    running cluster, none starts a local Ray with ``workers`` CPUs that is shut
    down afterwards, and a Ray already initialised by the caller is used and left
    running. A failed task fails the map (no partial alignment table).
    """
    if cfg.backend != "ray":
        yield None
        return
    from crossling._ray import ray_session

    with ray_session(int(cfg.workers), cfg.ray_address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=0)(_in_task)
        threads = int(cfg.threads or 1)

        def run(fn: Any, args: list[tuple[Any, ...]]) -> list[Any]:
            # args are (get, plan, unit...) with one shared plan: put it in the object store once.
            plan_ref = ray.put(args[0][1]) if args else None
            refs = [remote.remote(fn, threads, a[0], plan_ref, *a[2:]) for a in args]
            say(f"{len(refs)} {fn.__name__} task(s) on Ray ({ray.cluster_resources().get('CPU', 0):g} CPUs)")
            return ray.get(refs)

        yield run


def _layers(spec: str, available: Sequence[int]) -> list[int]:
    """The store's layers named by ``spec`` (the suite's one layer grammar, :func:`crossling.layers.select_layers`)."""
    return select_layers(spec, available, where="store")


def _heatmap_layers(spec: str, layers: Sequence[int]) -> list[int]:
    s = str(spec).strip().lower()
    if s == "none":
        return []
    if s == "all":
        return list(layers)
    if s == "auto":
        picks = [layers[0], layers[len(layers) // 2], layers[-1]]
        return sorted(set(picks))
    return _layers(spec, layers)


def _default_pairs(languages: Sequence[str]) -> list[tuple[str, str]]:
    pivot = "en" if "en" in languages else languages[0]
    return [(pivot, l) for l in languages if l != pivot]


def align(cfg: AlignConfig, *, log: Any = None) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """Run the alignment maps described by ``cfg`` (what the CLI does).

    Returns
    -------
    alignment : DataFrame
    layer_table : DataFrame
    out : Path
        The output directory.
    """
    from probes.extraction.store import ActivationStore

    say = log or ((lambda msg: None) if cfg.quiet else (lambda msg: print(msg, file=sys.stderr)))
    store = ActivationStore(cfg.activations)
    languages = store.resolve_groups(cfg.languages, "languages") if cfg.languages else store.languages
    for lang in languages:
        store.check(lang)
    if len(languages) < 2:
        raise ConfigError(f"Need at least two languages to align; store {str(store.path)!r} has {store.languages} "
                          f"and languages = {languages}.")
    layers = _layers(cfg.layers, store.layers)
    if cfg.backend == "ray" and cfg.jobs is None:
        cfg = replace(cfg, jobs=1)  # one CPU per Ray task: no threads over CCA pairs inside it
    metrics = build_metrics(cfg)
    pairs = [parse_pair(p) for p in cfg.pairs] if cfg.pairs else _default_pairs(languages)
    for a, b in pairs:
        for lang in (a, b):
            if lang not in languages:
                raise ConfigError(f"Pair {a}-{b}: language {lang!r} is not among the compared languages {languages}.")
    out = cfg.resolved_out()
    if (out / "alignment.parquet").exists() and not cfg.overwrite:
        raise ConfigError(f"{str(out / 'alignment.parquet')!r} exists; pass --overwrite to replace it or choose --out.")
    rows, ids, dropped = aligned_rows(store, languages)
    lost = {k: v for k, v in dropped.items() if v}
    say(f"{store.model}: {len(languages)} languages x {len(layers)} layers, {len(ids)} aligned sentences"
        + (f" (dropped without a counterpart: {lost})" if lost else ""))
    resample = _resample_names(cfg, metrics)

    covariates = sentence_log_lengths(store, languages, ids) if cfg.length_control else None
    if covariates is not None:
        say("length control: every metric also on sentence vectors residualised on log token count "
            "(rows <metric>_lenctl)")

    with DirLock(out):
        t0 = time.perf_counter()
        ctx = threadpool_limits(cfg.threads) if cfg.threads else nullcontext()
        with ctx, _runner(cfg, say) as runner:
            table, layer_table = alignment_maps(
                StoreViews(store.path), languages, layers, metrics, rows=rows,
                n_permutations=cfg.n_permutations, n_bootstrap=cfg.n_bootstrap, ci_level=cfg.ci_level,
                resample=resample, layer_matrices=cfg.layer_matrices, seed=cfg.seed, null_draws=cfg.null_draws,
                cca_null_draws=cfg.cca_null_draws, covariates=covariates, runner=runner, progress=say,
            )
        table.insert(0, "model", store.model)
        layer_table.insert(0, "model", store.model)
        table = table[["model", *ALIGNMENT_COLUMNS]]
        layer_table = layer_table[["model", *LAYER_COLUMNS]]
        write_table(table, out / "alignment")
        write_table(layer_table, out / "layer_similarity")
        save_config(replace(cfg, out=str(out)), out / "config.yaml")
        if cfg.figures:
            for metric in metrics:
                for layer in _heatmap_layers(cfg.heatmap_layers, layers):
                    plot_heatmap(table, metric=metric.name, layer=layer,
                                 path=out / "figures" / f"heatmap_{metric.name}_L{layer}.png")
                if len(layers) > 1:
                    plot_layer_curves(table, metric=metric.name, pairs=pairs,
                                      path=out / "figures" / f"layers_{metric.name}.png")
        say(f"wrote {len(table)} rows to {out / 'alignment.parquet'} (and .csv, config.yaml"
            f"{', figures/' if cfg.figures else ''}) in {time.perf_counter() - t0:.1f} s")
    return table, layer_table, out


PROG = "python -m representations.align"
DESCRIPTION = "Cross-lingual alignment maps (CKA, SVCCA, PWCCA, retrieval) from an activation store."


def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`AlignConfig` (:func:`crossling.cli.config_parser`)."""
    return config_parser(AlignConfig, prog=PROG, description=DESCRIPTION, aliases={"metrics": ("--metric",)},
                         epilog=f"metrics available: {', '.join(METRICS.names())} (or module:Class)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m representations.align``."""
    cfg, args = parse_command(AlignConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())
    if args.dry_run:
        return print_dry_run(cfg, [f"would read the activation store {cfg.activations}",
                                   f"would compute {', '.join(cfg.metrics)} on layers {cfg.layers} "
                                   f"for languages {cfg.languages or 'all in the store'}",
                                   f"would write {cfg.resolved_out()}/alignment.{{parquet,csv}}, "
                                   "layer_similarity.*, config.yaml" + (", figures/" if cfg.figures else "")])
    align(cfg)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
