"""Scores of probe predictions: accuracy, macro F1, R^2."""

from __future__ import annotations

import numpy as np


def accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Share of rows with ``y == pred`` (``nan`` when empty)."""
    y = np.asarray(y)
    return float((y == np.asarray(pred)).mean()) if y.size else float("nan")


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Unweighted mean F1 over the classes present in ``y`` or ``pred``.

    Same definition as ``sklearn.metrics.f1_score(average="macro")``
    (a class with no true and no predicted row is not counted).
    """
    y = np.asarray(y, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    if y.size == 0:
        return float("nan")
    K = int(max(y.max(), pred.max())) + 1
    tp = np.bincount(y[y == pred], minlength=K).astype(float)
    n_true = np.bincount(y, minlength=K).astype(float)
    n_pred = np.bincount(pred, minlength=K).astype(float)
    present = (n_true + n_pred) > 0
    denom = n_true + n_pred
    f1 = np.divide(2 * tp, denom, out=np.zeros(K), where=denom > 0)
    return float(f1[present].mean())


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination (``nan`` for fewer than 2 values)."""
    y = np.asarray(y, dtype=np.float64)
    if y.size < 2:
        return float("nan")
    ss_res = float(((y - pred) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
