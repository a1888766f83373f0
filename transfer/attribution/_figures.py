"""Figures of unit-overlap and ablation tables (read tidy tables, write files; no model code).

Private module of :mod:`transfer.attribute`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from crossling.errors import DataError
from crossling import plotstyle
from crossling.tables import require_columns

__all__ = ["plot_overlap_heatmap", "plot_overlap_by_layer", "plot_ablation_by_layer", "write_attribution_figures"]

_METRIC_LABEL = {"topk_jaccard": "Jaccard of top-k units", "importance_spearman": "Spearman of unit importance"}


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, rows: pd.DataFrame | None = None) -> Path:  # type: ignore[no-untyped-def]
    """Stamp the model and languages of ``rows`` (the suite's plot style), save under the PNG budget, close."""
    plt = _plt()
    try:
        if rows is not None:
            langs = len(set(rows["lang_a"]) | set(rows["lang_b"])) if {"lang_a", "lang_b"} <= set(rows.columns) else 0
            plotstyle.stamp(fig, model=sorted(map(str, rows["model"].unique())) if "model" in rows.columns else None,
                            data=f"{langs} languages" if langs else None)
            fig.tight_layout(rect=(0, 0.04, 1, 1))
        else:
            fig.tight_layout()
        plotstyle.save_png(fig, path)
    finally:
        plt.close(fig)
    return path


def _pick_k(d: pd.DataFrame, k: int | None) -> pd.DataFrame:
    """Rows of one top-k size: ``k`` if given, else the table's only one."""
    if "k" not in d.columns:
        return d
    if k is not None:
        return d[d["k"] == k]
    ks = sorted(d["k"].unique())
    if len(ks) > 1:
        raise DataError(f"The table holds several top-k sizes {ks}; pass k= one of them.")
    return d


def _slug(s: object) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in str(s))


def plot_overlap_heatmap(overlap: pd.DataFrame, path: str | Path, *, task: str, layer: int, method: str,
                         k: int | None = None) -> Path:
    """Language-by-language heat maps (one panel per overlap metric) of one task, layer and method.

    Cells with ``p_adj < 0.05`` (or ``p_value`` if there is no ``p_adj``) carry a star.
    """
    require_columns(overlap, ["task", "layer", "method", "lang_a", "lang_b", "metric", "value", "p_value"])
    d = _pick_k(overlap[(overlap["task"] == task) & (overlap["layer"] == layer) & (overlap["method"] == method)], k)
    if d.empty:
        raise DataError(f"No overlap rows for task {task!r}, layer {layer}, method {method!r}, k {k}.")
    plt = _plt()
    metrics = [m for m in _METRIC_LABEL if m in set(d["metric"])]
    langs = plotstyle.language_order(set(d["lang_a"]) | set(d["lang_b"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics) + 0.6, 3.8), squeeze=False)
    pcol = "p_adj" if "p_adj" in d.columns else "p_value"
    for ax, m in zip(axes[0], metrics):
        dm = d[d["metric"] == m]
        M = np.full((len(langs), len(langs)), np.nan)
        S = np.zeros_like(M, dtype=bool)
        for a, b, v, p in zip(dm["lang_a"], dm["lang_b"], dm["value"], dm[pcol]):
            i, j = langs.index(a), langs.index(b)
            M[i, j] = M[j, i] = v
            S[i, j] = S[j, i] = bool(p < 0.05)
        np.fill_diagonal(M, 1.0)
        im = ax.imshow(M, norm=plotstyle.unit_norm() if m == "topk_jaccard" else plotstyle.diverging_norm([-1, 1]),
                       cmap=plotstyle.SEQUENTIAL if m == "topk_jaccard" else plotstyle.DIVERGING)
        ax.set_xticks(range(len(langs)), langs, rotation=90)
        ax.set_yticks(range(len(langs)), langs)
        for i in range(len(langs)):
            for j in range(len(langs)):
                if i != j and np.isfinite(M[i, j]):
                    ax.text(j, i, f"{M[i, j]:.2f}{'*' if S[i, j] else ''}", ha="center", va="center",
                            fontsize=7, color="white" if M[i, j] < 0.5 else "black")
        ax.set_title(_METRIC_LABEL[m], fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    k = int(d["k"].iloc[0]) if "k" in d.columns else None
    fig.suptitle(f"{task}, layer {layer}, {method}" + (f", k={k}" if k else "") + " (* p<0.05, corrected)",
                 fontsize=9)
    return _save(fig, Path(path), d)


def plot_overlap_by_layer(overlap: pd.DataFrame, path: str | Path, *, task: str, method: str,
                          k: int | None = None) -> Path:
    """Mean overlap over language pairs by layer, with the permutation baseline's mean (dashed)."""
    require_columns(overlap, ["task", "layer", "method", "metric", "value", "null_mean"])
    d = _pick_k(overlap[(overlap["task"] == task) & (overlap["method"] == method)], k)
    if d.empty:
        raise DataError(f"No overlap rows for task {task!r}, method {method!r}, k {k}.")
    plt = _plt()
    metrics = [m for m in _METRIC_LABEL if m in set(d["metric"])]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.3), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        g = d[d["metric"] == m].groupby("layer")
        mean, sd, null = g["value"].mean(), g["value"].std(), g["null_mean"].mean()
        ax.plot(mean.index, mean.values, marker="o", label="language pairs (mean)")
        ax.fill_between(mean.index, (mean - sd.fillna(0)).values, (mean + sd.fillna(0)).values, alpha=0.2)
        ax.plot(null.index, null.values, ls="--", color="grey", label="random units")
        ax.set_xlabel("layer")
        ax.set_ylabel(_METRIC_LABEL[m], fontsize=9)
        ax.legend(fontsize=7)
    kk = f", k={int(d['k'].iloc[0])}" if "k" in d.columns else ""
    fig.suptitle(f"Cross-lingual unit overlap by layer: {task}, {method}{kk}", fontsize=9)
    return _save(fig, Path(path), d)


