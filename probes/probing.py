"""Probe models and their solvers: many heads on one feature matrix at once.

Probing a grid of (language, layer, task) cells is dominated by fitting many
small classifiers on the *same* features: every task of one language and layer
reads the same ``(n_words, dim)`` matrix. This module fits all of them in one
solver call:

* :func:`fit_logreg_heads` - multinomial logistic regression with L2 for any
  number of heads (tasks, their control tasks) sharing ``X``. Each head
  minimises scikit-learn's own objective for that head,

  .. math::  \\frac{1}{n_h}\\sum_{i \\in h} \\mathrm{CE}_i + \\frac{1}{2 C n_h} \\lVert W_h \\rVert^2

  (intercepts unpenalised), the problem ``LogisticRegression(C=C,
  solver="lbfgs")`` solves. What the heads share is computed once: the
  whitening of ``X`` (one eigendecomposition, :func:`whitening_basis`), in
  whose coordinates the same problem is far better conditioned, and the
  passes over the rows. Each head runs its own float32 L-BFGS and stops when
  it has converged, but the heads advance in lockstep: one round evaluates
  every active head in one wide matrix product per block of rows (blocks on
  threads). Warm starts are accepted. Binary
  heads use two softmax columns with ``C / 2``, which has the same minimiser
  as scikit-learn's one-column sigmoid with ``C``.
* :func:`fit_ridge` - ridge regression for many targets from one eigen-
  decomposition of the Gram matrix, the penalty chosen per target on a dev
  split from a grid (closed form, same answer as ``sklearn.linear_model.Ridge``).
* :func:`fit_mlp_heads` - one-hidden-layer MLPs, one per head, trained
  together (block-diagonal weights: the heads are independent networks that
  happen to share matrix products); seeded, reproducible.
* :func:`online_codelength` - the online code of Voita and Titov (2020) for
  every head at once.

All functions take standardised float32 features; :class:`Standardizer`
fits the scaling once on training rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import logsumexp

from crossling.errors import ConfigError, DataError

__all__ = [
    "Head",
    "Standardizer",
    "LinearHeads",
    "fit_logreg_heads",
    "WhiteningBasis",
    "whitening_basis",
    "RidgeFit",
    "fit_ridge",
    "MLPHeads",
    "fit_mlp_heads",
    "MDL_FRACTIONS",
    "MDLResult",
    "online_codelength",
    "accuracy",
    "macro_f1",
    "r2_score",
    "encode_labels",
    "ArcProbe",
    "fit_arc_probe",
]

#: Block boundaries of the online code, as fractions of the training set:
#: Voita and Titov (2020) use 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.25, 12.5, 25, 50, 100 %.
MDL_FRACTIONS: tuple[float, ...] = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.0625, 0.125, 0.25, 0.5, 1.0)


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


@dataclass
class LinearHeads:
    """Fitted multinomial logistic-regression heads sharing one input.

    Attributes
    ----------
    W : ndarray of float32, shape (n_features, total_classes)
        The heads' weight columns side by side.
    b : ndarray of float32, shape (total_classes,)
    heads : list of str
        Head names, in column order.
    offsets : ndarray of int, shape (n_heads + 1,)
        Head ``h`` owns columns ``offsets[h]:offsets[h + 1]``.
    n_iter : int
        L-BFGS iterations of the slowest head.
    converged : bool
        Whether every head reached the gradient tolerance before ``max_iter``.
    head_iters : list of int
        L-BFGS iterations of each head.
    """

    W: np.ndarray
    b: np.ndarray
    heads: list[str]
    offsets: np.ndarray
    n_iter: int = 0
    converged: bool = True
    head_iters: list[int] = field(default_factory=list)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Scores of every column, shape ``(n_examples, total_classes)``."""
        return np.asarray(X, dtype=np.float32) @ self.W + self.b

    def predict(self, X: np.ndarray) -> list[np.ndarray]:
        """Predicted class index per head: a list of ``(n_examples,)`` arrays."""
        Z = self.logits(X)
        return [Z[:, s:e].argmax(axis=1) for s, e in zip(self.offsets[:-1], self.offsets[1:])]

    def log_proba(self, X: np.ndarray) -> list[np.ndarray]:
        """Natural-log class probabilities per head: list of ``(n_examples, K_h)``."""
        Z = self.logits(X).astype(np.float64)
        out = []
        for s, e in zip(self.offsets[:-1], self.offsets[1:]):
            Zh = Z[:, s:e]
            out.append(Zh - logsumexp(Zh, axis=1, keepdims=True))
        return out

    def head(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(W_h, b_h)`` of the head called ``name``."""
        try:
            i = self.heads.index(name)
        except ValueError:
            raise ConfigError(f"No head named {name!r}; heads are {self.heads}.") from None
        s, e = self.offsets[i], self.offsets[i + 1]
        return self.W[:, s:e], self.b[s:e]


_CONTROLLER: object | None = None


def _blas_threads(work: int):  # type: ignore[no-untyped-def]
    """Single-threaded BLAS for small products (``work`` = n*d*K multiply-adds).

    Threaded OpenBLAS on tiny matrices spends its time waiting for threads
    (orders of magnitude slower on a busy machine); large products keep the
    default thread count.
    """
    global _CONTROLLER
    from contextlib import nullcontext

    if work >= 20_000_000:
        return nullcontext()
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return nullcontext()
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")  # type: ignore[attr-defined]


def _single_blas():  # type: ignore[no-untyped-def]
    """Single-threaded BLAS/LAPACK for the enclosed block (see :func:`_blas_threads`)."""
    return _blas_threads(0)


class _torch_threads:
    """Run small torch work single-threaded (restoring the thread count after)."""

    def __init__(self, work: int):
        self.work = work
        self.old = 0

    def __enter__(self) -> None:
        import torch

        self.old = torch.get_num_threads()
        if self.work < 50_000_000:
            torch.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.set_num_threads(self.old)


def _lbfgs_steps(x0: np.ndarray, *, max_iter: int, tol: float, m: int = 20, max_ls: int = 30):  # type: ignore[no-untyped-def]
    """L-BFGS as a coroutine: yields each point to evaluate, receives ``(f, grad)`` there.

    Minimises a smooth convex function. Two-loop recursion with ``m`` pairs
    and a backtracking Armijo line search (step 1 first, as in every
    quasi-Newton method); pairs with non-positive curvature are skipped.
    Stops when ``max|grad| <= tol`` (the criterion of scipy's L-BFGS-B
    ``gtol`` that scikit-learn uses) or after ``max_iter`` iterations and
    returns ``(x, n_iter, converged)`` (as ``StopIteration.value``). Written
    as a coroutine so that a driver can evaluate many independent problems
    in one pass over their shared data (:class:`_HeadGroup`).
    """
    x: np.ndarray = np.array(x0, dtype=np.float32)  # float32 throughout: this bookkeeping runs between the passes
    f, g = yield x
    S: list[np.ndarray] = []
    Yl: list[np.ndarray] = []
    rho: list[float] = []

    def gmax(v: np.ndarray) -> float:
        return max(float(v.max()), -float(v.min()))

    for it in range(max_iter):
        if gmax(g) <= tol:
            return x, it, True
        q = np.array(g, dtype=np.float32)
        alphas = []
        for s_, y_, r_ in zip(reversed(S), reversed(Yl), reversed(rho)):
            a = r_ * float(np.dot(s_, q))
            alphas.append(a)
            q -= np.float32(a) * y_
        if S:
            q *= np.float32(float(np.dot(S[-1], Yl[-1])) / float(np.dot(Yl[-1], Yl[-1])))
            step = 1.0
        else:
            step = min(1.0, 1.0 / max(float(np.abs(g).sum(dtype=np.float64)), 1e-12))
        for s_, y_, r_, a in zip(S, Yl, rho, reversed(alphas)):
            q += np.float32(a - r_ * float(np.dot(y_, q))) * s_
        direction = np.negative(q, out=q)
        slope = float(np.dot(g, direction))
        if slope >= 0:  # not a descent direction: restart from steepest descent
            S.clear()
            Yl.clear()
            rho.clear()
            direction = -g
            slope = float(np.dot(g, direction))
            step = min(1.0, 1.0 / max(float(np.abs(g).sum(dtype=np.float64)), 1e-12))
        for _ in range(max_ls):
            x_new = x + np.float32(step) * direction
            f_new, g_new = yield x_new
            if f_new <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            return x, it, False
        s_vec = x_new - x
        y_vec = g_new - g
        sy = float(np.dot(s_vec, y_vec))
        if sy > 1e-10 * float(np.dot(y_vec, y_vec)):
            S.append(s_vec)
            Yl.append(y_vec)
            rho.append(1.0 / sy)
            if len(S) > m:
                del S[0], Yl[0], rho[0]
        df = f - f_new
        x, f, g = x_new, f_new, g_new
        if df <= 1e-12 * max(abs(f), 1.0):
            return x, it + 1, gmax(g) <= tol
    return x, max_iter, gmax(g) <= tol


#: Rows per block of the solver's passes over the features: blocks are the unit of work of the
#: threads, and their partial sums are added in block order (results do not depend on n_jobs).
_BLOCK_ROWS = 2048


def _run_all(jobs: list[Callable[[], Any]], pool) -> list[Any]:  # type: ignore[no-untyped-def]
    """``[job() for job in jobs]``, on ``pool`` when there is more than one job (results in order)."""
    if pool is None or len(jobs) < 2:
        return [job() for job in jobs]
    return list(pool.map(lambda job: job(), jobs))


def _row_blocks(n: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the solver's blocks over ``n`` rows (one empty block when ``n == 0``)."""
    return [(s, min(n, s + _BLOCK_ROWS)) for s in range(0, n, _BLOCK_ROWS)] or [(0, 0)]


def _map_blocks(fn, n: int, pool) -> list:  # type: ignore[no-untyped-def]
    """``[fn(start, stop) for each block of rows]``, on ``pool`` when there is more than one block."""
    return _run_all([lambda se=se: fn(*se) for se in _row_blocks(n)], pool)


@dataclass(frozen=True)
class WhiteningBasis:
    """A whitening of standardised features, shared by every head fitted on them.

    With the eigendecomposition ``X^T X / n = U diag(lam) U^T`` of the
    training features, ``Xw = X @ P`` with ``P = U diag(lam)^(-1/2)`` has
    identity covariance. A weight matrix ``W`` in the original coordinates
    is ``W = P @ V``, so the L2 penalty ``||W||^2`` becomes the diagonal
    penalty ``sum_i ||V_i||^2 / lam_i``: the *same* optimisation problem in
    better-conditioned coordinates. Directions with ``lam_i <= floor *
    max(lam)`` carry no variance; their weights are zero at the optimum and
    are dropped.

    Attributes
    ----------
    P : ndarray of float32, shape (n_features, rank)
    P_inv : ndarray of float32, shape (rank, n_features)
        ``diag(lam)^(1/2) U^T``: maps original weights to whitened ones.
    inv_var : ndarray of float32, shape (rank,)
        ``1 / lam``: per-direction weight of the L2 penalty.
    """

    P: np.ndarray
    P_inv: np.ndarray
    inv_var: np.ndarray

    @property
    def rank(self) -> int:
        return int(self.P.shape[1])


def whitening_basis(X: np.ndarray, *, floor: float = 1e-6, n_jobs: int | None = 1) -> WhiteningBasis:
    """Whitening basis of ``X`` (see :class:`WhiteningBasis`).

    Parameters
    ----------
    X : ndarray, shape (n_examples, n_features)
        Standardised features (the rows the probes are trained on).
    floor : float, default=1e-6
        Directions whose variance is at most ``floor`` times the largest one
        are dropped.
    n_jobs : int, optional, default=1
        Threads computing ``X^T X`` over blocks of rows (``None``: the CPU
        count). The result does not depend on it.

    Returns
    -------
    WhiteningBasis
    """
    X = _check_X(X)
    if not 0 <= floor < 1:
        raise ConfigError(f"floor must lie in [0, 1), got {floor}.")
    with _Pool(n_jobs, X.shape[0]) as pool:
        return _whitening(np.asarray(X, dtype=np.float32), floor, pool)


class _Pool:
    """A thread pool for the row blocks of one solver call (``None`` inside when one thread will do).

    BLAS runs single-threaded inside: the products per block are small, gain little from BLAS
    threads and lose a lot to them on a busy machine.
    """

    def __init__(self, n_jobs: int | None, n_rows: int):
        if n_jobs is not None and n_jobs < 1:
            raise ConfigError(f"n_jobs must be >= 1 (or None for the CPU count), got {n_jobs}.")
        workers = n_jobs if n_jobs is not None else (os.cpu_count() or 1)
        self.workers = max(1, min(workers, -(-n_rows // _BLOCK_ROWS)))
        self.pool = None
        self._blas = _single_blas()

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._blas.__enter__()
        if self.workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(self.workers)
        return self.pool

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        self._blas.__exit__(*exc)


def _whitening(Xf: np.ndarray, floor: float, pool) -> WhiteningBasis:  # type: ignore[no-untyped-def]
    n, d = Xf.shape
    cov = np.zeros((d, d))
    for part in _map_blocks(lambda s, e: Xf[s:e].T @ Xf[s:e], n, pool):
        cov += part
    cov /= max(n, 1)
    lam, U = np.linalg.eigh(cov)
    top = float(lam.max()) if lam.size else 0.0
    keep = lam > max(floor * top, 1e-12)
    lam, U = lam[keep], U[:, keep]
    return WhiteningBasis(
        P=np.ascontiguousarray(U / np.sqrt(lam), dtype=np.float32),
        P_inv=np.ascontiguousarray((U * np.sqrt(lam)).T, dtype=np.float32),
        inv_var=(1.0 / lam).astype(np.float32),
    )


class _HeadGroup:
    """Softmax heads over the same rows, evaluated together: one pass over the rows for all of them.

    In whitened coordinates head ``h`` minimises
    ``f_h = sum_i w_hi CE(softmax(x_i V_h + b_h), y_hi) + 0.5 * sum(pen_h * V_h**2)`` with
    ``w_hi = 1 / n_h`` on its labelled rows and 0 elsewhere (``x_i`` ends with a constant 1; the
    last column of a head's ``(K, r + 1)`` parameter matrix ``[V_h^T | b_h]`` holds its
    intercepts). :meth:`jobs` takes the current point of every active
    head and puts their weights side by side (one wide product instead of one narrow product per
    head: narrow products use a fraction of what the CPU can do); it returns one job per block of
    rows (:data:`_BLOCK_ROWS`) and a function that adds the jobs' partial sums in block order and
    gives ``(f_h, grad_h)`` per head.
    """

    def __init__(self, X: np.ndarray, ys: list[np.ndarray], Ks: list[int], pens: list[np.ndarray]):
        self.X, self.Ks, self.pens = X, Ks, pens
        n = X.shape[0]
        Y = np.stack(ys)
        mask = Y >= 0
        w = (mask / np.maximum(mask.sum(axis=1, keepdims=True), 1)).astype(np.float32)
        Y = np.where(mask, Y, 0)
        self.blocks = _row_blocks(n)
        # per head and block: weights, and the flat index of each row's true class in the block's
        # (classes x rows) score slab
        self.w = [[w[h, s:e] for s, e in self.blocks] for h in range(len(ys))]
        self.at = [[Y[h, s:e] * (e - s) + np.arange(e - s) for s, e in self.blocks] for h in range(len(ys))]

    def jobs(self, active: list[int], thetas: list[np.ndarray]):  # type: ignore[no-untyped-def]
        ra = self.X.shape[1]
        Ks = [self.Ks[h] for h in active]
        ends = np.cumsum(Ks)
        # a head's theta is its (K, r + 1) matrix [V^T | b] flattened row-major; the pass works on
        # transposed scores (classes x rows), so that every head's softmax reduces over a contiguous
        # slab, vectorised along the rows
        VT = np.concatenate([th.reshape(K, ra) for th, K in zip(thetas, Ks)], axis=0)

        def block(k: int) -> tuple[np.ndarray, np.ndarray]:
            s, e = self.blocks[k]
            Xb = self.X[s:e]
            Zt = VT @ Xb.T
            f = np.empty(len(active))
            for i, h in enumerate(active):
                Z = Zt[ends[i] - Ks[i] : ends[i]]
                Zf = Z.reshape(-1)
                at, wb = self.at[h][k], self.w[h][k]
                M = Z.max(axis=0)
                zy = Zf[at]
                Z -= M
                # clipping at -50 keeps exp() out of float32 denormals (which slow BLAS by orders of
                # magnitude); such probabilities (< 2e-22) change nothing
                np.maximum(Z, -50.0, out=Z)
                np.exp(Z, out=Z)
                S = Z.sum(axis=0)
                f[i] = float(((np.log(S) + M - zy) * wb).sum(dtype=np.float64))
                Z *= wb / S
                Zf[at] -= wb  # softmax minus one-hot, weighted
            return f, Zt @ Xb

        def finish(parts: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[float, np.ndarray]]:
            """Add the blocks' partial sums (in block order); ``(f, grad)`` per head."""
            f, G = parts[0]
            for p in parts[1:]:
                f, G = f + p[0], G + p[1]
            out = []
            for i, h in enumerate(active):
                pen = self.pens[h]
                Vh = VT[ends[i] - Ks[i] : ends[i]]
                g = Vh * pen
                g += G[ends[i] - Ks[i] : ends[i]]
                sq = np.einsum("kr,kr->r", Vh, Vh, dtype=np.float64)
                out.append((float(f[i]) + 0.5 * float(sq @ pen), g.ravel()))
            return out

        return [lambda k=k: block(k) for k in range(len(self.blocks))], finish


#: Heads whose labelled rows are at least this share of all rows are solved together over all rows
#: (rows they ignore get weight 0); heads on smaller row subsets are solved on a copy of their rows.
_SHARED_ROWS = 0.25


def fit_logreg_heads(
    X: np.ndarray,
    heads: Sequence[Head],
    *,
    init: LinearHeads | None = None,
    max_iter: int = 100,
    tol: float = 1e-4,
    basis: WhiteningBasis | None = None,
    n_jobs: int | None = None,
) -> LinearHeads:
    """Fit L2 multinomial logistic regression for every head on shared features.

    Each head minimises scikit-learn's objective for ``LogisticRegression(C)``
    on its labelled rows (see the module docstring). The work the heads share
    is done once: the whitening of ``X`` (:func:`whitening_basis`, one
    eigendecomposition), in whose coordinates the problem is far better
    conditioned than in the original ones (typically 3-5x fewer iterations),
    and the passes over the rows. Each head runs its own L-BFGS and stops as
    soon as *it* has converged, but the heads advance in lockstep: the points
    all active heads ask for are evaluated in one pass over their rows, with
    their weight matrices side by side (one wide matrix product instead of
    one narrow product per head). Heads labelling at least half of the rows
    share the pass over all rows; heads on smaller row subsets (a rare
    morphological feature) share a pass over their own rows.

    Parameters
    ----------
    X : ndarray, shape (n_examples, n_features)
        Standardised features (cast to float32).
    heads : sequence of Head
        Targets over the rows of ``X``; each has its own ``C`` and may ignore
        rows (label ``-1``). A head with no labelled row is fitted to zero
        weights (uniform predictions).
    init : LinearHeads, optional
        Warm start; must have the same heads and column layout.
    max_iter : int, default=100
        L-BFGS iterations per head (scikit-learn's default is also 100).
    tol : float, default=1e-4
        Stop a head when the largest component of its gradient *in whitened
        coordinates* is below ``tol``. (scikit-learn applies its ``tol=1e-4``
        to the gradient in the original coordinates.) ``1e-4`` brings test
        accuracies within about 0.1 point of the converged solution's on real
        features (``1e-3``, the default before issue 20, stopped 0.2 points
        away on average, 0.7 at worst, at a third of the time):
        ``bench/probe_agreement.py``, docs/bench-probes.md.)
    basis : WhiteningBasis, optional
        Precomputed :func:`whitening_basis` of ``X`` (to share between calls
        on the same features, e.g. several ``C`` values).
    n_jobs : int, optional
        Threads sharing each pass over the rows, block by block (default: the
        CPU count). BLAS runs single-threaded inside. The result does not
        depend on ``n_jobs``.

    Returns
    -------
    LinearHeads

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 5)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> fit = fit_logreg_heads(X, [Head("sign", y, 2)])
    >>> float((fit.predict(X)[0] == y).mean()) > 0.95
    True
    """
    X = np.ascontiguousarray(_check_X(X), dtype=np.float32)
    n, d = X.shape
    if not heads:
        raise ConfigError("fit_logreg_heads needs at least one head.")
    if max_iter < 1 or not tol > 0:
        raise ConfigError(f"max_iter must be >= 1 and tol > 0, got max_iter={max_iter}, tol={tol}.")
    for h in heads:
        if h.y.shape[0] != n:
            raise DataError(f"Head {h.name!r} has {h.y.shape[0]} labels but X has {n} rows (shape {X.shape}).")
    sizes = np.array([h.n_classes for h in heads])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    K = int(offsets[-1])
    if init is not None and (init.W.shape != (d, K) or list(init.offsets) != list(offsets)):
        raise ConfigError(
            f"Warm start has weights of shape {init.W.shape} and offsets {list(init.offsets)}, "
            f"but these heads need ({d}, {K}) and {list(offsets)}."
        )
    if basis is not None and basis.P.shape[0] != d:
        raise ConfigError(f"basis was computed on {basis.P.shape[0]} features but X has {d}.")
    W = np.zeros((d, K), dtype=np.float32)
    b = np.zeros(K, dtype=np.float32)
    iters = [0] * len(heads)
    converged = True
    with _Pool(n_jobs, n) as pool:
        if basis is None:
            basis = _whitening(X, 1e-6, pool)
        r = basis.rank
        P = basis.P
        Xw = np.empty((n, r + 1), dtype=np.float32)  # whitened features and a column of ones
        Xw[:, r] = 1.0

        def whiten(s: int, e: int) -> None:
            Xw[s:e, :r] = X[s:e] @ P

        _map_blocks(whiten, n, pool)
        # group the heads by the rows they read: all rows, or one subset per labelling pattern
        groups: dict[bytes, list[int]] = {}
        for j, h in enumerate(heads):
            mask = h.y >= 0
            if not mask.any() or h.n_classes < 2:
                continue
            key = b"" if mask.sum() >= _SHARED_ROWS * n else np.packbits(mask).tobytes()
            groups.setdefault(key, []).append(j)
        # every head of every group advances in lockstep: one round evaluates the points all
        # active heads ask for, as one batch of jobs (blocks of rows of every group) on the pool
        solvers = []  # (group, the heads' indices, their L-BFGS coroutines)
        for key, js in sorted(groups.items(), key=lambda kv: kv[0] != b""):
            if key == b"":
                rows, Xg = None, Xw
            else:
                rows = np.flatnonzero(heads[js[0]].y >= 0)
                Xg = np.ascontiguousarray(Xw[rows])
            ys = [heads[j].y if rows is None else heads[j].y[rows] for j in js]
            pens, steps = [], []
            for j, y in zip(js, ys):
                h = heads[j]
                s, e = int(offsets[j]), int(offsets[j + 1])
                yl = y[y >= 0]
                c_eff = h.C / 2.0 if h.n_classes == 2 else h.C
                pen = np.zeros(r + 1, dtype=np.float32)  # the intercepts (last column) are not penalised
                pen[:r] = (1.0 / (c_eff * len(yl))) * basis.inv_var
                pens.append(pen)
                if init is not None:
                    V0 = basis.P_inv @ init.W[:, s:e]
                    b0 = init.b[s:e]
                else:  # zero weights, intercepts at the log class frequencies (the optimum for V = 0 without penalty)
                    V0 = np.zeros((r, e - s), dtype=np.float32)
                    lp = np.log((np.bincount(yl, minlength=e - s) + 0.5) / (len(yl) + 0.5 * (e - s)))
                    b0 = lp - lp.mean()
                # a head's parameters: its (K, r + 1) matrix [V^T | b], flattened row-major
                theta0 = np.concatenate([np.asarray(V0, np.float32).T, np.asarray(b0, np.float32)[:, None]], axis=1).ravel()
                steps.append(_lbfgs_steps(theta0, max_iter=max_iter, tol=tol))
            solvers.append((_HeadGroup(Xg, ys, [int(sizes[j]) for j in js], pens), js, steps))
        asks = [{i: next(st) for i, st in enumerate(steps)} for _, _, steps in solvers]
        while any(asks):
            batch: list[Any] = []
            spans = []
            for (group, _, _), ask in zip(solvers, asks):
                active = sorted(ask)
                jobs, finish = group.jobs(active, [ask[i] for i in active]) if active else ([], None)
                spans.append((active, finish, len(batch), len(jobs)))
                batch += jobs
            done = _run_all(batch, pool)
            for (group, js, steps), ask, (active, finish, at, k) in zip(solvers, asks, spans):
                if not active:
                    continue
                ask.clear()
                for i, fg in zip(active, finish(done[at : at + k])):
                    try:
                        ask[i] = steps[i].send(fg)
                    except StopIteration as stop:
                        theta, it, ok = stop.value
                        j = js[i]
                        s, e = int(offsets[j]), int(offsets[j + 1])
                        Th = theta.reshape(e - s, r + 1)
                        W[:, s:e] = P @ Th[:, :r].T
                        b[s:e] = Th[:, r]
                        iters[j] = it
                        converged = converged and ok
    return LinearHeads(
        W=W,
        b=b,
        heads=[h.name for h in heads],
        offsets=offsets,
        n_iter=max(iters, default=0),
        converged=converged,
        head_iters=iters,
    )


# --------------------------------------------------------------------------- ridge


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


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination (``nan`` for fewer than 2 values)."""
    y = np.asarray(y, dtype=np.float64)
    if y.size < 2:
        return float("nan")
    ss_res = float(((y - pred) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


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


# --------------------------------------------------------------------------- MLP


@dataclass
class MLPHeads:
    """One-hidden-layer MLP per head (ReLU), fitted together.

    Attributes
    ----------
    W1 : ndarray, shape (n_features, n_heads * hidden)
    b1 : ndarray, shape (n_heads * hidden,)
    W2 : ndarray, shape (n_heads, hidden, max_classes)
    b2 : ndarray, shape (n_heads, max_classes)
    n_classes : list of int
    heads : list of str
    """

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    n_classes: list[int]
    heads: list[str]

    def predict(self, X: np.ndarray) -> list[np.ndarray]:
        """Predicted class index per head: a list of ``(n_examples,)`` arrays."""
        T, h, _ = self.W2.shape
        H = np.maximum(np.asarray(X, dtype=np.float32) @ self.W1 + self.b1, 0.0).reshape(len(X), T, h)
        Z = np.einsum("nth,thk->ntk", H, self.W2) + self.b2
        return [Z[:, t, : self.n_classes[t]].argmax(axis=1) for t in range(T)]


def fit_mlp_heads(
    X: np.ndarray,
    heads: Sequence[Head],
    *,
    hidden: int = 128,
    epochs: int = 10,
    batch_size: int = 512,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> MLPHeads:
    """Train one ReLU MLP (``hidden`` units) per head with Adam, all heads at once.

    The heads' hidden layers are concatenated column-wise and their output
    layers are stacked, so the heads are independent networks (the summed
    loss is separable and Adam is elementwise) sharing matrix products.
    Deterministic for a given ``seed`` and thread count.

    Parameters
    ----------
    X : ndarray, shape (n_examples, n_features)
        Standardised features.
    heads : sequence of Head
        ``C`` is ignored (``weight_decay`` regularises).
    hidden, epochs, batch_size, lr, weight_decay, seed
        Training settings.

    Returns
    -------
    MLPHeads
    """
    import torch

    X = _check_X(X)
    if hidden < 1 or epochs < 1 or batch_size < 1:
        raise ConfigError(f"hidden, epochs and batch_size must be >= 1, got {hidden}, {epochs}, {batch_size}.")
    n, d = X.shape
    T = len(heads)
    if T == 0:
        raise ConfigError("fit_mlp_heads needs at least one head.")
    kmax = max(h.n_classes for h in heads)
    g = torch.Generator().manual_seed(int(seed))
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    Y = torch.as_tensor(np.stack([h.y for h in heads], axis=1))  # (n, T)
    bound1, bound2 = 1.0 / np.sqrt(d), 1.0 / np.sqrt(hidden)
    W1 = ((torch.rand(d, T * hidden, generator=g) * 2 - 1) * bound1).requires_grad_()
    b1 = torch.zeros(T * hidden, requires_grad=True)
    W2 = ((torch.rand(T, hidden, kmax, generator=g) * 2 - 1) * bound2).requires_grad_()
    b2 = torch.zeros(T, kmax, requires_grad=True)
    pad = torch.zeros(T, kmax)
    for t, h in enumerate(heads):
        pad[t, h.n_classes :] = -1e9
    opt = torch.optim.Adam([W1, b1, W2, b2], lr=lr, weight_decay=weight_decay)
    with _torch_threads(min(n, batch_size) * d * T * hidden):
        _mlp_epochs(epochs, n, batch_size, g, Xt, W1, b1, W2, b2, pad, Y, T, hidden, kmax, opt)
    return MLPHeads(
        W1=W1.detach().numpy(), b1=b1.detach().numpy(), W2=W2.detach().numpy(), b2=b2.detach().numpy(),
        n_classes=[h.n_classes for h in heads], heads=[h.name for h in heads],
    )


def _mlp_epochs(epochs, n, batch_size, g, Xt, W1, b1, W2, b2, pad, Y, T, hidden, kmax, opt):  # type: ignore[no-untyped-def]
    """The MLP training loop of :func:`fit_mlp_heads`."""
    import torch

    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            H = torch.relu(Xt[idx] @ W1 + b1).view(len(idx), T, hidden)
            Z = torch.einsum("nth,thk->ntk", H, W2) + b2 + pad
            yb = Y[idx]
            valid = (yb >= 0).float()
            ce = torch.nn.functional.cross_entropy(
                Z.reshape(-1, kmax), yb.reshape(-1).clamp(min=0), reduction="none"
            ).view(len(idx), T)
            loss = ((ce * valid).sum(0) / valid.sum(0).clamp(min=1.0)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()


# --------------------------------------------------------------------------- MDL


@dataclass
class MDLResult:
    """Online codelength of one head (Voita and Titov 2020).

    Attributes
    ----------
    codelength : float
        Online codelength in bits.
    uniform_codelength : float
        ``n * log2(K)``: transmitting every label with the uniform code.
    compression : float
        ``uniform_codelength / codelength``.
    n : int
        Labelled examples of the head.
    block_bits : list of float
        Bits spent on each block (the first with the uniform code).
    """

    codelength: float
    uniform_codelength: float
    compression: float
    n: int
    block_bits: list[float] = field(default_factory=list)


def online_codelength(
    X: np.ndarray,
    heads: Sequence[Head],
    *,
    fractions: Sequence[float] = MDL_FRACTIONS,
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 1e-4,
) -> list[MDLResult]:
    """Online (prequential) codelength of every head's labels given ``X``.

    The rows are shuffled once with ``seed``; with block boundaries
    ``t_i = round(fractions[i] * n)``, the labels of the first block are
    sent with the uniform code (``log2 K`` bits each), and the labels of rows
    ``t_i..t_{i+1}`` with ``-log2 p(y | x)`` under a probe trained on rows
    ``0..t_i`` (all heads in one :func:`fit_logreg_heads` call, warm-started
    from the previous block). Rows a head ignores cost it nothing.

    Parameters
    ----------
    X : ndarray, shape (n_examples, n_features)
        Standardised training features.
    heads : sequence of Head
    fractions : sequence of float
        Increasing block ends in ``(0, 1]``, the last one 1.
    seed, max_iter, tol
        Shuffle seed and solver settings.

    Returns
    -------
    list of MDLResult, one per head.
    """
    X = _check_X(X)
    fr = [float(f) for f in fractions]
    if not fr or fr[-1] != 1.0 or any(b <= a for a, b in zip(fr, fr[1:])) or fr[0] <= 0:
        raise ConfigError(f"MDL fractions must increase strictly within (0, 1] and end at 1, got {fr}.")
    n = X.shape[0]
    order = np.random.default_rng(seed).permutation(n)
    Xo = np.ascontiguousarray(X[order], dtype=np.float32)
    yo = [h.y[order] for h in heads]
    ends = sorted({max(1, int(round(f * n))) for f in fr})
    bits = np.zeros(len(heads))
    blocks: list[list[float]] = [[] for _ in heads]
    first = ends[0]
    for i, h in enumerate(heads):
        b0 = float((yo[i][:first] >= 0).sum() * np.log2(h.n_classes)) if h.n_classes > 1 else 0.0
        bits[i] += b0
        blocks[i].append(b0)
    fit: LinearHeads | None = None
    # W = P V with the penalty written in V is the same problem whatever rows the whitening P came
    # from (only the conditioning differs), so large blocks share one whitening of all rows; small
    # blocks (fewer rows than features) get their own, whose rank (<= rows) shrinks the problem
    d = Xo.shape[1]
    shared = whitening_basis(Xo, n_jobs=None)
    for t0, t1 in zip(ends[:-1], ends[1:]):
        sub = [Head(h.name, yo[i][:t0], h.n_classes, h.C) for i, h in enumerate(heads)]
        basis = whitening_basis(Xo[:t0]) if t0 < d else shared
        fit = fit_logreg_heads(Xo[:t0], sub, init=fit, max_iter=max_iter, tol=tol, basis=basis)
        logp = fit.log_proba(Xo[t0:t1])
        for i in range(len(heads)):
            y = yo[i][t0:t1]
            v = y >= 0
            b = float(-logp[i][np.flatnonzero(v), y[v]].sum() / np.log(2.0))
            bits[i] += b
            blocks[i].append(b)
    out = []
    for i, h in enumerate(heads):
        m = int((h.y >= 0).sum())
        uni = float(m * np.log2(h.n_classes)) if h.n_classes > 1 else 0.0
        out.append(MDLResult(
            codelength=float(bits[i]), uniform_codelength=uni,
            compression=uni / bits[i] if bits[i] > 0 else float("nan"), n=m, block_bits=blocks[i],
        ))
    return out


# --------------------------------------------------------------------------- metrics


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


# --------------------------------------------------------------------------- arc (head selection)


def _pad_sentences(sent_of_word: np.ndarray, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of each sentence padded with -1: ``(n_sentences, max_len)`` and the sentence ids kept."""
    sow = np.asarray(sent_of_word)
    ids = np.unique(sow if keep is None else sow[keep])
    starts = np.searchsorted(sow, ids, side="left")
    ends = np.searchsorted(sow, ids, side="right")
    L = int((ends - starts).max(initial=1))
    idx = np.full((len(ids), L), -1, dtype=np.int64)
    for k, (a, b) in enumerate(zip(starts, ends)):
        idx[k, : b - a] = np.arange(a, b)
    return idx, ids


@dataclass
class ArcProbe:
    """Bilinear head-selection probe: ``score(i, j) = (x_i A) . (x_j B) + x_j c``.

    Attributes
    ----------
    A, B : ndarray, shape (n_features, rank)
    c : ndarray, shape (n_features,)
    """

    A: np.ndarray
    B: np.ndarray
    c: np.ndarray

    def predict(self, X: np.ndarray, sent_of_word: np.ndarray) -> np.ndarray:
        """Predicted head (0-based index within the sentence) of every row of ``X``, shape ``(n_words,)``."""
        X = np.asarray(X, dtype=np.float32)
        P, Q, q = X @ self.A, X @ self.B, X @ self.c
        idx, _ = _pad_sentences(sent_of_word)
        out = np.full(len(X), -1, dtype=np.int64)
        for row in idx:
            r = row[row >= 0]
            S = P[r] @ Q[r].T + q[r][None, :]
            np.fill_diagonal(S, -np.inf)
            out[r] = S.argmax(axis=1) if len(r) > 1 else 0
        return out


def fit_arc_probe(
    X: np.ndarray,
    heads: np.ndarray,
    sent_of_word: np.ndarray,
    train: np.ndarray,
    *,
    rank: int = 64,
    steps: int = 150,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> ArcProbe:
    """Fit a bilinear probe that picks each word's head among its sentence's words.

    Softmax over the other words of the sentence, cross-entropy on the gold
    head, full-batch Adam for ``steps`` steps (deterministic given ``seed``).

    Parameters
    ----------
    X : ndarray, shape (n_words, n_features)
        Standardised features of every word, sentences contiguous.
    heads : ndarray of int, shape (n_words,)
        Gold head as a 0-based index within the sentence; -1 = no target (root).
    sent_of_word : ndarray of int, shape (n_words,)
        Sentence number of each row (non-decreasing).
    train : ndarray of bool, shape (n_words,)
        Rows whose sentence is in the training split.
    rank, steps, lr, weight_decay, seed
        Probe size and optimisation settings.

    Returns
    -------
    ArcProbe
    """
    import torch

    X = _check_X(X)
    n, d = X.shape
    if not (len(heads) == len(sent_of_word) == len(train) == n):
        raise DataError(f"fit_arc_probe: X has {n} rows, heads {len(heads)}, sent_of_word {len(sent_of_word)}, "
                        f"train {len(train)}; they must match.")
    idx, _ = _pad_sentences(sent_of_word, np.asarray(train, dtype=bool))
    heads = np.asarray(heads, dtype=np.int64)
    g = torch.Generator().manual_seed(int(seed))
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    It = torch.as_tensor(idx)
    pad = It < 0
    rows = It.clamp(min=0)
    tgt = torch.as_tensor(heads)[rows]
    tgt[pad] = -1
    L = idx.shape[1]
    tgt[tgt >= L] = -1
    mask = pad[:, None, :].expand(-1, L, -1) | torch.eye(L, dtype=torch.bool)[None]
    A = (torch.randn(d, rank, generator=g) / np.sqrt(d)).requires_grad_()
    B = (torch.randn(d, rank, generator=g) / np.sqrt(d)).requires_grad_()
    c = torch.zeros(d, requires_grad=True)
    opt = torch.optim.Adam([A, B, c], lr=lr, weight_decay=weight_decay)
    Xs = Xt[rows]  # (S, L, d)
    with _torch_threads(Xs.shape[0] * L * d * rank):
        _arc_steps(steps, Xs, A, B, c, mask, tgt, L, opt)
    return ArcProbe(A=A.detach().numpy(), B=B.detach().numpy(), c=c.detach().numpy())


def _arc_steps(steps, Xs, A, B, c, mask, tgt, L, opt):  # type: ignore[no-untyped-def]
    """The Adam loop of :func:`fit_arc_probe`."""
    import torch

    for _ in range(steps):
        P, Q = Xs @ A, Xs @ B
        S = P @ Q.transpose(1, 2) + (Xs @ c)[:, None, :]
        S = S.masked_fill(mask, -1e9)
        loss = torch.nn.functional.cross_entropy(S.reshape(-1, L), tgt.reshape(-1), ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
