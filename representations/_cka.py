"""Centered kernel alignment (CKA): linear, RBF, and accumulated over minibatches.

CKA (Kornblith, Norouzi, Lee and Hinton 2019, "Similarity of Neural Network
Representations Revisited", ICML) compares two representations of the same
``n`` examples through their ``n x n`` Gram matrices ``K`` and ``L``::

    CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) * HSIC(L, L))

with the (biased) Hilbert-Schmidt independence criterion
``HSIC(K, L) = tr(K H L H) / (n - 1)**2`` and ``H = I - 11'/n`` (Gretton et
al. 2005). For linear kernels ``K = X X'`` this equals the feature-space form
``||Y_c' X_c||_F^2 / (||X_c' X_c||_F ||Y_c' Y_c||_F)`` (columns centred).

**The plain estimate is biased upwards.** With ``n`` of the order of the
number of features, unrelated data get a large CKA (about 0.6 for independent
Gaussian data at n = 500, width 768). ``debiased=True`` replaces each HSIC by
the unbiased estimator of Song, Smola, Gretton, Bedo and Borgwardt (2012,
JMLR 13, "Feature selection via dependence maximization", Theorem 2)::

    HSIC_u(K, L) = [tr(K~ L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n (n-3))

where ``K~`` is ``K`` with its diagonal set to zero, as used for CKA by
Nguyen, Raghu and Kornblith (2021, "Do Wide and Deep Networks Learn the Same
Things?", ICLR). We compute it in the equivalent U-centred form of Szekely and
Rizzo (2014, Ann. Statist. 42(6), "Partial distance correlation with methods
for dissimilarities"): ``HSIC_u(K, L) = <U(K), U(L)>_F / (n (n-3))`` with
``U(K)_ij = K_ij - r_i/(n-2) - r_j/(n-2) + t/((n-1)(n-2))`` off the diagonal
(``r`` the row sums and ``t`` the total of ``K~``) and ``U(K)_ii = 0``. The
debiased CKA of independent data is centred on 0 (it can be slightly
negative) and needs ``n >= 4``.

All arithmetic is float64 whatever the input dtype.

This module is over 600 lines on purpose: the linear, RBF and minibatch CKA
estimators (biased and debiased) share their centring and HSIC helpers, and the
equalities between the forms are easiest to check side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from crossling.errors import ConfigError, DataError, ResourceError
from representations._validation import check_matrix, check_pair, check_positive_int

__all__ = [
    "center_gram",
    "cka_from_grams",
    "gram_linear",
    "gram_rbf",
    "linear_cka",
    "minibatch_cka",
    "rbf_cka",
]

_METHODS = ("auto", "gram", "features")


# ---------------------------------------------------------------------------
# Gram matrices and centring
# ---------------------------------------------------------------------------
def gram_linear(x: Any) -> np.ndarray:
    """Linear-kernel Gram matrix ``X X'`` of the column-centred ``x``.

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features)

    Returns
    -------
    gram : ndarray of shape (n_examples, n_examples), float64

    Examples
    --------
    >>> import numpy as np
    >>> gram_linear(np.array([[1.0], [3.0]]))
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    x = check_matrix(x, where="gram_linear", min_examples=1)
    xc = x - x.mean(axis=0)
    return xc @ xc.T


