"""Ridge regression for many targets from one decomposition, penalty chosen per target (:func:`fit_ridge`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossling.errors import ConfigError, DataError
from probes.probing._base import _check_X
from probes.probing._metrics import r2_score
from probes.probing._threads import (
    _single_blas,
)


@dataclass
class RidgeFit:
    """Ridge regression weights for several targets.

    Attributes
    ----------
    W : ndarray, shape (n_features, n_targets)
    b : ndarray, shape (n_targets,)
    alpha : ndarray, shape (n_targets,)
        The penalty chosen for each target.
    names : list of str
    """

    W: np.ndarray
    b: np.ndarray
    alpha: np.ndarray
    names: list[str]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions, shape ``(n_examples, n_targets)``."""
        return np.asarray(X, dtype=np.float64) @ self.W + self.b


def fit_ridge(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    alphas: Sequence[float] = (1.0,),
    X_dev: np.ndarray | None = None,
    Y_dev: np.ndarray | None = None,
) -> RidgeFit:
    """Ridge regression (``||y - Xw - b||^2 + alpha ||w||^2``) for many targets.

    Targets may be missing (``nan``) on different rows; rows sharing the same
    missing pattern share one eigendecomposition of their centred Gram matrix,
    from which every ``alpha`` is a closed-form rescaling.

    Parameters
    ----------
    X : ndarray, shape (n_examples, n_features)
    Y : ndarray, shape (n_examples, n_targets)
        ``nan`` marks rows a target ignores.
    names : sequence of str, optional
    alphas : sequence of float, default=(1.0,)
        Candidate penalties; with more than one, each target takes the one with
        the best R^2 on ``(X_dev, Y_dev)``.
    X_dev, Y_dev : ndarray, optional
        Dev split for choosing ``alpha``.

    Returns
    -------
    RidgeFit
    """
    X = _check_X(X).astype(np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.shape[0] != X.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]} (shapes {X.shape}, {Y.shape}).")
    alphas = [float(a) for a in alphas]
    if not alphas or min(alphas) < 0:
        raise ConfigError(f"alphas must be a non-empty list of values >= 0, got {alphas}.")
    if len(alphas) > 1 and (X_dev is None or Y_dev is None):
        raise ConfigError("Choosing among several alphas needs X_dev and Y_dev.")
    names = list(names) if names is not None else [f"y{j}" for j in range(Y.shape[1])]
    d, T = X.shape[1], Y.shape[1]
    W = np.zeros((d, T))
    b = np.zeros(T)
    chosen = np.zeros(T)
    masks: dict[bytes, list[int]] = {}
    for j in range(T):
        masks.setdefault(np.isfinite(Y[:, j]).tobytes(), []).append(j)
    with _single_blas():  # d x d products and eigh: threads gain little and stall on a busy machine
        for key, cols in masks.items():
            _ridge_pattern(X, Y, X_dev, Y_dev, np.frombuffer(key, dtype=bool), cols, alphas, W, b, chosen)
    return RidgeFit(W=W, b=b, alpha=chosen, names=names)


def _ridge_pattern(X, Y, X_dev, Y_dev, m, cols, alphas, W, b, chosen) -> None:  # type: ignore[no-untyped-def]
    """Fit the ridge targets ``cols`` that share the finite-row mask ``m`` (in place into W, b, chosen)."""
    if m.sum() < 2:
        return
    Xm = X[m]
    mu = Xm.mean(axis=0)
    Xc = Xm - mu
    s, V = np.linalg.eigh(Xc.T @ Xc)
    s = np.clip(s, 0.0, None)
    Yc = Y[m][:, cols]
    ymu = Yc.mean(axis=0)
    proj = V.T @ (Xc.T @ (Yc - ymu))  # (d, t)
    best = np.full(len(cols), -np.inf)
    for a in alphas:
        Wa = V @ (proj / (s + a)[:, None]) if a > 0 or s.min() > 0 else V @ (proj / np.maximum(s, 1e-12)[:, None])
        ba = ymu - mu @ Wa
        if len(alphas) == 1:
            scores = np.zeros(len(cols))
        else:
            P = X_dev @ Wa + ba
            scores = np.array([
                r2_score(Y_dev[np.isfinite(Y_dev[:, c]), c], P[np.isfinite(Y_dev[:, c]), k])
                for k, c in enumerate(cols)
            ])
            scores = np.nan_to_num(scores, nan=-np.inf)
        for k, c in enumerate(cols):
            if scores[k] > best[k] or not np.isfinite(best[k]):
                best[k] = scores[k]
                W[:, c], b[c], chosen[c] = Wa[:, k], ba[k], a
