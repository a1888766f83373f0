"""Statistics on unit importances: top-k overlap between languages and the causal ablation check.

:func:`overlap_tests` compares two languages' importance vectors (top-k
Jaccard and Spearman) against permutation baselines; :func:`ablation_test`
ablates a set of units in a probe and compares the accuracy drop with random
unit sets of the same size.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from crossling.errors import ConfigError, DataError
from transfer.attribution._units import FittedProbe, top_k_units

__all__ = ["jaccard", "overlap_tests", "ablation_test", "ablation_tests"]


def jaccard(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> float:
    """``|A & B| / |A | B|`` of two unit sets (1.0 for two empty sets)."""
    sa, sb = set(np.asarray(a).tolist()), set(np.asarray(b).tolist())
    union = len(sa | sb)
    return len(sa & sb) / union if union else 1.0


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x).astype(np.float64)


def _one_blas_thread() -> Any:
    """Context limiting BLAS to one thread (small matrix products are slower with more)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


@lru_cache(maxsize=4)
def _permutations(d: int, n: int, seed: int) -> np.ndarray:
    """``n`` random permutations of ``range(d)``, shape ``(n, d)`` (cached: reused for every language pair)."""
    rng = np.random.default_rng([seed, d, n])
    out = np.argsort(rng.random((n, d)), axis=1)
    out.setflags(write=False)
    return out


