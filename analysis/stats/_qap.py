"""Node-permutation (QAP) inference for regressions on ordered language pairs.

Rows are ordered pairs ``(s, t)`` of one or more blocks (tasks). A node
permutation ``pi`` of the languages maps the value of row ``(b, s, t)`` to
row ``(b, pi(s), pi(t))``: rows and columns of every block's transfer matrix
are permuted together, with the same ``pi`` in every block, which keeps every
dependence among pairs that share a language (a good source is good for every
target; ``s -> t`` and ``t -> s`` share both languages).

Two tests, both vectorised over a batch of permutations (one gather of a
``(P, N)`` row map and a few matrix products; no refit per permutation):

- :func:`mrqap_dsp`: multiple-regression QAP with Dekker, Krackhardt &
  Snijders' (2007) double semi-partialling: for each coefficient ``k`` the
  residual ``e_k`` of ``x_k`` on the other columns is permuted and the
  pivotal t-statistic of the permuted residual in ``y ~ X_-k + e_k^pi`` is the
  null draw.
- :func:`freedman_lane`: nested comparison of column blocks: the reduced
  model's residuals are permuted (Freedman & Lane 1983, with node
  permutations), the F-statistic of the added block is recomputed.

Formulas: docs/analysis.md ("Inference that respects the pairs").
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossling.errors import ConfigError, DataError

__all__ = ["NodePermuter", "mrqap_dsp", "freedman_lane", "complete_languages"]


def complete_languages(src: Sequence[str], tgt: Sequence[str], block: Sequence[str]) -> list[str]:
    """Largest language set (greedy) whose every ordered pair is present in every block.

    A language with the most missing pairs is dropped one at a time until the
    rows among the remaining languages form complete off-diagonal matrices.
    """
    src, tgt, block = (np.asarray(v).astype(str) for v in (src, tgt, block))
    langs = sorted(set(src) | set(tgt))
    blocks = sorted(set(block))
    present = set(zip(block, src, tgt))
    while len(langs) >= 2:
        miss = {lang: 0 for lang in langs}
        for b in blocks:
            for s in langs:
                for t in langs:
                    if s != t and (b, s, t) not in present:
                        miss[s] += 1
                        miss[t] += 1
        worst = max(langs, key=lambda lang: (miss[lang], lang))
        if miss[worst] == 0:
            break
        langs = [lang for lang in langs if lang != worst]
    return langs


@dataclass
class NodePermuter:
    """Row maps of node permutations over a table complete in every block.

    Parameters
    ----------
    src, tgt : array-like of str, shape (n_rows,)
    block : array-like of str, shape (n_rows,), optional
        Task of each row; the same language permutation is applied in each.

    Raises
    ------
    DataError
        If some ordered pair of the languages is missing (or repeated) in a
        block: the rows must form complete off-diagonal matrices
        (use :func:`complete_languages` first).
    """

    src: np.ndarray
    tgt: np.ndarray
    block: np.ndarray | None = None

    def __post_init__(self) -> None:
        src = np.asarray(self.src).astype(str)
        tgt = np.asarray(self.tgt).astype(str)
        block = np.zeros(len(src), dtype=int) if self.block is None else np.asarray(self.block).astype(str)
        self.langs = sorted(set(src) | set(tgt))
        li = {lang: i for i, lang in enumerate(self.langs)}
        bl, bi = np.unique(block, return_inverse=True)
        n, nb = len(self.langs), len(bl)
        self._s = np.array([li[x] for x in src])
        self._t = np.array([li[x] for x in tgt])
        self._b = bi
        lookup = np.full((nb, n, n), -1, dtype=np.int64)
        lookup[self._b, self._s, self._t] = np.arange(len(src))
        off = ~np.eye(n, dtype=bool)
        if len(src) != nb * n * (n - 1) or (lookup[:, off] < 0).any() or (self._s == self._t).any():
            raise DataError(
                f"Node permutation needs every ordered pair of the {n} languages exactly once per block "
                f"({nb} block(s), {nb * n * (n - 1)} rows expected, {len(src)} given); restrict the table "
                "with complete_languages() first."
            )
        self._lookup = lookup
        self.n_langs = n

    def groups(self) -> tuple[np.ndarray, np.ndarray]:
        """Incidence matrices of the dyadic-robust variance.

        Returns
        -------
        lang : ndarray, shape (n_rows, n_langs)
            1 where the row's source or target is the language.
        dyad : ndarray, shape (n_rows, n_dyads)
            1 where the row's unordered language pair is the dyad (both
            directions and every task).
        """
        n_rows = len(self._s)
        lang = np.zeros((n_rows, self.n_langs))
        lang[np.arange(n_rows), self._s] = 1.0
        lang[np.arange(n_rows), self._t] = 1.0
        lo, hi = np.minimum(self._s, self._t), np.maximum(self._s, self._t)
        _, d = np.unique(lo * self.n_langs + hi, return_inverse=True)
        dyad = np.zeros((n_rows, int(d.max()) + 1))
        dyad[np.arange(n_rows), d] = 1.0
        return lang, dyad

    def random_perms(self, permutations: int, rng: np.random.Generator) -> np.ndarray:
        """``(permutations, n_langs)`` random language permutations."""
        return np.argsort(rng.random((permutations, self.n_langs)), axis=1)

    def row_maps(self, perms: np.ndarray) -> np.ndarray:
        """``(P, n_rows)`` row indices: value of row ``r`` under ``pi`` is ``v[maps[p, r]]``."""
        perms = np.asarray(perms)
        return self._lookup[self._b[None, :], perms[:, self._s], perms[:, self._t]]


def _basis(X: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of ``X`` (rank-revealing QR via SVD)."""
    if X.shape[1] == 0:
        return np.zeros((X.shape[0], 0))
    u, s, _ = np.linalg.svd(X, full_matrices=False)
    keep = s > s.max() * max(X.shape) * np.finfo(float).eps
    return u[:, keep]


