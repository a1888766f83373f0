"""The configuration of a probe grid (:class:`TrainConfig`), the sentence split and the classifier probes.

:data:`PROBES` holds the classifier probes by name (``linear``, ``mlp``), each a
function ``fn(X_train, heads, cfg, init, X_dev, y_dev) -> fitted`` whose
result has ``predict(X) -> list of arrays`` (one per head).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crossling.config import Interval
from crossling.errors import ConfigError
from crossling.registry import Registry
from crossling.schemas import PROBE_COLUMNS
from probes.probing._base import Head
from probes.probing._logreg import (
    LinearHeads,
    WhiteningBasis,
    fit_logreg_heads,
    whitening_basis,
)
from probes.probing._metrics import accuracy
from probes.probing._mlp import fit_mlp_heads

__all__ = ["TrainConfig", "COLUMNS", "PROBES", "split_of"]

#: Columns of the result table, in order.
COLUMNS: tuple[str, ...] = PROBE_COLUMNS

#: The splits of a probe cell, in order.
SPLITS = ("train", "dev", "test")


@dataclass
class TrainConfig:
    """Configuration of ``python -m probes.train`` (YAML keys = field names).

    Attributes
    ----------
    activations : str
        Activation store directory.
    out : str or None
        Output directory (default ``<activations>/probes``).
    tasks : list of str
        Task names (``upos``, ``deprel``, ``morph:all``, ``all``, ``module:Class``).
    layers : str
        ``all`` or e.g. ``0,6,12`` / ``0-4`` (layers of the store).
    langs : list of str
        Languages (empty = every language of the store).
    probe : list of str
        Classifier probes for classification tasks: ``linear`` and/or ``mlp``.
        Regression tasks always use ridge, ``arc`` a bilinear probe.
    control : bool
        Also fit control tasks (Hewitt and Liang 2019) and report selectivity.
    mdl : bool
        Report the online codelength (Voita and Titov 2020) of the linear probe.
    cross_lingual : bool
        Evaluate every language's probe on every other language's test split.
    random_activations : str or None
        A store of the same model with random weights (e.g. ``--model random:...``):
        the same grid is run on it, rows labelled with its model name (a control).
    random_mdl : bool
        Also compute MDL on the ``random_activations`` store (default False:
        MDL, the most expensive probe statistic, is computed for the main model only).
    C : list of float
        Inverse L2 strength of the logistic probes (scikit-learn's ``C``); with
        several values each head takes the best on the dev split.
    alphas : list of float
        Ridge penalties, chosen per target on the dev split.
    split : list of float
        Train/dev/test fractions of sentences (split by sentence id).
    seed : int
        Seed of splits, control labels, MDL order and MLPs.
    min_examples : int
        A (language, task) cell needs this many labelled training words and two
        classes; ``morph:all`` adds features carried by this many words.
    morph_missing : str
        ``exclude`` (default) or ``none`` for words without a feature.
    max_iter, tol : int, float
        L-BFGS settings: iterations, and the largest gradient component in whitened
        coordinates at which a head stops (default 1e-4 since issue 20; 1e-3 before,
        about 3x faster and 0.2 points further from the converged accuracies).
    mlp_hidden, mlp_epochs : int
        MLP probe size and training epochs.
    arc_rank, arc_steps : int
        Rank and Adam steps of the arc (head selection) probe.
    figures : bool
        Draw figures after training.
    threads : int or None
        Torch threads (MLP and arc probes).
    backend : {"local", "ray"}
        ``ray`` fits each (language, layer) cell as a Ray task (cells saved as
        in a local run; the table is identical to a local run's).
    workers : int
        CPUs of a local Ray started by the run.
    ray_address : str or None
        Address of a running Ray cluster; none starts a local one (stopped afterwards).
    progress : bool
        Show a progress bar (``--quiet`` turns it off).
    """

    activations: str = ""
    out: str | None = None
    tasks: list[str] = field(default_factory=lambda: ["upos", "deprel", "morph:all"])
    layers: str = "all"
    langs: list[str] = field(default_factory=list)
    probe: list[str] = field(default_factory=lambda: ["linear"])
    control: bool = False
    mdl: bool = False
    cross_lingual: bool = False
    random_activations: str | None = None
    random_mdl: bool = False
    C: list[float] = field(default_factory=lambda: [1.0])
    alphas: list[float] = field(default_factory=lambda: [1.0, 10.0, 100.0, 1000.0, 10000.0])
    split: list[float] = field(default_factory=lambda: [0.7, 0.1, 0.2])
    seed: int = 0
    min_examples: int = 100
    morph_missing: str = "exclude"
    max_iter: int = 100
    tol: float = 1e-4
    mlp_hidden: int = 128
    mlp_epochs: int = 10
    arc_rank: int = 64
    arc_steps: int = 150
    figures: bool = True
    threads: int | None = None
    backend: str = "local"
    workers: int = 2
    ray_address: str | None = None
    progress: bool = True

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "C": [Interval("real", 0, None, closed="neither", meaning="inverse regularisation strength")],
        "alphas": [Interval("real", 0, None, closed="left", meaning="ridge penalty")],
        "split": [Interval("real", 0, 1)],
        "seed": [Interval("int", 0, 2**32 - 1)],
        "min_examples": [Interval("int", 1, None)],
        "max_iter": [Interval("int", 1, 10**7)],
        "tol": [Interval("real", 0, None, closed="neither", meaning="stopping tolerance")],
        "mlp_hidden": [Interval("int", 1, None)],
        "mlp_epochs": [Interval("int", 1, None)],
        "arc_rank": [Interval("int", 1, None)],
        "arc_steps": [Interval("int", 1, None)],
        "threads": [Interval("int", 1, 4096), None],
        "workers": [Interval("int", 1, 4096)],
    }
    _parameter_each = ('C', 'alphas', 'split')

    def validate(self) -> None:
        from crossling._ray import check_backend

        check_backend(self.backend, self.workers)
        if not self.activations:
            raise ConfigError("No activation store given: pass --activations DIR (a python -m probes.extract output).")
        if len(self.split) != 3 or min(self.split) < 0 or self.split[0] <= 0 or self.split[2] <= 0 \
                or abs(sum(self.split) - 1.0) > 1e-6:
            raise ConfigError(f"split must be three fractions train,dev,test (train and test > 0) summing to 1, "
                              f"got {self.split}.")
        if not self.C or min(self.C) <= 0:
            raise ConfigError(f"C must be one or more positive numbers, got {self.C}.")
        if not self.alphas or min(self.alphas) < 0:
            raise ConfigError(f"alphas must be one or more numbers >= 0, got {self.alphas}.")
        for p in self.probe:
            PROBES.get(p)
        if self.morph_missing not in ("exclude", "none"):
            raise ConfigError(f"morph_missing must be 'exclude' or 'none', got {self.morph_missing!r}.")
        for name, v in (("min_examples", self.min_examples), ("max_iter", self.max_iter),
                        ("mlp_hidden", self.mlp_hidden), ("mlp_epochs", self.mlp_epochs),
                        ("arc_rank", self.arc_rank), ("arc_steps", self.arc_steps)):
            if v < 1:
                raise ConfigError(f"{name} must be >= 1, got {v}.")
        if not self.tol > 0:
            raise ConfigError(f"tol must be > 0, got {self.tol}.")

    def resolved(self) -> TrainConfig:
        """This config with every default path filled in (what is saved beside the results)."""
        return dataclasses.replace(self, out=self.out or str(Path(self.activations) / "probes"))


def split_of(sent_ids: Sequence[str], fractions: Sequence[float] = (0.7, 0.1, 0.2), seed: int = 0) -> np.ndarray:
    """Assign each sentence id to train (0), dev (1) or test (2).

    The assignment hashes ``(seed, sent_id)``, so it depends on nothing but
    the id: in a parallel corpus a sentence and its translations land in the
    same split in every language.

    Returns
    -------
    ndarray of int8, shape (n_sentences,)
    """
    cuts = np.cumsum(fractions)[:2]
    u = np.array([
        int.from_bytes(hashlib.blake2b(f"{seed}\x1f{s}".encode(), digest_size=8).digest(), "little") / 2.0**64
        for s in sent_ids
    ])
    return np.searchsorted(cuts, u, side="right").astype(np.int8)





#: Classifier probes by name: ``fn(X_train, heads, cfg, init, X_dev) -> fitted`` (``fitted.predict(X)``).
PROBES: Registry[Callable[..., Any]] = Registry("probe")


def _fit_linear_multi_c(X: np.ndarray, heads: list[Head], cfg: TrainConfig, init: Any,
                        X_dev: np.ndarray | None, y_dev: list[np.ndarray] | None,
                        basis: WhiteningBasis | None = None) -> LinearHeads:
    cs = sorted(cfg.C)
    fits = []
    fit = init if isinstance(init, LinearHeads) else None
    if basis is None:
        basis = whitening_basis(X, n_jobs=None)  # one whitening for every C
    for c in cs:
        hs = [Head(h.name, h.y, h.n_classes, c) for h in heads]
        fit = fit_logreg_heads(X, hs, init=fit, max_iter=cfg.max_iter, tol=cfg.tol, basis=basis)
        fits.append(fit)
    if len(fits) == 1 or X_dev is None or y_dev is None:
        best = fits[-1]
        best.chosen_C = [cs[-1]] * len(heads)  # type: ignore[attr-defined]
        return best
    W, b = fits[0].W.copy(), fits[0].b.copy()
    chosen = []
    preds = [f.predict(X_dev) for f in fits]
    for i in range(len(heads)):
        m = y_dev[i] >= 0
        scores = [accuracy(y_dev[i][m], p[i][m]) if m.any() else 0.0 for p in preds]
        j = int(np.nanargmax(scores)) if m.any() else len(fits) - 1
        s, e = fits[0].offsets[i], fits[0].offsets[i + 1]
        W[:, s:e], b[s:e] = fits[j].W[:, s:e], fits[j].b[s:e]
        chosen.append(cs[j])
    out = LinearHeads(W=W, b=b, heads=fits[0].heads, offsets=fits[0].offsets,
                      n_iter=sum(f.n_iter for f in fits), converged=all(f.converged for f in fits))
    out.chosen_C = chosen  # type: ignore[attr-defined]
    return out


@PROBES.register("linear")
def _linear_probe(X, heads, cfg, init=None, X_dev=None, y_dev=None, basis=None):  # type: ignore[no-untyped-def]
    """Multinomial logistic regression with L2 (all heads in one solver call; ``basis``: the
    :func:`~probes.probing.whitening_basis` of ``X`` if already computed)."""
    return _fit_linear_multi_c(X, heads, cfg, init, X_dev, y_dev, basis)


@PROBES.register("mlp")
def _mlp_probe(X, heads, cfg, init=None, X_dev=None, y_dev=None):  # type: ignore[no-untyped-def]
    """One-hidden-layer ReLU MLP per head, trained jointly with Adam."""
    return fit_mlp_heads(X, heads, hidden=cfg.mlp_hidden, epochs=cfg.mlp_epochs, seed=cfg.seed)
