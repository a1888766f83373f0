"""Figures of a transfer table: source-by-target matrices and few-shot curves.

Each function reads the tidy table (never a model) and writes one file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crossling import plotstyle as S
from crossling.io import atomic_save
from crossling.tables import require_columns

__all__ = ["primary_metric", "transfer_matrix", "plot_matrix", "plot_fewshot", "write_figures"]

_PRIMARY = {"pos": "accuracy", "ner": "f1", "nli": "accuracy", "paws": "accuracy"}


def primary_metric(task: str, metrics: list[str]) -> str:
    """The metric summarising ``task`` (its registered primary metric if present)."""
    try:
        from transfer.tasks import get_task

        m = get_task(task).primary
    except Exception:  # noqa: BLE001 - unknown user task: fall back to the first metric
        m = _PRIMARY.get(task, "")
    return m if m in metrics else sorted(metrics)[0]


def transfer_matrix(df: pd.DataFrame, task: str, k: int = 0) -> pd.DataFrame:
    """Mean primary metric over seeds, sources as rows and targets as columns.

    Parameters
    ----------
    df : DataFrame
        The tidy transfer table.
    task : str
    k : int
        Shot size (0 = zero-shot).

    Returns
    -------
    DataFrame, shape (n_src, n_tgt)
    """
    require_columns(df, ["task", "src", "tgt", "k", "metric", "value"])
    d = df[(df["task"] == task) & (df["k"] == k)]
    m = primary_metric(task, list(d["metric"].unique())) if len(d) else ""
    d = d[d["metric"] == m]
    return d.pivot_table(index="src", columns="tgt", values="value", aggfunc="mean")


def plot_matrix(df: pd.DataFrame, task: str, path: str | Path, k: int = 0) -> Path:
    """Heat map of :func:`transfer_matrix` with the values written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mat = transfer_matrix(df, task, k)
    mat = mat.reindex(index=S.language_order(mat.index), columns=S.language_order(mat.columns))
    fig, ax = plt.subplots(figsize=(max(4.8, 1.5 + 0.55 * mat.shape[1]), max(3.6, 1.2 + 0.5 * mat.shape[0])),
                           layout="constrained")
    vals = mat.to_numpy(dtype=float)
    im = ax.imshow(vals, cmap=S.SEQUENTIAL, norm=S.unit_norm(), aspect="auto")
    ax.set_xticks(range(mat.shape[1]), mat.columns)
    ax.set_yticks(range(mat.shape[0]), mat.index)
    ax.set_xlabel("target")
    ax.set_ylabel("source")
    metric = primary_metric(task, list(df[df["task"] == task]["metric"].unique()))
    ax.set_title(f"{task} {metric}, k={k}", fontsize=9)
    S.annotate_cells(ax, vals)
    fig.colorbar(im, ax=ax, shrink=0.8, label=f"{metric} (fixed 0-1 scale)")
    S.stamp(fig, model=sorted(map(str, df["model"].unique())) if "model" in df else None,
            data=_size(df[df["task"] == task]))
    path = _save(fig, path)
    plt.close(fig)
    return path


def plot_fewshot(df: pd.DataFrame, task: str, path: str | Path) -> Path:
    """Few-shot curves per target: mean over sources and seeds vs k, with the spread over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = df[df["task"] == task]
    metric = primary_metric(task, list(d["metric"].unique()))
    d = d[(d["metric"] == metric) & (d["src"] != d["tgt"])]
    tgts = sorted(d["tgt"].unique())
    ncol = min(5, max(1, len(tgts)))
    nrow = -(-len(tgts) // ncol) if tgts else 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.2 * nrow + 0.5), squeeze=False, sharey=True,
                             layout="constrained")
    ks = sorted(d["k"].unique())
    xpos = {k: i for i, k in enumerate(ks)}
    for ax, tgt in zip(axes.flat, tgts):
        dt = d[d["tgt"] == tgt]
        per_seed = dt.groupby(["k", "seed"])["value"].mean().reset_index()
        g = per_seed.groupby("k")["value"]
        mean, sd = g.mean(), g.std().fillna(0.0)
        x = [xpos[k] for k in mean.index]
        ax.plot(x, mean.to_numpy(), marker="o", ms=3, color=S.colour(0))
        ax.fill_between(x, (mean - sd).to_numpy(), (mean + sd).to_numpy(), alpha=0.25, color=S.colour(0), lw=0)
        ax.set_ylim(0, 1)
        ax.set_title(f"-> {tgt}", fontsize=9)
        ax.set_xticks(range(len(ks)), [str(k) for k in ks], fontsize=6)
    for ax in list(axes.flat)[len(tgts):]:
        ax.set_visible(False)
    fig.suptitle(f"{task}: {metric} vs target shots k (mean over sources, band = sd over seeds)", fontsize=9)
    S.stamp(fig, model=sorted(map(str, d["model"].unique())) if "model" in d else None, data=_size(d))
    path = _save(fig, path)
    plt.close(fig)
    return path


def _size(d: pd.DataFrame) -> str:
    """Languages and examples per cell of the rows drawn."""
    langs = len(set(d["src"]) | set(d["tgt"])) if {"src", "tgt"} <= set(d.columns) else 0
    out = f"{langs} languages"
    for c in ("n_train", "n_test"):
        if c in d.columns and d[c].notna().any():
            out += f", {c} <= {int(d[c].max())}"
    return out


def _save(fig: object, path: str | Path) -> Path:
    """Save ``fig`` atomically (a killed run never leaves a truncated image under the final name)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=120, format=fmt))  # type: ignore[attr-defined]
    return path


def write_figures(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Write ``matrix-<task>.png`` (k=0) and ``fewshot-<task>.png`` for every task in ``df``."""
    out_dir = Path(out_dir)
    paths = []
    for task in sorted(df["task"].unique()):
        d = df[df["task"] == task]
        if (d["k"] == 0).any():
            paths.append(plot_matrix(df, task, out_dir / f"matrix-{task}.png", k=0))
        if d["k"].nunique() > 1 and (d["src"] != d["tgt"]).any():
            paths.append(plot_fewshot(df, task, out_dir / f"fewshot-{task}.png"))
    return paths