def _resid(Q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return v - Q @ (Q.T @ v)


def _pvalue(stat: np.ndarray, null: np.ndarray) -> np.ndarray:
    """``(1 + #{|null| >= |stat|}) / (1 + P)`` per column; ``null`` of shape (P, k)."""
    k = np.sum(np.abs(null) >= np.abs(stat)[None, :] * (1 - 1e-12), axis=0)
    return (1.0 + k) / (1.0 + null.shape[0])


def _dyadic_meat(scores: np.ndarray, groups: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Dyadic-robust meat for a batch of score matrices.

    ``scores`` of shape (B, n, q): per-row score vectors ``x_i r_i``. Rows that
    share a language (in either role, any task) are correlated:
    ``M = sum_l S_l S_l' - sum_d S_d S_d'`` with ``S_l`` the score sum over the
    rows involving language ``l`` and ``S_d`` over the rows of dyad ``d`` (a
    row pair sharing both languages is otherwise counted twice; Aronow, Samii
    & Assenova 2015). Returns (B, q, q).
    """
    lang, dyad = groups
    Sl = np.einsum("bnq,nl->blq", scores, lang)
    Sd = np.einsum("bnq,nd->bdq", scores, dyad)
    return np.einsum("blq,blr->bqr", Sl, Sl) - np.einsum("bdq,bdr->bqr", Sd, Sd)


def _robust_quadform(u: np.ndarray, meat: np.ndarray, het: np.ndarray) -> np.ndarray:
    """``u' M^-1 u`` per batch row with ``M`` made positive definite.

    The dyadic meat can be indefinite in small samples; its eigenvalues are
    floored at those of the heteroskedastic (HC0) meat's smallest eigenvalue,
    so the statistic never divides by ~0.
    """
    w, v = np.linalg.eigh((meat + np.swapaxes(meat, 1, 2)) / 2)
    floor = np.linalg.eigvalsh((het + np.swapaxes(het, 1, 2)) / 2).min(axis=1, keepdims=True)
    w = np.maximum(w, np.maximum(floor, 1e-300))
    z = np.einsum("bqr,bq->br", v, u)
    return np.sum(z * z / w, axis=1)


def _check_perm_args(y: np.ndarray, X: np.ndarray, maps: np.ndarray) -> None:
    if y.ndim != 1 or X.ndim != 2 or X.shape[0] != len(y):
        raise ConfigError(f"y must be (n,) and X (n, p) with the same n; got shapes {y.shape} and {X.shape}.")
    if maps.ndim != 2 or maps.shape[1] != len(y):
        raise ConfigError(f"maps must be (permutations, n) with n = {len(y)}; got shape {maps.shape}.")
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(X)):
        raise DataError("y and X must be finite for the permutation tests; drop incomplete pairs first.")


def mrqap_dsp(y: np.ndarray, X: np.ndarray, maps: np.ndarray, columns: Sequence[int] | None = None,
              batch: int = 256, groups: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MRQAP t-statistics and permutation p-values by double semi-partialling.

    Parameters
    ----------
    y : ndarray, shape (n,)
    X : ndarray, shape (n, p)
        Full design (intercept and task dummies included).
    maps : ndarray of int, shape (P, n)
        Row maps of node permutations (:meth:`NodePermuter.row_maps`).
    columns : list of int, optional
        Columns tested (default: all).
    groups : (lang, dyad) incidence matrices, optional
        From :meth:`NodePermuter.groups`: the t is then studentised with the
        dyadic-robust standard error (rows sharing a language are
        correlated), which keeps the test's level when languages have effects
        of their own (docs/calibration.md). None: classical OLS t.

    Returns
    -------
    t : ndarray, shape (len(columns),)
        Observed t-statistics of the full model.
    p : ndarray, shape (len(columns),)
        Two-sided permutation p-values ``(1 + #{|t*| >= |t|}) / (1 + P)``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> L = list("abcdefgh"); s, t = zip(*[(a, b) for a in L for b in L if a != b])
    >>> perm = NodePermuter(np.array(s), np.array(t))
    >>> x = rng.normal(size=len(s)); y = 0.5 * x + rng.normal(size=len(s))
    >>> X = np.column_stack([np.ones(len(s)), x])
    >>> tt, p = mrqap_dsp(y, X, perm.row_maps(perm.random_perms(199, rng)), [1], groups=perm.groups())
    >>> bool(p[0] < 0.01)
    True
    """
    y, X, maps = np.asarray(y, float), np.asarray(X, float), np.asarray(maps)
    _check_perm_args(y, X, maps)
    n, p = X.shape
    columns = list(range(p)) if columns is None else list(columns)
    dof = n - _basis(X).shape[1]  # the rank, not the column count: the language effects are collinear
    if dof < 1:
        raise DataError(
            f"The model is saturated: {n} pairs and {n - dof} independent columns (features, intercept and "
            f"language effects) leave no residual degrees of freedom for a t-statistic. Use fewer features, "
            f"more languages, or fixed_effects=False.")
    t_obs, p_out = np.empty(len(columns)), np.empty(len(columns))
    for j, k in enumerate(columns):
        Q = _basis(np.delete(X, k, axis=1))
        e = _resid(Q, X[:, k])
        yt = _resid(Q, y)
        yy = yt @ yt
        if e @ e <= 1e-12 * max(1.0, float(X[:, k] @ X[:, k])):
            t_obs[j], p_out[j] = np.nan, np.nan
            continue

        def tstat(E):
            """t of the (permuted) residual columns E (B, n) in y ~ X_-k + E."""
            Et = E - (E @ Q) @ Q.T
            ee = np.einsum("ij,ij->i", Et, Et)
            with np.errstate(divide="ignore", invalid="ignore"):
                b = (Et @ yt) / ee
                if groups is None:
                    rss = np.clip(yy - b * b * ee, 1e-300, None)
                    return b / np.sqrt(rss / dof / ee)
                r = yt[None, :] - b[:, None] * Et
                sc = (Et * r)[:, :, None]
                meat = _dyadic_meat(sc, groups)
                het = np.einsum("bnq,bnr->bqr", sc, sc)
                return np.sign(b) * np.sqrt(_robust_quadform((b * ee)[:, None], meat, het))

        t_obs[j] = tstat(e[None, :])[0]
        null = np.empty(maps.shape[0])
        for a in range(0, maps.shape[0], batch):
            null[a:a + batch] = tstat(e[maps[a:a + batch]])
        p_out[j] = np.nan if _degenerate(t_obs[j], null) else _pvalue(np.array([t_obs[j]]), null[:, None])[0]
    return t_obs, p_out


def _degenerate(observed: float, null: np.ndarray) -> bool:
    """True (and a warning) when every permutation reproduces the observed |statistic|.

    With very few languages the part of a feature left after the other
    columns can be the same under every language permutation (for example 4
    languages, two symmetric distances and source/target effects: that part
    is one direction, up to sign). The permutation distribution is then a
    point and carries no evidence either way, so the p-value is NaN rather
    than a misleading 1.
    """
    if not np.isfinite(observed) or not np.allclose(np.abs(null), abs(observed), rtol=1e-7, atol=1e-12):
        return False
    warnings.warn(
        "A permutation test is degenerate: every language permutation gives the observed statistic (too few "
        "languages for the tested part of the feature to vary), so its p-value is NaN. Add languages, test "
        "fewer features, or drop the language effects (fixed_effects=False).", UserWarning, stacklevel=3)
    return True


def freedman_lane(y: np.ndarray, X_reduced: np.ndarray, X_added: np.ndarray, maps: np.ndarray,
                  batch: int = 128, groups: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, float, int]:
    """Statistic of an added column block and its Freedman-Lane node-permutation p-value.

    Parameters
    ----------
    y : ndarray, shape (n,)
    X_reduced : ndarray, shape (n, p_r)
        Reduced design (intercept and task dummies included).
    X_added : ndarray, shape (n, q)
        Columns added by the full model.
    maps : ndarray of int, shape (P, n)
    groups : (lang, dyad) incidence matrices, optional
        Studentise with the dyadic-robust covariance: the statistic is the
        robust Wald ``W / q`` with ``W = u' M^-1 u``, ``u = A' y*`` (``A`` an
        orthonormal basis of the added block made orthogonal to the reduced
        design) and ``M`` the dyadic meat of the scores ``A_i r_i`` (``r``:
        full-model residuals). None: the classical F-statistic.

    Returns
    -------
    (stat, p, df) : float, float, int
        Classical: ``F = ((RSS_r - RSS_f) / q) / (RSS_f / (n - p_f))``.
        The p-value is ``(1 + #{stat* >= stat}) / (1 + P)`` where ``stat*``
        is the statistic of ``y* = H_r y + pi(M_r y)``; ``df = q`` (rank
        added).
    """
    y, maps = np.asarray(y, float), np.asarray(maps)
    Xr, Xa = np.asarray(X_reduced, float), np.asarray(X_added, float)
    _check_perm_args(y, np.hstack([Xr, Xa]), maps)
    Qr = _basis(Xr)
    Qf = _basis(np.hstack([Xr, Xa]))
    q = Qf.shape[1] - Qr.shape[1]
    dof = len(y) - Qf.shape[1]
    if q <= 0:
        raise DataError("The added block does not add to the reduced model's column space (collinear).")
    r = _resid(Qr, y)
    A = _basis(Xa - Qr @ (Qr.T @ Xa))  # orthonormal basis of the added block's part orthogonal to the reduced

    def stat(E):
        EF = E @ Qf
        rf = E - EF @ Qf.T
        if groups is None:
            e2 = np.einsum("ij,ij->i", E, E)
            ER = E @ Qr
            rr = e2 - np.einsum("ij,ij->i", ER, ER)
            rfs = np.einsum("ij,ij->i", rf, rf)
            with np.errstate(divide="ignore", invalid="ignore"):
                return ((rr - rfs) / q) / (np.clip(rfs, 1e-300, None) / dof)
        u = E @ A                                      # (B, q): A' y*, since A is orthogonal to the reduced space
        sc = rf[:, :, None] * A[None, :, :]            # (B, n, q)
        meat = _dyadic_meat(sc, groups)
        het = np.einsum("bnq,bnr->bqr", sc, sc)
        return _robust_quadform(u, meat, het) / q

    F = float(stat(r[None, :])[0])
    null = np.empty(maps.shape[0])
    for a in range(0, maps.shape[0], batch):
        null[a:a + batch] = stat(r[maps[a:a + batch]])
    p = np.nan if _degenerate(F, null) else float((1 + np.sum(null >= F * (1 - 1e-12))) / (1 + len(null)))
    return F, p, int(q)
