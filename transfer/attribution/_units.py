"""Unit-level attribution of probes: which hidden units carry a property, in which language.

Private module of :mod:`transfer.attribution` (import the public names from there); the overlap
and ablation statistics are in ``_stats``.

A probe is refitted here from the same features, split and solver as
``python -m probes.train`` (``probes.probing.fit_logreg_heads`` on features
standardised with ``probes.probing.Standardizer``, sentence split
``probes.train.split_of``), because ``probes.train`` does not persist its
fitted probes. Everything downstream works on the *standardised* probe input
``z = (x - mean_train) / scale_train`` (shape ``(n_words, n_units)``):

* attribution baseline ``z = 0`` is the training mean of every unit (Integrated
  Gradients integrates from it; Feature Ablation replaces a unit by it);
* Integrated Gradients is invariant to that per-unit affine map, so the
  attribution of unit ``i`` is the same whether computed on ``x`` or ``z``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crossling.errors import ConfigError, DataError
from crossling.registry import Registry

__all__ = [
    "ProbeData",
    "FittedProbe",
    "PROBE_FITTERS",
    "ATTRIBUTION_METHODS",
    "TARGETS",
    "OUTPUTS",
    "fit_probe",
    "attribute_units",
    "unit_importance",
    "top_k_units",
    "probe_data_from_store",
]

#: What the attributed scalar of the probe is: the target class's log-probability
#: (default), probability, or raw logit.
OUTPUTS: tuple[str, ...] = ("log_prob", "prob", "logit")
#: Which class is explained per word: the probe's prediction or the gold label.
TARGETS: tuple[str, ...] = ("predicted", "gold")


# --------------------------------------------------------------------------- probe data and fitted probes


@dataclass
class ProbeData:
    """Features and labels of one (language, layer, task) cell, split by sentence.

    Attributes
    ----------
    X_train, X_test : ndarray of float32, shape (n_train, n_units), (n_test, n_units)
        Raw (unstandardised) word vectors.
    y_train : ndarray of int, shape (n_train,)
        Class index in ``[0, len(classes))``.
    y_test : ndarray of int, shape (n_test,)
        Class index, or ``-2`` for a label never seen in training (always an error).
    classes : list of str
        Label of each class index (the labels seen in training, sorted).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]

    def __post_init__(self) -> None:
        for name, X, y in (("train", self.X_train, self.y_train), ("test", self.X_test, self.y_test)):
            if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
                raise DataError(f"ProbeData {name}: features of shape {X.shape} and labels of shape {y.shape} "
                                f"must be (n, n_units) and (n,).")
        if self.X_train.shape[1] != self.X_test.shape[1]:
            raise DataError(f"ProbeData: train features have {self.X_train.shape[1]} units, test features "
                            f"{self.X_test.shape[1]}; they must match.")
        if len(self.y_train) and (self.y_train.min() < 0 or self.y_train.max() >= len(self.classes)):
            raise DataError(f"ProbeData: training labels must lie in [0, {len(self.classes) - 1}], got range "
                            f"[{self.y_train.min()}, {self.y_train.max()}].")

    @property
    def n_units(self) -> int:
        return int(self.X_train.shape[1])


