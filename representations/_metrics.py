"""Similarity metrics for all-pairs alignment maps: a registry of batched engines.

A metric is one small class registered by name in :data:`METRICS`. It turns
each view (the activations of one language at one layer) into a *state* once
(:meth:`SimilarityMetric.prepare`), then compares whole lists of states at
once (:meth:`SimilarityMetric.evaluate`), optionally with the same sentences
re-paired at random (permutation null) or resampled (bootstrap). What depends
on one view only (centred Gram matrices, SVD bases, unit vectors) is computed
once, never once per pair.

Register your own::

    from representations import METRICS, SimilarityMetric

    @METRICS.register("my_metric")
    class MyMetric(SimilarityMetric):
        symmetric = True
        def prepare(self, x, cache, *, for_bootstrap=True): ...
        def evaluate(self, a, b=None, *, permutations=None, bootstraps=None): ...

Permutations and bootstrap samples are given as ``(n_resamples, n)`` index
arrays; ``permutations[r]`` re-pairs row ``i`` of the *second* view with row
``permutations[r, i]``; ``bootstraps[r]`` draws rows with replacement for
both views.

This module is over 600 lines on purpose: the registry, the base class and the
batched engines (kernel CKA, SVCCA/PWCCA, retrieval) share the compact-Gram and
permutation machinery; each engine is only readable next to it.
"""

from __future__ import annotations

import abc
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from crossling.errors import DataError, ResourceError
from crossling.registry import Registry
from representations._cca import (
    SmallSampleWarning,
    _eigh,
    cap_dims,
    n_keep,
    pwcca_weights,
    singular_basis,
)
from representations._cka import center_gram
from representations._retrieval import retrieval_outcomes, unit_rows

__all__ = [
    "METRICS",
    "RBFCKA",
    "LinearCKA",
    "PWCCAMetric",
    "PairResult",
    "Retrieval",
    "SVCCAMetric",
    "SimilarityMetric",
]

METRICS: Registry[type[SimilarityMetric]] = Registry("similarity metric")


@dataclass
class PairResult:
    """Values of every (a, b) pair and, optionally, their resampled values.

    Attributes
    ----------
    values : ndarray of shape (n_a, n_b)
        ``values[i, j]`` compares state ``a[i]`` with state ``b[j]``
        (asymmetric metrics: ``a[i]`` is the first argument / the query side).
    null : ndarray of shape (n_permutations, n_a, n_b) or None
        The same with ``b``'s examples re-paired by each permutation.
    boot : ndarray of shape (n_bootstrap, n_a, n_b) or None
        The same on each bootstrap sample of examples.
    dims_a, dims_b : int ndarray of shape (n_a, n_b) or None
        Dimensions of each side the value was computed on, when the metric
        chooses them (SVCCA/PWCCA: the kept SVD directions after every cap);
        None: all features of the view.
    dims_rule : object ndarray of shape (n_a, n_b) or None
        How those dimensions were chosen, in words (e.g. ``"99% variance;
        capped at (n-1)//2 = 99 because k_a + k_b > n - 1"``).
    """

    values: np.ndarray
    null: np.ndarray | None = None
    boot: np.ndarray | None = None
    dims_a: np.ndarray | None = None
    dims_b: np.ndarray | None = None
    dims_rule: np.ndarray | None = None


class SimilarityMetric(abc.ABC):
    """Base class of a batched similarity metric (see the module docstring).

    Class attributes
    ----------------
    symmetric : bool
        ``value(a, b) == value(b, a)``; alignment tables then list each
        unordered pair once.
    min_examples : int
        The fewest examples the metric needs.
    options : tuple of str
        Names of the alignment-config fields passed to the constructor.
    resampling_cost : str
        ``"cheap"`` when permutations/bootstraps reuse the prepared states,
        ``"expensive"`` when each resample redoes the per-view work.
    evaluation_rank : int
        Metrics of one view are evaluated in increasing rank (a metric whose
        work another can reuse through the view cache goes first).
    """

    symmetric: ClassVar[bool] = True
    min_examples: ClassVar[int] = 2
    options: ClassVar[tuple[str, ...]] = ()
    resampling_cost: ClassVar[str] = "cheap"
    evaluation_rank: ClassVar[int] = 0
    name: str = ""

    @abc.abstractmethod
    def prepare(self, x: np.ndarray, cache: dict[str, Any], *, for_bootstrap: bool = True) -> Any:
        """Per-view state of ``x`` (float64, ``(n, d)``).

        ``cache`` is shared by all metrics for the same view (e.g. to compute
        one Gram matrix once); ``for_bootstrap=False`` lets a metric skip what
        only the bootstrap needs.
        """

    @abc.abstractmethod
    def evaluate(
        self,
        a: Sequence[Any],
        b: Sequence[Any] | None = None,
        *,
        permutations: np.ndarray | None = None,
        bootstraps: np.ndarray | None = None,
    ) -> PairResult:
        """Compare every state of ``a`` with every state of ``b`` (``None``: ``a`` with itself)."""

    def check_views(self, shapes: Sequence[tuple[int, int]], labels: Sequence[str]) -> None:
        """Raise :class:`DataError` if the views cannot be compared (default: no check)."""


