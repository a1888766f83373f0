"""The unit attribution grid: probes per (layer, task, language), overlap tests, ablations, tables."""

from __future__ import annotations

import time
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossling.errors import ConfigError
from crossling.schemas import ATTRIBUTION_PROBE_COLUMNS, ATTRIBUTION_UNIT_COLUMNS
from transfer.attribution._config import UnitAttributionConfig
from transfer.attribution._figures import write_attribution_figures
from transfer.attribution._stats import ablation_tests, overlap_tests
from transfer.attribution._units import (
    FittedProbe,
    fit_probe,
    probe_data_from_store,
    top_k_units,
    unit_importance,
)

__all__ = ["unit_attribution_grid", "run_units", "adjust_pvalues", "overlap_pair_features", "UNIT_COLUMNS",
           "PROBE_COLUMNS", "OVERLAP_COLUMNS", "ABLATION_COLUMNS"]

#: Columns of the unit-importance table (:data:`crossling.schemas.ATTRIBUTION_UNIT_COLUMNS`).
UNIT_COLUMNS = list(ATTRIBUTION_UNIT_COLUMNS)
#: Columns of the attribution run's probe table (:data:`crossling.schemas.ATTRIBUTION_PROBE_COLUMNS`).
PROBE_COLUMNS = list(ATTRIBUTION_PROBE_COLUMNS)
#: Columns of the table of top-unit overlaps between languages, with their permutation p-values.
OVERLAP_COLUMNS = ["model", "layer", "task", "lang_a", "lang_b", "probe", "method", "metric", "value", "p_value",
                   "p_adj", "p_exact", "null_mean", "null_sd", "k", "n_units", "n_perm"]
#: Columns of the table of ablation effects of each language's top units.
ABLATION_COLUMNS = ["model", "layer", "task", "lang_a", "lang_b", "probe", "method", "metric", "value", "p_value",
                    "p_adj", "null_mean", "null_sd", "k", "n_random", "mode", "n_test"]


# --------------------------------------------------------------------------- configs


