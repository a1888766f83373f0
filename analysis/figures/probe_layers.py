"""Probe score by layer: one small panel per task, mean over languages with the spread, control and chance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.figures._common import (
    FIGURES,
    control_label,
    data_label,
    reject_settings,
    require_rows,
    save_figure,
)
from crossling import plotstyle as S
from crossling.errors import ConfigError
from crossling.tables import require_columns

__all__ = ["probe_accuracy_by_layer"]

#: Metrics on a 0-1 scale (drawn on fixed 0-1 axes); others (selectivity, R²) get their own range.
_UNIT = {"accuracy", "macro_f1", "uas", "spearman"}


@FIGURES.register("probe_layers")
def probe_accuracy_by_layer(probes: pd.DataFrame, out: str | Path, *, metric: str | None = None,
                            cross_lingual: bool = False, model: str | None = None,
                            control: str | None = None, max_panels: int = 12) -> tuple[Path, Path]:
    """One panel per task: mean score over languages by layer, with the min-max band over languages.

    The random-initialised control (``control``, or the table's second model) is drawn dashed
    in the same panel; for accuracy the majority-class baseline (``probe == "majority"``) is
    drawn as the chance level, for selectivity the null 0.

    Parameters
    ----------
    probes : DataFrame
        ``probes.train`` table.
    metric : str, optional
        Required when the table holds several metrics. Settings such as ``C`` are refused.
    cross_lingual : bool, default=False
        Plot cross-lingual rows (``train_lang != test_lang``) instead of in-language rows.
    model, control : str, optional
        The model drawn solid and the control drawn dashed (default: the table's first and
        second model labels).
    max_panels : int
        At most this many tasks (in the table's order).

    Returns
    -------
    (png, pdf)
    """
    require_columns(probes, ("layer", "lang", "task", "metric", "value"), "probe table")
    metrics = sorted(m for m in probes["metric"].astype(str).unique())
    if metric is None:
        if len(metrics) > 1:
            raise ConfigError(f"The probe table holds several metrics {metrics}; pass metric=.")
        metric = metrics[0]
    reject_settings(metric, "probe")
    p = probes.copy()
    if "probe" not in p.columns:
        p["probe"] = "probe"
    if "model" not in p.columns:
        p["model"] = "model"
    if {"train_lang", "test_lang"} <= set(p.columns):
        cross = p["train_lang"].astype(str) != p["test_lang"].astype(str)
        p = p[cross] if cross_lingual else p[~cross]
    models = list(dict.fromkeys(p["model"].astype(str)))
    model = model or (models[0] if models else None)
    if control is None:
        control = control_label(models, model)
    main = p[(p["metric"] == metric) & (p["probe"] != "majority")]
    require_rows(main, "probe table")
    majority = p[(p["probe"] == "majority") & (p["metric"] == "accuracy") & (p["model"] == model)]
    tasks = list(dict.fromkeys(main[main["model"] == model]["task"].astype(str)))[:max_panels]
    require_rows(tasks, f"probe table (model {model!r})")
    fig, axes = S.small_multiples(len(tasks), panel=(3.3, 2.7), sharex=True)
    for ax, task in zip(axes, tasks):
        for who, style, col in ((model, "-", S.colour(0)), (control, "--", S.colour(1))):
            if who is None:
                continue
            g = main[(main["model"] == who) & (main["task"].astype(str) == task)]
            if g.empty:
                continue
            per_lang = g.groupby(["layer", "lang"])["value"].mean().unstack("lang").sort_index()
            mean = per_lang.mean(axis=1)
            label = ("model" if who == model else "control") + f" ({per_lang.shape[1]} langs)"
            ax.fill_between(mean.index, per_lang.min(axis=1), per_lang.max(axis=1), color=col, alpha=0.15, lw=0)
            ax.plot(mean.index, mean.to_numpy(), style, marker="o", ms=3, color=col, label=label)
        if metric == "accuracy":
            maj = majority[majority["task"].astype(str) == task].groupby("layer")["value"].mean()
            if len(maj):
                S.draw_chance(ax, float(maj.mean()), label="majority class")
        elif metric in ("selectivity", "r2"):
            S.draw_chance(ax, 0.0, label="null (0)")
        if metric in _UNIT:
            ax.set_ylim(0, 1.02)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("layer", fontsize=8)
        ax.set_ylabel(metric, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
    S.legend_inside(axes[0], loc="lower right", fontsize=6)
    fig.suptitle(f"Probe {metric} by layer ({'cross-lingual' if cross_lingual else 'in-language'}; band: range "
                 "over languages)", fontsize=9)
    S.stamp(fig, model=[m for m in (model, control) if m], data=data_label(main))
    return save_figure(fig, out)
