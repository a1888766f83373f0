"""Canonical correlation analysis: SVCCA and PWCCA.

CCA finds directions ``w_x``, ``w_y`` maximising ``corr(X_c w_x, Y_c w_y)``;
the canonical correlations ``rho_1 >= rho_2 >= ...`` are the cosines of the
principal angles between the column spaces of the centred ``X_c`` and ``Y_c``
(Bjorck and Golub 1973). With orthonormal bases ``U_x``, ``U_y`` of those
spaces they are the singular values of ``U_x' U_y``, which is how they are
computed here (no covariance inversion, so no failure on rank-deficient data).

- **SVCCA** (Raghu, Gilmer, Yosinski and Sohl-Dickstein 2017, "SVCCA: Singular
  Vector Canonical Correlation Analysis for Deep Learning Dynamics and
  Interpretability", NeurIPS): keep the top singular directions of each
  input holding ``keep_variance`` of its variance, run CCA between them, and
  report the mean canonical correlation.
- **PWCCA** (Morcos, Raghu and Bengio 2018, "Insights on representational
  similarity in neural networks with canonical correlation", NeurIPS, eq. in
  section 3.3): a weighted mean ``sum_i alpha_i rho_i`` with ``alpha_i``
  proportional to ``sum_j |<h_i, x_j>|``, how much of the (centred) neurons
  ``x_j`` of the *first* input the canonical variate ``h_i`` accounts for.
  PWCCA is therefore not symmetric.

**Sample size.** Canonical correlations are biased upwards when the number of
kept directions is not small next to ``n``: when ``k_x + k_y > n - 1`` the two
subspaces of the ``(n - 1)``-dimensional space of centred examples intersect
and some correlations are 1 by construction. In that case both inputs are
reduced to their top ``(n - 1) // 2`` directions and a
:class:`SmallSampleWarning` is emitted; ``max_dims`` sets the cap explicitly.
Raghu et al. recommend many more examples than directions.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from crossling.errors import DataError
from representations._validation import check_fraction, check_pair, check_positive_int

__all__ = ["SmallSampleWarning", "canonical_correlations", "pwcca", "svcca"]

# Singular values below this fraction of the largest are treated as zero
# (numerical rank); the bases come from a symmetric eigendecomposition, whose
# accuracy on s^2 is about n * eps * s_max^2.
RANK_RTOL = 1e-6


class SmallSampleWarning(UserWarning):
    """CCA dimensions were reduced because there are too few examples."""


def _eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition, descending, with a LAPACK-driver fallback."""
    try:
        # numpy's eigh, not SciPy's: SciPy loads its own OpenBLAS lazily, and a threadpool
        # limit entered before that load does not reach it (measured: 4x slower on a busy machine).
        w, v = np.linalg.eigh(a)
    except np.linalg.LinAlgError:  # pragma: no cover - LAPACK failure is rare
        import scipy.linalg

        try:
            w, v = scipy.linalg.eigh(a, driver="ev")
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise DataError(f"eigendecomposition of a {a.shape} matrix failed ({exc}); check the input for "
                            "extreme values.") from None
    return w[::-1], v[:, ::-1]


def _svd(m: np.ndarray) -> Any:
    """Thin SVD with a fallback to the slower, more robust gesvd driver."""
    try:
        return np.linalg.svd(m, full_matrices=False)
    except np.linalg.LinAlgError:  # pragma: no cover - gesdd convergence failure is rare
        import scipy.linalg

        try:
            return scipy.linalg.svd(m, full_matrices=False, lapack_driver="gesvd")
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise DataError(f"SVD of a {m.shape} matrix failed ({exc}); check the input for extreme values.") from None


