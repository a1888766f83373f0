"""The ``head`` regime: a frozen encoder and a classifier head trained on stored features.

Features come from a :class:`~transfer.features.FeatureSource`; a classifier
head (:mod:`transfer.heads`) is trained on the source language's training
examples, evaluated on every target's test pool (k = 0, zero-shot), and, for
k > 0, a copy of the source head continues training on k target examples
(few-shot continuation) before evaluation. Heads with closed-form statistics
(ridge) reuse cached per-target shot sums (:func:`shot_stats`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import numpy as np

from transfer.execution.jobs import Batch, CellStore
from transfer.features import Units
from transfer.heads import make_head
from transfer.regimes._base import (
    REGIMES,
    cell_rows,
    error_text,
    evaluate_predictions,
    fail_batch,
    fail_cell,
    finish_cell,
    source_examples,
)
from transfer.splits import shot_indices
from transfer.tasks import get_task

__all__ = ["HeadRegime", "shot_stats", "SHOT_BLOCK"]


_SHOTS: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
_SHOTS_MAX = 12
#: Shots are summed in blocks of this many examples (in shot order).
SHOT_BLOCK = 50


def _block_stats(units: Units, examples: np.ndarray, bounds: np.ndarray, n_classes: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Raw ``([X,1]^T [X,1], [X,1]^T Y)`` over the labelled, in-window units of ``examples``."""
    d = units.X.shape[1]
    if len(examples) == 0:
        return np.zeros((d + 1, d + 1)), np.zeros((d + 1, n_classes))
    idx = np.concatenate([np.arange(bounds[j], bounds[j + 1]) for j in examples])
    idx = idx[units.valid[idx] & (units.y[idx] >= 0)]
    xb = np.ones((len(idx), d + 1))
    xb[:, :-1] = units.X[idx]
    onehot = np.zeros((len(idx), n_classes))
    onehot[np.arange(len(idx)), units.y[idx]] = 1.0
    return xb.T @ xb, xb.T @ onehot


def shot_stats(units: Units, k: int, *, key: tuple, seed: int, shot_key: str, n_classes: int
               ) -> tuple[np.ndarray, np.ndarray, int]:
    """Raw ridge statistics ``(G, B)`` of the first ``k`` shots of a target, and the shot count.

    The shots are the prefix of one fixed permutation (:func:`shot_indices`).
    Statistics are summed over fixed blocks of :data:`SHOT_BLOCK` examples in
    that order (a running prefix sum, cached per target and seed) plus the
    partial block up to ``k``: every (source, k) cell of a target reuses one
    pass over its shots, and the sums are bitwise identical however the grid
    is split into batches, processes or shot grids.
    """
    ent = _SHOTS.get(key)
    d = units.X.shape[1]
    zero = (np.zeros((d + 1, d + 1)), np.zeros((d + 1, n_classes)))
    if ent is None:
        n = units.n_examples
        ent = {"perm": shot_indices(n, n, seed=seed, key=shot_key),
               "bounds": np.searchsorted(units.example, np.arange(n + 1)),
               "last": (0, *zero), "prefix": {0: zero}}
        _SHOTS[key] = ent
        while len(_SHOTS) > _SHOTS_MAX:
            _SHOTS.popitem(last=False)
    _SHOTS.move_to_end(key)
    perm, bounds = ent["perm"], ent["bounds"]
    kk = min(int(k), len(perm))
    nb = kk // SHOT_BLOCK
    if nb not in ent["prefix"]:
        b, G0, B0 = ent["last"]
        if b > nb:  # requested below what was summed and not kept: start over (rare)
            b, G0, B0 = 0, *zero
        while b < nb:
            g, bb = _block_stats(units, perm[b * SHOT_BLOCK:(b + 1) * SHOT_BLOCK], bounds, n_classes)
            G0, B0, b = G0 + g, B0 + bb, b + 1
        ent["last"] = (b, G0, B0)
        ent["prefix"][nb] = (G0, B0)  # kept only for requested k (memory: a few per target)
    G, B = ent["prefix"][nb]
    if kk > nb * SHOT_BLOCK:
        g, bb = _block_stats(units, perm[nb * SHOT_BLOCK:kk], bounds, n_classes)
        G, B = G + g, B + bb
    return G, B, kk


@REGIMES.register("head")
class HeadRegime:
    """Frozen encoder, classifier head on stored features."""

    name = "head"

    def run_batch(self, batch: Batch, store: CellStore) -> list[dict[str, Any]]:
        task = get_task(batch.task)
        fs = batch.features
        spec = batch.spec
        outcomes: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        try:
            src_units = fs.units(task, batch.src, "train", spec.layer)
            n_src = int(spec.n_src.get(batch.task, src_units.n_examples))
            rows_src = source_examples(src_units.n_examples, n_src, task=batch.task, src=batch.src, seed=batch.seed)
            tr = src_units.select(rows_src)
            keep = tr.valid
            head = make_head(spec.head, len(task.labels), seed=batch.seed, params=spec.head_params)
            head.fit(tr.X[keep], tr.y[keep])
            train_from = fs.pool_from(batch.task, batch.src)[0]
        except Exception as exc:  # noqa: BLE001 - recorded per cell, the grid goes on
            msg = f"source training failed: {error_text(exc)}"
            return fail_batch(batch, store, msg)
        src_seconds = time.perf_counter() - t0
        share = src_seconds / max(1, len(batch.cells))
        for cell, h in batch.cells:
            t1 = time.perf_counter()
            try:
                test = fs.units(task, cell.tgt, "test", spec.layer)
                n_shots = 0
                h_cell = head
                if cell.k > 0:
                    tgt_train = fs.units(task, cell.tgt, "train", spec.layer)
                    shot_key = f"{cell.task}/{cell.tgt}"
                    h_cell = head.copy()
                    if hasattr(h_cell, "fit_stats"):
                        G, B, n_shots = shot_stats(
                            tgt_train, cell.k, key=(spec.features, cell.task, cell.tgt, cell.seed, str(spec.layer)),
                            seed=cell.seed, shot_key=shot_key, n_classes=len(task.labels))
                        h_cell.fit_stats(G, B, warm_start=True)
                    else:
                        shots = shot_indices(tgt_train.n_examples, cell.k, seed=cell.seed, key=shot_key)
                        sh = tgt_train.select(shots)
                        n_shots = len(shots)
                        h_cell.fit(sh.X[sh.valid], sh.y[sh.valid], warm_start=True)
                pred = h_cell.predict(test.X)
                scores = evaluate_predictions(task, test, pred, spec.metrics)
                rows = cell_rows(batch, cell, h, scores, n_train=len(rows_src) + n_shots, n_shots=n_shots,
                                 n_test=test.n_examples, train_from=train_from,
                                 test_from=fs.pool_from(cell.task, cell.tgt)[1], model=spec.model,
                                 layer=str(spec.layer))
                outcomes.append(finish_cell(store, cell, h, rows, time.perf_counter() - t1 + share))
            except Exception as exc:  # noqa: BLE001 - recorded per cell, the grid goes on
                outcomes.append(fail_cell(store, cell, h, exc, time.perf_counter() - t1))
        return outcomes
