"""What every regime shares: the :data:`REGIMES` registry, cell rows, scoring, and :func:`run_batch`.

A regime is a class with ``name`` and ``run_batch(batch, store)``, registered
with ``@REGIMES.register("name")`` (or named ``module:Class`` in a config).
``run_batch(batch, store)`` computes every cell of one
:class:`~transfer.execution.jobs.Batch`, writes each finished cell with
:meth:`CellStore.write` as soon as it is done, records failures with
:meth:`CellStore.fail` and carries on with the rest.
"""

from __future__ import annotations

import traceback
from typing import Any

import numpy as np

from crossling.registry import Registry
from transfer.execution.jobs import Batch, Cell, CellStore
from transfer.features import Units
from transfer.metrics import get_metric
from transfer.splits import capped_subset
from transfer.tasks import DownstreamTask

__all__ = ["REGIMES", "run_batch", "evaluate_predictions", "source_examples", "cell_rows", "error_text", "score",
           "finish_cell", "fail_cell", "fail_batch"]

#: Registry of regimes, keyed by name.
REGIMES: Registry = Registry("transfer regime")


def source_examples(n_pool: int, n_src: int, *, task: str, src: str, seed: int) -> np.ndarray:
    """Rows of the source pool used to train the source model (``n_src`` of ``n_pool``)."""
    return capped_subset(np.arange(n_pool), n_src, seed=seed, key=f"src/{task}/{src}")


def score(task: DownstreamTask, gold: list[list[str]], pred: list[list[str]],
          metrics: tuple[str, ...] = ()) -> dict[str, float]:
    """Named values of the task's metric, then of every extra metric (a name already present is kept).

    Examples
    --------
    >>> from transfer.tasks import get_task
    >>> score(get_task("pos"), [["NOUN", "VERB"]], [["NOUN", "NOUN"]])
    {'accuracy': 0.5}
    """
    out = dict(get_metric(task.metric)(gold, pred))
    for name in metrics:
        for k, v in get_metric(name)(gold, pred).items():
            out.setdefault(k, v)
    return out


def evaluate_predictions(task: DownstreamTask, units: Units, pred: np.ndarray,
                         metrics: tuple[str, ...] = ()) -> dict[str, float]:
    """Score predicted class ids of ``units`` with the task's metric.

    Parameters
    ----------
    task : DownstreamTask
    units : Units
        The test units; ``units.gold`` holds the gold labels per example.
    pred : ndarray of int, shape (n_units,)
        Predicted class ids (ignored where ``units.valid`` is False: such
        words are predicted as ``""``, which never matches a gold label and
        counts as outside any entity).
    metrics : tuple of str
        Metrics scored besides the task's own (:func:`score`).

    Returns
    -------
    dict of str to float
    """
    labels = np.asarray(task.labels + ("",), dtype=object)
    p = np.where(units.valid, pred, len(task.labels))
    strs = labels[p]
    bounds = np.flatnonzero(np.diff(units.example)) + 1
    seqs = [list(s) for s in np.split(strs, bounds)] if len(strs) else []
    # examples without units (empty sentences) get empty sequences
    by_ex: list[list[str]] = [[] for _ in range(units.n_examples)]
    starts = np.r_[0, bounds] if len(strs) else np.array([], dtype=np.int64)
    for s, seq in zip(starts, seqs):
        by_ex[int(units.example[s])] = seq
    return score(task, units.gold, by_ex, metrics)


def cell_rows(batch: Batch, cell: Cell, h: str, scores: dict[str, float], *, n_train: int, n_shots: int,
              n_test: int, train_from: str, test_from: str, model: str, layer: str) -> list[dict[str, Any]]:
    """Tidy rows (one per metric value) of a finished cell."""
    return [
        {"model": model, "regime": batch.spec.regime, "layer": layer, "task": cell.task, "src": cell.src,
         "tgt": cell.tgt, "k": cell.k, "seed": cell.seed, "metric": m, "value": float(v), "n_train": n_train,
         "n_test": n_test, "n_shots": n_shots, "src_pool": train_from, "tgt_pool": test_from, "cell": h}
        for m, v in scores.items()
    ]


def error_text(exc: BaseException) -> str:
    """``Type: message at file:line`` of an exception (what a failed cell records)."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def finish_cell(store: CellStore, cell: Cell, h: str, rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Write a finished cell's rows; its outcome record."""
    store.write(h, cell, rows, seconds)
    return {"hash": h, "ok": True, "error": "", "seconds": seconds}


def fail_cell(store: CellStore, cell: Cell, h: str, exc: BaseException, seconds: float) -> dict[str, Any]:
    """Record a failed cell (the grid goes on); its outcome record."""
    msg = error_text(exc)
    store.fail(h, cell, msg)
    return {"hash": h, "ok": False, "error": msg, "seconds": seconds}


def fail_batch(batch: Batch, store: CellStore, msg: str) -> list[dict[str, Any]]:
    """Record every cell of a batch whose source model could not be trained as failed with ``msg``."""
    for cell, h in batch.cells:
        store.fail(h, cell, msg)
    return [{"hash": h, "ok": False, "error": msg, "seconds": 0.0} for _, h in batch.cells]


def run_batch(batch: Batch) -> list[dict[str, Any]]:
    """Compute one batch in this process (what local and Ray workers call).

    Returns
    -------
    list of dict
        One outcome per cell: ``hash``, ``ok``, ``error``, ``seconds``.
    """
    import torch

    threads = int(batch.options.get("threads", 1) or 1)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    regime = REGIMES.get(batch.spec.regime)()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        return regime.run_batch(batch, CellStore(batch.out))
    # small BLAS calls are fastest (and never oversubscribe the cores) on one thread per worker
    with threadpool_limits(limits=threads):
        return regime.run_batch(batch, CellStore(batch.out))
