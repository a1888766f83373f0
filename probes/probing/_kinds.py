"""Probe-task kinds: how the tasks of one kind are coded, checked, fitted and scored.

A probe task (:class:`~probes.probing.ProbeTask`) says what to predict; its
``kind`` says how: a name registered in :data:`KINDS`, a ``"module:Class"``
path, or a :class:`TaskKind` subclass itself. Built in:

``classification``
    labels coded against a vocabulary shared by all languages; every task of a
    cell (and its control) is one head of the same classifier probes
    (:data:`~probes.probing.PROBES`: ``linear``, ``mlp``), plus majority
    baseline, selectivity and MDL; the linear probe is kept for cross-lingual transfer;
``regression``
    float targets, ridge with the penalty chosen on dev (R^2, Spearman);
``arc``
    the head's index in the sentence, a bilinear head-selection probe (UAS).

A new kind is one class: subclass :class:`TaskKind`, implement
:meth:`~TaskKind.encode` and :meth:`~TaskKind.fit` (and, when needed,
:meth:`~TaskKind.vocabulary`, :meth:`~TaskKind.check`, ``missing``,
``has_control``), and register it with :func:`register_kind` (or name it as
``"module:Class"`` in the task's ``kind``).

>>> from probes.probing import TaskKind, register_kind
>>> @register_kind("count", overwrite=True)
... class CountKind(TaskKind):
...     missing = float("nan")
...     def encode(self, labels, vocab):
...         return np.array([np.nan if v is None else float(v) for v in labels])
...     def fit(self, cell, names):
...         for n in names:
...             y = cell.ld.tasks[n].y[cell.te]
...             cell.rows.add(cell.layer, cell.lang, n, "mean", "value", float(np.nanmean(y)), 0, len(y))
>>> get_kind("count").missing
nan
>>> KINDS._items.pop("count") is CountKind  # (unregistered again: this is only an example)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from crossling.errors import ConfigError
from crossling.registry import Registry
from probes.probing._arc import fit_arc_probe
from probes.probing._base import Head
from probes.probing._cell import Cell, _local_y, _score, _spearman, _TaskData
from probes.probing._config import PROBES
from probes.probing._mdl import online_codelength
from probes.probing._metrics import accuracy, r2_score
from probes.probing._ridge import fit_ridge

__all__ = ["TaskKind", "KINDS", "register_kind", "get_kind", "kind_key",
           "ClassificationKind", "RegressionKind", "ArcKind"]


class TaskKind:
    """Base class of probe-task kinds (subclass it, then :func:`register_kind`).

    Class attributes
    ----------------
    name : str
        Registered name (set by :func:`register_kind`).
    missing : int or float
        The code of a word the task excludes (``-1`` for integer codes, ``nan`` for floats).
    has_control : bool
        Whether control tasks (Hewitt and Liang 2019) are defined: with ``control``
        on, :meth:`encode` also codes the control labels (``td.control``).
    """

    name: ClassVar[str] = ""
    missing: ClassVar[Any] = -1
    has_control: ClassVar[bool] = True

    def vocabulary(self, task: Any, labels: Mapping[str, Sequence[Any]]) -> list[str] | None:
        """The label vocabulary shared by every language (``labels``: raw labels by language); None if none."""
        return None

    def encode(self, labels: Sequence[Any], vocab: list[str] | None) -> np.ndarray:
        """Code one language's raw labels, one per word (``None`` -> :attr:`missing`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement encode(labels, vocab).")

    def labelled(self, y: np.ndarray) -> np.ndarray:
        """Which coded labels are not :attr:`missing`."""
        return y >= 0

    def check(self, td: _TaskData, y_train: np.ndarray, vocab: list[str] | None) -> str:
        """Why the task cannot be fitted on these (labelled) training labels; ``""`` when it can.

        Called only for cells with enough labelled words; may set fields of ``td``.
        """
        return ""

    def needs_whitening(self, cfg: Any) -> bool:
        """Whether :meth:`fit` uses the whitening of the training features (``cell.inp.basis``)."""
        return False

    def fit(self, cell: Cell, names: list[str]) -> dict[str, np.ndarray] | None:
        """Fit and score the tasks ``names`` of this kind in one cell, adding rows to ``cell.rows``.

        Only eligible tasks are passed. Returns the linear probe kept for
        cross-lingual transfer (the keys :class:`ClassificationKind` saves), or None.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement fit(cell, names).")


#: Registry of probe-task kind classes.
KINDS: Registry[type[TaskKind]] = Registry("probe-task kind")


def register_kind(name: str, *, overwrite: bool = False):  # type: ignore[no-untyped-def]
    """Class decorator: register a :class:`TaskKind` subclass under ``name``."""

    def deco(cls: type[TaskKind]) -> type[TaskKind]:
        if not (isinstance(cls, type) and issubclass(cls, TaskKind)):
            raise ConfigError(f"Probe-task kind {name!r} must be a TaskKind subclass, got {cls!r}.")
        cls.name = name
        KINDS.register(name, overwrite=overwrite)(cls)
        return cls

    return deco


def kind_key(kind: Any) -> str:
    """The string that names a task's ``kind``: itself, or ``module:Class`` for a class."""
    if isinstance(kind, type):
        return kind.name if kind.name and KINDS._items.get(kind.name) is kind else \
            f"{kind.__module__}:{kind.__qualname__}"
    return kind


