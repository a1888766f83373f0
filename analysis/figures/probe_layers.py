"""Probe accuracy by layer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.figures._common import FIGURES, require_rows, save_figure, subplots
from probes.errors import ConfigError
from probes.tables import require_columns

__all__ = ["probe_accuracy_by_layer"]


@FIGURES.register("probe_layers")
def probe_accuracy_by_layer(probes: pd.DataFrame, out: str | Path, *, metric: str | None = None,
                            cross_lingual: bool = False) -> tuple[Path, Path]:
    """One panel per (task, probe): score by layer, one line per language (panels in rows of 4).

    Parameters
    ----------
    probes : DataFrame
        ``probes.train`` table.
    metric : str, optional
        Required when the table holds several metrics.
    cross_lingual : bool, default=False
        Plot cross-lingual rows (``train_lang != test_lang``, one line per
        ``train_lang→test_lang``) instead of in-language rows.

    Returns
    -------
    (png, pdf)
    """
    require_columns(probes, ("layer", "lang", "task", "metric", "value"), "probe table")
    metrics = sorted(probes["metric"].unique())
    if metric is None:
        if len(metrics) > 1:
            raise ConfigError(f"The probe table holds several metrics {metrics}; pass metric=.")
        metric = metrics[0]
    p = probes[probes["metric"] == metric].copy()
    if "probe" not in p.columns:
        p["probe"] = "probe"
    if {"train_lang", "test_lang"} <= set(p.columns):
        cross = p["train_lang"].astype(str) != p["test_lang"].astype(str)
        p = p[cross] if cross_lingual else p[~cross]
        if cross_lingual:
            p["lang"] = p["train_lang"].astype(str) + "→" + p["test_lang"].astype(str)
    require_rows(p, "probe table")
    panels = list(p.groupby(["task", "probe"], sort=True))
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax, ((task, probe), g) in zip(axes.ravel(), panels):
        for lang, gl in g.groupby("lang", sort=True):
            s = gl.groupby("layer")["value"].mean().sort_index()
            ax.plot(s.index, s.to_numpy(), marker="o", ms=3, label=str(lang))
        ax.set_title(f"{task} ({probe})")
        ax.set_xlabel("layer")
        ax.set_ylabel(metric)
        ax.legend(frameon=False, fontsize=7, ncol=2)
    return save_figure(fig, out)
