"""Probing proper: probe tasks, their kinds, the probe solvers and the (language x layer x task) grid.

``python -m probes.train`` is the command line of this package (:mod:`probes.train`).

Probe tasks (what a probe predicts)
    :class:`ProbeTask`, :func:`register_task`, :data:`TASKS`, :func:`get_task`,
    :func:`resolve_tasks`, :func:`task_labels`, :func:`control_labels`, ...
    (``_tasks``). A new task is one registered class.
Task kinds (how a task is coded, fitted and scored)
    :class:`TaskKind`, :func:`register_kind`, :data:`KINDS`: ``classification``,
    ``regression``, ``arc`` (``_kinds``). A new kind is one registered class.
Solvers (many heads on one feature matrix at once)
    :func:`fit_logreg_heads` and :func:`whitening_basis` (``_logreg``),
    :func:`fit_ridge` (``_ridge``), :func:`fit_mlp_heads` (``_mlp``),
    :func:`online_codelength` (``_mdl``), :func:`fit_arc_probe` (``_arc``),
    :class:`Head` and :class:`Standardizer` (``_base``), metrics (``_metrics``),
    thread helpers (``_threads``). All take standardised float32 features.
The grid
    :class:`TrainConfig` and :data:`PROBES` (``_config``), :func:`train_grid`
    (``_grid``; one cell: ``_cell``; resume files: ``_resume``; Ray: ``_ray``),
    figures of the result table (``_figures``, imported on first use).

Examples
--------
>>> import numpy as np
>>> from probes.probing import Head, fit_logreg_heads
>>> X = np.random.default_rng(0).standard_normal((200, 4)).astype(np.float32)
>>> y = (X[:, 0] > 0).astype(int)
>>> fit = fit_logreg_heads(X, [Head("sign", y, 2)], n_jobs=1)
>>> float((fit.predict(X)[0] == y).mean()) > 0.9
True
"""

from __future__ import annotations

from typing import Any

from probes.probing._arc import ArcProbe, fit_arc_probe
from probes.probing._base import Head, Standardizer, encode_labels
from probes.probing._cell import Cell, LangData, Rows, TaskData
from probes.probing._config import COLUMNS, PROBES, TrainConfig, split_of
from probes.probing._grid import train_grid
from probes.probing._kinds import (
    KINDS,
    ArcKind,
    ClassificationKind,
    RegressionKind,
    TaskKind,
    get_kind,
    register_kind,
)
from probes.probing._logreg import (
    LinearHeads,
    WhiteningBasis,
    fit_logreg_heads,
    whitening_basis,
)
from probes.probing._mdl import MDL_FRACTIONS, MDLResult, online_codelength
from probes.probing._metrics import accuracy, macro_f1, r2_score
from probes.probing._mlp import MLPHeads, fit_mlp_heads
from probes.probing._ridge import RidgeFit, fit_ridge
from probes.probing._tasks import (
    MORPH_FEATURES,
    TASK_KINDS,
    TASKS,
    UD_DEPRELS,
    MorphTask,
    ProbeTask,
    control_labels,
    get_task,
    morph_feature_counts,
    parse_feats,
    register_task,
    resolve_tasks,
    sentences_from_index,
    task_labels,
)

__all__ = [
    # solvers
    "Head", "Standardizer", "LinearHeads", "fit_logreg_heads", "WhiteningBasis", "whitening_basis",
    "RidgeFit", "fit_ridge", "MLPHeads", "fit_mlp_heads", "MDL_FRACTIONS", "MDLResult", "online_codelength",
    "accuracy", "macro_f1", "r2_score", "encode_labels", "ArcProbe", "fit_arc_probe",
    # probe tasks
    "ProbeTask", "TASKS", "TASK_KINDS", "register_task", "get_task", "resolve_tasks", "MorphTask",
    "MORPH_FEATURES", "UD_DEPRELS", "sentences_from_index", "parse_feats", "task_labels", "control_labels",
    "morph_feature_counts",
    # task kinds
    "TaskKind", "KINDS", "register_kind", "get_kind", "ClassificationKind", "RegressionKind", "ArcKind",
    "Cell", "TaskData", "LangData", "Rows",
    # the grid
    "TrainConfig", "COLUMNS", "PROBES", "split_of", "train_grid",
    # figures (imported on first use: they need matplotlib)
    "main_metric", "plot_by_layer", "plot_heatmap", "plot_transfer", "draw_all",
]

_FIGURES = ("main_metric", "plot_by_layer", "plot_heatmap", "plot_transfer", "draw_all")


def __getattr__(name: str) -> Any:
    if name in _FIGURES:
        from probes.probing import _figures

        return getattr(_figures, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
