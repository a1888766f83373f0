"""Figures of alignment tables: clustered language heatmaps and layer curves.

Each function reads the tidy table written by ``python -m representations.align``
(columns ``model, layer, lang_a, lang_b, metric, value, ci_low, ci_high,
p_value, n``) and writes one image file; nothing here touches a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from crossling import plotstyle as S
from crossling.errors import ConfigError, DataError
from crossling.tables import require_columns

__all__ = ["cluster_order", "parse_pair", "plot_heatmap", "plot_layer_curves", "similarity_matrix"]

_COLUMNS = ["layer", "lang_a", "lang_b", "metric", "value"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def similarity_matrix(table: pd.DataFrame, *, metric: str, layer: int) -> pd.DataFrame:
    """Language-by-language matrix of one metric at one layer.

    Symmetric metrics (one row per unordered pair) are mirrored; the diagonal
    is 1 (self-similarity). Rows are ``lang_a`` (the query side of
    asymmetric metrics), columns ``lang_b``.

    Parameters
    ----------
    table : DataFrame
        An alignment table.
    metric : str
    layer : int

    Returns
    -------
    DataFrame of shape (n_languages, n_languages)

    Examples
    --------
    >>> t = pd.DataFrame({"layer": [0], "lang_a": ["en"], "lang_b": ["de"], "metric": ["cka"], "value": [0.5]})
    >>> similarity_matrix(t, metric="cka", layer=0).loc["de", "en"]
    np.float64(0.5)
    """
    require_columns(table, _COLUMNS, "alignment table")
    sub = table[(table["metric"] == metric) & (table["layer"] == int(layer))]
    if sub.empty:
        have = sorted(set(zip(table["metric"], table["layer"])))
        raise DataError(f"The alignment table has no rows for metric {metric!r} at layer {layer}; it has "
                        f"(metric, layer) = {have[:12]}{' ...' if len(have) > 12 else ''}.")
    langs = sorted(set(sub["lang_a"]) | set(sub["lang_b"]))
    mat = pd.DataFrame(np.nan, index=langs, columns=langs)
    ordered = set(zip(sub["lang_a"], sub["lang_b"]))
    for a, b, v in zip(sub["lang_a"], sub["lang_b"], sub["value"]):
        mat.loc[a, b] = v
        if (b, a) not in ordered:
            mat.loc[b, a] = v
    for lang in langs:
        mat.loc[lang, lang] = 1.0
    return mat


def cluster_order(matrix: pd.DataFrame) -> list[str]:
    """Languages ordered by average-linkage clustering of ``1 - similarity``.

    The matrix is symmetrised; leaves are ordered optimally (Bar-Joseph et
    al. 2001) so that neighbours in the order are similar.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    labels = list(matrix.index)
    if len(labels) < 3:
        return labels
    s = matrix.to_numpy(dtype=float)
    s = np.where(np.isnan(s), np.nanmean(s), s)
    d = 1.0 - (s + s.T) / 2.0
    d = np.clip(d - d.min(), 0.0, None) if d.min() < 0 else d
    np.fill_diagonal(d, 0.0)
    z = linkage(squareform(d, checks=False), method="average", optimal_ordering=True)
    return [labels[i] for i in leaves_list(z)]


#: Metrics whose values lie in [0, 1]: drawn on the fixed 0-1 scale (others on a scale centred on 0).
_BOUNDED = frozenset({"cka", "cka_biased", "rbf_cka", "svcca", "pwcca", "retrieval", "retrieval_centered"})


def _data(table: pd.DataFrame) -> str:
    n = table["n"].dropna() if "n" in table.columns else pd.Series(dtype=float)
    langs = len(set(table["lang_a"]) | set(table["lang_b"]))
    return f"{langs} languages" + (f", {int(n.max())} sentences per language" if len(n) else "")


