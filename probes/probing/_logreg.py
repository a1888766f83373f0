"""Multinomial logistic regression for many heads on one feature matrix (:func:`fit_logreg_heads`).

The whitening shared by every head (:func:`whitening_basis`), a float32 L-BFGS run
as a coroutine per head, and the heads advanced in lockstep over blocks of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import logsumexp

from crossling.errors import ConfigError, DataError
from probes.probing._base import Head, _check_X
from probes.probing._threads import (
    _map_blocks,
    _Pool,
    _row_blocks,
    _run_all,
)


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