def get_kind(kind: Any) -> TaskKind:
    """The kind object of a task's ``kind`` (a registered name, ``"module:Class"`` or a class).

    Raises
    ------
    ConfigError
        For an unknown name (listing the registered kinds) or an object that is not a TaskKind.
    """
    cls = kind if isinstance(kind, type) else KINDS.get(kind) if isinstance(kind, str) and kind else None
    if not (isinstance(cls, type) and issubclass(cls, TaskKind)):
        raise ConfigError(f"Probe-task kind {kind!r} is not a TaskKind subclass; use one of "
                          f"{', '.join(KINDS.names())} or 'module:Class' naming a TaskKind subclass.")
    return cls()


def kind_order(keys: Sequence[str]) -> list[str]:
    """``keys`` ordered as the kinds were registered (built-in first), unknown ones after, in order."""
    known = list(KINDS._items)
    return sorted(dict.fromkeys(keys), key=lambda k: known.index(k) if k in known else len(known))


# --------------------------------------------------------------------------- built-in kinds


@register_kind("classification")
class ClassificationKind(TaskKind):
    """String labels; all tasks of a cell (and their controls) are heads of the same classifier probes."""

    def vocabulary(self, task: Any, labels: Mapping[str, Sequence[Any]]) -> list[str] | None:
        labs = sorted({str(v) for r in labels.values() for v in r if v is not None})
        if task.label_set is not None:
            extra = sorted(set(labs) - set(task.label_set))
            if extra:
                raise ConfigError(f"Probe task {task.task_name!r} returned labels {extra[:5]} outside its declared "
                                  f"label_set {task.label_set}.")
            labs = sorted(set(task.label_set))
        return labs

    def encode(self, labels: Sequence[Any], vocab: list[str] | None) -> np.ndarray:
        lut = {v: i for i, v in enumerate(vocab or [])}
        return np.array([-1 if v is None else lut[str(v)] for v in labels], dtype=np.int64)

    def check(self, td: _TaskData, y_train: np.ndarray, vocab: list[str] | None) -> str:
        present = np.unique(y_train)
        local = np.full(len(vocab or []), -1, dtype=np.int64)
        local[present] = np.arange(len(present))
        td.local, td.n_local = local, len(present)
        if len(present) < 2:
            return f"one class in training ({(vocab or [])[present[0]]!r})"
        return ""

    def needs_whitening(self, cfg: Any) -> bool:
        return "linear" in cfg.probe

    def fit(self, cell: Cell, names: list[str]) -> dict[str, np.ndarray] | None:
        cfg, ld, layer, lang, rows = cell.cfg, cell.ld, cell.layer, cell.lang, cell.rows
        inp = cell.inp
        tr, dv, te = cell.tr, cell.dv, cell.te
        saved: dict[str, np.ndarray] | None = None
        heads, dev_y, test_y = [], [], []
        for n in names:
            td = ld.tasks[n]
            heads.append(Head(n, np.maximum(_local_y(td, td.y[tr]), -1), td.n_local, cfg.C[0]))
            dev_y.append(_local_y(td, td.y[dv]))
            test_y.append(_local_y(td, td.y[te]))
        if cfg.control:
            for n in names:
                td = ld.tasks[n]
                if td.control is None:
                    raise ConfigError(f"Task {n!r} in {lang!r} has no control labels.")
                heads.append(Head(n + "/control", np.maximum(_local_y(td, td.control[tr]), -1), td.n_local, cfg.C[0]))
                dev_y.append(_local_y(td, td.control[dv]))
                test_y.append(_local_y(td, td.control[te]))
        for probe in cfg.probe:
            extra = {"basis": inp.basis} if probe == "linear" and inp.basis is not None else {}
            fit = PROBES.get(probe)(inp.Xtr, heads, cfg, None, inp.Xdv, dev_y, **extra)
            if probe == "linear":
                k = int(fit.offsets[len(names)])  # the task heads' columns (controls follow)
                saved = {"mean": inp.std.mean_, "scale": inp.std.scale_, "W": fit.W[:, :k], "b": fit.b[:k],
                         "offsets": np.asarray(fit.offsets[: len(names) + 1]), "names": np.array(names)}
            preds = fit.predict(inp.Xte)
            for i, n in enumerate(names):
                n_tr = int((heads[i].y >= 0).sum())
                acc = _score(rows, layer, lang, n, probe, test_y[i], preds[i], n_tr)
                if probe == "linear":
                    chosen = getattr(fit, "chosen_C", None)
                    if chosen is not None:
                        rows.add(layer, lang, n, probe, "C", chosen[i], n_tr, 0)
                    counts = np.bincount(heads[i].y[heads[i].y >= 0], minlength=heads[i].n_classes)
                    yt = test_y[i][test_y[i] != -1]
                    rows.add(layer, lang, n, "majority", "accuracy", accuracy(yt, np.full(len(yt), counts.argmax())),
                             n_tr, len(yt))
                if cfg.control:
                    j = i + len(names)
                    cacc = _score(rows, layer, lang, n, probe, test_y[j], preds[j], n_tr, prefix="control_")
                    rows.add(layer, lang, n, probe, "selectivity", acc - cacc, n_tr, int((test_y[i] != -1).sum()))
        if cfg.mdl:
            res = online_codelength(inp.Xtr, heads, seed=cfg.seed, max_iter=cfg.max_iter, tol=cfg.tol)
            for i, r in enumerate(res):
                n = names[i % len(names)]
                pre = "control_" if i >= len(names) else ""
                for metric, v in (("mdl_codelength", r.codelength), ("uniform_codelength", r.uniform_codelength),
                                  ("compression", r.compression)):
                    rows.add(layer, lang, n, "linear", pre + metric, v, r.n, 0)
        return saved