def overlap_tests(imp_a: np.ndarray, imp_b: np.ndarray, k: int, *, n_perm: int = 1000,
                  seed: int = 0) -> list[dict[str, Any]]:
    """Overlap of two importance vectors against a permutation baseline.

    ``topk_jaccard``: Jaccard index of the two top-``k`` sets. Null: the second
    set replaced by ``k`` units drawn at random (without replacement), so the
    intersection size is hypergeometric; ``p_value`` is the Monte-Carlo
    ``(1 + #{null >= observed}) / (1 + n_perm)`` and ``p_exact`` the exact
    hypergeometric tail.

    ``importance_spearman``: Spearman correlation of the two vectors. Null: the
    second vector randomly permuted over units; ``p_exact`` is scipy's
    asymptotic one-sided p-value.

    Both tests are one-sided (more overlap than chance).

    Parameters
    ----------
    imp_a, imp_b : ndarray, shape (n_units,)
    k : int
    n_perm : int
    seed : int

    Returns
    -------
    list of dict
        One per metric: ``metric, value, p_value, p_exact, null_mean, null_sd``.
    """
    from scipy.stats import hypergeom, spearmanr

    a = np.asarray(imp_a, dtype=np.float64)
    b = np.asarray(imp_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise DataError(f"Importance vectors must have the same shape (n_units,); got {a.shape} and {b.shape}.")
    if n_perm < 1:
        raise ConfigError(f"n_perm must be >= 1, got {n_perm}.")
    d = len(a)
    rng = np.random.default_rng(seed)
    ta, tb = top_k_units(a, k), top_k_units(b, k)
    inter = len(np.intersect1d(ta, tb))
    jac = inter / (2 * k - inter)
    null_i = rng.hypergeometric(k, d - k, k, size=n_perm)
    null_j = null_i / (2 * k - null_i)
    rows = [{
        "metric": "topk_jaccard", "value": jac,
        "p_value": float((1 + np.sum(null_i >= inter)) / (1 + n_perm)),
        "p_exact": float(hypergeom.sf(inter - 1, d, k, k)),
        "null_mean": float(null_j.mean()), "null_sd": float(null_j.std(ddof=1)) if n_perm > 1 else float("nan"),
    }]
    ra, rb = _ranks(a), _ranks(b)
    ra_c = (ra - ra.mean()) / (ra.std() or 1.0)
    rb_c = (rb - rb.mean()) / (rb.std() or 1.0)
    rho = float(np.mean(ra_c * rb_c)) if ra.std() > 0 and rb.std() > 0 else float("nan")
    with _one_blas_thread():
        null_r = (rb_c[_permutations(d, n_perm, seed)] @ ra_c) / d
    rows.append({
        "metric": "importance_spearman", "value": rho,
        "p_value": float((1 + np.sum(null_r >= rho)) / (1 + n_perm)) if np.isfinite(rho) else float("nan"),
        "p_exact": float(spearmanr(a, b, alternative="greater").pvalue) if np.isfinite(rho) else float("nan"),
        "null_mean": float(null_r.mean()), "null_sd": float(null_r.std(ddof=1)) if n_perm > 1 else float("nan"),
    })
    return rows


# --------------------------------------------------------------------------- causal check


def _accuracy(probe: FittedProbe, Z: np.ndarray, y: np.ndarray) -> float:
    return float((probe.predict(Z) == y).mean()) if len(y) else float("nan")


def ablation_test(probe: FittedProbe, Z: np.ndarray, y: np.ndarray, units: Sequence[int] | np.ndarray, *,
                  mode: str = "mean", n_random: int = 50, seed: int = 0) -> dict[str, float]:
    """Accuracy drop of ``probe`` when ``units`` are ablated, against random units of the same number.

    Parameters
    ----------
    probe : FittedProbe
        The probe evaluated (e.g. language B's probe).
    Z : ndarray, shape (n_words, n_units)
        Its standardised test features.
    y : ndarray of int, shape (n_words,)
        Gold classes (``< 0`` = a label unseen in training: always counted wrong).
    units : sequence of int
        Units to ablate (e.g. language A's top-k).
    mode : {"mean", "zero"}
        Replace by the training mean, or by a raw activation of 0.
    n_random : int
        Random draws of ``len(units)`` units (uniform over all units).
    seed : int

    Returns
    -------
    dict
        ``accuracy`` (intact), ``accuracy_ablated``, ``drop`` (intact - ablated),
        ``null_mean``, ``null_sd`` (drops of random ablations) and ``p_value``
        ``(1 + #{random drop >= drop}) / (1 + n_random)``.
    """
    return ablation_tests(probe, Z, y, [units], mode=mode, n_random=n_random, seed=seed)[0]


def ablation_tests(probe: FittedProbe, Z: np.ndarray, y: np.ndarray,
                   unit_sets: Sequence[Sequence[int] | np.ndarray], *, mode: str = "mean", n_random: int = 50,
                   seed: int = 0) -> list[dict[str, float]]:
    """:func:`ablation_test` for several unit sets on the same probe and words.

    The random baseline of each set size is drawn once (with ``seed``) and
    shared by every set of that size, so the sets are compared with the same
    null, and the intact logits are computed once.

    Returns
    -------
    list of dict
        One :func:`ablation_test` result per unit set, in order.
    """
    Z = np.asarray(Z, dtype=np.float32)
    y = np.asarray(y)
    if Z.ndim != 2 or Z.shape[1] != probe.n_units or y.shape != (len(Z),):
        raise DataError(f"ablation_test: Z of shape {Z.shape} and y of shape {y.shape} must be "
                        f"(n, {probe.n_units}) and (n,).")
    sets = [np.asarray(u, dtype=np.int64) for u in unit_sets]
    for units in sets:
        if units.size == 0 or units.min() < 0 or units.max() >= probe.n_units:
            raise ConfigError(f"ablation_test: units must be a non-empty set of indices in [0, {probe.n_units - 1}].")
    if n_random < 1:
        raise ConfigError(f"n_random must be >= 1, got {n_random}.")
    fill = probe.ablation_values(mode)
    base = _accuracy(probe, Z, y)
    if probe.kind == "linear":
        # logits are linear in the units: subtract the ablated units' contribution, add the fill's
        # (units x words layout so that a unit set is a contiguous gather)
        W = probe.params["W"]
        Zt = np.ascontiguousarray(Z.T)
        L0t = np.ascontiguousarray(probe.logits(Z).T)

        def ablated(u: np.ndarray) -> float:
            Lt = L0t - W[u].T @ Zt[u] + (fill[u] @ W[u])[:, None]
            return float((Lt.argmax(axis=0) == y).mean()) if len(y) else float("nan")
    else:
        def ablated(u: np.ndarray) -> float:
            Za = Z.copy()
            Za[:, u] = fill[u]
            return _accuracy(probe, Za, y)

    out = []
    nulls: dict[int, np.ndarray] = {}
    with _one_blas_thread():  # many tiny products: thread start-up would dominate
        for units in sets:
            size = len(units)
            if size not in nulls:
                rng = np.random.default_rng(seed)
                nulls[size] = np.array([base - ablated(rng.choice(probe.n_units, size=size, replace=False))
                                        for _ in range(n_random)])
            null = nulls[size]
            acc = ablated(units)
            drop = base - acc
            out.append({"accuracy": base, "accuracy_ablated": acc, "drop": drop, "null_mean": float(null.mean()),
                        "null_sd": float(null.std(ddof=1)) if n_random > 1 else float("nan"),
                        "p_value": float((1 + np.sum(null >= drop - 1e-12)) / (1 + n_random))})
    return out