def singular_basis(xc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD ``xc = U diag(s) V'`` of a centred matrix, numerical rank only.

    Uses the eigendecomposition of the smaller of ``xc xc'`` and ``xc' xc``.

    Returns
    -------
    u : (n, r) orthonormal, s : (r,) descending, v : (d, r) orthonormal
    """
    n, d = xc.shape
    if d <= n:
        w, v = _eigh(xc.T @ xc)
        s = np.sqrt(np.clip(w, 0.0, None))
        r = int(np.sum(s > RANK_RTOL * s[0])) if s[0] > 0 else 0
        s, v = s[:r], v[:, :r]
        u = (xc @ v) / s
    else:
        w, u = _eigh(xc @ xc.T)
        s = np.sqrt(np.clip(w, 0.0, None))
        r = int(np.sum(s > RANK_RTOL * s[0])) if s[0] > 0 else 0
        s, u = s[:r], u[:, :r]
        v = (xc.T @ u) / s
    return u, s, v


def n_keep(s: np.ndarray, keep_variance: float | None) -> int:
    """Fewest top directions whose share of the variance (sum s^2) reaches ``keep_variance``."""
    if keep_variance is None or keep_variance >= 1.0:
        return len(s)
    var = s**2
    share = np.cumsum(var) / var.sum()
    return min(len(s), int(np.searchsorted(share, keep_variance - 1e-12)) + 1)


def cap_dims(kx: int, ky: int, n: int, max_dims: int | None, where: str, shapes: str) -> tuple[int, int]:
    """Apply ``max_dims`` and the small-sample cap ``k_x + k_y <= n - 1``."""
    if max_dims is not None:
        kx, ky = min(kx, max_dims), min(ky, max_dims)
    if kx + ky > n - 1:
        cap = (n - 1) // 2
        if cap < 1:
            raise DataError(
                f"{where}: {shapes}: n = {n} examples are too few for CCA (after centring they span "
                f"{n - 1} dimension(s)). Pass at least 3 examples, and many more than the kept dimensions."
            )
        warnings.warn(
            f"{where}: {shapes}: keeping {kx} + {ky} directions with only n - 1 = {n - 1} independent centred "
            f"examples would make canonical correlations 1 by construction; reduced both to {min(kx, cap)} and "
            f"{min(ky, cap)} directions. Use more examples, a lower keep_variance, or max_dims.",
            SmallSampleWarning,
            stacklevel=3,
        )
        kx, ky = min(kx, cap), min(ky, cap)
    return kx, ky


def _prepare(x: np.ndarray, keep_variance: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    xc = x - x.mean(axis=0)
    u, s, v = singular_basis(xc)
    return u, s, v, n_keep(s, keep_variance)


def _cca(ux: np.ndarray, uy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical correlations and rotations from orthonormal bases ``ux``, ``uy``."""
    a, rho, bt = _svd(ux.T @ uy)
    return np.clip(rho, 0.0, 1.0), a, bt.T


def pwcca_weights(vs: np.ndarray, a: np.ndarray) -> np.ndarray:
    """PWCCA weights of the first input (Morcos et al. 2018).

    ``vs`` is ``V diag(s)`` of the kept directions, ``(d, k)``, so that the
    centred neurons are the rows of ``vs @ U'``; ``a`` rotates the kept basis
    into the canonical variates ``h = U a``. ``X_c' h = vs @ a``, and the
    weight of variate ``i`` is ``sum_j |(X_c' h)_ji|``, normalised to sum 1.
    """
    w = np.abs(vs @ a).sum(axis=0)
    total = w.sum()
    return w / total if total > 0 else np.full(len(w), 1.0 / max(len(w), 1))


def _setup(x: Any, y: Any, where: str, keep_variance: float | None, max_dims: int | None) -> tuple:
    keep_variance = check_fraction(keep_variance, "keep_variance", where, allow_none=True)
    max_dims = check_positive_int(max_dims, "max_dims", where, allow_none=True)
    shapes = f"x has shape {np.shape(x)} and y has shape {np.shape(y)}"
    x, y = check_pair(x, y, where=where, min_examples=3)
    ux, sx, vx, kx = _prepare(x, keep_variance)
    uy, sy, vy, ky = _prepare(y, keep_variance)
    kx, ky = cap_dims(kx, ky, x.shape[0], max_dims, where, shapes)
    return ux[:, :kx], sx[:kx], vx[:, :kx], uy[:, :ky], sy[:ky], vy[:, :ky]


def canonical_correlations(
    x: Any, y: Any, *, keep_variance: float | None = None, max_dims: int | None = None
) -> np.ndarray:
    """Canonical correlations between two representations, largest first.

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features_x)
    y : array-like of shape (n_examples, n_features_y)
    keep_variance : float in (0, 1], optional
        Reduce each input to the top singular directions holding this share
        of its variance first (SVCCA's step 1). None: full numerical rank.
    max_dims : int, optional
        At most this many directions per input.

    Returns
    -------
    rho : ndarray of shape (min(k_x, k_y),)
        In [0, 1], descending.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 3))
    >>> np.round(canonical_correlations(x, x @ rng.normal(size=(3, 3))), 6)
    array([1., 1., 1.])
    """
    ux, _, _, uy, _, _ = _setup(x, y, "canonical_correlations", keep_variance, max_dims)
    return _cca(ux, uy)[0]


def svcca(
    x: Any,
    y: Any,
    *,
    keep_variance: float = 0.99,
    max_dims: int | None = None,
    return_correlations: bool = False,
) -> float | tuple[float, np.ndarray]:
    """SVCCA similarity: the mean canonical correlation of the top singular directions.

    Raghu et al. (2017): (1) centre each input and keep its top singular
    directions holding ``keep_variance`` of the variance; (2) CCA between
    the two reduced inputs; (3) summarise by the mean of the ``min(k_x, k_y)``
    canonical correlations. Symmetric; invariant to orthogonal maps and
    scaling, and with ``keep_variance=1`` to any invertible linear map.

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features_x)
    y : array-like of shape (n_examples, n_features_y)
    keep_variance : float in (0, 1], default=0.99
        Share of each input's variance kept by the SVD step.
    max_dims : int, optional
        At most this many directions per input (applied after ``keep_variance``).
    return_correlations : bool, default=False
        Also return the canonical correlations.

    Returns
    -------
    similarity : float
        In [0, 1].
    rho : ndarray of shape (min(k_x, k_y),)
        Only with ``return_correlations=True``.

    Warns
    -----
    SmallSampleWarning
        When ``k_x + k_y > n - 1`` and the dimensions were reduced.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(1000, 5))
    >>> y = x @ rng.normal(size=(5, 5))
    >>> round(svcca(x, y, keep_variance=1.0), 6)
    1.0
    >>> value, rho = svcca(x, rng.normal(size=(1000, 5)), return_correlations=True)
    >>> value < 0.2, rho.shape
    (True, (5,))
    """
    ux, _, _, uy, _, _ = _setup(x, y, "svcca", keep_variance, max_dims)
    rho = _cca(ux, uy)[0]
    value = float(rho.mean()) if len(rho) else 0.0
    return (value, rho) if return_correlations else value


def pwcca(
    x: Any,
    y: Any,
    *,
    keep_variance: float | None = None,
    max_dims: int | None = None,
    return_correlations: bool = False,
) -> float | tuple[float, np.ndarray]:
    """Projection-weighted CCA similarity (Morcos et al. 2018).

    ``PWCCA(x, y) = sum_i alpha_i rho_i`` with ``alpha_i`` proportional to
    ``sum_j |<h_i, x_j>|``: canonical correlations weighted by how much of
    ``x``'s centred neurons ``x_j`` each canonical variate ``h_i`` of ``x``
    accounts for, which down-weights the many low-variance directions that
    plain mean CCA counts equally. Not symmetric: weights come from ``x``.

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features_x)
        The representation whose neurons weight the correlations.
    y : array-like of shape (n_examples, n_features_y)
    keep_variance : float in (0, 1], optional
        Reduce each input by SVD first (as in SVCCA). None (default): full
        numerical rank, as in Morcos et al.
    max_dims : int, optional
        At most this many directions per input.
    return_correlations : bool, default=False
        Also return the canonical correlations.

    Returns
    -------
    similarity : float
        In [0, 1].
    rho : ndarray
        Only with ``return_correlations=True``.

    Warns
    -----
    SmallSampleWarning
        When ``k_x + k_y > n - 1`` and the dimensions were reduced.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(1000, 6))
    >>> round(pwcca(x, x @ rng.normal(size=(6, 6))), 6)
    1.0
    """
    ux, sx, vx, uy, _, _ = _setup(x, y, "pwcca", keep_variance, max_dims)
    rho, a, _ = _cca(ux, uy)
    if not len(rho):
        return (0.0, rho) if return_correlations else 0.0
    alpha = pwcca_weights(vx * sx, a[:, : len(rho)])
    value = float(alpha @ rho)
    return (value, rho) if return_correlations else value
