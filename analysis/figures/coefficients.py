"""Forest plot of the explanation: standardised coefficients with intervals and how each p was computed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.figures._common import FIGURES, model_label, require_rows, save_figure, subplots
from analysis.summary import headline_coefficients
from crossling import plotstyle as S
from crossling.tables import require_columns

__all__ = ["coefficient_plot"]


@FIGURES.register("coefficients")
def coefficient_plot(coef: pd.DataFrame, out: str | Path, *, title: str | None = None,
                     drop_terms: tuple[str, ...] = ("const", "Intercept")) -> tuple[Path, Path]:
    """Forest plot of a coefficient table: one row per term, one colour per fit, zero marked.

    Each row is annotated with its p-value and the method that computed it (the ``method``
    column; rows marked ``headline`` are the ones drawn when that column exists).

    Parameters
    ----------
    coef : DataFrame
        Columns ``term, beta, ci_low, ci_high`` and optionally ``fit`` (one colour per fit),
        ``p``, ``method``, ``headline``, ``n``, e.g. ``explain_transfer(...)["coefficients"]``.
    out : path
        Output stem; writes ``out.png`` and ``out.pdf``.
    drop_terms : tuple of str
        Terms not drawn (the intercept, by default; task dummies are also dropped).

    Returns
    -------
    (png, pdf) : tuple of Path
    """
    require_columns(coef, ("term", "beta", "ci_low", "ci_high"), "coefficient table")
    c = headline_coefficients(coef)
    c = c[~c["term"].isin(drop_terms) & ~c["term"].astype(str).str.startswith("task[")].copy()
    require_rows(c, "coefficient table")
    if "fit" not in c.columns:
        c["fit"] = "fit"
    c = c.drop_duplicates(["fit", "term"])
    terms = list(dict.fromkeys(c[c["fit"] == c["fit"].iloc[0]].sort_values("beta")["term"]))
    terms += [t for t in dict.fromkeys(c["term"]) if t not in terms]
    fits = list(dict.fromkeys(c["fit"]))
    methods = sorted(set(c["method"].dropna().astype(str)))
    fig, ax = subplots(figsize=(7.0, 0.42 * len(terms) * max(1, len(fits) / 1.5) + 1.6))
    off = np.linspace(-0.18, 0.18, len(fits)) if len(fits) > 1 else [0.0]
    span = float(np.nanmax(np.abs(c[["ci_low", "ci_high", "beta"]].to_numpy(float)))) if len(c) else 1.0
    span = span if np.isfinite(span) and span > 0 else 1.0
    for i, (o, f) in enumerate(zip(off, fits)):
        s = c[c["fit"] == f].set_index("term").reindex(terms)
        y = np.arange(len(terms)) + o
        ax.errorbar(s["beta"], y, xerr=[s["beta"] - s["ci_low"], s["ci_high"] - s["beta"]], fmt="o", capsize=3,
                    color=S.colour(i), label=str(f), ms=4)
        if "p" in s.columns:
            for yy, (_, r) in zip(y, s.iterrows()):
                if np.isfinite(r.get("p", np.nan)):
                    how = f" ({r['method']})" if len(methods) > 1 and pd.notna(r.get("method")) else ""
                    ax.text(1.02 * span * 1.35, yy, f"p={r['p']:.3g}{how}", fontsize=6, va="center", ha="right",
                            color=S.colour(i))
    ax.axvline(0, color="black", lw=0.8, ls=":")
    ax.set_xlim(-1.4 * span, 1.4 * span)
    ax.set_yticks(np.arange(len(terms)), terms, fontsize=8)
    source = ""
    if "interval_from" in c.columns and c["interval_from"].astype(str).str.len().gt(0).any():
        frm = c["interval_from"].astype(str)
        source = f" (intervals: {frm[frm.str.len() > 0].iloc[0]} fit)"
    if "method" in c.columns and c["method"].astype(str).str.endswith("-fe").any():
        source += "; within-language coefficients (-fe) have no interval"
    ax.set_xlabel("standardised coefficient (score change per SD) with its 95% interval" + source
                  + (f"\np-values: {methods[0]}" if len(methods) == 1 else ""), fontsize=8)
    ax.set_title(title or "What predicts transfer", fontsize=10)
    if len(fits) > 1:
        S.legend_inside(ax, loc="lower left")
    n = f"n = {int(c['n'].max())} pairs" if "n" in c.columns and c["n"].notna().any() else None
    S.stamp(fig, model=model_label(c) or None, data=n)
    return save_figure(fig, out)