def adjust_pvalues(df: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """Benjamini-Hochberg adjusted p-values within groups ``by`` (NaN p-values stay NaN)."""
    from statsmodels.stats.multitest import multipletests

    out = pd.Series(np.nan, index=df.index, dtype=float)
    if df.empty:
        return out
    for _, d in df.groupby(list(by), dropna=False):
        p = d["p_value"].to_numpy(dtype=float)
        ok = np.isfinite(p)
        if ok.any():
            adj = np.full(len(p), np.nan)
            adj[ok] = multipletests(p[ok], method="fdr_bh")[1]
            out.loc[d.index] = adj
    return out


def overlap_pair_features(overlap: pd.DataFrame) -> pd.DataFrame:
    """The overlap table as pair features for :mod:`analysis` (``lang_a, lang_b, feature, value, source``).

    Feature names are ``unit_jaccard_k<k>:<task>:<method>@L<layer>`` and
    ``unit_spearman:<task>:<method>@L<layer>`` (the ``@L`` suffix marks a
    per-layer model-internal feature, as ``cka@L6``); ``source`` is
    ``attribution:<model>``.
    """
    cols = ["lang_a", "lang_b", "feature", "value", "source"]
    if overlap.empty:
        return pd.DataFrame(columns=cols)
    ov = overlap
    base = np.where(ov["metric"] == "topk_jaccard", "unit_jaccard_k" + ov["k"].astype(int).astype(str),
                    np.where(ov["metric"] == "importance_spearman", "unit_spearman", ov["metric"].astype(str)))
    feat = (pd.Series(base, index=ov.index) + ":" + ov["task"].astype(str) + ":" + ov["method"].astype(str)
            + "@L" + ov["layer"].astype(int).astype(str))
    out = pd.DataFrame({"lang_a": ov["lang_a"], "lang_b": ov["lang_b"], "feature": feat,
                        "value": ov["value"].astype(float), "source": "attribution:" + ov["model"].astype(str)},
                       columns=cols)
    # Spearman does not depend on k: one row per pair and layer
    return out.drop_duplicates(["lang_a", "lang_b", "feature", "source"], ignore_index=True)


def _log(msg: str, progress: bool) -> None:
    if progress:
        import sys

        print(msg, file=sys.stderr, flush=True)


def unit_attribution_grid(cfg: UnitAttributionConfig, *, progress: bool = False) -> dict[str, pd.DataFrame]:
    """Run unit attribution, overlap tests and ablations over the grid of ``cfg``.

    Returns
    -------
    dict of str to DataFrame
        ``units`` (:data:`UNIT_COLUMNS`), ``probes`` (:data:`PROBE_COLUMNS`),
        ``overlap`` (:data:`OVERLAP_COLUMNS`), ``ablation`` (:data:`ABLATION_COLUMNS`),
        ``pair_features`` (:func:`overlap_pair_features`) and ``skipped`` (cells without enough data). ``p_adj`` is corrected
        (Benjamini-Hochberg) over layers and language pairs within each
        (model, task, probe, method, metric, k).
    """
    from crossling.layers import parse_layers
    from probes.extraction.store import ActivationStore
    from probes.probing import get_task, sentences_from_index

    if cfg.threads:
        import torch

        torch.set_num_threads(int(cfg.threads))
    store = ActivationStore(cfg.activations)
    langs = list(cfg.langs) or store.languages
    for lang in langs:
        store.check(lang)
    layers = store.layers if cfg.layers == "all" else parse_layers(cfg.layers, max(store.layers))
    for layer in layers:
        store.check(layer=layer)
    if max(cfg.k) >= store.dim:
        raise ConfigError(f"k={max(cfg.k)} is not below the {store.dim} hidden units of {store.model!r}; "
                          f"choose k < {store.dim}.")
    tasks = [get_task(t) for t in cfg.tasks]
    sents = {lang: sentences_from_index(store.word_index(lang), lang) for lang in langs}
    model = store.model
    units_rows: list[tuple[Any, ...]] = []
    probe_rows: list[tuple[Any, ...]] = []
    ov_rows: list[dict[str, Any]] = []
    ab_rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for layer in layers:
        for task in tasks:
            tname = task.task_name
            fits: dict[str, tuple[FittedProbe, np.ndarray, np.ndarray]] = {}
            imps: dict[tuple[str, str], np.ndarray] = {}
            for lang in langs:
                t0 = time.perf_counter()
                data = probe_data_from_store(store, lang, layer, task, split=cfg.split, seed=cfg.seed,
                                             sentences=sents[lang])
                if len(data.y_train) < cfg.min_examples or len(data.y_test) == 0 or len(data.classes) < 2:
                    skipped.append({"model": model, "layer": layer, "task": tname, "lang": lang,
                                    "reason": f"{len(data.y_train)} training words ({len(data.classes)} classes), "
                                              f"{len(data.y_test)} test words"})
                    continue
                probe = fit_probe(data, cfg.probe, C=cfg.C, max_iter=cfg.max_iter, seed=cfg.seed)
                Zte = probe.standardise(data.X_test)
                fits[lang] = (probe, Zte, data.y_test)
                acc = float((probe.predict(Zte) == data.y_test).mean())
                n_tr, n_te = len(data.y_train), len(data.y_test)
                probe_rows.append((model, layer, tname, lang, cfg.probe, "refit_accuracy", acc, n_tr, n_te))
                sel = np.arange(n_te)
                if cfg.max_attr_words is not None and n_te > cfg.max_attr_words:
                    sel = np.sort(np.random.default_rng(cfg.seed).choice(n_te, cfg.max_attr_words, replace=False))
                for method in cfg.methods:
                    imp, info = unit_importance(probe, Zte[sel], data.y_test[sel], method=method, target=cfg.target,
                                                output=cfg.output, n_steps=cfg.ig_steps)
                    imps[(lang, method)] = imp
                    order = np.argsort(-imp, kind="stable")
                    rank = np.empty(len(imp), dtype=np.int64)
                    rank[order] = np.arange(1, len(imp) + 1)
                    units_rows.extend((model, layer, tname, lang, cfg.probe, method, cfg.target, u, float(imp[u]),
                                       int(rank[u])) for u in range(len(imp)))
                    if "mean_abs_delta" in info:
                        probe_rows.append((model, layer, tname, lang, cfg.probe, f"{method}_mean_abs_delta",
                                           info["mean_abs_delta"], n_tr, int(info["n_words"])))
                _log(f"layer {layer} {tname} {lang}: accuracy {acc:.3f} ({time.perf_counter() - t0:.1f}s)", progress)
            done = list(fits)
            for method in cfg.methods:
                for k in cfg.k:
                    for a, b in combinations(done, 2):
                        for r in overlap_tests(imps[(a, method)], imps[(b, method)], k, n_perm=cfg.n_perm,
                                               seed=cfg.seed):
                            ov_rows.append({"model": model, "layer": layer, "task": tname, "lang_a": a,
                                            "lang_b": b, "probe": cfg.probe, "method": method, **r, "k": k,
                                            "n_units": store.dim, "n_perm": cfg.n_perm})
                for b in done:
                    probe_b, Zb, yb = fits[b]
                    pairs = [(k, a) for k in cfg.k for a in done]
                    results = ablation_tests(probe_b, Zb, yb, [top_k_units(imps[(a, method)], k) for k, a in pairs],
                                             mode=cfg.ablation, n_random=cfg.n_random, seed=cfg.seed)
                    for (k, a), res in zip(pairs, results):
                        common = {"model": model, "layer": layer, "task": tname, "lang_a": a, "lang_b": b,
                                  "probe": cfg.probe, "method": method, "k": k, "n_random": cfg.n_random,
                                  "mode": cfg.ablation, "n_test": len(yb)}
                        ab_rows.append({**common, "metric": "ablation_drop", "value": res["drop"],
                                        "p_value": res["p_value"], "null_mean": res["null_mean"],
                                        "null_sd": res["null_sd"]})
                        ab_rows.append({**common, "metric": "accuracy_ablated", "value": res["accuracy_ablated"],
                                        "p_value": np.nan, "null_mean": np.nan, "null_sd": np.nan})
    overlap = pd.DataFrame(ov_rows, columns=[c for c in OVERLAP_COLUMNS if c != "p_adj"])
    overlap["p_adj"] = adjust_pvalues(overlap, ["model", "task", "probe", "method", "metric", "k"])
    ablation = pd.DataFrame(ab_rows, columns=[c for c in ABLATION_COLUMNS if c != "p_adj"])
    ablation["p_adj"] = adjust_pvalues(ablation, ["model", "task", "probe", "method", "metric", "k"])
    return {
        "units": pd.DataFrame(units_rows, columns=UNIT_COLUMNS),
        "pair_features": overlap_pair_features(overlap),
        "probes": pd.DataFrame(probe_rows, columns=PROBE_COLUMNS),
        "overlap": overlap[OVERLAP_COLUMNS],
        "ablation": ablation[ABLATION_COLUMNS],
        "skipped": pd.DataFrame(skipped, columns=["model", "layer", "task", "lang", "reason"]),
    }


def run_units(cfg: UnitAttributionConfig, *, progress: bool = False) -> dict[str, Path]:
    """Run :func:`unit_attribution_grid` and write its tables, config and figures to ``cfg.out``.

    Returns
    -------
    dict of str to Path
        The written Parquet tables by name (plus ``figures`` when drawn).
    """
    from crossling.config import save_config
    from crossling.io import DirLock
    from crossling.tables import write_table

    out = Path(cfg.out) if cfg.out else Path(cfg.activations) / "attribution"
    cfg.out = str(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with DirLock(out):
        tables = unit_attribution_grid(cfg, progress=progress)
        for name, df in tables.items():
            written[name] = write_table(df, out / name)[0]
        save_config(cfg, out / "config.yaml")
        if cfg.figures and len(tables["overlap"]) + len(tables["ablation"]):
            write_attribution_figures(tables["overlap"], tables["ablation"], out / "figures")
            written["figures"] = out / "figures"
    return written