def _sq_distances(xc: np.ndarray) -> np.ndarray:
    sq = np.einsum("ij,ij->i", xc, xc)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (xc @ xc.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return d2


def _median_sigma(d2: np.ndarray, fraction: float, name: str) -> float:
    n = d2.shape[0]
    iu = np.triu_indices(n, k=1)
    med = float(np.sqrt(np.median(d2[iu])))
    if not med > 0.0:
        raise DataError(
            f"rbf_cka: the median distance between distinct examples of {name} (shape {d2.shape[0]} rows) "
            "is 0 (more than half of the pairs are identical), so the median heuristic gives no bandwidth. "
            "Pass sigma explicitly or remove duplicate examples."
        )
    return fraction * med


def gram_rbf(x: Any, *, sigma: float | None = None, median_fraction: float = 1.0) -> np.ndarray:
    """RBF-kernel Gram matrix ``exp(-||x_i - x_j||^2 / (2 sigma^2))``.

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features)
    sigma : float, optional
        Bandwidth. ``None`` uses the median heuristic ``sigma = median_fraction
        * median_{i<j} ||x_i - x_j||`` (Kornblith et al. 2019 use fractions of
        the median distance; 1.0 is their default, smaller values make the
        kernel more local).
    median_fraction : float, default=1.0
        The fraction of the median pairwise distance used when ``sigma`` is None.

    Returns
    -------
    gram : ndarray of shape (n_examples, n_examples), float64

    Examples
    --------
    >>> import numpy as np
    >>> g = gram_rbf(np.array([[0.0], [1.0], [3.0]]), sigma=1.0)
    >>> round(float(g[0, 1]), 4)
    0.6065
    """
    x = check_matrix(x, where="gram_rbf", min_examples=2)
    return _gram_rbf(x, sigma, median_fraction, "x")


def _gram_rbf(x: np.ndarray, sigma: float | None, fraction: float, name: str) -> np.ndarray:
    d2 = _sq_distances(x - x.mean(axis=0))
    if sigma is None:
        if not (isinstance(fraction, (int, float)) and fraction > 0):
            raise ConfigError(f"rbf_cka: median_fraction must be a positive number, got {fraction!r}.")
        sigma = _median_sigma(d2, float(fraction), name)
    elif not (isinstance(sigma, (int, float, np.floating)) and sigma > 0 and np.isfinite(sigma)):
        raise ConfigError(f"rbf_cka: sigma must be a positive number or None (median heuristic), got {sigma!r}.")
    d2 *= -1.0 / (2.0 * float(sigma) ** 2)
    return np.exp(d2, out=d2)


def center_gram(gram: Any, *, unbiased: bool = False, copy: bool = True) -> np.ndarray:
    """Double-centre a Gram matrix, or U-centre it for the unbiased HSIC.

    Parameters
    ----------
    gram : array-like of shape (n, n)
        A symmetric Gram (kernel) matrix.
    unbiased : bool, default=False
        False: ``H K H`` with ``H = I - 11'/n``. True: the U-centring of
        Szekely and Rizzo (2014), for which ``<U(K), U(L)> / (n(n-3))`` is the
        unbiased HSIC of Song et al. (2012); needs ``n >= 4``.
    copy : bool, default=True
        False centres ``gram`` in place when it is a float64 array.

    Returns
    -------
    centred : ndarray of shape (n, n), float64

    Examples
    --------
    >>> import numpy as np
    >>> k = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> center_gram(k)
    array([[ 0.5, -0.5],
           [-0.5,  0.5]])
    """
    g = np.array(gram, dtype=np.float64, copy=copy) if copy else np.asarray(gram, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != g.shape[1]:
        raise DataError(f"center_gram: gram has shape {g.shape}; expected a square (n, n) matrix.")
    n = g.shape[0]
    if unbiased:
        if n < 4:
            raise DataError(f"center_gram: gram has shape {g.shape}; the unbiased (U-)centring needs n >= 4.")
        np.fill_diagonal(g, 0.0)
        means = g.sum(axis=0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        g -= means[:, None]
        g -= means[None, :]
        np.fill_diagonal(g, 0.0)
    else:
        means = g.mean(axis=0)
        means -= means.mean() / 2
        g -= means[:, None]
        g -= means[None, :]
    return g


def _cosine(a: np.ndarray, b: np.ndarray, where: str, names: tuple[str, str]) -> float:
    """<a, b>_F / (||a|| ||b||) with clear errors for a zero norm."""
    na = float(np.sqrt(np.vdot(a, a)))
    nb = float(np.sqrt(np.vdot(b, b)))
    for nm, v in zip(names, (na, nb)):
        if not v > 0.0:
            raise DataError(
                f"{where}: the centred Gram matrix of {nm} is zero, so CKA is undefined "
                "(no variation across examples)."
            )
    return float(np.vdot(a, b)) / (na * nb)


def cka_from_grams(k: Any, l: Any, *, debiased: bool = False) -> float:
    """CKA of two precomputed Gram matrices of the same examples.

    Parameters
    ----------
    k, l : array-like of shape (n, n)
        Gram matrices (any kernel) of the same ``n`` examples in the same order.
    debiased : bool, default=False
        Use the unbiased HSIC (Song et al. 2012); needs ``n >= 4``.

    Returns
    -------
    cka : float

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(20, 5))
    >>> round(cka_from_grams(x @ x.T, 3.0 * x @ x.T), 6)
    1.0
    """
    k = np.asarray(k, dtype=np.float64)
    l = np.asarray(l, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or l.shape != k.shape:
        raise DataError(
            f"cka_from_grams: k has shape {k.shape} and l has shape {l.shape}; both must be square (n, n) "
            "Gram matrices of the same n examples."
        )
    for nm, g in (("k", k), ("l", l)):
        if not np.isfinite(g).all():
            raise DataError(f"cka_from_grams: {nm} (shape {g.shape}) has NaN or infinite entries.")
    kc = center_gram(k, unbiased=debiased)
    lc = center_gram(l, unbiased=debiased)
    return _cosine(kc, lc, "cka_from_grams", ("k", "l"))


# ---------------------------------------------------------------------------
# Linear CKA in feature space (biased and debiased)
# ---------------------------------------------------------------------------
def _hsic_u_features(cross_sq: float, kd: np.ndarray, ld: np.ndarray, n: int) -> float:
    """n(n-3) * HSIC_u for linear kernels of column-centred data.

    With centred X, ``K~1 = -diag(K)``, so Song et al.'s formula reduces to
    ``||X'Y||^2 - kd.ld + sum(kd) sum(ld)/((n-1)(n-2)) - 2 kd.ld/(n-2)``
    where ``kd``, ``ld`` are the diagonals of the two Gram matrices.
    """
    kl = float(kd @ ld)
    return cross_sq - kl + float(kd.sum()) * float(ld.sum()) / ((n - 1) * (n - 2)) - 2.0 * kl / (n - 2)


def _linear_cka_features(xc: np.ndarray, yc: np.ndarray, debiased: bool) -> float:
    n = xc.shape[0]
    xy = float(np.sum((xc.T @ yc) ** 2))
    xx = float(np.sum((xc.T @ xc) ** 2))
    yy = float(np.sum((yc.T @ yc) ** 2))
    if debiased:
        kd = np.einsum("ij,ij->i", xc, xc)
        ld = np.einsum("ij,ij->i", yc, yc)
        xy = _hsic_u_features(xy, kd, ld, n)
        xx = _hsic_u_features(xx, kd, kd, n)
        yy = _hsic_u_features(yy, ld, ld, n)
    return _ratio(xy, xx, yy, "linear_cka", debiased, n)


def _ratio(xy: float, xx: float, yy: float, where: str, debiased: bool, n: int, shapes: str = "") -> float:
    if not (xx > 0.0 and yy > 0.0):
        what = "x" if not xx > 0.0 else "y"
        pre = f"{where}: {shapes}: " if shapes else f"{where}: "
        if debiased:
            raise DataError(
                f"{pre}the unbiased HSIC of {what} with itself is <= 0 at n = {n} examples ({what}'s features are "
                "constant, or n is too small), so the debiased CKA is undefined. Use more examples or debiased=False."
            )
        raise DataError(f"{pre}{what} has no variation across examples (every feature constant); CKA is undefined.")
    return xy / float(np.sqrt(xx * yy))


def _gram_bytes(n: int) -> int:
    return 3 * n * n * 8


def linear_cka(x: Any, y: Any, *, debiased: bool = False, method: str = "auto") -> float:
    """Linear CKA between two representations of the same examples.

    ``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` with ``K = X X'`` and
    ``L = Y Y'`` (Kornblith et al. 2019, eq. 3 and section 4). Invariant to
    orthogonal transformations and isotropic scaling of either input, not to
    arbitrary invertible linear maps.

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features_x)
    y : array-like of shape (n_examples, n_features_y)
        Row ``i`` of both is the same example. Any float dtype; computed in float64.
    debiased : bool, default=False
        Use the unbiased HSIC estimator (Song et al. 2012; Nguyen, Raghu and
        Kornblith 2021). Recommended whenever ``n`` is not much larger than the
        number of features: the plain estimate of unrelated data is far above
        0 (about 0.6 at n = 500 and width 768). Needs ``n >= 4``.
    method : {"auto", "gram", "features"}, default="auto"
        ``"gram"`` works with the ``n x n`` Gram matrices (cost ``n^2 d``,
        memory ``n^2``); ``"features"`` with the ``d x d`` cross-covariances
        (cost ``n d^2``, memory ``d^2``). Both give the same value. ``"auto"``
        picks the cheaper one that fits in the available memory.

    Returns
    -------
    cka : float
        1 for identical representations (up to rotation and scale); near 0
        (debiased) for unrelated ones.

    Raises
    ------
    DataError
        Invalid input (see :func:`~representations.check_pair`), or a zero
        self-similarity.
    ResourceError
        ``method="gram"`` at an ``n`` whose Gram matrices cannot fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 10))
    >>> q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    >>> round(linear_cka(x, 2.5 * x @ q), 6)
    1.0
    >>> abs(linear_cka(x, rng.normal(size=(200, 10)), debiased=True)) < 0.05
    True
    """
    where = "linear_cka"
    if method not in _METHODS:
        raise ConfigError(f"{where}: method must be one of {_METHODS}, got {method!r}.")
    if method == "gram" and len(np.shape(x)) == 2:
        # Refuse before converting anything: the n x n matrices are the problem.
        n0 = int(np.shape(x)[0])
        need = _gram_bytes(n0)
        avail = _available_memory()
        if avail is not None and need > avail:
            raise ResourceError(
                f"{where}: x has shape {np.shape(x)} and y has shape {np.shape(y)}: the Gram-matrix form needs "
                f"about {need / 1e9:.1f} GB for n = {n0} but about {avail / 1e9:.1f} GB is available. Use "
                "method='features' (memory d^2) or minibatch_cka for large n."
            )
    x, y = check_pair(x, y, where=where, min_examples=4 if debiased else 2)
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    if method == "auto":
        gram_cost = n * n * (x.shape[1] + y.shape[1])
        feat_cost = n * (x.shape[1] + y.shape[1]) ** 2
        avail = _available_memory()
        fits = avail is None or _gram_bytes(n) <= avail
        method = "gram" if gram_cost < feat_cost and fits else "features"
    if method == "features":
        return _linear_cka_features(xc, yc, debiased)
    k = xc @ xc.T
    l = yc @ yc.T
    if debiased:
        k = center_gram(k, unbiased=True, copy=False)
        l = center_gram(l, unbiased=True, copy=False)
    return _cosine(k, l, where, ("x", "y"))


def _available_memory() -> int | None:
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def rbf_cka(
    x: Any,
    y: Any,
    *,
    sigma: float | None = None,
    median_fraction: float = 1.0,
    debiased: bool = False,
) -> float:
    """CKA with Gaussian (RBF) kernels.

    ``K_ij = exp(-||x_i - x_j||^2 / (2 sigma_x^2))`` and likewise for ``y``
    (Kornblith et al. 2019, section 4, "RBF CKA").

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features_x)
    y : array-like of shape (n_examples, n_features_y)
    sigma : float, optional
        One bandwidth for both inputs. ``None`` (default) sets each input's
        bandwidth by the median heuristic: ``sigma = median_fraction *
        median_{i<j} ||x_i - x_j||`` (median over distinct pairs), computed
        separately for ``x`` and ``y``. Invariant to isotropic scaling then.
    median_fraction : float, default=1.0
        Fraction of the median distance (Kornblith et al. report 0.2-2; small
        fractions measure local neighbourhood structure).
    debiased : bool, default=False
        Use the unbiased HSIC (Song et al. 2012); needs ``n >= 4``.

    Returns
    -------
    cka : float

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(50, 4))
    >>> round(rbf_cka(x, 10.0 * x), 6)
    1.0
    """
    x, y = check_pair(x, y, where="rbf_cka", min_examples=4 if debiased else 2)
    k = _gram_rbf(x, sigma, median_fraction, "x")
    l = _gram_rbf(y, sigma, median_fraction, "y")
    k = center_gram(k, unbiased=debiased, copy=False)
    l = center_gram(l, unbiased=debiased, copy=False)
    return _cosine(k, l, "rbf_cka", ("x", "y"))


# ---------------------------------------------------------------------------
# Minibatch CKA
# ---------------------------------------------------------------------------
_ESTIMATORS = ("exact", "average")


def _batches(data: Any, batch_size: int, name: str) -> Iterator[Any]:
    """Rows of a 2-D array in chunks, or the items of an iterable of batches."""
    if isinstance(data, np.ndarray) or hasattr(data, "__array__") and getattr(data, "ndim", 0) == 2:
        arr = data
        if arr.ndim != 2:
            raise DataError(f"minibatch_cka: {name} has shape {arr.shape}; expected (n_examples, n_features).")
        for start in range(0, arr.shape[0], batch_size):
            yield arr[start : start + batch_size]
        return
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise DataError(
            f"minibatch_cka: {name} must be a 2-D array or an iterable of 2-D arrays, got {type(data).__name__}."
        )
    yield from data


class _Moments:
    """Running sums for the exact feature-space (debiased) linear CKA of one pair."""

    def __init__(self, dx: int, dy: int) -> None:
        self.n = 0
        self.shift_x: np.ndarray | None = None
        self.shift_y: np.ndarray | None = None
        self.sx = np.zeros(dx)
        self.sy = np.zeros(dy)
        self.cxy = np.zeros((dx, dy))
        self.cxx = np.zeros((dx, dx))
        self.cyy = np.zeros((dy, dy))
        # Moments of a_i = |x~_i|^2 and b_i = |y~_i|^2 (x~ = x - shift).
        self.a = 0.0
        self.b = 0.0
        self.aa = 0.0
        self.bb = 0.0
        self.ab = 0.0
        self.ax = np.zeros(dx)
        self.ay = np.zeros(dy)
        self.bx = np.zeros(dx)
        self.by = np.zeros(dy)

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        if self.shift_x is None:
            # Shifting by the first batch's mean keeps the sums small
            # (HSIC_u of linear kernels is translation invariant).
            self.shift_x = x.mean(axis=0)
            self.shift_y = y.mean(axis=0)
        xs = x - self.shift_x
        ys = y - self.shift_y
        a = np.einsum("ij,ij->i", xs, xs)
        b = np.einsum("ij,ij->i", ys, ys)
        self.n += x.shape[0]
        self.sx += xs.sum(axis=0)
        self.sy += ys.sum(axis=0)
        self.cxy += xs.T @ ys
        self.cxx += xs.T @ xs
        self.cyy += ys.T @ ys
        self.a += float(a.sum())
        self.b += float(b.sum())
        self.aa += float(a @ a)
        self.bb += float(b @ b)
        self.ab += float(a @ b)
        self.ax += a @ xs
        self.ay += a @ ys
        self.bx += b @ xs
        self.by += b @ ys

    @staticmethod
    def _sum_kd_ld(ab, a_y, b_x, cxy, sx, sy, a, b, mx, my, n):
        """sum_i |x~_i - mx|^2 |y~_i - my|^2 from the running sums."""
        mx2 = float(mx @ mx)
        my2 = float(my @ my)
        return (
            ab
            - 2.0 * float(my @ a_y)
            + my2 * a
            - 2.0 * float(mx @ b_x)
            + 4.0 * float(mx @ cxy @ my)
            - 2.0 * my2 * float(mx @ sx)
            + mx2 * b
            - 2.0 * mx2 * float(my @ sy)
            + n * mx2 * my2
        )

    def cka(self, debiased: bool, shapes: str = "") -> float:
        n = self.n
        mx = self.sx / n
        my = self.sy / n
        cxy = self.cxy - n * np.outer(mx, my)
        cxx = self.cxx - n * np.outer(mx, mx)
        cyy = self.cyy - n * np.outer(my, my)
        xy = float(np.sum(cxy**2))
        xx = float(np.sum(cxx**2))
        yy = float(np.sum(cyy**2))
        if debiased:
            kd_sum = self.a - n * float(mx @ mx)
            ld_sum = self.b - n * float(my @ my)
            kl = self._sum_kd_ld(self.ab, self.ay, self.bx, self.cxy, self.sx, self.sy, self.a, self.b, mx, my, n)
            kk = self._sum_kd_ld(self.aa, self.ax, self.ax, self.cxx, self.sx, self.sx, self.a, self.a, mx, mx, n)
            ll = self._sum_kd_ld(self.bb, self.by, self.by, self.cyy, self.sy, self.sy, self.b, self.b, my, my, n)
            c1 = (n - 1) * (n - 2)
            xy = xy - kl + kd_sum * ld_sum / c1 - 2.0 * kl / (n - 2)
            xx = xx - kk + kd_sum * kd_sum / c1 - 2.0 * kk / (n - 2)
            yy = yy - ll + ld_sum * ld_sum / c1 - 2.0 * ll / (n - 2)
        return _ratio(xy, xx, yy, "minibatch_cka", debiased, n, shapes)


def minibatch_cka(
    batches_x: Any,
    batches_y: Any,
    *,
    debiased: bool = True,
    estimator: str = "exact",
    batch_size: int = 4096,
) -> float:
    """Linear CKA accumulated over batches of examples, in bounded memory.

    Memory is ``O(d_x^2 + d_y^2 + d_x d_y + batch_size (d_x + d_y))`` whatever
    the number of examples, so ``n`` in the hundreds of thousands fits where
    the ``n x n`` Gram matrices (80 GB at n = 100,000) would not.

    Parameters
    ----------
    batches_x, batches_y : 2-D array or iterable of 2-D arrays
        Either whole ``(n_examples, n_features)`` arrays (NumPy memory maps
        work and are read ``batch_size`` rows at a time) or iterables yielding
        paired batches (batch ``b`` of both holds the same examples).
    debiased : bool, default=True
        Use the unbiased HSIC (Song et al. 2012).
    estimator : {"exact", "average"}, default="exact"
        ``"exact"`` accumulates the sufficient statistics of the feature-space
        form (cross-covariances, sums and the moments of the squared norms;
        single pass, numerically stabilised by shifting with the first
        batch's mean) and returns exactly ``linear_cka(X, Y,
        debiased=debiased)`` of all examples. ``"average"`` is the minibatch
        estimator of Nguyen, Raghu and Kornblith (2021, section 3.1): the
        HSIC of each batch averaged over batches, ``mean_b HSIC_u(K_b, L_b) /
        sqrt(mean_b HSIC_u(K_b, K_b) mean_b HSIC_u(L_b, L_b))``; each batch
        needs at least 4 examples and its value depends on the batching.
    batch_size : int, default=4096
        Rows per batch when whole arrays are given.

    Returns
    -------
    cka : float

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(1000, 8))
    >>> y = x @ rng.normal(size=(8, 6)) + rng.normal(size=(1000, 6))
    >>> chunks = lambda a: (a[i:i + 128] for i in range(0, len(a), 128))
    >>> bool(np.isclose(minibatch_cka(chunks(x), chunks(y)), linear_cka(x, y, debiased=True)))
    True
    """
    where = "minibatch_cka"
    if estimator not in _ESTIMATORS:
        raise ConfigError(f"{where}: estimator must be one of {_ESTIMATORS}, got {estimator!r}.")
    check_positive_int(batch_size, "batch_size", where)
    it_x = _batches(batches_x, batch_size, "batches_x")
    it_y = _batches(batches_y, batch_size, "batches_y")
    moments: _Moments | None = None
    sums = np.zeros(3)
    n_batches = 0
    n_total = 0
    dims: tuple[int, int] | None = None
    sentinel = object()
    while True:
        bx = next(it_x, sentinel)
        by = next(it_y, sentinel)
        if bx is sentinel and by is sentinel:
            break
        if bx is sentinel or by is sentinel:
            short = "batches_x" if bx is sentinel else "batches_y"
            raise DataError(
                f"{where}: {short} ran out after {n_batches} batch(es) ({n_total} examples) while the other "
                "input has more. Both inputs must yield the same batches of the same examples."
            )
        min_rows = 4 if (estimator == "average" and debiased) else 1
        x, y = check_pair(bx, by, where=f"{where} (batch {n_batches})", min_examples=min_rows,
                          check_constant=False)
        if dims is None:
            dims = (x.shape[1], y.shape[1])
            moments = _Moments(*dims) if estimator == "exact" else None
        elif (x.shape[1], y.shape[1]) != dims:
            raise DataError(
                f"{where}: batch {n_batches} has {x.shape[1]} and {y.shape[1]} features but batch 0 had "
                f"{dims[0]} and {dims[1]}. Every batch must have the same features."
            )
        if moments is not None:
            moments.add(x, y)
        else:
            xc = x - x.mean(axis=0)
            yc = y - y.mean(axis=0)
            sums += _batch_hsics(xc, yc, debiased)
        n_batches += 1
        n_total += x.shape[0]
    if n_batches == 0:
        raise DataError(f"{where}: the inputs yielded no batches. Pass at least one batch of examples.")
    if moments is not None:
        need = 4 if debiased else 2
        if n_total < need:
            dx, dy = dims or (0, 0)
            raise DataError(f"{where}: in all, x has shape ({n_total}, {dx}) and y has shape ({n_total}, {dy}): "
                            f"{n_total} example(s) but this measure needs n >= {need}. Pass more examples.")
        dx, dy = dims or (0, 0)
        return moments.cka(debiased, f"in all, x has shape ({n_total}, {dx}) and y has shape ({n_total}, {dy})")
    dx, dy = dims or (0, 0)
    return _ratio(float(sums[0]), float(sums[1]), float(sums[2]), where, debiased, n_total,
                  f"in all, x has shape ({n_total}, {dx}) and y has shape ({n_total}, {dy})")


def _batch_hsics(xc: np.ndarray, yc: np.ndarray, debiased: bool) -> np.ndarray:
    """(HSIC(K,L), HSIC(K,K), HSIC(L,L)) of one centred batch (per-pair normalised)."""
    n = xc.shape[0]
    xy = float(np.sum((xc.T @ yc) ** 2))
    xx = float(np.sum((xc.T @ xc) ** 2))
    yy = float(np.sum((yc.T @ yc) ** 2))
    if debiased:
        kd = np.einsum("ij,ij->i", xc, xc)
        ld = np.einsum("ij,ij->i", yc, yc)
        scale = 1.0 / (n * (n - 3))
        return np.array(
            [
                _hsic_u_features(xy, kd, ld, n) * scale,
                _hsic_u_features(xx, kd, kd, n) * scale,
                _hsic_u_features(yy, ld, ld, n) * scale,
            ]
        )
    scale = 1.0 / max(n - 1, 1) ** 2
    return np.array([xy, xx, yy]) * scale

