"""Sentence retrieval accuracy between two languages (P@1 by cosine similarity).

For each sentence of one language, find the most similar sentence of the other
by cosine similarity; precision at 1 is the share of queries whose nearest
neighbour is their translation. It is the standard parallel-sentence retrieval
measure of the multilingual literature (BUCC/Tatoeba in Artetxe and Schwenk
2019, "Massively Multilingual Sentence Embeddings for Zero-Shot Cross-Lingual
Transfer and Beyond", TACL; XTREME, Hu et al. 2020). ``center=True`` first
subtracts each language's mean vector, which removes the language-specific
offset and markedly improves retrieval from mean-pooled encoder states
(Libovicky, Rosa and Fraser 2020, "On the Language Neutrality of Pre-trained
Multilingual Representations", Findings of EMNLP).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from representations._validation import check_pair, check_positive_int

__all__ = ["RetrievalAccuracy", "retrieval_accuracy", "retrieval_outcomes"]


class RetrievalAccuracy(NamedTuple):
    """P@1 in both directions, labelled."""

    x_to_y: float
    """Share of rows of ``x`` whose nearest row of ``y`` is their pair."""
    y_to_x: float
    """Share of rows of ``y`` whose nearest row of ``x`` is their pair."""


def unit_rows(x: np.ndarray, center: bool) -> np.ndarray:
    """Rows scaled to unit length (after subtracting the mean row if ``center``).

    A row of norm 0 stays 0: its cosine with everything is 0.
    """
    z = x - x.mean(axis=0) if center else np.array(x, dtype=np.float64, copy=True)
    norms = np.sqrt(np.einsum("ij,ij->i", z, z))
    norms[norms == 0.0] = 1.0
    z /= norms[:, None]
    return z


def retrieval_outcomes(
    zx: np.ndarray, zy: np.ndarray, *, block: int = 2048, screen: bool = True,
    zx32: np.ndarray | None = None, zy32: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest neighbours in both directions.

    With ``screen=True`` (and ``n <= SCREEN_MAX_N``) the ``n x n`` cosines are
    computed once in float32 (half the time of float64), and every query
    whose float32 best score does not beat its runner-up by more than the
    float32 rounding bound (:func:`screen_tolerance`) is recomputed in
    float64; since float32 scores are within half that bound of the exact
    ones, every other query has the same nearest neighbour, and the same
    uniqueness, as the float64 computation. ``screen=False`` is the plain
    float64 computation by blocks of queries.

    Parameters
    ----------
    zx, zy : ndarray of shape (n, d_x), (n, d_y)
        Unit rows (see :func:`unit_rows`); ``d_x == d_y``.
    block : int
        Queries per block of the float64 path (memory ``block * n`` floats).
    screen : bool, default=True
        Use the float32 screen.
    zx32, zy32 : ndarray, optional
        ``zx``, ``zy`` already cast to float32 (computed once per view by the alignment maps).

    Returns
    -------
    top_xy : (n,) int
        For each row of ``zx``, the index of its most similar row of ``zy``.
    unique_xy : (n,) bool
        Whether that best score is strictly above every other score (no tie).
    top_yx, unique_yx : the same for queries from ``zy``.
    """
    n = zx.shape[0]
    if screen and 2 <= n <= SCREEN_MAX_N:
        ax = zx.astype(np.float32) if zx32 is None else zx32
        ay = zy.astype(np.float32) if zy32 is None else zy32
        s32 = ax @ ay.T
        tol = screen_tolerance(zx.shape[1])
        t_xy, u_xy = _screened_rows(s32, zx, zy, tol)
        t_yx, u_yx = _screened_rows(np.ascontiguousarray(s32.T), zy, zx, tol)
        return t_xy, u_xy, t_yx, u_yx
    return _exact_outcomes(zx, zy, block)


SCREEN_MAX_N = 8192


def screen_tolerance(d: int) -> float:
    """Twice the float32 error bound of a cosine of two unit vectors of length ``d``.

    ``|fl32(x.y) - x.y| <= gamma_d sum_i |x_i y_i| + 2u <= (d + 2) u / (1 - d u)`` with
    ``u = 2**-24`` (Higham 2002, eq. 3.5, plus the rounding of the inputs); two
    scores further apart than twice that are ordered the same in float32 and exactly.
    """
    u = 2.0**-24
    return 2.0 * (d + 3) * u / (1.0 - (d + 3) * u) * 1.01


