"""Figures of a probe table (``probes.parquet``): pure functions of the tidy table.

Each function reads the table written by ``python -m probes.train`` and writes
one PNG (matplotlib, Agg backend); no model code here.

* :func:`plot_by_layer` - accuracy (or R^2 / UAS) and, when present,
  selectivity by layer for one task, one line per language;
* :func:`plot_heatmap` - language x layer heatmap of one task's score;
* :func:`plot_transfer` - train-language x test-language matrix at one layer;
* :func:`draw_all` - all of the above for every task of a table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crossling import plotstyle as S
from crossling.errors import DataError
from crossling.tables import require_columns

__all__ = ["main_metric", "plot_by_layer", "plot_heatmap", "plot_transfer", "draw_all"]

_MAIN = {"linear": "accuracy", "mlp": "accuracy", "ridge": "r2", "bilinear": "uas"}


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def main_metric(df: pd.DataFrame, task: str) -> tuple[str, str]:
    """``(probe, metric)`` that summarises ``task``: linear accuracy, ridge R^2 or arc UAS."""
    sub = df[df.task == task]
    for probe in ("linear", "ridge", "bilinear", "mlp"):
        if ((sub.probe == probe) & (sub.metric == _MAIN[probe])).any():
            return probe, _MAIN[probe]
    raise DataError(f"Task {task!r} has no accuracy, r2 or uas rows in the probe table.")


def _in_language(df: pd.DataFrame) -> pd.DataFrame:
    return df[df.train_lang == df.test_lang]


def _size(rows: pd.DataFrame) -> str:
    """Languages and test words per cell of the rows drawn."""
    out = f"{rows['lang'].nunique()} languages" if "lang" in rows.columns else ""
    if "n_test" in rows.columns and rows["n_test"].notna().any():
        out += f", n_test {int(rows['n_test'].min())}-{int(rows['n_test'].max())}"
    return out


def _write(plt, fig, path: str | Path) -> Path:  # type: ignore[no-untyped-def]
    """Save under the PNG size budget of :mod:`crossling.plotstyle` and close the figure."""
    path = S.save_png(fig, path, dpi=120)
    plt.close(fig)
    return path


def plot_by_layer(df: pd.DataFrame, task: str, path: str | Path, *, model: str | None = None) -> Path:
    """Score (and selectivity) of ``task`` by layer, one line per language.

    Parameters
    ----------
    df : DataFrame
        The probe table (columns of :data:`probes.train.COLUMNS`).
    task : str
    path : path
        Output PNG.
    model : str, optional
        Which model's rows (default: the first model of the table).
    """
    require_columns(df, ["model", "layer", "lang", "task", "probe", "metric", "value", "train_lang", "test_lang"])
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    model = model or str(df.model.iloc[0])
    sub = _in_language(df[(df.model == model) & (df.task == task)])
    probe, metric = main_metric(sub, task)
    panels = [(metric, probe)]
    if ((sub.probe == probe) & (sub.metric == "selectivity")).any():
        panels.append(("selectivity", probe))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 3.8), squeeze=False, layout="constrained")
    for ax, (m, p) in zip(axes[0], panels):
        cur = sub[(sub.probe == p) & (sub.metric == m)]
        for i, (lang, g) in enumerate(cur.groupby("lang")):  # every language thin grey, the mean in colour
            g = g.sort_values("layer")
            ax.plot(g.layer, g.value, color="#bbbbbb", lw=0.8, label="languages" if i == 0 else None)
        mean = cur.groupby("layer").value.mean()
        ax.plot(mean.index, mean.values, marker="o", ms=3, color=S.colour(0),
                label=f"mean of {cur.lang.nunique()} languages")
        if m == "accuracy":
            maj = sub[(sub.probe == "majority") & (sub.metric == "accuracy")].groupby("layer").value.mean()
            if len(maj):
                S.draw_chance(ax, float(maj.mean()), label="majority class (mean)")
            ax.set_ylim(0, 1.02)
        elif m == "selectivity":
            S.draw_chance(ax, 0.0, label="null (0)")
        ax.set_xlabel("layer")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"{p} {m}")
        ax.set_title(f"{task}: {m}")
        ax.grid(alpha=0.3)
    S.legend_inside(axes[0][0])
    S.stamp(fig, model=model, data=_size(sub))
    return _write(plt, fig, path)


def plot_heatmap(df: pd.DataFrame, task: str, path: str | Path, *, model: str | None = None) -> Path:
    """Language x layer heatmap of ``task``'s main score."""
    plt = _plt()
    model = model or str(df.model.iloc[0])
    sub = _in_language(df[(df.model == model) & (df.task == task)])
    probe, metric = main_metric(sub, task)
    rows = sub[(sub.probe == probe) & (sub.metric == metric)]
    piv = rows.pivot_table(index="lang", columns="layer", values="value")
    piv = piv.reindex(S.language_order(piv.index))
    fig, ax = plt.subplots(figsize=(2.2 + 0.45 * piv.shape[1], 1.4 + 0.3 * piv.shape[0]), layout="constrained")
    bounded = metric in ("accuracy", "uas", "macro_f1")
    im = ax.imshow(piv.values, aspect="auto", cmap=S.SEQUENTIAL if bounded else S.DIVERGING,
                   norm=S.unit_norm() if bounded else S.diverging_norm(piv.values.ravel()))
    ax.set_xticks(range(piv.shape[1]), [str(c) for c in piv.columns])
    ax.set_yticks(range(piv.shape[0]), list(piv.index))
    ax.set_xlabel("layer")
    ax.set_title(f"{task}: {probe} {metric}", fontsize=9)
    fig.colorbar(im, ax=ax, label=metric + (" (fixed 0-1 scale)" if bounded else " (centred on 0)"))
    S.stamp(fig, model=model, data=_size(rows))
    return _write(plt, fig, path)


