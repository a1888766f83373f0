"""The arc (head selection) probe: a bilinear scorer over the words of each sentence (:func:`fit_arc_probe`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossling.errors import DataError
from probes.probing._base import _check_X
from probes.probing._threads import (
    _torch_threads,
)


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
