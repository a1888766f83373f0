"""Transfer matrix heatmap and few-shot curves (mean per task, fitted law, per-target spread)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis._frames import select_transfer, square_matrix
from analysis.stats import fit_law
from analysis.figures._common import FIGURES, data_label, require_rows, save_figure, subplots
from crossling import plotstyle as S
from crossling.tables import require_columns

__all__ = ["transfer_matrix_plot", "fewshot_curves", "MIN_K_FOR_LAW"]

#: A few-shot law is fitted (and drawn) only through at least this many distinct k: through two points
#: any two-parameter law fits exactly (R² = 1), which says nothing.
MIN_K_FOR_LAW = 3


@FIGURES.register("transfer_matrix")
def transfer_matrix_plot(transfer: pd.DataFrame, out: str | Path, *, task: str, include_self: bool = True,
                         chance: float | None = None, **select) -> tuple[Path, Path]:
    """Heatmap of zero-shot transfer (rows = source, columns = target) on a fixed [0, 1] scale.

    Languages follow :func:`crossling.plotstyle.language_order`; the in-language diagonal (when
    shown) is outlined so it is not read as transfer.

    Parameters
    ----------
    transfer : DataFrame
        ``transfer.run`` table.
    task : str
        Task to draw.
    include_self : bool, default=True
        Show the in-language diagonal when present.
    chance : float, optional
        The task's chance level, written in the title (a score near it means no transfer).
    **select
        ``model, metric, regime, layer`` filters (see ``select_transfer``).

    Returns
    -------
    (png, pdf)
    """
    s = select_transfer(transfer, task=task, k=0, include_self=include_self, **select)
    M = square_matrix(s, "score", a="src", b="tgt", symmetric=False)
    require_rows(M, "transfer matrix")
    src = S.language_order(M.index)
    tgt = S.language_order(M.columns)
    M = M.reindex(index=src, columns=tgt)
    fig, ax = subplots(figsize=(0.42 * len(tgt) + 2.6, 0.42 * len(src) + 1.9))
    vals = M.to_numpy(float)
    im = ax.imshow(vals, cmap=S.SEQUENTIAL, norm=S.unit_norm())
    ax.set_xticks(range(len(tgt)), tgt, rotation=90)
    ax.set_yticks(range(len(src)), src)
    ax.set_xlabel("target")
    ax.set_ylabel("source")
    S.annotate_cells(ax, vals)
    for i, a in enumerate(src):
        if a in tgt:
            j = tgt.index(a)
            ax.add_patch(_box(j, i))
    metric = str(s["metric"].iloc[0]) if "metric" in s.columns else "score"
    fig.colorbar(im, ax=ax, label=f"{metric} (fixed 0-1 scale)", shrink=0.85)
    title = f"Zero-shot transfer: {task}"
    if chance is not None:
        title += f" (chance {chance:.2f})"
    ax.set_title(title, fontsize=10)
    S.stamp(fig, model=sorted(s["model"].astype(str).unique()) if "model" in s.columns else None,
            data=data_label(s, langs=("src", "tgt")))
    return save_figure(fig, out)


def _box(j: int, i: int):  # type: ignore[no-untyped-def]
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="white", lw=1.2, ls="--")


def _cross_means(transfer: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (task, src, tgt, k) of the cross-lingual rows (src != tgt)."""
    t = transfer[transfer["src"].astype(str) != transfer["tgt"].astype(str)].copy()
    t["k"] = pd.to_numeric(t["k"], errors="coerce")
    t = t.dropna(subset=["k", "value"])
    return t.groupby(["task", "src", "tgt", "k"], as_index=False)["value"].mean()


@FIGURES.register("fewshot_curves")
def fewshot_curves(transfer: pd.DataFrame, out: str | Path, *, laws: pd.DataFrame | None = None, c: float = 1.0,
                   chance: dict[str, float] | None = None) -> tuple[Path, Path]:
    """One panel per task: mean score over cross-lingual pairs against ``k``, its law and the per-target spread.

    In-language rows (``src == tgt``) are never drawn: they are not few-shot transfer. The law
    ``a + b log(k + c)`` is fitted to the per-pair means (all pairs pooled) and drawn only when the
    task has at least :data:`MIN_K_FOR_LAW` distinct ``k``; otherwise the panel says so.

    Parameters
    ----------
    transfer : DataFrame
        ``transfer.run`` rows (``task, src, tgt, k, value``).
    laws : DataFrame, optional
        Per-curve fits of :func:`analysis.stats.fit_laws`; when given, the panel also reports
        the median ``b`` over that task's curves.
    c : float
        Offset of the law.
    chance : dict, optional
        Task -> chance level, drawn as a dotted line.

    Returns
    -------
    (png, pdf)
    """
    require_columns(transfer, ("task", "src", "tgt", "k", "value"), "transfer table")
    m = _cross_means(transfer)
    require_rows(m, "cross-lingual transfer table")
    tasks = sorted(m["task"].astype(str).unique())
    fig, axes = S.small_multiples(len(tasks), ncol=3, panel=(3.6, 3.0), min_width=5.0)
    for ax, task in zip(axes, tasks):
        g = m[m["task"].astype(str) == task]
        per_tgt = g.groupby(["tgt", "k"])["value"].mean().unstack("tgt").sort_index()
        mean = g.groupby("k")["value"].mean().sort_index()
        x = mean.index.to_numpy(float) + c
        ax.fill_between(x, per_tgt.min(axis=1).reindex(mean.index), per_tgt.max(axis=1).reindex(mean.index),
                        color=S.colour(0), alpha=0.18, lw=0, label=f"range over {per_tgt.shape[1]} targets")
        ax.plot(x, mean.to_numpy(), "o-", color=S.colour(0), ms=4, label="mean over pairs")
        n_k = len(mean)
        if n_k >= MIN_K_FOR_LAW:
            law = fit_law(g["k"].to_numpy(float), g["value"].to_numpy(float), c)
            grid = np.geomspace(x.min(), x.max(), 80)
            ax.plot(grid, law.a + law.b * np.log(grid), color=S.colour(1), lw=1.5,
                    label=f"law: b={law.b:.3f} (±{law.b_se:.3f}), R²={law.r2:.2f}")
            if laws is not None and "task" in laws.columns and "b" in laws.columns:
                lt = laws[laws["task"].astype(str) == task]
                if len(lt):
                    ax.text(0.98, 0.03, f"per-pair b: median {lt['b'].median():.3f}", transform=ax.transAxes,
                            ha="right", va="bottom", fontsize=7)
        else:
            ax.text(0.5, 0.5, f"law not fitted: only {n_k} distinct k\n(needs {MIN_K_FOR_LAW})",
                    transform=ax.transAxes, ha="center", va="center", fontsize=8, color="#a00000")
        if chance and task in chance:
            S.draw_chance(ax, chance[task])
        ax.set_xscale("log")
        ax.set_xticks(x, [f"{int(k)}" for k in mean.index], fontsize=7)
        ax.minorticks_off()
        ax.set_ylim(0, 1)
        ax.set_title(f"{task}: {g[['src', 'tgt']].drop_duplicates().shape[0]} pairs", fontsize=9)
        ax.set_xlabel(f"k target examples (log(k + {c:g}) axis)", fontsize=8)
        ax.set_ylabel("score")
        S.legend_inside(ax, loc="upper left", fontsize=6)
    models = sorted(transfer["model"].astype(str).unique()) if "model" in transfer.columns else None
    S.stamp(fig, model=models, data=data_label(transfer, langs=("src", "tgt")))
    return save_figure(fig, out)