def plot_transfer(df: pd.DataFrame, task: str, layer: int, path: str | Path, *, model: str | None = None) -> Path:
    """Train-language x test-language accuracy of the linear probe of ``task`` at ``layer``."""
    plt = _plt()
    model = model or str(df.model.iloc[0])
    sub = df[(df.model == model) & (df.task == task) & (df.layer == layer) & (df.probe == "linear")
             & (df.metric == "accuracy")]
    if sub.empty:
        raise DataError(f"No linear accuracy rows for task {task!r} at layer {layer}.")
    piv = sub.pivot_table(index="train_lang", columns="test_lang", values="value")
    piv = piv.reindex(index=S.language_order(piv.index), columns=S.language_order(piv.columns))
    fig, ax = plt.subplots(figsize=(2.4 + 0.45 * piv.shape[1], 1.6 + 0.4 * piv.shape[0]), layout="constrained")
    im = ax.imshow(piv.values, cmap=S.SEQUENTIAL, norm=S.unit_norm())
    S.annotate_cells(ax, piv.values)
    ax.set_xticks(range(piv.shape[1]), list(piv.columns), rotation=90)
    ax.set_yticks(range(piv.shape[0]), list(piv.index))
    ax.set_xlabel("test language")
    ax.set_ylabel("train language")
    ax.set_title(f"{task} probe transfer, layer {layer}", fontsize=9)
    fig.colorbar(im, ax=ax, label="accuracy (fixed 0-1 scale)")
    S.stamp(fig, model=model, data=_size(sub))
    return _write(plt, fig, path)


def draw_all(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Every figure for every task and model of ``df``; returns the files written.

    Names: ``by_layer_<task>[_<model>].png``, ``heatmap_<task>[...].png``,
    ``transfer_<task>_L<layer>[...].png`` (at the layer with the best mean
    in-language score, when cross-lingual rows exist).
    """
    out = Path(out_dir)
    paths: list[Path] = []
    models = list(dict.fromkeys(df.model))
    for mi, model in enumerate(models):
        suffix = "" if mi == 0 else f"_{_safe(model)}"
        dm = df[df.model == model]
        for task in sorted(set(dm.task)):
            try:
                probe, metric = main_metric(dm, task)
            except DataError:
                continue
            name = _safe(task)
            paths.append(plot_by_layer(dm, task, out / f"by_layer_{name}{suffix}.png", model=model))
            paths.append(plot_heatmap(dm, task, out / f"heatmap_{name}{suffix}.png", model=model))
            cross = dm[(dm.task == task) & (dm.train_lang != dm.test_lang)]
            if len(cross) and probe == "linear":
                own = _in_language(dm[(dm.task == task) & (dm.probe == probe) & (dm.metric == metric)])
                best = int(own.groupby("layer").value.mean().idxmax())
                paths.append(plot_transfer(dm, task, best, out / f"transfer_{name}_L{best}{suffix}.png", model=model))
    return paths


if __name__ == "__main__":  # pragma: no cover - convenience: python -m probes.probing._figures TABLE OUT_DIR
    import sys

    from crossling.tables import read_table

    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m probes.probing._figures probes.parquet OUT_DIR")
    for p in draw_all(read_table(sys.argv[1]), sys.argv[2]):
        print(p)