# ---------------------------------------------------------------------------
# Compact symmetric matrices: [sqrt(2) * upper triangle, diagonal]
# ---------------------------------------------------------------------------
class _Triangle:
    """Index helpers for a symmetric ``n x n`` matrix stored as a compact vector.

    The vector holds ``sqrt(2) * A[i, j]`` for ``i < j`` followed by ``A[i, i]``
    so that the plain dot product of two vectors is the Frobenius product of
    the matrices (half the memory and work of the full matrices).
    """

    _cache: ClassVar[dict[int, _Triangle]] = {}

    def __init__(self, n: int):
        self.n = n
        self.iu, self.ju = np.triu_indices(n, k=1)
        self.m = len(self.iu)

    @classmethod
    def of(cls, n: int) -> _Triangle:
        if n not in cls._cache:
            cls._cache.clear()
            cls._cache[n] = cls(n)
        return cls._cache[n]

    def pack(self, a: np.ndarray, scale_offdiag: float = np.sqrt(2.0)) -> np.ndarray:
        out = np.empty(self.m + self.n)
        np.multiply(a[self.iu, self.ju], scale_offdiag, out=out[: self.m])
        out[self.m :] = np.diagonal(a)
        return out

    def pos(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Position in the compact vector of entry (r, c) (any order)."""
        lo = np.minimum(r, c)
        hi = np.maximum(r, c)
        n = self.n
        off = lo * (2 * n - lo - 1) // 2 + (hi - lo - 1)
        return np.where(lo == hi, self.m + lo, off)

    def permuted_index(self, perm: np.ndarray) -> np.ndarray:
        """Indices that gather the compact vector of ``A[perm][:, perm]``."""
        return np.concatenate([self.pos(perm[self.iu], perm[self.ju]), self.m + perm])

    def pair_weights(self, w: np.ndarray, diag: np.ndarray) -> np.ndarray:
        """Compact weights ``[w_i w_j (i<j), diag]`` for a weighted Frobenius product."""
        out = np.empty(self.m + self.n)
        np.multiply(w[self.iu], w[self.ju], out=out[: self.m])
        out[self.m :] = diag
        return out


def default_jobs() -> int:
    """Threads over SVCCA/PWCCA pairs when not configured: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _stack(rows: Sequence[np.ndarray]) -> np.ndarray:
    return np.ascontiguousarray(np.stack(rows)) if len(rows) else np.empty((0, 0))


def _weights(boot: np.ndarray, n: int) -> np.ndarray:
    """Multiplicity of every example in each bootstrap sample, ``(n_boot, n)``."""
    return np.stack([np.bincount(b, minlength=n) for b in boot]).astype(np.float64)


# ---------------------------------------------------------------------------
# CKA (linear and RBF kernels, biased and debiased)
# ---------------------------------------------------------------------------
@dataclass
class _FeatureState:
    xc: np.ndarray  # (n, d) centred features (float64)
    kd: np.ndarray  # (n,) squared row norms = diag of the linear Gram matrix
    n: int


@dataclass
class _CKAState:
    unit: np.ndarray  # compact centred (or U-centred) Gram, unit norm
    full: np.ndarray | None  # full raw Gram (diagonal zeroed when debiased), bootstrap only
    n: int


class _KernelCKA(SimilarityMetric):
    """CKA between views from their Gram matrices, all pairs by one product.

    Values: ``unit_a . unit_b`` where ``unit`` is the compact, unit-norm,
    centred (``debiased=False``) or U-centred (``debiased=True``) Gram matrix.
    Permutation null: gathers ``P U(K) P'`` (centring commutes with
    permutations, so the prepared states are reused). Bootstrap: the HSIC of
    a resample is a weighted sum over the original Gram entries with weights
    ``w_i w_j`` (``w`` = multiplicities), computed without building the
    resampled matrices; for the debiased estimator, pairs of copies of the
    same example are excluded like the diagonal (otherwise the duplicates of
    a bootstrap sample reintroduce the bias the estimator removes).
    """

    debiased: bool = True
    gram_max_n: int = 8192
    has_feature_form: bool = False

    def _raw_gram(self, x: np.ndarray, cache: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def prepare(self, x: np.ndarray, cache: dict[str, Any], *, for_bootstrap: bool = True) -> Any:
        n = x.shape[0]
        if self.debiased and n < 4:
            raise DataError(f"{self.name}: the debiased CKA needs n >= 4 examples, got {n}.")
        if n > self.gram_max_n:
            if not self.has_feature_form:
                raise ResourceError(
                    f"{self.name}: a view of shape {x.shape} has n = {n} > gram_max_n = {self.gram_max_n}; its "
                    f"n x n Gram matrices would need about {3 * n * n * 8 / 1e9:.1f} GB and this kernel has no "
                    "feature-space form. Use linear 'cka' (switches to the d x d form), fewer sentences, or raise "
                    "gram_max_n if memory allows."
                )
            xc = x - x.mean(axis=0)
            return _FeatureState(xc=xc, kd=np.einsum("ij,ij->i", xc, xc), n=n)
        tri = _Triangle.of(n)
        k = self._raw_gram(x, cache)
        d = center_gram(k, unbiased=self.debiased, copy=True)
        unit = tri.pack(d)
        norm = float(np.sqrt(unit @ unit))
        if not norm > 0.0:
            raise DataError(f"{self.name}: a view of shape {x.shape} has a zero centred Gram matrix "
                            "(no variation across examples); CKA is undefined.")
        unit /= norm
        if not for_bootstrap:
            return _CKAState(unit=unit, full=None, n=n)
        full = k.copy()
        if self.debiased:
            np.fill_diagonal(full, 0.0)
        return _CKAState(unit=unit, full=full, n=n)

    def evaluate(self, a, b=None, *, permutations=None, bootstraps=None) -> PairResult:
        if isinstance(a[0], _FeatureState):
            return self._evaluate_features(a, a if b is None else b, permutations, bootstraps)
        sb = a if b is None else b
        ua = _stack([s.unit for s in a])
        ub = ua if b is None else _stack([s.unit for s in sb])
        values = ua @ ub.T
        null = boot = None
        n = a[0].n
        tri = _Triangle.of(n)
        if permutations is not None:
            # Row-major (entries, views) layout: each permuted gather reads whole rows.
            # One reused gather buffer: a fresh 64 MB array per permutation costs more in page
            # faults than the gather itself.
            ubt = np.ascontiguousarray(ub.T)
            buf = np.empty_like(ubt)
            null = np.empty((len(permutations), len(a), len(sb)))
            for r, perm in enumerate(permutations):
                np.take(ubt, tri.permuted_index(np.asarray(perm)), axis=0, out=buf)
                np.matmul(ua, buf, out=null[r])
        if bootstraps is not None:
            boot = self._bootstrap(a, sb, b is None, _weights(np.asarray(bootstraps), n))
        return PairResult(values, null, boot)

    def _bootstrap(self, a, sb, same, weights) -> np.ndarray:
        """CKA of every bootstrap sample (rows of ``weights``) for all pairs at once.

        ``sum_ij W_ij K_ij L_ij = w' (K o L) w`` for every resample by one matrix
        product per pair of views; the centring terms come from the row sums
        ``K w`` (see :meth:`_centring_terms`).
        """
        fa = [s.full for s in a]
        fb = fa if same else [s.full for s in sb]

        def quad(f: np.ndarray, g: np.ndarray) -> np.ndarray:
            return np.einsum("rn,rn->r", weights @ (f * g), weights)

        la, lb = len(fa), len(fb)
        s_ab = np.empty((len(weights), la, lb))
        for i in range(la):
            for j in range(lb):
                if same and j < i:
                    s_ab[:, i, j] = s_ab[:, j, i]
                else:
                    s_ab[:, i, j] = quad(fa[i], fb[j])
        s_aa = np.stack([s_ab[:, i, i] for i in range(la)], axis=1) if same else \
            np.stack([quad(f, f) for f in fa], axis=1)
        s_bb = s_aa if same else np.stack([quad(f, f) for f in fb], axis=1)
        ra = np.stack([weights @ f for f in fa], axis=1)  # (boot, views, n): row sums K w
        rb = ra if same else np.stack([weights @ f for f in fb], axis=1)
        xy = s_ab + self._centring_terms(ra, rb, weights)
        xx = s_aa + np.einsum("rii->ri", self._centring_terms(ra, ra, weights))
        yy = xx if same else s_bb + np.einsum("rii->ri", self._centring_terms(rb, rb, weights))
        with np.errstate(invalid="ignore", divide="ignore"):
            return xy / np.sqrt(np.clip(xx, 0, None)[:, :, None] * np.clip(yy, 0, None)[:, None, :])

    def _centring_terms(self, ra: np.ndarray, rb: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """:meth:`_pair_extra` for every resample and pair at once, ``(boot, n_a, n_b)``.

        ``ra``, ``rb`` are the row sums ``K w`` of each view, ``(boot, views, n)``;
        ``m = sum(w)`` is ``n`` for every bootstrap sample.
        """
        m = float(weights[0].sum())
        pw = np.einsum("rin,rn,rjn->rij", ra, weights, rb)  # sum_k w_k (Kw)_k (Lw)_k
        ta = np.einsum("rin,rn->ri", ra, weights)[:, :, None]  # w' K w
        tb = np.einsum("rjn,rn->rj", rb, weights)[:, None, :]
        if not self.debiased:
            return -2.0 * pw / m + ta * tb / (m * m)
        m2, m12 = m - 2.0, (m - 1.0) * (m - 2.0)
        wrs, wr, ws = pw / m2**2, ta / m2, tb / m2
        t, u = ta / m12, tb / m12
        cross = -2.0 * pw / m2 + u * ta - 2.0 * pw / m2 + t * tb
        full = 2 * m * wrs + 2 * wr * ws - 2 * m * u * wr - 2 * m * t * ws + m * m * t * u
        diag = 4 * wrs - 2 * u * wr - 2 * t * ws + m * t * u
        return cross + full - diag

    # Weighted centring algebra (see the class docstring). With m = sum(w):
    # biased:   <HK'H, HL'H> = S_KL - 2 m sum_i w_i mK_i mL_i + m^2 muK muL,
    #           mK = (K w)/m, muK = w.mK / m;
    # debiased: U-centring with r = (K~ w)/(m-2), t = w.(K~ w)/((m-1)(m-2)).
    def _parts(self, rsum: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float, float]:
        m = float(w.sum())
        if self.debiased:
            total = float(w @ rsum)
            return rsum, rsum / (m - 2.0), total / ((m - 1.0) * (m - 2.0))  # type: ignore[return-value]
        mean = rsum / m
        return rsum, mean, float(w @ mean) / m  # type: ignore[return-value]

    def _pair_extra(self, pa, pb, w: np.ndarray) -> float:
        m = float(w.sum())
        ra_, r, t = pa
        rb_, s, u = pb
        if not self.debiased:
            return -2.0 * m * float(w @ (r * s)) + m * m * t * u
        wr, ws = float(w @ r), float(w @ s)
        wrs = float(w @ (r * s))
        cross = -2.0 * float(w @ (s * ra_)) + u * float(w @ ra_) - 2.0 * float(w @ (r * rb_)) + t * float(w @ rb_)
        full = 2 * m * wrs + 2 * wr * ws - 2 * m * u * wr - 2 * m * t * ws + m * m * t * u
        diag = 4 * wrs - 2 * u * wr - 2 * t * ws + m * t * u
        return cross + full - diag

    # -- feature-space form (large n): memory O(n d + d^2), no n x n matrix --
    def _feature_hsic(self, xa, kda, xb, kdb, w):
        """(weighted) n(n-3) HSIC_u or <HK'H, HL'H> of two views from their features.

        ``sum_ij W_ij K_ij L_ij = ||X' diag(w) Y||^2`` (minus the diagonal for the
        debiased estimator) and the row sums ``K w = X (X' w)``; the rest is
        the same weighted-centring algebra as the Gram form.
        """
        s = float(np.sum((xa.T @ (w[:, None] * xb)) ** 2))
        ra = xa @ (xa.T @ w)
        rb = xb @ (xb.T @ w)
        if self.debiased:
            s -= float(np.sum(w * w * kda * kdb))
            ra = ra - w * kda
            rb = rb - w * kdb
        return s + self._pair_extra(self._parts(ra, w), self._parts(rb, w), w)

    def _feature_cka(self, sa: _FeatureState, xb: np.ndarray, kdb: np.ndarray, w: np.ndarray,
                     self_a: float, self_b: float) -> float:
        xy = self._feature_hsic(sa.xc, sa.kd, xb, kdb, w)
        return xy / np.sqrt(self_a * self_b) if self_a > 0 and self_b > 0 else np.nan

    def _evaluate_features(self, a, sb, permutations, bootstraps) -> PairResult:
        n = a[0].n
        ones = np.ones(n)
        selfs_a = [self._feature_hsic(s.xc, s.kd, s.xc, s.kd, ones) for s in a]
        selfs_b = selfs_a if sb is a else [self._feature_hsic(s.xc, s.kd, s.xc, s.kd, ones) for s in sb]
        values = np.array([[self._feature_cka(s, t.xc, t.kd, ones, fa, fb) for t, fb in zip(sb, selfs_b)]
                           for s, fa in zip(a, selfs_a)])
        null = boot = None
        if permutations is not None:
            null = np.stack([
                np.array([[self._feature_cka(s, t.xc[p], t.kd[p], ones, fa, fb) for t, fb in zip(sb, selfs_b)]
                          for s, fa in zip(a, selfs_a)])
                for p in np.asarray(permutations)
            ])
        if bootstraps is not None:
            reps = []
            for w in _weights(np.asarray(bootstraps), n):
                sa_w = [self._feature_hsic(s.xc, s.kd, s.xc, s.kd, w) for s in a]
                sb_w = sa_w if sb is a else [self._feature_hsic(s.xc, s.kd, s.xc, s.kd, w) for s in sb]
                reps.append(np.array([[self._feature_cka(s, t.xc, t.kd, w, fa, fb) for t, fb in zip(sb, sb_w)]
                                      for s, fa in zip(a, sa_w)]))
            boot = np.stack(reps)
        return PairResult(values, null, boot)


@METRICS.register("cka")
class LinearCKA(_KernelCKA):
    """Linear CKA, debiased (unbiased HSIC; the default alignment estimate).

    Views with more than ``gram_max_n`` examples switch to the feature-space
    form (memory ``O(n d + d^2)`` instead of ``O(n^2)``; same values).
    """

    debiased = True
    min_examples = 4
    has_feature_form = True
    options = ("gram_max_n",)

    def __init__(self, gram_max_n: int = 8192) -> None:
        self.name = "cka"
        self.gram_max_n = int(gram_max_n)

    def _raw_gram(self, x: np.ndarray, cache: dict[str, Any]) -> np.ndarray:
        if "gram_linear" not in cache:
            xc = x - x.mean(axis=0)
            cache["gram_linear"] = xc @ xc.T
        return cache["gram_linear"]


@METRICS.register("cka_biased")
class BiasedLinearCKA(LinearCKA):
    """Linear CKA with the plain (biased) HSIC of Kornblith et al. (2019)."""

    debiased = False
    min_examples = 2

    def __init__(self, gram_max_n: int = 8192) -> None:
        self.name = "cka_biased"
        self.gram_max_n = int(gram_max_n)


@METRICS.register("rbf_cka")
class RBFCKA(_KernelCKA):
    """Debiased RBF CKA, bandwidth = ``rbf_median_fraction`` x median distance per view."""

    debiased = True
    min_examples = 4
    options = ("rbf_median_fraction", "gram_max_n")

    def __init__(self, rbf_median_fraction: float = 1.0, gram_max_n: int = 8192) -> None:
        self.name = "rbf_cka"
        self.fraction = float(rbf_median_fraction)
        self.gram_max_n = int(gram_max_n)

    def _raw_gram(self, x: np.ndarray, cache: dict[str, Any]) -> np.ndarray:
        from representations._cka import _gram_rbf

        return _gram_rbf(x, None, self.fraction, "view")


# ---------------------------------------------------------------------------
# SVCCA / PWCCA
# ---------------------------------------------------------------------------
@dataclass
class _CCAState:
    x: np.ndarray
    u: np.ndarray  # (n, k) orthonormal basis of the kept directions
    vs: np.ndarray  # (d, k) V diag(s)
    k: int
    cache: dict[Any, Any]  # the view's shared cache (pair products are kept there for the other CCA metric)


class _CCAMetric(SimilarityMetric):
    """CCA on SVD-reduced views; every pair from ``U_a' U_b``.

    One symmetric eigendecomposition of ``M M'`` (``M = U_a' U_b``, on the
    smaller side) per pair gives the canonical correlations and the rotations
    of both sides, hence SVCCA and PWCCA in both directions. Permutations
    reuse the bases (``U_b`` re-paired); each bootstrap sample recomputes
    every view's basis (expensive: see ``resampling_cost``).
    """

    options = ("cca_keep_variance", "cca_max_dims", "jobs")
    resampling_cost = "expensive"
    min_examples = 3
    weighted: bool = False

    def __init__(self, cca_keep_variance: float | None = 0.99, cca_max_dims: int | None = None,
                 jobs: int | None = None) -> None:
        self.keep_variance = cca_keep_variance
        self.max_dims = cca_max_dims
        self.jobs = jobs  # threads over pairs (None or 1: sequential)

    def prepare(self, x: np.ndarray, cache: dict[str, Any], *, for_bootstrap: bool = True) -> _CCAState:
        if "svd" not in cache:
            xc = x - x.mean(axis=0)
            cache["svd"] = singular_basis(xc)
        u, s, v = cache["svd"]
        k = n_keep(s, self.keep_variance)
        if self.max_dims is not None:
            k = min(k, int(self.max_dims))
        return _CCAState(x=x, u=u[:, :k], vs=v[:, :k] * s[:k], k=k, cache=cache)

    def _caps(self, sa: _CCAState, sb: _CCAState) -> tuple[int, int]:
        """Directions used for a pair (the small-sample cap, silently)."""
        n = sa.u.shape[0]
        if sa.k + sb.k > n - 1:
            cap = (n - 1) // 2
            return min(sa.k, cap), min(sb.k, cap)
        return sa.k, sb.k

    def _pair(self, sa: _CCAState, ub: np.ndarray, sb: _CCAState, permuted: bool) -> tuple[float, float]:
        """(value a->b, value b->a) for one pair; ``ub`` may be permuted rows of ``sb.u``."""
        n = sa.u.shape[0]
        ka, kb = cap_dims(sa.k, sb.k, n, None, self.name, f"views with {sa.k} and {sb.k} directions")
        key = ("cca_rho", id(sb.cache), ka, kb)
        if not self.weighted and not permuted and key in sa.cache:
            rho = sa.cache[key]  # computed by PWCCA of the same views (evaluated first)
            v = float(rho.mean()) if len(rho) else 0.0
            return v, v
        m = sa.u[:, :ka].T @ ub[:, :kb]
        if not self.weighted:
            lam = np.linalg.eigvalsh(m @ m.T if ka <= kb else m.T @ m)
            rho = np.sqrt(np.clip(lam, 0.0, 1.0))
            v = float(rho.mean()) if len(rho) else 0.0
            return v, v
        if ka <= kb:
            lam, a = _eigh(m @ m.T)
            rho = np.sqrt(np.clip(lam, 0.0, 1.0))
            with np.errstate(invalid="ignore", divide="ignore"):
                bmat = (m.T @ a) / np.where(rho > 0, rho, 1.0)
        else:
            lam, bmat = _eigh(m.T @ m)
            rho = np.sqrt(np.clip(lam, 0.0, 1.0))
            with np.errstate(invalid="ignore", divide="ignore"):
                a = (m @ bmat) / np.where(rho > 0, rho, 1.0)
        if not permuted:
            sa.cache[key] = rho
        alpha_a = pwcca_weights(sa.vs[:, :ka], a)
        alpha_b = pwcca_weights(sb.vs[:, :kb], bmat)
        return float(alpha_a @ rho), float(alpha_b @ rho)

    def _matrix(self, a: Sequence[_CCAState], sb: Sequence[_CCAState], same: bool,
                perm: np.ndarray | None = None) -> np.ndarray:
        out = np.empty((len(a), len(sb)))
        with threadpool_limits(1), warnings.catch_warnings(record=True) as caught:
            # small LAPACK calls: threads only add contention
            warnings.simplefilter("always", SmallSampleWarning)
            tasks = [(i, j) for i in range(len(a)) for j in range(len(sb))
                     if not (same and perm is None and j <= i)]
            if same and perm is None:
                np.fill_diagonal(out, 1.0)

            def run(task: tuple[int, int]) -> tuple[int, int, float, float]:
                # U_a' U_b of this pair only (the list-wide product would also fill the
                # lower triangle and the diagonal blocks, which are never used).
                i, j = task
                t = sb[j]
                ub = t.u if perm is None else t.u[perm]
                return (i, j, *self._pair(a[i], ub, t, perm is not None))

            jobs = default_jobs() if self.jobs is None else max(1, int(self.jobs))
            if jobs > 1 and len(tasks) > 1:
                with ThreadPoolExecutor(max_workers=jobs) as pool:
                    results = list(pool.map(run, tasks))
            else:
                results = [run(t) for t in tasks]
            for i, j, v_ab, v_ba in results:
                out[i, j] = v_ab
                if same and perm is None:
                    out[j, i] = v_ba
        reduced = [w for w in caught if issubclass(w.category, SmallSampleWarning)]
        if reduced and perm is None:
            n = a[0].u.shape[0]
            warnings.warn(
                f"SVCCA/PWCCA [{self.name}]: for {len(reduced)} pair(s) of views the kept SVD directions exceeded what "
                f"n = {n} examples support (k_a + k_b > n - 1); both were reduced to at most {(n - 1) // 2}. "
                "Canonical correlations are biased upwards unless n is much larger than the dimensions: use "
                "more sentences, a lower cca_keep_variance or cca_max_dims (the alignment table states the "
                "dimensions used per pair in dims_a, dims_b and dims_rule).",
                SmallSampleWarning,
                stacklevel=2,
            )
        for w in caught:
            if not issubclass(w.category, SmallSampleWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return out

    def evaluate(self, a, b=None, *, permutations=None, bootstraps=None) -> PairResult:
        same = b is None
        sb = a if same else b
        values = self._matrix(a, sb, same)
        dims_a = np.zeros(values.shape, dtype=np.int64)
        dims_b = np.zeros(values.shape, dtype=np.int64)
        rule = np.empty(values.shape, dtype=object)
        for i, s in enumerate(a):
            for j, t in enumerate(sb):
                dims_a[i, j], dims_b[i, j] = self._caps(s, t)
                rule[i, j] = self._rule(s, t, int(dims_a[i, j]), int(dims_b[i, j]))
        null = boot = None
        if permutations is not None:
            null = np.stack([self._matrix(a, sb, False, np.asarray(p)) for p in permutations])
        if bootstraps is not None:
            reps = []
            for idx in bootstraps:
                ra = [self.prepare(s.x[idx], {}) for s in a]
                rb = ra if same else [self.prepare(s.x[idx], {}) for s in sb]
                reps.append(self._matrix(ra, rb, same))
            boot = np.stack(reps)
        return PairResult(values, null, boot, dims_a, dims_b, rule)

    def _rule(self, sa: _CCAState, sb: _CCAState, ka: int, kb: int) -> str:
        kv = self.keep_variance
        rule = "full numerical rank" if kv is None or kv >= 1.0 else f"{kv:.4g} of the variance"
        if self.max_dims is not None:
            rule += f", at most {self.max_dims}"
        if (ka, kb) != (sa.k, sb.k):
            n = sa.u.shape[0]
            rule += (f"; capped at (n-1)//2 = {(n - 1) // 2} because {sa.k} + {sb.k} > n - 1 = {n - 1} "
                     "(more would make canonical correlations 1 by construction)")
        return rule


@METRICS.register("svcca")
class SVCCAMetric(_CCAMetric):
    """SVCCA (Raghu et al. 2017): mean canonical correlation of the top singular directions."""

    def __init__(self, cca_keep_variance: float | None = 0.99, cca_max_dims: int | None = None,
                 jobs: int | None = None) -> None:
        super().__init__(cca_keep_variance, cca_max_dims, jobs)
        self.name = "svcca"


@METRICS.register("pwcca")
class PWCCAMetric(_CCAMetric):
    """PWCCA (Morcos et al. 2018); asymmetric: weights from the first language (lang_a)."""

    symmetric = False
    weighted = True
    evaluation_rank = -1  # its canonical correlations are reused by SVCCA

    def __init__(self, cca_keep_variance: float | None = 0.99, cca_max_dims: int | None = None,
                 jobs: int | None = None) -> None:
        super().__init__(cca_keep_variance, cca_max_dims, jobs)
        self.name = "pwcca"


# ---------------------------------------------------------------------------
# Retrieval
# ---------------------------------------------------------------------------
@dataclass
class _RetrievalState:
    z: np.ndarray  # unit rows
    z32: np.ndarray  # the same in float32 (the screen of retrieval_outcomes)


@METRICS.register("retrieval")
class Retrieval(SimilarityMetric):
    """Sentence retrieval P@1 by cosine, lang_a queries -> lang_b candidates.

    Permutation null: with translations re-paired by ``perm``, query ``i`` is
    correct iff its (unique) nearest neighbour is ``perm[i]``; the nearest
    neighbours are computed once. Bootstrap: queries are resampled (the
    candidate pool stays all ``n`` sentences).
    """

    symmetric = False
    center = False

    def __init__(self) -> None:
        self.name = "retrieval"

    def check_views(self, shapes: Sequence[tuple[int, int]], labels: Sequence[str]) -> None:
        widths = {s[1] for s in shapes}
        if len(widths) > 1:
            desc = ", ".join(f"{lab} {s}" for lab, s in zip(labels, shapes))
            raise DataError(f"{self.name}: views have different widths ({desc}); cosine retrieval needs one space.")

    def prepare(self, x: np.ndarray, cache: dict[str, Any], *, for_bootstrap: bool = True) -> _RetrievalState:
        z = unit_rows(x, self.center)
        return _RetrievalState(z=z, z32=z.astype(np.float32))

    def evaluate(self, a, b=None, *, permutations=None, bootstraps=None) -> PairResult:
        same = b is None
        sb = a if same else b
        n = a[0].z.shape[0]
        idx = np.arange(n)
        na, nb = len(a), len(sb)
        # Every (query view, candidate view) cell's nearest neighbours; resamples reuse them.
        cells: list[tuple[int, int]] = []
        tops: list[np.ndarray] = []
        uniqs: list[np.ndarray] = []
        for i, s in enumerate(a):
            for j, t in enumerate(sb):
                if same and j < i:
                    continue
                if same and i == j:
                    cells.append((i, i))
                    tops.append(idx)
                    uniqs.append(np.ones(n, dtype=bool))
                    continue
                t_xy, u_xy, t_yx, u_yx = retrieval_outcomes(s.z, t.z, zx32=s.z32, zy32=t.z32)
                cells.append((i, j))
                tops.append(t_xy)
                uniqs.append(u_xy)
                if same:
                    cells.append((j, i))
                    tops.append(t_yx)
                    uniqs.append(u_yx)
        top = np.stack(tops)  # (cells, n)
        uniq = np.stack(uniqs)
        ci = np.array([c[0] for c in cells])
        cj = np.array([c[1] for c in cells])
        correct = ((top == idx[None, :]) & uniq).astype(np.float64)
        values = np.empty((na, nb))
        values[ci, cj] = correct.mean(axis=1)
        null = boot = None
        if permutations is not None:
            # The second view re-paired: query k's partner is candidate perm[k].
            perms = np.asarray(permutations)
            null = np.empty((len(perms), na, nb))
            for r, perm in enumerate(perms):
                null[r][ci, cj] = ((top == perm[None, :]) & uniq).mean(axis=1)
        if bootstraps is not None:
            # Queries resampled: the share correct, weighted by each query's multiplicity.
            counts = _weights(np.asarray(bootstraps), n)
            boot = np.empty((len(counts), na, nb))
            boot[:, ci, cj] = (counts @ correct.T) / n
        return PairResult(values, null, boot)


@METRICS.register("retrieval_centered")
class CenteredRetrieval(Retrieval):
    """Retrieval P@1 after subtracting each language's mean vector (Libovicky et al. 2020)."""

    center = True

    def __init__(self) -> None:
        self.name = "retrieval_centered"