def plot_ablation_by_layer(ablation: pd.DataFrame, path: str | Path, *, task: str, method: str,
                           k: int | None = None) -> Path:
    """Accuracy drop by layer: own top-k units, other languages' top-k units, random units."""
    require_columns(ablation, ["task", "layer", "method", "lang_a", "lang_b", "metric", "value", "null_mean"])
    d = _pick_k(ablation[(ablation["task"] == task) & (ablation["method"] == method)
                         & (ablation["metric"] == "ablation_drop")], k)
    if d.empty:
        raise DataError(f"No ablation rows for task {task!r}, method {method!r}, k {k}.")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 3.3))
    same = d[d["lang_a"] == d["lang_b"]].groupby("layer")["value"].mean()
    cross = d[d["lang_a"] != d["lang_b"]].groupby("layer")["value"].mean()
    rnd = d.groupby("layer")["null_mean"].mean()
    ax.plot(same.index, same.values, marker="o", label="own top-k")
    if len(cross):
        ax.plot(cross.index, cross.values, marker="s", label="other language's top-k")
    ax.plot(rnd.index, rnd.values, ls="--", color="grey", label="random units")
    ax.set_xlabel("layer")
    ax.set_ylabel("accuracy drop")
    ax.legend(fontsize=7)
    kk = f"k={int(d['k'].iloc[0])} " if "k" in d.columns else "top-k "
    ax.set_title(f"Ablating {kk}units: {task}, {method}", fontsize=9)
    return _save(fig, Path(path), d)


def write_attribution_figures(overlap: pd.DataFrame, ablation: pd.DataFrame | None, out_dir: str | Path) -> list[Path]:
    """Every figure of an attribution run: heat maps per (task, method, k, layer), by-layer curves per (task, method, k)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    if len(overlap):
        for (task, method, k), d in overlap.groupby(["task", "method", "k"]):
            stem = f"{_slug(task)}-{method}-k{int(k)}"
            for layer in sorted(d["layer"].unique()):
                paths.append(plot_overlap_heatmap(d, out / f"overlap-{stem}-L{int(layer)}.png",
                                                  task=task, layer=layer, method=method, k=k))
            paths.append(plot_overlap_by_layer(d, out / f"overlap-by-layer-{stem}.png", task=task, method=method,
                                               k=k))
    if ablation is not None and len(ablation):
        for (task, method, k), d in ablation.groupby(["task", "method", "k"]):
            paths.append(plot_ablation_by_layer(d, out / f"ablation-{_slug(task)}-{method}-k{int(k)}.png",
                                                task=task, method=method, k=k))
    return paths
