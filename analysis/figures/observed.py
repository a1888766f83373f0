"""Observed vs predicted transfer scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.figures._common import FIGURES, model_label, require_rows, save_figure, subplots
from crossling import plotstyle as S
from crossling.tables import require_columns

__all__ = ["observed_vs_predicted"]


@FIGURES.register("observed_vs_predicted")
def observed_vs_predicted(predictions: pd.DataFrame, out: str | Path, *, predicted: str = "predicted_lolo",
                          title: str | None = None) -> tuple[Path, Path]:
    """Scatter of observed against predicted scores with the identity line, on fixed 0-1 axes.

    Parameters
    ----------
    predictions : DataFrame
        Columns ``observed`` and ``predicted`` (e.g. ``predicted_lolo`` or
        ``predicted_ols`` of ``explain_transfer(...)["predictions"]``);
        ``task`` colours points when present.
    out : path
        Output stem.

    Returns
    -------
    (png, pdf)
    """
    require_columns(predictions, ("observed", predicted), "predictions table")
    d = predictions.dropna(subset=["observed", predicted])
    require_rows(d, "predictions table")
    fig, ax = subplots(figsize=(4.6, 4.6))
    groups = d.groupby("task") if "task" in d.columns else [("all", d)]
    for i, (name, g) in enumerate(groups):
        ax.scatter(g[predicted], g["observed"], s=14, alpha=0.7, label=str(name), color=S.colour(i))
    lo = min(0.0, float(np.nanmin([d[predicted].min(), d["observed"].min()])))
    hi = max(1.0, float(np.nanmax([d[predicted].max(), d["observed"].max()])))
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls=":")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    y, p = d["observed"].to_numpy(float), d[predicted].to_numpy(float)
    r2 = 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)
    mae = float(np.mean(np.abs(y - p)))
    ax.text(0.03, 0.97, f"R² = {r2:.3f}\nMAE = {mae:.3f}\nn = {len(d)} pairs", transform=ax.transAxes, va="top",
            fontsize=8)
    ax.set_xlabel(predicted.replace("_", " "), fontsize=8)
    ax.set_ylabel("observed transfer score", fontsize=8)
    ax.set_title(title or "Observed vs predicted transfer", fontsize=10)
    if "task" in d.columns and d["task"].nunique() > 1:
        S.legend_inside(ax, loc="lower right")
    S.stamp(fig, model=model_label(d) or None)
    return save_figure(fig, out)
