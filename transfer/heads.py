"""Classifier heads trained on frozen features (the ``head`` regime).

A head maps features to class scores. Features are either one layer,
shape ``(n, dim)``, or every layer, shape ``(n, n_layers, dim)``, in which case
the head learns a softmax-weighted mix of the (standardised) layers
(ELMo-style scalar mix) before its linear map. Heads are registered in
:data:`HEADS`:

``softmax``
    Multinomial logistic regression trained with Adam (torch, CPU, full batch
    up to ``batch_size`` rows, minibatches above), L2-penalised. Supports the
    layer mix. A warm start continues from the current weights (few-shot
    continuation).
``mlp``
    One hidden ReLU layer (``hidden`` units) before the softmax, trained like
    ``softmax`` (Adam, L2 on both weight matrices); supports the layer mix.
``ridge``
    Closed-form ridge regression onto one-hot targets. A warm start solves
    ``min ||XW - Y||^2 + alpha ||W - W0||^2``, i.e. shrinks towards the source
    head instead of towards zero. One layer only; very fast.

Both standardise features with the statistics of the first (non-warm) fit and
keep them for warm starts, so a few-shot head sees target features through
the source's normalisation.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from crossling.config import Interval, Options, check_params
from crossling.errors import ConfigError, DataError, short_repr
from crossling.registry import Registry

__all__ = ["HEADS", "Head", "SoftmaxHead", "MLPHead", "RidgeHead", "make_head"]

#: Registry of head classes, keyed by name.
HEADS: Registry = Registry("classifier head")


def _check_xy(X: np.ndarray, y: np.ndarray) -> None:
    if X.ndim not in (2, 3):
        raise DataError(f"Features must have shape (n, dim) or (n, n_layers, dim), got {X.shape}.")
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(f"Labels of shape {y.shape} do not match features of shape {X.shape}; need ({len(X)},).")


class Head:
    """Base class: ``fit(X, y, warm_start=False)`` then ``predict(X)``.

    Parameters
    ----------
    n_classes : int
        Number of classes; labels are ``0..n_classes-1`` (``-1`` = ignore).
    seed : int
        Seed of initialisation and batch order.
    """

    supports_mix = False
    #: Declared ranges of the parameters (:func:`crossling.config.check_params`).
    _parameter_constraints: dict[str, list[Any]] = {}

    def __init__(self, n_classes: int, *, seed: int = 0, **params: Any):
        if n_classes < 2:
            raise ConfigError(f"A classifier head needs at least 2 classes, got {n_classes}.")
        self.n_classes = int(n_classes)
        self.seed = int(seed)
        self.check_params(params)
        self.params = {**self.defaults(), **params}
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Reject unknown parameters and values outside their declared range (before any cell runs)."""
        unknown = set(params) - set(cls.defaults())
        if unknown:
            raise ConfigError(
                f"Unknown parameter(s) {short_repr(sorted(map(str, unknown)))} for head {cls.__name__}; "
                f"valid: {sorted(cls.defaults())}."
            )
        check_params(params, cls._parameter_constraints, where=f"head {cls.__name__}")

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {}

    def _standardise(self, X: np.ndarray, fit: bool) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if fit or self.mean_ is None:
            self.mean_ = X.mean(axis=0, dtype=np.float64).astype(np.float32)
            self.scale_ = (X.std(axis=0, dtype=np.float64) + 1e-6).astype(np.float32)
        return (X - self.mean_) / self.scale_

    def fit(self, X: np.ndarray, y: np.ndarray, *, warm_start: bool = False) -> Head:
        raise NotImplementedError

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class ids, shape ``(n,)``."""
        if len(X) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.decision_function(X)).argmax(axis=1)

    def copy(self) -> Head:
        """An independent deep copy (to continue training without touching this head)."""
        return copy.deepcopy(self)


@HEADS.register("softmax")
class SoftmaxHead(Head):
    """Linear softmax classifier (optionally over a learned layer mix), trained with Adam.

    Parameters
    ----------
    steps : int, default=300
        Optimiser steps of a cold fit.
    warm_steps : int, default=100
        Optimiser steps of a warm-start fit (few-shot continuation).
    lr : float, default=0.01
    l2 : float, default=1e-4
        Penalty on the weight matrix (mean squared weight).
    batch_size : int, default=8192
        Full batch below this many rows.
    """

    supports_mix = True
    _parameter_constraints = {
        "steps": [Interval("int", 1, 10**7)], "warm_steps": [Interval("int", 0, 10**7)],
        "lr": [Interval("real", 0, 10, closed="right", meaning="Adam learning rate")],
        "l2": [Interval("real", 0, None, closed="left", meaning="weight penalty")],
        "batch_size": [Interval("int", 1, None)],
    }

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"steps": 300, "warm_steps": 100, "lr": 0.01, "l2": 1e-4, "batch_size": 8192}

    def __init__(self, n_classes: int, *, seed: int = 0, **params: Any):
        super().__init__(n_classes, seed=seed, **params)
        self.state_: dict[str, Any] | None = None

    def _module(self, shape: tuple[int, ...]) -> Any:
        import torch

        # shape is the per-row feature shape: (dim,) or (n_layers, dim)
        dim = shape[-1]
        n_layers = shape[0] if len(shape) == 2 else 0
        g = torch.Generator().manual_seed(self.seed)
        W = torch.nn.Parameter(torch.randn(dim, self.n_classes, generator=g) * 0.01)
        b = torch.nn.Parameter(torch.zeros(self.n_classes))
        params = {"W": W, "b": b}
        if n_layers:
            params["mix"] = torch.nn.Parameter(torch.zeros(n_layers))
        return params

    def _logits(self, params: dict[str, Any], xb: Any) -> Any:
        import torch

        if "mix" in params:
            w = torch.softmax(params["mix"], dim=0)
            xb = torch.einsum("nld,l->nd", xb, w)
        return xb @ params["W"] + params["b"]

    def fit(self, X: np.ndarray, y: np.ndarray, *, warm_start: bool = False) -> SoftmaxHead:
        """Train on ``X`` (n, dim) or (n, n_layers, dim) and labels ``y`` (n,) in ``0..C-1`` or -1."""
        import torch

        X = np.asarray(X)
        y = np.asarray(y, dtype=np.int64)
        _check_xy(X, y)
        keep = y >= 0
        X, y = X[keep], y[keep]
        if len(y) == 0:
            if warm_start and self.state_ is not None:
                return self
            raise DataError("No labelled example to train the head on (all labels are missing).")
        if y.max() >= self.n_classes:
            raise DataError(f"Label id {int(y.max())} is out of range for {self.n_classes} classes.")
        warm = warm_start and self.state_ is not None
        if warm and tuple(self.state_["shape"]) != tuple(X.shape[1:]):
            raise DataError(f"Warm start on features of shape {X.shape[1:]}, head was trained on {self.state_['shape']}.")
        Xs = self._standardise(X, fit=not warm)
        params = self._module(X.shape[1:]) if not warm else {
            k: torch.nn.Parameter(torch.as_tensor(v).clone()) for k, v in self.state_["params"].items()
        }
        opt = torch.optim.Adam(list(params.values()), lr=float(self.params["lr"]))
        steps = int(self.params["warm_steps" if warm else "steps"])
        bs = int(self.params["batch_size"])
        l2 = float(self.params["l2"])
        Xt = torch.from_numpy(np.ascontiguousarray(Xs))
        yt = torch.from_numpy(y)
        rng = np.random.default_rng(self.seed)
        n = len(yt)
        for _ in range(steps):
            if n <= bs:
                xb, yb = Xt, yt
            else:
                idx = torch.from_numpy(rng.integers(0, n, size=bs))
                xb, yb = Xt[idx], yt[idx]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(self._logits(params, xb), yb)
            loss = loss + l2 * self._penalty(params)
            loss.backward()
            opt.step()
        self.state_ = {"shape": tuple(X.shape[1:]), "params": {k: v.detach().clone() for k, v in params.items()}}
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Class scores, shape ``(n, n_classes)``."""
        import torch

        if self.state_ is None:
            raise ConfigError("The head is not fitted; call fit() first.")
        Xs = self._standardise(np.asarray(X), fit=False)
        with torch.no_grad():
            return self._logits(self.state_["params"], torch.from_numpy(np.ascontiguousarray(Xs))).numpy()

    def _penalty(self, params: dict[str, Any]) -> Any:
        return (params["W"] ** 2).sum()

    @property
    def layer_weights(self) -> np.ndarray | None:
        """Softmax mixing weights over layers, shape ``(n_layers,)``, or ``None``."""
        import torch

        if self.state_ is None or "mix" not in self.state_["params"]:
            return None
        return torch.softmax(self.state_["params"]["mix"], 0).numpy()