def _screened_rows(s32: np.ndarray, zq: np.ndarray, zc: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Best candidate per row of the float32 scores, float64 where the margin is within ``tol``."""
    b = s32.shape[0]
    rows = np.arange(b)
    top = np.argmax(s32, axis=1)
    best = s32[rows, top]
    s32[rows, top] = -np.inf
    second = s32.max(axis=1)
    s32[rows, top] = best
    uniq = np.ones(b, dtype=bool)
    close = np.flatnonzero(best.astype(np.float64) - second <= tol)
    if len(close):
        s = zq[close] @ zc.T
        mx = s.max(axis=1)
        top[close] = np.argmax(s, axis=1)
        uniq[close] = np.count_nonzero(s == mx[:, None], axis=1) == 1
    return top, uniq


def _exact_outcomes(zx: np.ndarray, zy: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Float64 nearest neighbours in both directions, by blocks of queries."""
    n = zx.shape[0]
    top_xy = np.empty(n, dtype=np.int64)
    uniq_xy = np.empty(n, dtype=bool)
    col_best = np.full(n, -np.inf)
    col_arg = np.zeros(n, dtype=np.int64)
    col_count = np.zeros(n, dtype=np.int64)
    for start in range(0, n, block):
        s = zx[start : start + block] @ zy.T  # (b, n)
        b = s.shape[0]
        # Rows (queries from x): the best score, how many candidates reach it, the first that does.
        best = s.max(axis=1)
        eq = s == best[:, None]
        r, c = np.nonzero(eq)  # row-major: the first hit of each row is its first best column
        first = np.searchsorted(r, np.arange(b))
        top_xy[start : start + b] = c[first]
        uniq_xy[start : start + b] = np.bincount(r, minlength=b) == 1
        # Columns (queries from y): the same along axis 0 (reductions, no strided argmax).
        cbest = s.max(axis=0)
        eqc = s == cbest[None, :]
        ccount = np.count_nonzero(eqc, axis=0)
        rr, cc = np.nonzero(eqc)
        carg = np.zeros(n, dtype=np.int64)
        cols_hit, first_hit = np.unique(cc, return_index=True)  # first occurrence = smallest row
        carg[cols_hit] = rr[first_hit]
        better = cbest > col_best
        tie = cbest == col_best
        col_count = np.where(better, ccount, np.where(tie, col_count + ccount, col_count))
        col_arg = np.where(better, carg + start, col_arg)
        col_best = np.where(better, cbest, col_best)
    return top_xy, uniq_xy, col_arg, col_count == 1


def retrieval_accuracy(
    x: Any, y: Any, *, center: bool = False, block: int = 2048
) -> RetrievalAccuracy:
    """Sentence retrieval P@1 by cosine similarity, in both directions.

    Row ``i`` of ``x`` and row ``i`` of ``y`` are translations. Query ``i``
    counts as correct when its translation scores strictly higher than every
    other candidate (ties count as wrong, so the result does not depend on
    the order of the rows). Chance level is ``1/n``.

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features)
    y : array-like of shape (n_examples, n_features)
        Same width (the two languages' vectors must live in one space).
    center : bool, default=False
        Subtract each language's mean vector first (Libovicky et al. 2020).
    block : int, default=2048
        Queries scored at a time; memory is ``block * n_examples`` floats.

    Returns
    -------
    RetrievalAccuracy
        ``(x_to_y, y_to_x)``, each in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(100, 16))
    >>> retrieval_accuracy(x, x + 0.01 * rng.normal(size=(100, 16)))
    RetrievalAccuracy(x_to_y=1.0, y_to_x=1.0)
    """
    from crossling.errors import DataError

    x, y = check_pair(x, y, where="retrieval_accuracy", min_examples=2)
    check_positive_int(block, "block", "retrieval_accuracy")
    if x.shape[1] != y.shape[1]:
        raise DataError(
            f"retrieval_accuracy: x has shape {x.shape} and y has shape {y.shape}: cosine retrieval needs the "
            "same number of features in both (vectors of one model's layer)."
        )
    zx, zy = unit_rows(x, center), unit_rows(y, center)
    top_xy, uq_xy, top_yx, uq_yx = retrieval_outcomes(zx, zy, block=block)
    idx = np.arange(x.shape[0])
    return RetrievalAccuracy(
        x_to_y=float(np.mean((top_xy == idx) & uq_xy)),
        y_to_x=float(np.mean((top_yx == idx) & uq_yx)),
    )
