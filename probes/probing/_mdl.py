"""The online code of Voita and Titov (2020) for many heads at once (:func:`online_codelength`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from crossling.errors import ConfigError
from probes.probing._base import Head, _check_X
from probes.probing._logreg import LinearHeads, fit_logreg_heads, whitening_basis

#: Block boundaries of the online code, as fractions of the training set:
#: Voita and Titov (2020) use 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.25, 12.5, 25, 50, 100 %.
MDL_FRACTIONS: tuple[float, ...] = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.0625, 0.125, 0.25, 0.5, 1.0)


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