@HEADS.register("mlp")
class MLPHead(SoftmaxHead):
    """A one-hidden-layer perceptron head (ReLU), optionally over a learned layer mix.

    Parameters
    ----------
    hidden : int, default=256
        Hidden units.
    steps, warm_steps, lr, l2, batch_size
        As :class:`SoftmaxHead` (defaults 500, 100, 0.003, 1e-4, 8192); the
        L2 penalty applies to both weight matrices.
    """

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"steps": 500, "warm_steps": 100, "lr": 3e-3, "l2": 1e-4, "batch_size": 8192, "hidden": 256}

    _parameter_constraints = {**SoftmaxHead._parameter_constraints, "hidden": [Interval("int", 1, 10**6)]}

    def _module(self, shape: tuple[int, ...]) -> Any:
        import torch

        params = super()._module(shape)
        dim, hidden = shape[-1], int(self.params["hidden"])
        g = torch.Generator().manual_seed(self.seed + 1)
        params["W1"] = torch.nn.Parameter(torch.randn(dim, hidden, generator=g) * (2.0 / dim) ** 0.5)
        params["b1"] = torch.nn.Parameter(torch.zeros(hidden))
        params["W"] = torch.nn.Parameter(torch.randn(hidden, self.n_classes, generator=g) * 0.01)
        return params

    def _logits(self, params: dict[str, Any], xb: Any) -> Any:
        import torch

        if "mix" in params:
            xb = torch.einsum("nld,l->nd", xb, torch.softmax(params["mix"], dim=0))
        return torch.relu(xb @ params["W1"] + params["b1"]) @ params["W"] + params["b"]

    def _penalty(self, params: dict[str, Any]) -> Any:
        return (params["W"] ** 2).sum() + (params["W1"] ** 2).sum()


