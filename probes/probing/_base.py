"""Shared data types of the probe solvers: label heads, standardisation, label coding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossling.errors import ConfigError, DataError


def _check_X(X: np.ndarray, name: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"{name} must be a 2-D array (n_examples, n_features), got shape {X.shape}.")
    if not np.issubdtype(X.dtype, np.floating):
        raise DataError(f"{name} must hold floats, got dtype {X.dtype}.")
    return X


def encode_labels(values: Sequence[object]) -> tuple[np.ndarray, list[str]]:
    """Map labels to ``0..K-1`` (sorted vocabulary); ``None`` becomes ``-1``.

    Returns
    -------
    codes : ndarray of int64, shape (n,)
    vocab : list of str
        ``vocab[k]`` is the label of code ``k``.
    """
    vocab = sorted({str(v) for v in values if v is not None})
    lut = {v: i for i, v in enumerate(vocab)}
    return np.array([-1 if v is None else lut[str(v)] for v in values], dtype=np.int64), vocab


@dataclass
class Head:
    """One classification target over the rows of a shared feature matrix.

    Attributes
    ----------
    name : str
        Identifier (e.g. ``"upos"``, ``"upos/control"``).
    y : ndarray of int, shape (n_examples,)
        Class index in ``[0, n_classes)`` per row, ``-1`` for rows the head
        ignores (a word without the feature, a word outside the split).
    n_classes : int
        Number of classes (columns of the head).
    C : float, default=1.0
        Inverse L2 strength, with scikit-learn's meaning.
    """

    name: str
    y: np.ndarray
    n_classes: int
    C: float = 1.0

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        if self.y.ndim != 1:
            raise DataError(f"Head {self.name!r}: y must be 1-D, got shape {self.y.shape}.")
        if self.n_classes < 1:
            raise ConfigError(f"Head {self.name!r}: n_classes must be >= 1, got {self.n_classes}.")
        if self.y.size and (self.y.max(initial=-1) >= self.n_classes or self.y.min(initial=0) < -1):
            raise DataError(
                f"Head {self.name!r}: labels must lie in [-1, {self.n_classes - 1}], "
                f"got range [{self.y.min()}, {self.y.max()}]."
            )
        if not self.C > 0:
            raise ConfigError(f"Head {self.name!r}: C must be > 0, got {self.C}.")


class Standardizer:
    """Zero mean, unit variance per feature, fitted on training rows only.

    Constant features are left centred (scale 1), as in scikit-learn's
    ``StandardScaler``.

    Parameters
    ----------
    X : ndarray, shape (n_examples, n_features)
        Training features (any float dtype; statistics in float64).
    """

    def __init__(self, X: np.ndarray):
        X = _check_X(X)
        n = max(X.shape[0], 1)
        self.mean_ = X.sum(axis=0, dtype=np.float64) / n
        D = X - self.mean_.astype(X.dtype)  # centred in the input's precision, sums in float64
        shift = D.sum(axis=0, dtype=np.float64) / n  # what rounding the mean left in D
        var = np.einsum("ij,ij->j", D, D, dtype=np.float64) / n - shift**2
        scale = np.sqrt(var)
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
        self.scale_ = scale
        self._m32 = self.mean_.astype(np.float32)
        self._s32 = (1.0 / scale).astype(np.float32)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``(X - mean) / scale`` as float32, shape ``(n, n_features)``."""
        X = _check_X(X)
        if X.shape[1] != self.mean_.shape[0]:
            raise DataError(f"Standardizer was fitted on {self.mean_.shape[0]} features, got X of shape {X.shape}.")
        out = np.asarray(X, dtype=np.float32) - self._m32
        out *= self._s32
        return out