@dataclass
class FittedProbe:
    """A trained probe on standardised features, wrappable as a torch module.

    Attributes
    ----------
    kind : str
        ``"linear"`` (multinomial logistic regression) or ``"mlp"``.
    mean, scale : ndarray of float32, shape (n_units,)
        Standardisation fitted on the training rows.
    params : dict of str to ndarray
        ``linear``: ``W`` (n_units, n_classes), ``b`` (n_classes,);
        ``mlp``: ``W1`` (n_units, hidden), ``b1``, ``W2`` (hidden, n_classes), ``b2``.
    classes : list of str
    """

    kind: str
    mean: np.ndarray
    scale: np.ndarray
    params: dict[str, np.ndarray]
    classes: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return int(self.mean.shape[0])

    def standardise(self, X: np.ndarray) -> np.ndarray:
        """``(X - mean) / scale`` as float32, shape ``(n, n_units)``."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_units:
            raise DataError(f"The probe was fitted on {self.n_units} units; got features of shape {X.shape}.")
        return (X - self.mean) / self.scale

    def module(self, output: str = "log_prob") -> Any:
        """The probe as a ``torch.nn.Module`` mapping standardised ``(n, n_units)`` to ``(n, n_classes)``."""
        return _ProbeModule(self, output)

    def logits(self, Z: np.ndarray) -> np.ndarray:
        """Class scores of standardised features ``Z``, shape ``(n, n_classes)``."""
        Z = np.asarray(Z, dtype=np.float32)
        p = self.params
        if self.kind == "mlp":
            return np.maximum(Z @ p["W1"] + p["b1"], 0.0) @ p["W2"] + p["b2"]
        return Z @ p["W"] + p["b"]

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """Predicted class index of standardised features, shape ``(n,)``."""
        return self.logits(Z).argmax(axis=1)

    def ablation_values(self, mode: str) -> np.ndarray:
        """Standardised value that replaces an ablated unit, shape ``(n_units,)``.

        ``mean``: the training mean (0 after standardisation); ``zero``: a raw
        activation of 0, i.e. ``-mean / scale``.
        """
        if mode == "mean":
            return np.zeros(self.n_units, dtype=np.float32)
        if mode == "zero":
            return (-self.mean / self.scale).astype(np.float32)
        raise ConfigError(f"ablation mode must be 'mean' or 'zero', got {mode!r}.")


def _torch_module_class() -> type:
    import torch

    class ProbeModule(torch.nn.Module):
        """A :class:`FittedProbe` as a differentiable torch module (captum's forward function)."""

        def __init__(self, probe: FittedProbe, output: str):
            super().__init__()
            if output not in OUTPUTS:
                raise ConfigError(f"output must be one of {OUTPUTS}, got {output!r}.")
            self.kind = probe.kind
            self.output = output
            for k, v in probe.params.items():
                self.register_buffer(k, torch.as_tensor(np.asarray(v, dtype=np.float32)))

        def forward(self, z: Any) -> Any:
            b = dict(self.named_buffers())
            if self.kind == "mlp":
                logits = torch.relu(z @ b["W1"] + b["b1"]) @ b["W2"] + b["b2"]
            else:
                logits = z @ b["W"] + b["b"]
            if self.output == "log_prob":
                return torch.log_softmax(logits, dim=-1)
            if self.output == "prob":
                return torch.softmax(logits, dim=-1)
            return logits

    return ProbeModule


_MODULE_CLS: type | None = None


def _ProbeModule(probe: FittedProbe, output: str) -> Any:
    global _MODULE_CLS
    if _MODULE_CLS is None:
        _MODULE_CLS = _torch_module_class()
    return _MODULE_CLS(probe, output)


#: Probe trainers by name: ``fn(Z_train, y_train, n_classes, **options) -> params`` on standardised features.
PROBE_FITTERS: Registry[Callable[..., dict[str, np.ndarray]]] = Registry("attribution probe")


@PROBE_FITTERS.register("linear")
def _fit_linear(Z: np.ndarray, y: np.ndarray, n_classes: int, *, C: float = 1.0, max_iter: int = 100,
                tol: float = 1e-4, seed: int = 0) -> dict[str, np.ndarray]:
    """L2 multinomial logistic regression, the solver of ``probes.train``'s ``linear`` probe."""
    from probes.probing import Head, fit_logreg_heads

    fit = fit_logreg_heads(Z, [Head("probe", y, n_classes, C)], max_iter=max_iter, tol=tol)
    return {"W": fit.W, "b": fit.b}


@PROBE_FITTERS.register("mlp")
def _fit_mlp(Z: np.ndarray, y: np.ndarray, n_classes: int, *, C: float = 1.0, max_iter: int = 100,
             tol: float = 1e-4, seed: int = 0, hidden: int = 128, epochs: int = 10,
             lr: float = 1e-3) -> dict[str, np.ndarray]:
    """One-hidden-layer ReLU MLP, the solver of ``probes.train``'s ``mlp`` probe."""
    from probes.probing import Head, fit_mlp_heads

    fit = fit_mlp_heads(Z, [Head("probe", y, n_classes)], hidden=hidden, epochs=epochs, lr=lr, seed=seed)
    return {"W1": fit.W1, "b1": fit.b1, "W2": fit.W2[0, :, :n_classes], "b2": fit.b2[0, :n_classes]}


def fit_probe(data: ProbeData, probe: str = "linear", **options: Any) -> FittedProbe:
    """Standardise the training features and fit the probe ``probe``.

    Parameters
    ----------
    data : ProbeData
    probe : str
        A name in :data:`PROBE_FITTERS` (``linear``, ``mlp``).
    **options
        Passed to the fitter (``C``, ``max_iter``, ``tol``, ``seed``; MLP: ``hidden``, ``epochs``).

    Returns
    -------
    FittedProbe
    """
    from probes.probing import Standardizer

    if len(data.y_train) == 0 or len(np.unique(data.y_train)) < 2:
        raise DataError(f"A probe needs training words of at least two classes; got {len(data.y_train)} words "
                        f"of {len(np.unique(data.y_train))} class(es).")
    std = Standardizer(data.X_train)
    fitter = PROBE_FITTERS.get(probe)
    params = fitter(std.transform(data.X_train), data.y_train, len(data.classes), **options)
    return FittedProbe(kind=probe, mean=std.mean_.astype(np.float32), scale=std.scale_.astype(np.float32),
                       params={k: np.asarray(v, dtype=np.float32) for k, v in params.items()},
                       classes=list(data.classes))


# --------------------------------------------------------------------------- attribution methods


#: Attribution methods by name: ``fn(module, Z, target, **options) -> (attributions (n, d), deltas or None)``.
ATTRIBUTION_METHODS: Registry[Callable[..., tuple[np.ndarray, np.ndarray | None]]] = Registry("attribution method")


@ATTRIBUTION_METHODS.register("integrated_gradients")
def _integrated_gradients(module: Any, Z: Any, target: Any, *, n_steps: int = 32, batch_size: int = 4096,
                          **_: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """captum ``IntegratedGradients`` from the training mean (z = 0), Gauss-Legendre rule."""
    import torch
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(module)
    out, deltas = [], []
    rows = max(1, batch_size // max(1, n_steps))
    for lo in range(0, len(Z), rows):
        a, d = ig.attribute(Z[lo:lo + rows], baselines=torch.zeros_like(Z[lo:lo + rows]), target=target[lo:lo + rows],
                            n_steps=n_steps, return_convergence_delta=True)
        out.append(a.detach().numpy())
        deltas.append(d.detach().numpy())
    return np.concatenate(out), np.concatenate(deltas)


@ATTRIBUTION_METHODS.register("feature_ablation")
def _feature_ablation(module: Any, Z: Any, target: Any, *, perturbations_per_eval: int = 16,
                      **_: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """captum ``FeatureAblation``: output change when one unit is replaced by its training mean (z = 0)."""
    from captum.attr import FeatureAblation

    fa = FeatureAblation(module)
    a = fa.attribute(Z, baselines=0.0, target=target, perturbations_per_eval=perturbations_per_eval)
    return a.detach().numpy(), None


def attribute_units(probe: FittedProbe, Z: np.ndarray, target: np.ndarray, *, method: str = "integrated_gradients",
                    output: str = "log_prob", **options: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-word, per-unit attributions of the probe's ``target`` class.

    Parameters
    ----------
    probe : FittedProbe
    Z : ndarray, shape (n_words, n_units)
        Standardised features (``probe.standardise(X)``).
    target : ndarray of int, shape (n_words,)
        Class explained for each word.
    method : str
        A name in :data:`ATTRIBUTION_METHODS`.
    output : {"log_prob", "prob", "logit"}
        The probe output being attributed.

    Returns
    -------
    attributions : ndarray, shape (n_words, n_units)
    deltas : ndarray, shape (n_words,) or None
        captum's convergence delta (Integrated Gradients only).
    """
    import torch

    Z = np.asarray(Z, dtype=np.float32)
    target = np.asarray(target, dtype=np.int64)
    if Z.ndim != 2 or Z.shape[1] != probe.n_units or target.shape != (len(Z),):
        raise DataError(f"attribute_units: Z of shape {Z.shape} and target of shape {target.shape} must be "
                        f"(n, {probe.n_units}) and (n,).")
    if len(target) and (target.min() < 0 or target.max() >= len(probe.classes)):
        raise DataError(f"attribute_units: target classes must lie in [0, {len(probe.classes) - 1}], "
                        f"got range [{target.min()}, {target.max()}].")
    fn = ATTRIBUTION_METHODS.get(method)
    mod = probe.module(output)
    if len(Z) == 0:
        return np.zeros((0, probe.n_units), dtype=np.float32), None
    return fn(mod, torch.from_numpy(np.ascontiguousarray(Z)), torch.from_numpy(target), **options)


def unit_importance(probe: FittedProbe, Z: np.ndarray, y: np.ndarray | None = None, *,
                    method: str = "integrated_gradients", target: str = "predicted", output: str = "log_prob",
                    **options: Any) -> tuple[np.ndarray, dict[str, float]]:
    """Importance of every hidden unit for the probe: mean ``|attribution|`` over words.

    Parameters
    ----------
    probe : FittedProbe
    Z : ndarray, shape (n_words, n_units)
        Standardised test features.
    y : ndarray of int, shape (n_words,), optional
        Gold classes (needed for ``target="gold"``; words with a label unseen in
        training, ``y < 0``, are left out).
    method, output, **options
        See :func:`attribute_units`.
    target : {"predicted", "gold"}
        Explain the predicted class of each word, or its gold class.

    Returns
    -------
    importance : ndarray of float64, shape (n_units,)
        ``mean_words |attribution[word, unit]|``.
    info : dict
        ``n_words`` used and, for Integrated Gradients, ``mean_abs_delta``.
    """
    if target not in TARGETS:
        raise ConfigError(f"target must be one of {TARGETS}, got {target!r}.")
    Z = np.asarray(Z, dtype=np.float32)
    if target == "gold":
        if y is None:
            raise ConfigError("target='gold' needs the gold labels y.")
        y = np.asarray(y)
        keep = y >= 0
        Z, t = Z[keep], y[keep]
    else:
        t = probe.predict(Z)
    if len(Z) == 0:
        raise DataError("No test word to attribute (empty test split, or no gold label seen in training).")
    attr, deltas = attribute_units(probe, Z, t, method=method, output=output, **options)
    info: dict[str, float] = {"n_words": float(len(Z))}
    if deltas is not None:
        info["mean_abs_delta"] = float(np.mean(np.abs(deltas)))
    return np.abs(attr).mean(axis=0, dtype=np.float64), info


def top_k_units(importance: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` most important units, most important first (ties: lower index first).

    Examples
    --------
    >>> top_k_units(np.array([0.1, 0.5, 0.3]), 2).tolist()
    [1, 2]
    """
    imp = np.asarray(importance, dtype=np.float64)
    if imp.ndim != 1:
        raise DataError(f"importance must be 1-D (n_units,), got shape {imp.shape}.")
    if not 1 <= k <= len(imp):
        raise ConfigError(f"k must lie in [1, {len(imp)}] (the number of units), got {k}.")
    return np.argsort(-imp, kind="stable")[:k]


# --------------------------------------------------------------------------- data from an activation store


def probe_data_from_store(store: Any, lang: str, layer: int, task: Any, *,
                          split: Sequence[float] = (0.7, 0.1, 0.2), seed: int = 0,
                          sentences: list[Any] | None = None) -> ProbeData:
    """Train and test words of one (language, layer, task) cell of an activation store.

    The split is ``probes.train.split_of`` over sentence ids (so parallel
    sentences share their split across languages, exactly as in
    ``python -m probes.train``); words cut by truncation are dropped; the dev
    part is not used.

    Parameters
    ----------
    store : probes.extraction.store.ActivationStore
    lang : str
    layer : int
    task : probes.probing.ProbeTask
        A word-level classification task.
    split : three floats
    seed : int
    sentences : list of Sentence, optional
        ``sentences_from_index(store.word_index(lang), lang)`` if already built.

    Returns
    -------
    ProbeData
    """
    from probes.probing import sentences_from_index, task_labels
    from probes.train import split_of

    if task.kind != "classification" or task.level != "word":
        raise ConfigError(f"Unit attribution needs a word-level classification task; {task.task_name!r} is "
                          f"{task.level}-level {task.kind}. Use e.g. upos, deprel or morph:Number.")
    idx = store.word_index(lang)
    sents = sentences if sentences is not None else sentences_from_index(idx, lang)
    labels = task_labels(task, sents)
    sent_split = split_of([s.sent_id for s in sents], split, seed)
    sow = np.repeat(np.arange(len(sents)), [len(s.words) for s in sents])
    part = sent_split[sow].astype(np.int8)
    if "in_window" in idx.columns:
        part[~idx["in_window"].to_numpy(dtype=bool)] = -1
    X = np.asarray(store.words(lang, layer), dtype=np.float32)
    if len(X) != len(labels):
        raise DataError(f"Store {store.path}: {lang} layer {layer} has {len(X)} word vectors but {len(labels)} "
                        "words in its index; re-extract the store.")
    has = np.array([v is not None for v in labels])
    tr = np.flatnonzero((part == 0) & has)
    te = np.flatnonzero((part == 2) & has)
    classes = sorted({str(labels[i]) for i in tr})
    lut = {c: i for i, c in enumerate(classes)}
    y_tr = np.array([lut[str(labels[i])] for i in tr], dtype=np.int64)
    y_te = np.array([lut.get(str(labels[i]), -2) for i in te], dtype=np.int64)
    return ProbeData(X[tr], y_tr, X[te], y_te, classes)