@HEADS.register("ridge")
class RidgeHead(Head):
    """Closed-form ridge classifier; a warm start shrinks towards the previous weights.

    The solution depends on the data only through the sufficient statistics
    ``G = [X, 1]^T [X, 1]`` and ``B = [X, 1]^T Y`` of the *raw* features, so a
    warm start can also be given precomputed statistics
    (:meth:`fit_stats`): the few-shot cells of a target reuse one pass over
    its shots for every source (the source's standardisation is applied to the
    statistics, not to the data).

    Parameters
    ----------
    alpha : float, default=10.0
        Ridge penalty (on standardised features).
    warm : {"joint", "prior"}, default="joint"
        What a warm start (few-shot) does. ``joint``: refit on the source's
        statistics plus the new examples' (``target_weight`` times), i.e. joint
        training on source and target examples. ``prior``: fit the new
        examples only, shrunk towards the source weights
        (``min ||X W - Y||^2 + alpha ||W - W_src||^2``).
    target_weight : float, default=1.0
        Weight of each new example relative to a source example in ``joint``.
    """

    _parameter_constraints = {
        "alpha": [Interval("real", 0, None, closed="left", meaning="ridge penalty; a negative one gives "
                                                                    "meaningless accuracies")],
        "warm": [Options(("joint", "prior"))],
        "target_weight": [Interval("real", 0, None, closed="neither")],
    }

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"alpha": 10.0, "warm": "joint", "target_weight": 1.0}

    def __init__(self, n_classes: int, *, seed: int = 0, **params: Any):
        super().__init__(n_classes, seed=seed, **params)
        self.W_: np.ndarray | None = None
        self.G0_: np.ndarray | None = None
        self.B0_: np.ndarray | None = None

    def stats(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw sufficient statistics ``(G, B)`` of shapes ``(dim+1, dim+1)`` and ``(dim+1, n_classes)``."""
        X = np.asarray(X)
        y = np.asarray(y, dtype=np.int64)
        _check_xy(X, y)
        if X.ndim == 3:
            raise ConfigError("The 'ridge' head takes one layer; use head 'softmax' for layer: mix.")
        keep = y >= 0
        Xb = np.hstack([np.asarray(X[keep], dtype=np.float64), np.ones((int(keep.sum()), 1))])
        Y = np.zeros((len(Xb), self.n_classes))
        Y[np.arange(len(Xb)), y[keep]] = 1.0
        return Xb.T @ Xb, Xb.T @ Y

    def fit(self, X: np.ndarray, y: np.ndarray, *, warm_start: bool = False) -> RidgeHead:
        """Solve for the weights on ``X`` (n, dim) and ``y`` (n,)."""
        X = np.asarray(X)
        y = np.asarray(y, dtype=np.int64)
        _check_xy(X, y)
        if X.ndim == 3:
            raise ConfigError("The 'ridge' head takes one layer; use head 'softmax' for layer: mix.")
        warm = warm_start and self.W_ is not None
        if not np.any(y >= 0):
            if warm:
                return self
            raise DataError("No labelled example to train the head on (all labels are missing).")
        if not warm:
            self._standardise(X[y >= 0], fit=True)
        G, B = self.stats(X, y)
        if not warm:
            self.G0_, self.B0_ = G, B
        return self.fit_stats(G, B, warm_start=warm)

    def fit_stats(self, G: np.ndarray, B: np.ndarray, *, warm_start: bool = True) -> RidgeHead:
        """Solve from raw statistics (see :meth:`stats`); needs the standardisation of a previous fit."""
        if self.mean_ is None or self.scale_ is None:
            raise ConfigError("fit_stats needs a fitted head (its standardisation); call fit() first.")
        d = len(self.mean_)
        if G.shape != (d + 1, d + 1) or B.shape != (d + 1, self.n_classes):
            raise DataError(f"Statistics of shapes {G.shape}, {B.shape} do not match a head of dim {d} "
                            f"and {self.n_classes} classes.")
        # [Xs, 1] = [X, 1] T with T = [[diag(1/s), 0], [-m/s, 1]]
        inv = 1.0 / self.scale_.astype(np.float64)
        T = np.zeros((d + 1, d + 1))
        T[np.arange(d), np.arange(d)] = inv
        T[d, :d] = -self.mean_.astype(np.float64) * inv
        T[d, d] = 1.0
        alpha = float(self.params["alpha"])
        mode = str(self.params["warm"])
        if mode not in ("joint", "prior"):
            raise ConfigError(f"The ridge head's 'warm' parameter must be 'joint' or 'prior', got {mode!r}.")
        warm = warm_start and self.W_ is not None
        if warm and mode == "joint":
            if getattr(self, "G0_", None) is None:
                raise ConfigError("warm: joint needs the source statistics of a previous fit(); call fit() first.")
            w = float(self.params["target_weight"])
            G, B = self.G0_ + w * G, self.B0_ + w * B
        A = T.T @ G @ T + alpha * np.eye(d + 1)
        rhs = T.T @ B
        if warm and mode == "prior":
            rhs = rhs + alpha * self.W_
        self.W_ = np.linalg.solve(A, rhs)
        self._folded = None
        return self

    def _fold(self) -> tuple[np.ndarray, np.ndarray]:
        """Weights and bias on raw features (standardisation folded in), float32."""
        if getattr(self, "_folded", None) is None:
            inv = 1.0 / self.scale_.astype(np.float64)
            Wx = self.W_[:-1] * inv[:, None]
            b = self.W_[-1] - (self.mean_.astype(np.float64) * inv) @ self.W_[:-1]
            self._folded = (Wx.astype(np.float32), b.astype(np.float32))
        return self._folded

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Class scores, shape ``(n, n_classes)``."""
        if self.W_ is None:
            raise ConfigError("The head is not fitted; call fit() first.")
        Wx, b = self._fold()
        return np.asarray(X, dtype=np.float32) @ Wx + b


def make_head(name: str, n_classes: int, *, seed: int, params: dict[str, Any] | None = None) -> Head:
    """Instantiate the registered head ``name`` with ``params``."""
    cls = HEADS.get(name)
    return cls(n_classes, seed=seed, **(params or {}))
