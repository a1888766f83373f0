"""One-hidden-layer MLP probes, one per head, trained together (:func:`fit_mlp_heads`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossling.errors import ConfigError
from probes.probing._base import Head, _check_X
from probes.probing._threads import (
    _torch_threads,
)


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
