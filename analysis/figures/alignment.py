"""Alignment figures: by layer (model vs control), the language heatmap at one layer, typology scatter, Mantel."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis._frames import square_matrix
from analysis.figures._common import (
    FIGURES,
    control_label,
    data_label,
    model_label,
    require_rows,
    save_figure,
    subplots,
)
from analysis.stats import align_matrices, mantel
from crossling import plotstyle as S
from crossling.errors import ConfigError
from crossling.tables import require_columns

__all__ = ["alignment_by_layer", "alignment_heatmap", "typology_alignment_scatter", "mantel_by_layer_plot",
           "BOUNDED_METRICS"]

_ALIGN = ("layer", "lang_a", "lang_b", "metric", "value")

#: Alignment metrics whose values lie in [0, 1] (drawn on a fixed 0-1 scale); debiased CKA can dip
#: slightly below 0 for unrelated data and is clipped in colour only.
BOUNDED_METRICS = frozenset({"cka", "cka_biased", "rbf_cka", "svcca", "pwcca", "retrieval", "retrieval_centered"})


def _null_level(rows: pd.DataFrame) -> float | None:
    """The chance/null level of an alignment metric, when the table records it (``null_level``)."""
    if "null_level" in rows.columns:
        v = pd.to_numeric(rows["null_level"], errors="coerce").dropna()
        if len(v):
            return float(v.mean())
    return None


@FIGURES.register("alignment_layers")
def alignment_by_layer(alignment: pd.DataFrame, out: str | Path, *, model: str | None = None,
                       control: str | None = None, metrics: list[str] | None = None) -> tuple[Path, Path]:
    """One panel per metric: mean over language pairs by layer, with the interquartile band, model vs control.

    Parameters
    ----------
    alignment : DataFrame
        ``representations.align`` table(s), possibly of several models.
    model, control : str, optional
        Model drawn solid and control drawn dashed (default: the first and second model labels).
    metrics : list of str, optional
        Metrics to draw (default: all of the model's).

    Returns
    -------
    (png, pdf)
    """
    require_columns(alignment, _ALIGN, "alignment table")
    a = alignment if "model" in alignment.columns else alignment.assign(model="model")
    models = list(dict.fromkeys(a["model"].astype(str)))
    model = model or models[0]
    if control is None:
        control = control_label(models, model)
    mine = a[a["model"].astype(str) == model]
    require_rows(mine, f"alignment table (model {model!r})")
    metrics = metrics or [m for m in ("cka", "svcca", "pwcca", "retrieval") if m in set(mine["metric"])] + sorted(
        set(mine["metric"]) - {"cka", "svcca", "pwcca", "retrieval"})
    fig, axes = S.small_multiples(len(metrics), panel=(3.4, 2.8))
    for ax, metric in zip(axes, metrics):
        for who, style, col in ((model, "-", S.colour(0)), (control, "--", S.colour(1))):
            if who is None:
                continue
            g = a[(a["model"].astype(str) == who) & (a["metric"] == metric)]
            if g.empty:
                continue
            q = g.groupby("layer")["value"].quantile([0.25, 0.5, 0.75]).unstack()
            mean = g.groupby("layer")["value"].mean()
            npairs = g.drop_duplicates(["lang_a", "lang_b"]).shape[0]
            ax.fill_between(q.index, q[0.25], q[0.75], color=col, alpha=0.2, lw=0)
            ax.plot(mean.index, mean.to_numpy(), style, marker="o", ms=3, color=col,
                    label=("model" if who == model else "control") + f" ({npairs} pairs)")
            if who == model:
                S.draw_chance(ax, _null_level(g), label="null level")
        if metric in BOUNDED_METRICS:
            ax.set_ylim(min(0.0, float(a[a["metric"] == metric]["value"].min())), 1.02)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("layer", fontsize=8)
        ax.set_ylabel("similarity (mean, IQR band)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
    S.legend_inside(axes[0], loc="lower right", fontsize=6)
    fig.suptitle("Alignment by layer: model vs random-initialised control", fontsize=9)
    S.stamp(fig, model=[m for m in (model, control) if m], data=data_label(mine))
    return save_figure(fig, out)


@FIGURES.register("alignment_heatmap")
def alignment_heatmap(alignment: pd.DataFrame, out: str | Path, *, metric: str, layer: int | None = None,
                      model: str | None = None) -> tuple[Path, Path]:
    """Language x language similarity at one layer (default: the layer with the highest mean), fixed scale.

    Bounded metrics use the fixed [0, 1] scale; others a symmetric diverging scale around 0.
    Languages are in :func:`crossling.plotstyle.language_order` (the same order at every layer).

    Returns
    -------
    (png, pdf)
    """
    require_columns(alignment, _ALIGN, "alignment table")
    a = alignment[alignment["metric"] == metric]
    if "model" in a.columns:
        model = model or str(a["model"].iloc[0]) if len(a) else model
        a = a[a["model"].astype(str) == str(model)]
    require_rows(a, f"alignment table (metric {metric!r})")
    if layer is None:
        layer = int(a.groupby("layer")["value"].mean().idxmax())
    sub = a[a["layer"] == layer]
    require_rows(sub, f"alignment table at layer {layer}")
    M = square_matrix(sub, "value", a="lang_a", b="lang_b", symmetric=False)
    M = M.combine_first(M.T)
    order = S.language_order(M.index)
    M = M.reindex(index=order, columns=order)
    vals = M.to_numpy(float, copy=True)
    np.fill_diagonal(vals, np.nan)
    k = len(order)
    fig, ax = subplots(figsize=(0.42 * k + 2.6, 0.42 * k + 1.9))
    norm = S.unit_norm() if metric in BOUNDED_METRICS else S.diverging_norm(vals)
    im = ax.imshow(np.ma.masked_invalid(vals), cmap=S.SEQUENTIAL if metric in BOUNDED_METRICS else S.DIVERGING,
                   norm=norm)
    ax.set_xticks(range(k), order, rotation=90)
    ax.set_yticks(range(k), order)
    S.annotate_cells(ax, vals, skip_diagonal=True)
    fig.colorbar(im, ax=ax, shrink=0.85,
                 label=f"{metric} ({'fixed 0-1 scale' if metric in BOUNDED_METRICS else 'centred on 0'})")
    ax.set_title(f"{metric} between languages, layer {layer}", fontsize=10)
    S.stamp(fig, model=model_label(sub) or model, data=data_label(sub))
    return save_figure(fig, out)


@FIGURES.register("typology_alignment")
def typology_alignment_scatter(alignment: pd.DataFrame, features: pd.DataFrame, feature: str, out: str | Path, *,
                               metric: str | None = None, mantel_table: pd.DataFrame | None = None,
                               layers: list | None = None, permutations: int = 199) -> tuple[Path, Path]:
    """One panel per layer: pair alignment (y) against a typological feature (x).

    Parameters
    ----------
    alignment : DataFrame
        ``representations.align`` table.
    features : DataFrame
        Tidy pair-feature table; ``feature`` selects the x axis.
    metric : str, optional
        Alignment metric (required when the table holds several).
    mantel_table : DataFrame, optional
        Output of :func:`analysis.stats.mantel_by_layer`; its ``r`` and ``q``
        (for ``against == feature``, plain test) annotate the panels. Without
        it a Mantel test with ``permutations`` is run per layer.
    layers : list, optional
        Layers to draw (default: at most 8 evenly spaced).

    Returns
    -------
    (png, pdf)
    """
    require_columns(alignment, _ALIGN, "alignment table")
    require_columns(features, ("lang_a", "lang_b", "feature", "value"), "pair-feature table")
    metrics = sorted(alignment["metric"].unique())
    if metric is None:
        if len(metrics) > 1:
            raise ConfigError(f"The alignment table holds several metrics {metrics}; pass metric=.")
        metric = metrics[0]
    al = alignment[alignment["metric"] == metric]
    f = features[features["feature"] == feature]
    require_rows(al, f"alignment table (metric {metric!r})")
    require_rows(f, f"pair-feature table (feature {feature!r})")
    D = square_matrix(f, "value")
    all_layers = sorted(al["layer"].unique())
    if layers is None:
        idx = np.unique(np.linspace(0, len(all_layers) - 1, min(8, len(all_layers))).round().astype(int))
        layers = [all_layers[i] for i in idx]
    ncol = min(4, len(layers))
    nrow = math.ceil(len(layers) / ncol)
    fig, axes = subplots(nrow, ncol, figsize=(2.9 * ncol, 2.5 * nrow + 0.4), squeeze=False, sharex=True,
                         sharey=True)
    for ax in axes.flat[len(layers):]:
        ax.set_visible(False)
    for ax, layer in zip(axes.flat, layers):
        M = square_matrix(al[al["layer"] == layer], "value")
        A, B = align_matrices(M, D, names=[metric, feature])
        mask = np.triu(np.ones(A.shape, dtype=bool), 1)
        ax.scatter(B.to_numpy()[mask], A.to_numpy()[mask], s=10, alpha=0.7, color=S.colour(0))
        note = ""
        if mantel_table is not None:
            test = mantel_table["test"] if "test" in mantel_table.columns else "mantel"
            row = mantel_table[(mantel_table["layer"] == layer) & (mantel_table["against"] == feature)
                               & (mantel_table["metric"] == metric) & (test == "mantel")]
            if len(row):
                note = f"r={row['r'].iloc[0]:.2f}, q={row['q'].iloc[0]:.3f} (perm., BH)"
        if not note:
            res = mantel(A, B, permutations=permutations, seed=0)
            note = f"r={res.r:.2f}, p={res.p:.3f} ({permutations} perm.)"
        ax.set_title(f"layer {layer}: {note}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel(feature, fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel(metric, fontsize=8)
    S.stamp(fig, model=model_label(al), data=data_label(al))
    return save_figure(fig, out)


MANTEL_PLOT_METRICS = ("cka", "cka_lenctl", "svcca", "retrieval")


@FIGURES.register("mantel_by_layer")
def mantel_by_layer_plot(mantel_table: pd.DataFrame, out: str | Path, *, alpha: float = 0.05,
                         max_panels: int = 12, metrics: Sequence[str] | None = None,
                         max_metrics: int = 4) -> tuple[Path, Path]:
    """Mantel r by layer: one compact panel per comparison (``against``), one line per metric.

    Plain Mantel tests are solid, partial ones (controlling for data size) dashed; filled
    markers are layers with Benjamini-Hochberg ``q < alpha``. The y axis is fixed at [-1, 1].

    Parameters
    ----------
    mantel_table : DataFrame
        Output of :func:`analysis.stats.mantel_by_layer` (``layer, against,
        metric, test, r, q``).

    metrics : list of str, optional
        Alignment metrics drawn (one colour each). Default: those of
        :data:`MANTEL_PLOT_METRICS` in the table, else the first
        ``max_metrics`` in name order; the table keeps every metric, the
        figure stays readable (at most ``max_metrics`` colours, each solid
        and dashed).

    Returns
    -------
    (png, pdf)
    """
    require_columns(mantel_table, ("layer", "against", "r"), "Mantel table")
    require_rows(mantel_table, "Mantel table")
    m = mantel_table.copy()
    for col, val in (("metric", "alignment"), ("test", "mantel"), ("q", np.nan)):
        if col not in m.columns:
            m[col] = val
    # transfer matrices first, then the comparisons with the strongest |r| at any layer
    strength = m.assign(a=m["r"].abs()).groupby(m["against"].astype(str))["a"].max()
    every = sorted(strength.index, key=lambda s: (not s.startswith("transfer:"), -strength[s], s))
    comps = every[:max_panels]
    present = sorted(m["metric"].dropna().astype(str).unique())
    if metrics is None:
        metrics = [x for x in MANTEL_PLOT_METRICS if x in present] or present[:max_metrics]
    else:
        unknown = sorted(set(metrics) - set(present))
        if unknown:
            raise ConfigError(f"The 'metrics' parameter names {unknown}, which the Mantel table does not have; "
                              f"it has {present}.")
    metrics = list(metrics)[:max_metrics]
    fig, axes = S.small_multiples(len(comps), panel=(2.9, 2.4), sharex=True, sharey=True)
    for ax, comp in zip(axes, comps):
        gc = m[m["against"].astype(str) == comp]
        for i, metric in enumerate(metrics):
            for test, g in gc[gc["metric"].astype(str) == metric].groupby("test", sort=True):
                g = g.sort_values("layer")
                col = S.colour(i)
                ax.plot(g["layer"], g["r"], color=col, ls="-" if test == "mantel" else "--", lw=1.2,
                        label=f"{metric}" + (" (partial)" if test != "mantel" else ""))
                sig = (g["q"] < alpha).to_numpy()
                ax.scatter(g["layer"][sig], g["r"][sig], color=col, s=14, zorder=3)
                ax.scatter(g["layer"][~sig], g["r"][~sig], facecolor="white", edgecolor=col, s=14, zorder=3)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylim(-1, 1)
        ax.set_title(comp, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
        ax.set_xlabel("layer", fontsize=8)
        ax.set_ylabel("Mantel r", fontsize=8)
    S.legend_inside(axes[0], loc="lower left", fontsize=6)
    shown = f"; {len(comps)} of {len(every)} comparisons, strongest |r| first" if len(comps) < len(every) else ""
    if len(metrics) < len(present):
        shown += f"; metrics {', '.join(metrics)} of {len(present)}"
    fig.suptitle(f"Alignment vs each matrix by layer (filled: permutation test, BH q < {alpha}{shown})", fontsize=9)
    data = f"{int(m['n_langs'].max())} languages" if "n_langs" in m.columns else None
    if data and "permutations" in m.columns:
        data += f", {int(m['permutations'].max())} permutations"
    S.stamp(fig, model=model_label(m) or None, data=data)
    return save_figure(fig, out)