def plot_heatmap(table: pd.DataFrame, *, metric: str, layer: int, path: str | Path, title: str | None = None,
                 order: str = "fixed") -> Path:
    """Heatmap of one metric at one layer on a fixed colour scale.

    Parameters
    ----------
    table : DataFrame
        An alignment table.
    metric : str
    layer : int
    path : str or Path
        Output image (the suffix picks the format, e.g. ``.png``).
    title : str, optional
        Default: the metric and layer (the model is stamped on the canvas).
    order : {"fixed", "cluster"}
        ``fixed`` (default): the suite's language order (:func:`crossling.plotstyle.language_order`),
        the same at every layer, so heatmaps of different layers can be compared cell by cell;
        ``cluster``: average-linkage clustering order of this layer.

    Returns
    -------
    Path
    """
    if order not in ("fixed", "cluster"):
        raise ConfigError(f"order must be 'fixed' or 'cluster', got {order!r}.")
    plt = _pyplot()
    mat = similarity_matrix(table, metric=metric, layer=layer)
    langs = cluster_order(mat) if order == "cluster" else S.language_order(mat.index)
    mat = mat.loc[langs, langs]
    k = len(langs)
    fig, ax = plt.subplots(figsize=(1.6 + 0.42 * k, 1.4 + 0.42 * k), layout="constrained")
    vals = mat.to_numpy(dtype=float, copy=True)
    np.fill_diagonal(vals, np.nan)
    bounded = metric in _BOUNDED
    im = ax.imshow(np.ma.masked_invalid(vals), cmap=S.SEQUENTIAL if bounded else S.DIVERGING,
                   norm=S.unit_norm() if bounded else S.diverging_norm(vals.ravel()), aspect="equal")
    ax.set_xticks(range(k), langs, rotation=90)
    ax.set_yticks(range(k), langs)
    S.annotate_cells(ax, vals, skip_diagonal=True)
    ax.set_title(title or f"{metric}, layer {layer}", fontsize=9)
    ax.set_xlabel("lang_b")
    ax.set_ylabel("lang_a")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04,
                 label=metric + (" (fixed 0-1 scale)" if bounded else " (centred on 0)"))
    model = sorted(map(str, table["model"].unique())) if "model" in table.columns and len(table) else None
    S.stamp(fig, model=model, data=_data(table))
    path = S.save_png(fig, path) if Path(path).suffix.lower() == ".png" else _save_other(fig, path)
    plt.close(fig)
    return path


def _save_other(fig, path: str | Path) -> Path:  # type: ignore[no-untyped-def]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def parse_pair(spec: str) -> tuple[str, str]:
    """``"en-de"`` -> ``("en", "de")``."""
    parts = [p.strip() for p in str(spec).replace(":", "-").split("-")]
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"Bad language pair {spec!r}; write pairs as lang_a-lang_b, e.g. en-de.")
    return parts[0], parts[1]


def plot_layer_curves(
    table: pd.DataFrame, *, metric: str, pairs: Sequence[tuple[str, str]], path: str | Path, title: str | None = None
) -> Path:
    """Similarity across layers for chosen language pairs, with bootstrap bands.

    Parameters
    ----------
    table : DataFrame
        An alignment table.
    metric : str
    pairs : sequence of (lang_a, lang_b)
        For symmetric metrics the order does not matter.
    path : str or Path
    title : str, optional

    Returns
    -------
    Path
    """
    _pyplot()  # selects the non-interactive backend before any figure exists
    require_columns(table, _COLUMNS, "alignment table")
    sub = table[table["metric"] == metric]
    found = []
    for a, b in pairs:
        rows = sub[(sub["lang_a"] == a) & (sub["lang_b"] == b)]
        if rows.empty:
            rows = sub[(sub["lang_a"] == b) & (sub["lang_b"] == a)]
        if not rows.empty:
            found.append((a, b, rows.sort_values("layer")))
    if not found:
        have = sorted(set(zip(sub["lang_a"], sub["lang_b"])))[:10]
        raise DataError(f"None of the pairs {list(pairs)} has rows for metric {metric!r}; pairs present include {have}.")
    # up to 7 pairs share one panel (one colour each, never reused); more get one small panel each
    single = len(found) <= len(S.OKABE_ITO) - 1
    if single:
        fig, axes = S.new_figure(figsize=(6.4, 3.8))
        axes = [axes] * len(found)
    else:
        fig, axes = S.small_multiples(min(len(found), 16), panel=(2.4, 2.0), sharex=True, sharey=True)
        found = found[:16]
    for i, (ax, (a, b, rows)) in enumerate(zip(axes, found)):
        col = S.colour(i) if single else S.colour(0)
        ax.plot(rows["layer"], rows["value"], marker="o", ms=3, color=col, label=f"{a}-{b}")
        if "ci_low" in rows and rows["ci_low"].notna().any():
            ax.fill_between(rows["layer"], rows["ci_low"], rows["ci_high"], color=col, alpha=0.2, lw=0)
        if not single:
            ax.set_title(f"{a}-{b}", fontsize=8)
        if metric in _BOUNDED:
            ax.set_ylim(min(0.0, float(sub["value"].min())), 1.02)
        ax.grid(alpha=0.3)
        ax.set_xlabel("layer", fontsize=8)
        ax.set_ylabel(metric, fontsize=8)
        ax.tick_params(labelsize=7)
    if single:
        S.legend_inside(axes[0], ncol=2 if len(found) > 4 else 1)
    fig.suptitle(title or f"{metric} across layers (band: bootstrap interval)", fontsize=9)
    model = sorted(map(str, table["model"].unique())) if "model" in table.columns and len(table) else None
    S.stamp(fig, model=model, data=_data(sub))
    path = S.save_png(fig, path) if Path(path).suffix.lower() == ".png" else _save_other(fig, path)
    return path