@register_kind("regression")
class RegressionKind(TaskKind):
    """Float targets: ridge, one decomposition per missing pattern, the penalty chosen on dev."""

    missing = float("nan")

    def encode(self, labels: Sequence[Any], vocab: list[str] | None) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in labels], dtype=np.float64)

    def labelled(self, y: np.ndarray) -> np.ndarray:
        return np.isfinite(y)

    def check(self, td: _TaskData, y_train: np.ndarray, vocab: list[str] | None) -> str:
        return "constant target in training" if np.nanstd(y_train) == 0 else ""

    def fit(self, cell: Cell, names: list[str]) -> dict[str, np.ndarray] | None:
        cfg, ld, layer, lang, rows, inp = cell.cfg, cell.ld, cell.layer, cell.lang, cell.rows, cell.inp
        tr, dv, te = cell.tr, cell.dv, cell.te
        cols = [ld.tasks[n].y for n in names]
        if cfg.control:
            cols += [ld.tasks[n].control for n in names]  # type: ignore[misc]
        Y = np.stack(cols, axis=1)
        rf = fit_ridge(inp.Xtr, Y[tr], alphas=cfg.alphas, X_dev=inp.Xdv, Y_dev=Y[dv])
        P = rf.predict(inp.Xte)
        for i, n in enumerate(names):
            yt = Y[te, i]
            m = np.isfinite(yt)
            n_tr = int(np.isfinite(Y[tr, i]).sum())
            r2 = r2_score(yt[m], P[m, i])
            rows.add(layer, lang, n, "ridge", "r2", r2, n_tr, int(m.sum()))
            rows.add(layer, lang, n, "ridge", "spearman", _spearman(yt[m], P[m, i]), n_tr, int(m.sum()))
            rows.add(layer, lang, n, "ridge", "alpha", rf.alpha[i], n_tr, 0)
            if cfg.control:
                j = i + len(names)
                mc = np.isfinite(Y[te, j])
                cr2 = r2_score(Y[te, j][mc], P[mc, j])
                rows.add(layer, lang, n, "ridge", "control_r2", cr2, n_tr, int(mc.sum()))
                rows.add(layer, lang, n, "ridge", "selectivity", r2 - cr2, n_tr, int(m.sum()))
        return None


@register_kind("arc")
class ArcKind(TaskKind):
    """The head's index in the sentence: a bilinear head-selection probe within each sentence (UAS)."""

    has_control = False

    def encode(self, labels: Sequence[Any], vocab: list[str] | None) -> np.ndarray:
        return np.array([-1 if v is None else int(v) for v in labels], dtype=np.int64)

    def fit(self, cell: Cell, names: list[str]) -> dict[str, np.ndarray] | None:
        cfg, ld, layer, lang, rows = cell.cfg, cell.ld, cell.layer, cell.lang, cell.rows
        X, std = cell.inp.X, cell.inp.std
        for n in names:
            td = ld.tasks[n]
            Xall = np.zeros((len(ld.split), X.shape[1]), dtype=np.float32)
            ok = ld.split >= 0
            Xall[ok] = std.transform(X[ok])
            train_w = ld.split == 0
            fitp = fit_arc_probe(Xall, td.y, ld.sent_of_word, train_w, rank=cfg.arc_rank, steps=cfg.arc_steps,
                                 seed=cfg.seed)
            test_w = (ld.split == 2) & (td.y >= 0)
            pred = fitp.predict(Xall, ld.sent_of_word)
            rows.add(layer, lang, n, "bilinear", "uas", accuracy(td.y[test_w], pred[test_w]),
                     int((train_w & (td.y >= 0)).sum()), int(test_w.sum()))
        return None
