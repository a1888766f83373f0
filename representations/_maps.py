"""All-pairs alignment maps: every language pair at every layer, with significance.

:func:`alignment_maps` is the engine behind ``python -m representations.align``;
it takes a function returning the activations of one (language, layer) view,
so it runs on an activation store or on plain arrays (benchmarks, tests).

Order of work: layer by layer, every language's view is prepared once per
metric (shared per-view work such as the Gram matrix is computed once for
all metrics) and all language pairs are evaluated in one batched call, with
the same permutations and bootstrap samples for every pair and layer (drawn
once from ``seed``). Then, language by language, the layer-by-layer
similarity matrix (values only).
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crossling.errors import DataError
from crossling.schemas import ALIGNMENT_LAYER_MAP_COLUMNS, ALIGNMENT_MAP_COLUMNS
from representations._cca import SmallSampleWarning
from representations._metrics import SimilarityMetric
from representations._validation import check_matrix

__all__ = [
    "ALIGNMENT_COLUMNS",
    "LAYER_COLUMNS",
    "LENGTH_SUFFIX",
    "MapPlan",
    "alignment_maps",
    "length_residuals",
    "p_value",
    "percentile_ci",
    "plan_map",
]

#: Columns of the alignment table without the model (:data:`crossling.schemas.ALIGNMENT_MAP_COLUMNS`).
ALIGNMENT_COLUMNS = list(ALIGNMENT_MAP_COLUMNS)
#: Columns of the layer-by-layer similarity table (:data:`crossling.schemas.ALIGNMENT_LAYER_MAP_COLUMNS`).
LAYER_COLUMNS = list(ALIGNMENT_LAYER_MAP_COLUMNS)

#: Suffix of the metric name of a length-controlled row (e.g. ``cka_lenctl``).
LENGTH_SUFFIX = "_lenctl"


def p_value(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    """One-sided permutation p-value ``(1 + #{null >= observed}) / (1 + B)``.

    The ``+1`` counts the observed pairing as one of the permutations, so a
    p-value is never 0 (Phipson and Smyth 2010, Stat. Appl. Genet. Mol. Biol.
    9(1)). ``null`` has shape ``(B, ...)`` matching ``observed``.
    """
    tol = 1e-12 * np.maximum(1.0, np.abs(observed))
    exceed = np.sum(null >= observed[None] - tol[None], axis=0)
    return (1.0 + exceed) / (1.0 + null.shape[0])


def percentile_ci(boot: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval at ``level`` over axis 0 (NaN resamples ignored)."""
    lo = (1.0 - level) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(boot, lo, axis=0), np.nanquantile(boot, 1.0 - lo, axis=0)


def length_residuals(x: np.ndarray, covariate: np.ndarray) -> np.ndarray:
    """``x`` with the least-squares fit on ``[1, covariate]`` removed (column by column).

    The length control of the alignment maps: ``covariate`` is the log token
    count of each sentence, so what is left of every feature is uncorrelated
    with sentence length (and centred).

    Parameters
    ----------
    x : ndarray of shape (n, d)
    covariate : ndarray of shape (n,) or (n, c)

    Returns
    -------
    ndarray of shape (n, d), float64

    Examples
    --------
    >>> import numpy as np
    >>> t = np.log(np.arange(1.0, 9.0))
    >>> r = length_residuals(np.c_[2 * t + 1, t ** 2], t)
    >>> np.allclose(r[:, 0], 0), np.allclose(r.T @ t, 0)
    (True, True)
    """
    z = np.asarray(covariate, dtype=np.float64).reshape(len(x), -1)
    z = np.column_stack([np.ones(len(x)), z - z.mean(axis=0)])
    q, _ = np.linalg.qr(z)
    x = np.asarray(x, dtype=np.float64)
    return x - q @ (q.T @ x)


def _load(get: Callable[[str, int], Any], lang: str, layer: int, rows: np.ndarray | None) -> np.ndarray:
    arr = get(lang, layer)
    x = np.asarray(arr)
    if rows is not None:
        x = x[rows]
    return check_matrix(x, name=f"activations of {lang!r} at layer {layer}", where="alignment_maps")


@dataclass
class MapPlan:
    """Everything one unit of the map (a layer, or a language's layer matrix) needs.

    Picklable, so that a layer can be computed in another process (Ray). The
    resamples are drawn once by the driver and shared by every layer and pair.
    """

    languages: list[str]
    metrics: list[SimilarityMetric]
    rows: dict[str, np.ndarray] | None
    n: int
    perms: np.ndarray | None
    boots: np.ndarray | None
    null_perms: np.ndarray
    cca_null_draws: int
    resample: set[str]
    ci_level: float
    covariates: dict[str, np.ndarray] | None = None
    length_only: bool = False

    def variants(self) -> list[bool]:
        """``length_control`` values to compute: raw views and/or length-residualised ones."""
        if self.covariates is None:
            return [False]
        return [True] if self.length_only else [False, True]


def plan_map(languages: Sequence[str], metrics: Sequence[SimilarityMetric], n: int, *,
             rows: dict[str, np.ndarray] | None = None, n_permutations: int = 0, n_bootstrap: int = 0,
             ci_level: float = 0.95, resample: Sequence[str] | None = None, seed: int = 0,
             null_draws: int = 10, cca_null_draws: int = 1, covariates: dict[str, np.ndarray] | None = None,
             length_only: bool = False) -> MapPlan:
    """Draw the resamples (from ``seed``) and bundle the map's settings (see :func:`alignment_maps`)."""
    rng = np.random.default_rng(seed)
    perms = np.stack([rng.permutation(n) for _ in range(n_permutations)]) if n_permutations else None
    boots = rng.integers(0, n, size=(n_bootstrap, n)) if n_bootstrap else None
    # Null-level draws for metrics without p-values: the first permutations when drawn, then new ones
    # (drawn after the resamples, so the p-values and intervals of a seed do not change).
    want = max(int(null_draws), int(cca_null_draws), 0)
    have = perms[:want] if perms is not None else np.empty((0, n), dtype=np.int64)
    extra = [rng.permutation(n) for _ in range(want - len(have))]
    null_perms = np.concatenate([have, np.stack(extra)]) if extra else have
    resample_set = {m.name for m in metrics} if resample is None else set(resample)
    return MapPlan(list(languages), list(metrics), rows, n, perms, boots, null_perms, int(cca_null_draws),
                   resample_set, ci_level, covariates, length_only)


def _views(get: Callable[[str, int], Any], plan: MapPlan, layer: int) -> list[np.ndarray]:
    views = [_load(get, lang, layer, None if plan.rows is None else plan.rows.get(lang)) for lang in plan.languages]
    _check_rows(views, plan.languages, layer, plan.n)
    return views


def layer_records(get: Callable[[str, int], Any], plan: MapPlan, layer: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the alignment table for one layer (every pair, metric and length variant), and warnings."""
    records: list[dict[str, Any]] = []
    languages = plan.languages
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = _views(get, plan, layer)
        for controlled in plan.variants():
            cov = plan.covariates
            views = [length_residuals(v, cov[lang]) for v, lang in zip(raw, languages)] if controlled and cov else raw
            caches: list[dict[str, Any]] = [{} for _ in views]
            for metric in sorted(plan.metrics, key=lambda m: getattr(m, "evaluation_rank", 0)):
                records.extend(_metric_records(metric, views, caches, plan, layer, controlled))
            del views, caches
    return records, [_describe(w) for w in caught]


def _metric_records(metric: SimilarityMetric, views: list[np.ndarray], caches: list[dict[str, Any]], plan: MapPlan,
                    layer: int, controlled: bool) -> list[dict[str, Any]]:
    languages = plan.languages
    metric.check_views([v.shape for v in views], languages)
    do = metric.name in plan.resample
    boots = plan.boots if do else None
    if do and plan.perms is not None:
        perms, tested = plan.perms, True
    else:
        # No p-values: a few re-pairings for the null level only, in the same call (the values'
        # per-pair work, e.g. nearest neighbours, is reused by them).
        expensive = getattr(metric, "resampling_cost", "cheap") == "expensive"
        draws = min(plan.cca_null_draws if expensive else len(plan.null_perms), len(plan.null_perms))
        perms, tested = (plan.null_perms[:draws] if draws else None), False
    states = [metric.prepare(v, c, for_bootstrap=boots is not None) for v, c in zip(views, caches)]
    res = metric.evaluate(states, None, permutations=perms, bootstraps=boots)
    p = p_value(res.values, res.null) if tested and res.null is not None else None
    lo_hi = percentile_ci(res.boot, plan.ci_level) if res.boot is not None else None
    if res.null is not None:
        null_level, draws = res.null.mean(axis=0), res.null.shape[0]
    else:
        null_level, draws = np.full(res.values.shape, np.nan), 0
    name = metric.name + (LENGTH_SUFFIX if controlled else "")
    out = []
    for i, a in enumerate(languages):
        for j, b in enumerate(languages):
            if i == j or (metric.symmetric and j < i):
                continue
            out.append({
                "layer": layer, "lang_a": a, "lang_b": b, "metric": name,
                "value": float(res.values[i, j]),
                "ci_low": float(lo_hi[0][i, j]) if lo_hi is not None else np.nan,
                "ci_high": float(lo_hi[1][i, j]) if lo_hi is not None else np.nan,
                "p_value": float(p[i, j]) if p is not None else np.nan,
                "n": plan.n,
                "null_level": float(null_level[i, j]),
                "null_draws": int(draws),
                "dims_a": int(res.dims_a[i, j]) if res.dims_a is not None else int(views[i].shape[1]),
                "dims_b": int(res.dims_b[i, j]) if res.dims_b is not None else int(views[j].shape[1]),
                "dims_rule": str(res.dims_rule[i, j]) if res.dims_rule is not None else "all features",
                "length_control": controlled,
            })
    return out


def language_records(get: Callable[[str, int], Any], plan: MapPlan, lang: str,
                     layers: Sequence[int]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the layer-by-layer table of one language (values only, raw views), and warnings."""
    out: list[dict[str, Any]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        views = [_load(get, lang, layer, None if plan.rows is None else plan.rows.get(lang)) for layer in layers]
        caches: list[dict[str, Any]] = [{} for _ in views]
        for metric in sorted(plan.metrics, key=lambda m: getattr(m, "evaluation_rank", 0)):
            metric.check_views([v.shape for v in views], [f"layer {l}" for l in layers])
            states = [metric.prepare(v, c, for_bootstrap=False) for v, c in zip(views, caches)]
            res = metric.evaluate(states, None)
            for i, la in enumerate(layers):
                for j, lb in enumerate(layers):
                    out.append({"lang": lang, "layer_a": la, "layer_b": lb, "metric": metric.name,
                                "value": float(res.values[i, j]), "n": plan.n})
    return out, [_describe(w) for w in caught]


def _describe(w: warnings.WarningMessage) -> str:
    return f"{w.category.__name__}: {w.message}"


def summarise_warnings(messages: Sequence[str], *, where: str = "alignment_maps") -> None:
    """Re-emit collected warnings as one line per kind (the same text up to numbers and ``[...]``), with a count."""
    kinds: dict[str, list[str]] = {}
    for m in messages:
        kinds.setdefault(re.sub(r"\d+(\.\d+)?", "#", re.sub(r"\[[^\]]*\]", "", m)), []).append(m)
    for msgs in kinds.values():
        cat_name, _, text = msgs[0].partition(": ")
        category = _WARNING_CATEGORIES.get(cat_name, UserWarning)
        more = f" [{where}: {len(msgs)} such warnings; this is the first]" if len(msgs) > 1 else ""
        warnings.warn(text + more, category, stacklevel=3)


_WARNING_CATEGORIES: dict[str, type[Warning]] = {
    "SmallSampleWarning": SmallSampleWarning, "RuntimeWarning": RuntimeWarning, "UserWarning": UserWarning,
}


Runner = Callable[[Callable[..., Any], list[tuple[Any, ...]]], Iterable[Any]]


def run_serial(fn: Callable[..., Any], args: list[tuple[Any, ...]]) -> Iterator[Any]:
    """Evaluate ``fn(*a)`` for every ``a`` in this process, in order, as they are consumed."""
    return (fn(*a) for a in args)


def alignment_maps(
    get: Callable[[str, int], Any],
    languages: Sequence[str],
    layers: Sequence[int],
    metrics: Sequence[SimilarityMetric],
    *,
    rows: dict[str, np.ndarray] | None = None,
    n_permutations: int = 0,
    n_bootstrap: int = 0,
    ci_level: float = 0.95,
    resample: Sequence[str] | None = None,
    layer_matrices: bool = True,
    seed: int = 0,
    null_draws: int = 10,
    cca_null_draws: int = 1,
    covariates: dict[str, np.ndarray] | None = None,
    length_only: bool = False,
    runner: Runner | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Similarity of every language pair at every layer, and per-language layer matrices.

    Parameters
    ----------
    get : callable ``(lang, layer) -> array of shape (n, d)``
        Activations of one view; row ``i`` is the same sentence in every
        language (after ``rows``). Must be picklable for a ``runner`` that
        leaves the process.
    languages : sequence of str
        At least two.
    layers : sequence of int
    metrics : sequence of SimilarityMetric
        Instances (see :data:`representations.METRICS`).
    rows : dict of str to int array, optional
        Per language, the rows to use, in the aligned order (from sentence ids).
    n_permutations, n_bootstrap : int, default=0
        Resamples for the permutation p-value and the percentile interval
        (0 = none, reported as NaN).
    ci_level : float, default=0.95
    resample : sequence of str, optional
        Names of the metrics that get p-values and intervals (default: all).
    layer_matrices : bool, default=True
        Also compute each language's layer-by-layer matrix.
    seed : int, default=0
        Seeds the permutations and bootstrap samples (shared by all pairs).
    null_draws : int, default=10
        Random re-pairings behind ``null_level`` for metrics without p-values
        (the first of the map's permutations when drawn).
    cca_null_draws : int, default=1
        The same for the expensive metrics (SVCCA/PWCCA: one extra
        eigendecomposition per pair and draw).
    covariates : dict of str to ndarray of shape (n,), optional
        Per language, a sentence-level covariate in the aligned order (the
        log token count). Given: every metric is also computed on the views
        residualised on it (:func:`length_residuals`), as metric
        ``<name>_lenctl`` with ``length_control = True``.
    length_only : bool, default=False
        With ``covariates``, compute only the length-controlled rows.
    runner : callable, optional
        ``runner(fn, list_of_args) -> list_of_results``; default: in this
        process, one layer after another (``representations.align`` passes a
        Ray runner for ``--backend ray``).
    progress : callable, optional
        Receives one line per finished layer / language.

    Returns
    -------
    alignment : DataFrame
        Columns :data:`ALIGNMENT_COLUMNS`: ``layer, lang_a, lang_b, metric,
        value, ci_low, ci_high, p_value, n``, then ``null_level`` (mean of
        the metric over ``null_draws`` random re-pairings of the sentences:
        its level under no alignment, at this ``n`` and width), ``null_draws``,
        ``dims_a, dims_b`` (dimensions each side was compared in) and
        ``dims_rule`` (how they were chosen, including any small-sample cap),
        ``length_control``. Symmetric metrics list each unordered pair once
        (``lang_a < lang_b`` in the given order), asymmetric ones both orders.
    layer_table : DataFrame
        Columns ``lang, layer_a, layer_b, metric, value, n``: the full
        layer-by-layer matrix of every language (empty if not requested).

    Examples
    --------
    >>> import numpy as np
    >>> from representations import METRICS
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(50, 4))
    >>> data = {("en", 0): z, ("de", 0): z + 0.1 * rng.normal(size=(50, 4))}
    >>> table, _ = alignment_maps(lambda l, k: data[l, k], ["en", "de"], [0], [METRICS.get("cka")()],
    ...                           layer_matrices=False)
    >>> table[["lang_a", "lang_b", "metric", "dims_a"]].values.tolist()
    [['en', 'de', 'cka', 4]]
    """
    languages = list(languages)
    layers = [int(l) for l in layers]
    if len(languages) < 2:
        raise DataError(f"alignment_maps: need at least two languages to compare, got {languages}.")
    if len(set(languages)) != len(languages):
        raise DataError(f"alignment_maps: languages {languages} contain duplicates.")
    note = progress or (lambda _msg: None)
    run = runner or run_serial

    first = _load(get, languages[0], layers[0], None if rows is None else rows.get(languages[0]))
    n = first.shape[0]
    need = max(m.min_examples for m in metrics)
    if n < need:
        raise DataError(f"alignment_maps: {n} aligned examples but the metrics need at least {need}.")
    if covariates is not None:
        missing = [lang for lang in languages if lang not in covariates]
        bad = {lang: np.shape(covariates[lang]) for lang in languages
               if lang in covariates and np.shape(covariates[lang])[0] != n}
        if missing or bad:
            raise DataError(f"alignment_maps: covariates must give every language {n} values (the aligned rows); "
                            f"missing: {missing}, wrong length: {bad}.")
    plan = plan_map(languages, metrics, n, rows=rows, n_permutations=n_permutations, n_bootstrap=n_bootstrap,
                    ci_level=ci_level, resample=resample, seed=seed, null_draws=null_draws,
                    cca_null_draws=cca_null_draws, covariates=covariates, length_only=length_only)

    t0 = time.perf_counter()
    messages: list[str] = []
    records: list[dict[str, Any]] = []
    for layer, (recs, warns) in zip(layers, run(layer_records, [(get, plan, layer) for layer in layers])):
        records.extend(recs)
        messages.extend(warns)
        note(f"layer {layer}: {len(languages)} languages x {len(metrics)} metric(s) "
             f"({time.perf_counter() - t0:.1f} s so far)")
    names = [m.name for m in metrics]
    order = {name + suffix: 2 * i + k for i, name in enumerate(names) for k, suffix in enumerate(["", LENGTH_SUFFIX])}
    alignment = pd.DataFrame.from_records(records, columns=ALIGNMENT_COLUMNS)
    if len(alignment):
        alignment = alignment.assign(_l=alignment["layer"].map({l: i for i, l in enumerate(layers)}),
                                     _m=alignment["metric"].map(order))
        alignment = alignment.sort_values(["_l", "_m"], kind="stable").drop(columns=["_l", "_m"])
        alignment = alignment.reset_index(drop=True)

    layer_records_: list[dict[str, Any]] = []
    if layer_matrices and len(layers) > 1:
        t0 = time.perf_counter()
        for lang, (recs, warns) in zip(languages, run(language_records, [(get, plan, lang, layers)
                                                                           for lang in languages])):
            layer_records_.extend(recs)
            messages.extend(warns)
            note(f"language {lang}: layer-by-layer matrices ({time.perf_counter() - t0:.1f} s so far)")
    layer_table = pd.DataFrame.from_records(layer_records_, columns=LAYER_COLUMNS)
    if len(layer_table):
        layer_table = layer_table.sort_values(
            ["lang", "metric"], key=lambda c: c.map(order) if c.name == "metric" else c.map(
                {lang: i for i, lang in enumerate(languages)}), kind="stable").reset_index(drop=True)
    summarise_warnings(messages)
    return alignment, layer_table


def _check_rows(views: Sequence[np.ndarray], languages: Sequence[str], layer: int, n: int) -> None:
    for v, lang in zip(views, languages):
        if v.shape[0] != n:
            raise DataError(
                f"alignment_maps: activations of {lang!r} at layer {layer} have shape {v.shape} but "
                f"{languages[0]!r} has {n} rows; the views must hold the same aligned sentences."
            )
