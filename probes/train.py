"""Train probes over a whole (language x layer x task) grid: ``python -m probes.train``.

Reads an activation store (``python -m probes.extract``), turns its word index
into labels with the probe tasks of :mod:`probes.tasks`, and fits, for every
language and layer, all tasks' probes on the same standardised features in
one solver call (:mod:`probes.probing`). Writes one tidy table
``probes.parquet`` / ``probes.csv`` with columns

    model, layer, lang, task, probe, metric, value, n_train, n_test, train_lang, test_lang

plus ``config.yaml`` (the resolved config), ``skipped.csv`` (language/task
cells without enough data) and figures (``figures/``). See docs/probes.md.

Example::

    python -m probes.train --activations runs/pud-e5 --tasks upos,deprel,morph:all \\
        --layers all --probe linear --control --mdl --cross-lingual
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossling.schemas import PROBE_COLUMNS
from crossling.config import Interval, load_config, save_config
from crossling.errors import ConfigError, DataError, StoreError
from crossling.io import atomic_save, atomic_write_text, remove_stale_temps, sha256_file
from probes.probing import (
    Head,
    LinearHeads,
    Standardizer,
    WhiteningBasis,
    _single_blas,
    accuracy,
    fit_arc_probe,
    fit_logreg_heads,
    fit_mlp_heads,
    fit_ridge,
    macro_f1,
    online_codelength,
    r2_score,
    whitening_basis,
)
from crossling.registry import Registry
from probes.tasks import (
    ProbeTask,
    control_labels,
    resolve_tasks,
    sentences_from_index,
    task_labels,
)
from crossling.types import Sentence

__all__ = [
    "TrainConfig",
    "COLUMNS",
    "PROBES",
    "split_of",
    "train_grid",
    "main",
]

log = logging.getLogger(__name__)

#: Columns of the result table, in order.
COLUMNS: tuple[str, ...] = PROBE_COLUMNS

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


# --------------------------------------------------------------------------- splits


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


# --------------------------------------------------------------------------- classifier probes


@dataclass
class _ClfFit:
    """A fitted multi-head classifier with a ``predict(X) -> list`` method."""

    model: Any

    def predict(self, X: np.ndarray) -> list[np.ndarray]:
        return self.model.predict(X)


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


# --------------------------------------------------------------------------- per-language data


@dataclass
class _TaskData:
    """Labels of one task in one language, coded for the probe."""

    task: ProbeTask
    raw: list[Any]
    y: np.ndarray  # global code (classification) or float (regression) or head index (arc); -1 / nan excluded
    control: np.ndarray | None = None
    local: np.ndarray | None = None  # global code -> local class (classes seen in training), -1 otherwise
    n_local: int = 0
    eligible: bool = True
    reason: str = ""


@dataclass
class _LangData:
    lang: str
    sentences: list[Sentence]
    split: np.ndarray  # per word: 0 train, 1 dev, 2 test, -1 unusable
    sent_split: np.ndarray
    sent_of_word: np.ndarray
    tasks: dict[str, _TaskData] = field(default_factory=dict)

    def rows(self, part: int) -> np.ndarray:
        return np.flatnonzero(self.split == part)


def _prepare(store: Any, langs: list[str], cfg: TrainConfig,
             on_splits: Callable[[dict[str, _LangData]], None] | None = None
             ) -> tuple[dict[str, _LangData], list[ProbeTask], dict[str, list[str]], list[dict[str, Any]]]:
    """Sentences, splits and task labels of every language (``on_splits(lds)`` is called as soon as
    the splits are known, before the labels are computed)."""
    sents: dict[str, list[Sentence]] = {}
    lds: dict[str, _LangData] = {}
    for lang in langs:
        idx = store.word_index(lang)
        ss = sentences_from_index(idx, lang)
        sents[lang] = ss
        sent_split = split_of([s.sent_id for s in ss], cfg.split, cfg.seed)
        n_words = np.array([len(s.words) for s in ss])
        sow = np.repeat(np.arange(len(ss)), n_words)
        wsplit = sent_split[sow].astype(np.int8)
        if "in_window" in idx.columns:
            wsplit[~idx["in_window"].to_numpy(dtype=bool)] = -1
        lds[lang] = _LangData(lang, ss, wsplit, sent_split, sow)
    if on_splits is not None:
        on_splits(lds)
    tasks = resolve_tasks(cfg.tasks, sents, min_examples=cfg.min_examples, missing=cfg.morph_missing)
    vocab: dict[str, list[str]] = {}
    skipped: list[dict[str, Any]] = []
    for task in tasks:
        if task.level != "word":
            continue
        name = task.task_name
        raws = {lang: task_labels(task, lds[lang].sentences) for lang in langs}
        if task.kind == "classification":
            labs = sorted({str(v) for r in raws.values() for v in r if v is not None})
            if task.label_set is not None:
                extra = sorted(set(labs) - set(task.label_set))
                if extra:
                    raise ConfigError(f"Probe task {name!r} returned labels {extra[:5]} outside its declared "
                                      f"label_set {task.label_set}.")
                labs = sorted(set(task.label_set))
            vocab[name] = labs
            lut = {v: i for i, v in enumerate(labs)}
        for lang in langs:
            ld = lds[lang]
            raw = raws[lang]
            if task.kind == "classification":
                y = np.array([-1 if v is None else lut[str(v)] for v in raw], dtype=np.int64)
            elif task.kind == "regression":
                y = np.array([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
            else:
                y = np.array([-1 if v is None else int(v) for v in raw], dtype=np.int64)
            td = _TaskData(task, raw, y)
            usable = ld.split >= 0
            lab = (y >= 0) if task.kind != "regression" else np.isfinite(y)
            tr = lab & (ld.split == 0)
            te = lab & (ld.split == 2)
            if tr.sum() < cfg.min_examples or te.sum() == 0:
                td.eligible, td.reason = False, f"{int(tr.sum())} labelled training words, {int(te.sum())} test words"
            elif task.kind == "classification":
                present = np.unique(y[tr])
                if len(present) < 2:
                    td.eligible, td.reason = False, f"one class in training ({vocab[name][present[0]]!r})"
                local = np.full(len(vocab[name]), -1, dtype=np.int64)
                local[present] = np.arange(len(present))
                td.local, td.n_local = local, len(present)
            elif task.kind == "regression" and np.nanstd(y[tr]) == 0:
                td.eligible, td.reason = False, "constant target in training"
            if td.eligible and cfg.control and task.kind != "arc":
                ctrl = control_labels(task, ld.sentences, raw, seed=cfg.seed)
                if task.kind == "classification":
                    td.control = np.array([-1 if v is None else lut[str(v)] for v in ctrl], dtype=np.int64)
                else:
                    td.control = np.array([np.nan if v is None else float(v) for v in ctrl])
            y_masked = y.copy()
            if task.kind == "regression":
                y_masked[~usable] = np.nan
            else:
                y_masked[~usable] = -1
            td.y = y_masked
            if not td.eligible:
                skipped.append({"lang": lang, "task": name, "reason": td.reason})
            ld.tasks[name] = td
    return lds, tasks, vocab, skipped


def _local_y(td: _TaskData, y: np.ndarray) -> np.ndarray:
    """Global codes -> local head classes; -1 stays -1, classes unseen in training become -2."""
    if td.local is None:
        raise ConfigError(f"Task {td.task.task_name!r} has no class mapping (it is not a classification task).")
    out = np.where(y >= 0, td.local[np.clip(y, 0, None)], -1)
    out[(y >= 0) & (out < 0)] = -2
    return out


# --------------------------------------------------------------------------- the grid


class _Rows:
    def __init__(self, model: str):
        self.model = model
        self.rows: list[tuple[Any, ...]] = []

    def add(self, layer: int, lang: str, task: str, probe: str, metric: str, value: float, n_train: int,
            n_test: int, train_lang: str | None = None, test_lang: str | None = None) -> None:
        self.rows.append((self.model, int(layer), lang, task, probe, metric, float(value), int(n_train), int(n_test),
                          train_lang or lang, test_lang or lang))


def _score(rows: _Rows, layer: int, lang: str, task: str, probe: str, y: np.ndarray, pred: np.ndarray,
           n_train: int, prefix: str = "", train_lang: str | None = None) -> float:
    m = y != -1
    yt, pt = y[m], pred[m]
    unseen = max(int(pt.max(initial=0)), int(yt.max(initial=0))) + 1
    yt = np.where(yt < 0, unseen, yt)  # classes unseen in training: a code the probe never predicts
    acc = accuracy(yt, pt)
    rows.add(layer, lang, task, probe, prefix + "accuracy", acc, n_train, len(yt), train_lang, lang)
    if not prefix:
        rows.add(layer, lang, task, probe, "macro_f1", macro_f1(yt, pt), n_train, len(yt), train_lang, lang)
    return acc


def _spearman(y: np.ndarray, p: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(y) < 3 or np.std(y) == 0 or np.std(p) == 0:
        return float("nan")
    return float(spearmanr(y, p).statistic)


class _Cells:
    """Finished cells of a grid on disk, so that a killed run resumes where it stopped.

    One JSON file per (layer, language) cell - its result rows and a SHA-256
    of them - under ``<out>/cells/<plan>/<store>/``, where ``<plan>`` hashes
    every setting that changes results and ``<store>`` the store's
    fingerprint (model, corpus hash, extraction plan, creation time): a rerun
    with other settings or another store never reuses a cell. The linear
    probe of a cell (standardiser and weights, for cross-lingual transfer
    and later use) goes beside it as ``.npz``, its SHA-256 recorded in the
    JSON. Files are written atomically (temp file + rename); a file whose
    checksum does not match is reported by name, never read as data.
    """

    def __init__(self, out: Path, plan: str, store: Any):
        fp = {"model": store.model, "corpus": store.manifest.get("corpus", {}).get("hash"),
              "plan": store.manifest.get("plan"), "created": store.manifest.get("created"),
              "prefix": store.manifest.get("prefix")}
        tag = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]
        self.dir = out / "cells" / plan / tag

    def _json(self, layer: int, lang: str) -> Path:
        return self.dir / f"L{layer:03d}.{lang}.json"

    def _npz(self, layer: int, lang: str) -> Path:
        return self.dir / f"L{layer:03d}.{lang}.npz"

    @staticmethod
    def _digest(rows: list[list[Any]]) -> str:
        return hashlib.sha256(json.dumps(rows, allow_nan=True).encode()).hexdigest()

    def exists(self, layer: int, lang: str) -> bool:
        """Whether the cell's file is on disk (:meth:`load` still checks it)."""
        return self._json(layer, lang).is_file()

    def load(self, layer: int, lang: str, *, with_probe: bool = False
             ) -> tuple[list[tuple[Any, ...]], dict[str, np.ndarray] | None] | None:
        """A finished cell's rows and (with ``with_probe``) its saved linear probe; None if not on disk.

        Both are verified against their SHA-256 (the probe's is recorded in the cell file).
        """
        p = self._json(layer, lang)
        if not p.is_file():
            return None
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            rows, digest = doc["rows"], doc["sha256"]
        except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise StoreError(f"Probe cell file {str(p)!r} is unreadable ({type(exc).__name__}: {exc}); delete it "
                             "and rerun to recompute that cell.") from None
        if self._digest(rows) != digest:
            raise StoreError(f"Probe cell file {str(p)!r} fails its SHA-256 check (the file was changed or "
                             "damaged); delete it and rerun to recompute that cell.")
        probe = None
        want = doc.get("probe_sha256")
        if with_probe and want:
            q = self._npz(layer, lang)
            if not q.is_file() or sha256_file(q) != want:
                raise StoreError(f"Probe weights {str(q)!r} are missing or fail their SHA-256 check; delete "
                                 f"{str(p)!r} and rerun to recompute that cell.")
            with np.load(q, allow_pickle=False) as z:
                probe = {k: z[k] for k in z.files}
        return [tuple(r) for r in rows], probe

    def save(self, layer: int, lang: str, rows: list[tuple[Any, ...]], probe: dict[str, np.ndarray] | None) -> None:
        doc: dict[str, Any] = {"layer": layer, "lang": lang}
        if probe is not None:
            q = self._npz(layer, lang)
            def write(tmp: str) -> None:
                with open(tmp, "wb") as fh:
                    np.savez(fh, **probe)

            atomic_save(q, write)
            doc["probe_sha256"] = sha256_file(q)
        doc["rows"] = [list(r) for r in rows]
        doc["sha256"] = self._digest(doc["rows"])
        atomic_write_text(self._json(layer, lang), json.dumps(doc, allow_nan=True) + "\n")


#: Settings that change a cell's results (the plan key of :class:`_Cells`).
_PLAN_FIELDS = ("tasks", "probe", "control", "mdl", "cross_lingual", "C", "alphas", "split", "seed", "min_examples",
                "morph_missing", "max_iter", "tol", "mlp_hidden", "mlp_epochs", "arc_rank", "arc_steps")


def _plan_key(cfg: TrainConfig, langs: list[str]) -> str:
    doc = {k: getattr(cfg, k) for k in _PLAN_FIELDS}
    doc["langs"] = list(langs)
    doc["version"] = _CELL_FORMAT
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


#: Bumped whenever the solver or the cell layout changes what a cell contains.
_CELL_FORMAT = 3


def _load_words(store: Any, lang: str, layer: int, n_words: int) -> np.ndarray:
    X = np.asarray(store.words(lang, layer), dtype=np.float32)
    if X.shape[0] != n_words:
        raise ConfigError(f"Store {store.path}: {lang} layer {layer} has {X.shape[0]} word vectors but its "
                          f"index has {n_words} words; the store is inconsistent (re-extract).")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise DataError(f"Store {str(store.path)!r}: {int(bad.sum())} word vector(s) of language {lang!r} at layer "
                        f"{layer} contain NaN or Inf (first at word {int(np.flatnonzero(bad)[0])}); re-extract the "
                        "store (python -m probes.extract) or drop that language with --langs.")
    return X


@dataclass
class _CellInput:
    """The features of one (language, layer) cell, read, checked and standardised."""

    X: np.ndarray
    std: Standardizer
    Xtr: np.ndarray
    Xdv: np.ndarray
    Xte: np.ndarray
    basis: WhiteningBasis | None = None


def _cell_input(store: Any, ld: _LangData, layer: int, whiten: Callable[[], bool] = bool,
                background: bool = False) -> _CellInput:
    """Read, check and standardise one cell's features (if ``whiten()``: also the linear probes'
    whitening, on one thread when ``background``, else on all)."""
    X = _load_words(store, ld.lang, layer, len(ld.split))
    tr, dv, te = ld.rows(0), ld.rows(1), ld.rows(2)
    std = Standardizer(X[tr])
    Xtr = std.transform(X[tr])
    basis = whitening_basis(Xtr, n_jobs=1 if background else None) if len(tr) and whiten() else None
    return _CellInput(X, std, Xtr, std.transform(X[dv]), std.transform(X[te]), basis)


def _lang_cell(store: Any, cfg: TrainConfig, ld: _LangData, layer: int, clf: list[str], reg: list[str],
               arc: list[str], inp: _CellInput | None = None
               ) -> tuple[list[tuple[Any, ...]], dict[str, np.ndarray] | None, np.ndarray]:
    """All probes of one (language, layer): result rows, the linear probe and the raw test-word vectors
    (both for the layer's cross-lingual cell). ``inp``: the cell's features if already read."""
    rows = _Rows(store.model)
    lang = ld.lang
    if inp is None:
        inp = _cell_input(store, ld, layer)
    X, std, Xtr, Xdv, Xte = inp.X, inp.std, inp.Xtr, inp.Xdv, inp.Xte
    tr, dv, te = ld.rows(0), ld.rows(1), ld.rows(2)
    saved: dict[str, np.ndarray] | None = None
    # ---- classification: every task (and its control) as one head on the same features
    names = [n for n in clf if ld.tasks[n].eligible]
    if names:
        heads, dev_y, test_y = [], [], []
        for n in names:
            td = ld.tasks[n]
            heads.append(Head(n, np.maximum(_local_y(td, td.y[tr]), -1), td.n_local, cfg.C[0]))
            dev_y.append(_local_y(td, td.y[dv]))
            test_y.append(_local_y(td, td.y[te]))
        if cfg.control:
            for n in names:
                td = ld.tasks[n]
                if td.control is None:
                    raise ConfigError(f"Task {n!r} in {lang!r} has no control labels.")
                heads.append(Head(n + "/control", np.maximum(_local_y(td, td.control[tr]), -1), td.n_local, cfg.C[0]))
                dev_y.append(_local_y(td, td.control[dv]))
                test_y.append(_local_y(td, td.control[te]))
        for probe in cfg.probe:
            extra = {"basis": inp.basis} if probe == "linear" and inp.basis is not None else {}
            fit = PROBES.get(probe)(Xtr, heads, cfg, None, Xdv, dev_y, **extra)
            if probe == "linear":
                k = int(fit.offsets[len(names)])  # the task heads' columns (controls follow)
                saved = {"mean": std.mean_, "scale": std.scale_, "W": fit.W[:, :k], "b": fit.b[:k],
                         "offsets": np.asarray(fit.offsets[: len(names) + 1]), "names": np.array(names)}
            preds = fit.predict(Xte)
            for i, n in enumerate(names):
                n_tr = int((heads[i].y >= 0).sum())
                acc = _score(rows, layer, lang, n, probe, test_y[i], preds[i], n_tr)
                if probe == "linear":
                    chosen = getattr(fit, "chosen_C", None)
                    if chosen is not None:
                        rows.add(layer, lang, n, probe, "C", chosen[i], n_tr, 0)
                    counts = np.bincount(heads[i].y[heads[i].y >= 0], minlength=heads[i].n_classes)
                    yt = test_y[i][test_y[i] != -1]
                    rows.add(layer, lang, n, "majority", "accuracy", accuracy(yt, np.full(len(yt), counts.argmax())),
                             n_tr, len(yt))
                if cfg.control:
                    j = i + len(names)
                    cacc = _score(rows, layer, lang, n, probe, test_y[j], preds[j], n_tr, prefix="control_")
                    rows.add(layer, lang, n, probe, "selectivity", acc - cacc, n_tr, int((test_y[i] != -1).sum()))
        if cfg.mdl:
            res = online_codelength(Xtr, heads, seed=cfg.seed, max_iter=cfg.max_iter, tol=cfg.tol)
            for i, r in enumerate(res):
                n = names[i % len(names)]
                pre = "control_" if i >= len(names) else ""
                for metric, v in (("mdl_codelength", r.codelength), ("uniform_codelength", r.uniform_codelength),
                                  ("compression", r.compression)):
                    rows.add(layer, lang, n, "linear", pre + metric, v, r.n, 0)
    # ---- regression: ridge, one decomposition per missing pattern
    rnames = [n for n in reg if ld.tasks[n].eligible]
    if rnames:
        cols = [ld.tasks[n].y for n in rnames]
        if cfg.control:
            cols += [ld.tasks[n].control for n in rnames]  # type: ignore[misc]
        Y = np.stack(cols, axis=1)
        rf = fit_ridge(Xtr, Y[tr], alphas=cfg.alphas, X_dev=Xdv, Y_dev=Y[dv])
        P = rf.predict(Xte)
        for i, n in enumerate(rnames):
            yt = Y[te, i]
            m = np.isfinite(yt)
            n_tr = int(np.isfinite(Y[tr, i]).sum())
            r2 = r2_score(yt[m], P[m, i])
            rows.add(layer, lang, n, "ridge", "r2", r2, n_tr, int(m.sum()))
            rows.add(layer, lang, n, "ridge", "spearman", _spearman(yt[m], P[m, i]), n_tr, int(m.sum()))
            rows.add(layer, lang, n, "ridge", "alpha", rf.alpha[i], n_tr, 0)
            if cfg.control:
                j = i + len(rnames)
                mc = np.isfinite(Y[te, j])
                cr2 = r2_score(Y[te, j][mc], P[mc, j])
                rows.add(layer, lang, n, "ridge", "control_r2", cr2, n_tr, int(mc.sum()))
                rows.add(layer, lang, n, "ridge", "selectivity", r2 - cr2, n_tr, int(m.sum()))
    # ---- arc: bilinear head selection within each sentence
    for n in arc:
        td = ld.tasks[n]
        if not td.eligible:
            continue
        Xall = np.zeros((len(ld.split), X.shape[1]), dtype=np.float32)
        ok = ld.split >= 0
        Xall[ok] = std.transform(X[ok])
        train_w = ld.split == 0
        fitp = fit_arc_probe(Xall, td.y, ld.sent_of_word, train_w, rank=cfg.arc_rank, steps=cfg.arc_steps,
                             seed=cfg.seed)
        test_w = (ld.split == 2) & (td.y >= 0)
        pred = fitp.predict(Xall, ld.sent_of_word)
        rows.add(layer, lang, n, "bilinear", "uas", accuracy(td.y[test_w], pred[test_w]),
                 int((train_w & (td.y >= 0)).sum()), int(test_w.sum()))
    return rows.rows, saved, X[te]


def _layer_cell(store: Any, cfg: TrainConfig, lds: dict[str, _LangData], langs: list[str], layer: int,
                probes: dict[str, dict[str, np.ndarray]], pooled: list[ProbeTask],
                test_X: dict[str, np.ndarray]) -> list[tuple[Any, ...]]:
    """Cross-lingual transfer of the linear probes and the sentence-level tasks of one layer.

    ``test_X`` holds the raw test-word vectors of the languages computed in this run; those of
    cells reused from disk are read here.
    """
    rows = _Rows(store.model)
    if cfg.cross_lingual and probes:
        test_X = {b: test_X[b] if b in test_X else _load_words(store, b, layer, len(lds[b].split))[lds[b].rows(2)]
                  for b in langs}
        for a in langs:
            pa = probes.get(a)
            if pa is None:
                continue
            names = [str(x) for x in pa["names"]]
            lin = LinearHeads(W=pa["W"], b=pa["b"], heads=names, offsets=pa["offsets"])
            for b in langs:
                if b == a:
                    continue
                Xb = ((test_X[b] - pa["mean"]) / pa["scale"]).astype(np.float32)
                preds = lin.predict(Xb)
                ldb = lds[b]
                te = ldb.rows(2)
                for i, n in enumerate(names):
                    tdb = ldb.tasks[n]
                    if not tdb.eligible:
                        continue
                    y = _local_y(lds[a].tasks[n], tdb.y[te])
                    _score(rows, layer, b, n, "linear", y, preds[i], int((_train_y(lds[a], n) >= 0).sum()),
                           train_lang=a)
    for task in pooled:
        _pooled_task(store, rows, task, lds, langs, layer, cfg)
    return rows.rows


def _run_store(store: Any, cfg: TrainConfig, layers: list[int], langs: list[str], progress: bool,
               out: Path | None = None) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]], int]:
    """The grid of one store; returns (rows, skipped cells, cells reused from an earlier run)."""
    # BLAS single-threaded for the whole grid: the solver runs its own threads, and the background
    # thread's products must not change the thread count under the solver's feet
    with _single_blas():
        return _run_store_cells(store, cfg, layers, langs, progress, out)


def _run_store_cells(store: Any, cfg: TrainConfig, layers: list[int], langs: list[str], progress: bool,
                     out: Path | None) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]], int]:
    import threading

    from tqdm import tqdm

    cells = _Cells(out, _plan_key(cfg, langs), store) if out is not None else None
    # one thread reads, verifies and standardises the next cell's features (hashing, reading and
    # numpy release the GIL) while the current cell is solved, and the first cell's while the
    # labels are computed: the solver's threads then do not wait for them
    todo = [(layer, lang) for layer in layers for lang in langs
            if not (cells is not None and cells.exists(layer, lang))]
    order = todo if cfg.backend == "local" else []  # on Ray the workers read the cells
    split_of_lang: dict[str, _LangData] = {}
    resolved, need = threading.Event(), {"whiten": False}

    def whiten() -> bool:  # known once the tasks are resolved
        resolved.wait()
        return need["whiten"]

    ahead = _Prefetch(lambda cell, bg: _cell_input(store, split_of_lang[cell[1]], cell[0], whiten, bg), order)

    def splits_known(lds_: dict[str, _LangData]) -> None:
        split_of_lang.update(lds_)
        ahead.start()

    try:
        try:
            lds, tasks, vocab, skipped = _prepare(store, langs, cfg, on_splits=splits_known)
            clf = [t.task_name for t in tasks if t.level == "word" and t.kind == "classification"]
            need["whiten"] = "linear" in cfg.probe and bool(clf)
        finally:
            resolved.set()
        word_tasks = [t for t in tasks if t.level == "word"]
        reg = [t.task_name for t in word_tasks if t.kind == "regression"]
        arc = [t.task_name for t in word_tasks if t.kind == "arc"]
        pooled = [t for t in tasks if t.level == "sentence"]
        fresh = None
        if cfg.backend == "ray":
            from probes._train_ray import cells_on_ray

            fresh = cells_on_ray(store, cfg, todo, lds, clf, reg, arc, cells, progress)
        bar = tqdm(total=len(layers) * len(langs), desc=f"probes {store.model}", unit="cell",
                   disable=not progress or fresh is not None)
        all_rows, reused = _grid_cells(store, cfg, layers, langs, lds, clf, reg, arc, pooled, cells, bar, ahead,
                                       fresh)
        bar.close()
    finally:
        ahead.close()
    return all_rows, skipped, reused


class _Prefetch:
    """Computes ``fn(item, True)`` for the next item of ``order`` in a background thread (``fn(item,
    False)`` for an item asked for that was not prefetched)."""

    def __init__(self, fn: Callable[[Any, bool], Any], order: list[Any]):
        from concurrent.futures import ThreadPoolExecutor

        self.fn, self.order = fn, order
        self.pool = ThreadPoolExecutor(1) if order else None
        self.pending: dict[Any, Any] = {}

    def start(self) -> None:
        """Start on the first item."""
        if self.pool is not None and self.order[0] not in self.pending:
            self.pending[self.order[0]] = self.pool.submit(self.fn, self.order[0], True)

    def get(self, item: Any) -> Any:
        """``fn(item)`` (prefetched when possible); starts on the item after it."""
        fut = self.pending.pop(item, None)
        if self.pool is not None and item in self.order:
            i = self.order.index(item)
            if i + 1 < len(self.order) and self.order[i + 1] not in self.pending:
                self.pending[self.order[i + 1]] = self.pool.submit(self.fn, self.order[i + 1], True)
        return fut.result() if fut is not None else self.fn(item, False)

    def close(self) -> None:
        for fut in self.pending.values():
            fut.cancel()
        if self.pool is not None:
            self.pool.shutdown()


def _grid_cells(store: Any, cfg: TrainConfig, layers: list[int], langs: list[str], lds: dict[str, _LangData],
                clf: list[str], reg: list[str], arc: list[str], pooled: list[ProbeTask], cells: Any, bar: Any,
                ahead: _Prefetch, fresh: dict[tuple[int, str], Any] | None = None
                ) -> tuple[list[tuple[Any, ...]], int]:
    """Rows of every cell: computed here, computed on Ray (``fresh``) or reused from disk."""
    all_rows: list[tuple[Any, ...]] = []
    reused = 0
    for layer in layers:
        probes: dict[str, dict[str, np.ndarray]] = {}
        test_X: dict[str, np.ndarray] = {}
        for lang in langs:
            new = fresh.pop((layer, lang), None) if fresh else None
            done = cells.load(layer, lang, with_probe=cfg.cross_lingual) if cells is not None and new is None else None
            if new is not None:
                got, saved = new
            elif done is None:
                got, saved, Xte = _lang_cell(store, cfg, lds[lang], layer, clf, reg, arc, ahead.get((layer, lang)))
                if cfg.cross_lingual:
                    test_X[lang] = Xte
                if cells is not None:
                    cells.save(layer, lang, got, saved)
            else:
                reused += 1
                got, saved = done
            if saved is not None:
                probes[lang] = saved
            all_rows.extend(got)
            bar.update(1)
        if (cfg.cross_lingual and probes) or pooled:
            done = cells.load(layer, "_all") if cells is not None else None
            if done is None:
                got = _layer_cell(store, cfg, lds, langs, layer, probes, pooled, test_X)
                if cells is not None:
                    cells.save(layer, "_all", got, None)
            else:
                got = done[0]
            all_rows.extend(got)
    return all_rows, reused


def _train_y(ld: _LangData, name: str) -> np.ndarray:
    """Training labels of task ``name`` in a language (for counting)."""
    return ld.tasks[name].y[ld.split == 0]


def _pooled_task(store: Any, rows: _Rows, task: ProbeTask, lds: dict[str, _LangData], langs: list[str], layer: int,
                 cfg: TrainConfig) -> None:
    Xs, labs, parts = [], [], []
    for lang in langs:
        ld = lds[lang]
        S = np.asarray(store.sentences(lang, layer), dtype=np.float32)
        if S.shape[0] != len(ld.sentences):
            raise ConfigError(f"Store {store.path}: {lang} layer {layer} has {S.shape[0]} sentence vectors but "
                              f"{len(ld.sentences)} sentences in its word index; re-extract.")
        if not np.isfinite(S).all():
            raise DataError(f"Store {str(store.path)!r}: sentence vectors of language {lang!r} at layer {layer} "
                            "contain NaN or Inf; re-extract the store or drop that language with --langs.")
        Xs.append(S)
        labs.extend(task_labels(task, ld.sentences))
        parts.append(ld.sent_split)
    X = np.concatenate(Xs)
    part = np.concatenate(parts)
    vocab = sorted({str(v) for v in labs if v is not None})
    if len(vocab) < 2:
        return
    lut = {v: i for i, v in enumerate(vocab)}
    y = np.array([-1 if v is None else lut[str(v)] for v in labs])
    tr, dv, te = (np.flatnonzero(part == k) for k in range(3))
    std = Standardizer(X[tr])
    Xtr = std.transform(X[tr])
    heads = [Head(task.task_name, y[tr], len(vocab), cfg.C[0])]
    fit = PROBES.get("linear")(Xtr, heads, cfg, None, std.transform(X[dv]), [y[dv]])
    pred = fit.predict(std.transform(X[te]))[0]
    yt = y[te]
    m = yt >= 0
    n_tr = int((y[tr] >= 0).sum())
    rows.add(layer, "all", task.task_name, "linear", "accuracy", accuracy(yt[m], pred[m]), n_tr, int(m.sum()))
    rows.add(layer, "all", task.task_name, "linear", "macro_f1", macro_f1(yt[m], pred[m]), n_tr, int(m.sum()))
    counts = np.bincount(y[tr][y[tr] >= 0], minlength=len(vocab))
    rows.add(layer, "all", task.task_name, "majority", "accuracy", float((yt[m] == counts.argmax()).mean()), n_tr,
             int(m.sum()))


def _check_control_store(main: Any, ctrl: Any) -> None:
    """The random-init control store must hold the same inputs as the main store."""
    problems = []
    mc, cc = main.manifest.get("corpus", {}), ctrl.manifest.get("corpus", {})
    if mc.get("hash") != cc.get("hash"):
        problems.append(f"corpus {cc.get('name')!r} (fingerprint {str(cc.get('hash'))[:12]}) vs "
                        f"{mc.get('name')!r} ({str(mc.get('hash'))[:12]})")
    if main.manifest.get("prefix", "") != ctrl.manifest.get("prefix", ""):
        problems.append(f"input prefix {ctrl.manifest.get('prefix')!r} vs {main.manifest.get('prefix')!r}")
    if main.manifest.get("pooling") != ctrl.manifest.get("pooling"):
        problems.append(f"word pooling {ctrl.manifest.get('pooling')!r} vs {main.manifest.get('pooling')!r}")
    if problems:
        raise StoreError(f"--random-activations {str(ctrl.path)!r} was not extracted from the same inputs as "
                         f"--activations {str(main.path)!r}: " + "; ".join(problems) + ". Extract the control with "
                         "the same --corpus, --langs, --limit and --prefix as the main store "
                         "(python -m probes.extract --model random:<shape> ...).")


def train_grid(cfg: TrainConfig, *, progress: bool = True, skipped: list[dict[str, Any]] | None = None,
               out: str | Path | None = None, stats: dict[str, int] | None = None) -> pd.DataFrame:
    """Run the whole grid of ``cfg`` and return the tidy result table.

    Every (language, layer) cell is computed independently of the others (no
    state is carried between cells), so a grid resumed from saved cells gives
    the same table as an uninterrupted run.

    Parameters
    ----------
    cfg : TrainConfig
    progress : bool, default=True
        Show a progress bar.
    skipped : list, optional
        Receives one dict (model, lang, task, reason) per cell without enough data.
    out : path, optional
        Output directory: finished cells are saved under ``<out>/cells`` and
        reused when the same grid is run again (resume after an interruption).
    stats : dict, optional
        Receives ``cells`` (language/layer cells in the grid) and ``reused``.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`; one row per (model, layer, lang, task, probe,
        metric, train_lang, test_lang). Cross-lingual rows have ``lang ==
        test_lang != train_lang``; pooled sentence-level tasks have ``lang == "all"``.

    Raises
    ------
    DataError
        When no (language, task) cell has ``min_examples`` labelled training words.
    StoreError
        When ``random_activations`` holds other inputs than ``activations``.
    """
    from crossling.layers import parse_layers
    from probes.extraction.store import ActivationStore

    if cfg.threads:
        import torch

        torch.set_num_threads(int(cfg.threads))
    stores = [ActivationStore(cfg.activations)]
    if cfg.random_activations:
        stores.append(ActivationStore(cfg.random_activations))
        _check_control_store(stores[0], stores[1])
    all_rows: list[tuple[Any, ...]] = []
    n_cells = n_reused = 0
    main_cfg = cfg
    for k, store in enumerate(stores):
        cfg = main_cfg if k == 0 or main_cfg.random_mdl else replace(main_cfg, mdl=False)
        langs = store.resolve_groups(cfg.langs) if cfg.langs else store.languages
        for lang in langs:
            store.check(lang)
        layers = parse_layers(cfg.layers, max(store.layers)) if cfg.layers != "all" else store.layers
        for layer in layers:
            store.check(layer=layer)
        rows, skipped_here, reused = _run_store(store, cfg, layers, langs, progress,
                                                Path(out) if out is not None else None)
        if not rows and skipped_here:
            raise DataError(_all_skipped_message(store, cfg, skipped_here))
        all_rows.extend(rows)
        n_cells += len(layers) * len(langs)
        n_reused += reused
        if skipped is not None:
            skipped.extend({"model": store.model, **s} for s in skipped_here)
    if stats is not None:
        stats.update(cells=n_cells, reused=n_reused)
    return pd.DataFrame(all_rows, columns=list(COLUMNS))


def _all_skipped_message(store: Any, cfg: TrainConfig, skipped: list[dict[str, Any]]) -> str:
    import re

    sizes = [int(m.group(1)) for s in skipped if (m := re.match(r"(\d+) labelled training words", s["reason"]))]
    biggest = f"; the largest has {max(sizes)} labelled training words" if sizes else ""
    return (f"No probe can be trained on store {str(store.path)!r}: all {len(skipped)} (language, task) cells have "
            f"too little data (fewer than --min-examples={cfg.min_examples} labelled training words, or a single "
            f"class){biggest}. Lower --min-examples, add sentences (re-extract without --limit) or choose other "
            "--tasks.")


# --------------------------------------------------------------------------- CLI


def build_parser() -> Any:
    from crossling.cli import SuiteArgumentParser

    p = SuiteArgumentParser(prog="python -m probes.train",
                            description="Train probes over a language x layer x task grid of an activation store.")
    p.add_argument("--config", help="YAML config (keys = TrainConfig fields); flags override it")
    p.add_argument("--activations", help="activation store directory (python -m probes.extract --out)")
    p.add_argument("--out", help="output directory (default <activations>/probes)")
    p.add_argument("--tasks", help="comma-separated tasks: upos,deprel,morph:all (default), all, module:Class")
    p.add_argument("--layers", "--layer", dest="layers", help="all (default) or e.g. 0,6,12 / 0-4")
    p.add_argument("--langs", help="comma-separated languages (default: all in the store)")
    p.add_argument("--probe", help="linear (default), mlp, or linear,mlp")
    p.add_argument("--control", action="store_const", const=True, help="control tasks and selectivity")
    p.add_argument("--mdl", action="store_const", const=True, help="online MDL codelength of the linear probe")
    p.add_argument("--cross-lingual", action="store_const", const=True, help="train on A, test on B for all pairs")
    p.add_argument("--random-activations", help="store of the random-init model: run the same grid on it")
    p.add_argument("--random-mdl", action="store_const", const=True,
                   help="also compute MDL on the --random-activations store (default: main model only)")
    p.add_argument("--C", dest="C", help="logistic C (default 1.0); several values = chosen on dev, e.g. 0.1,1")
    p.add_argument("--seed", type=int, help="seed (default 0)")
    p.add_argument("--min-examples", type=int, help="minimum labelled training words per cell (default 100)")
    p.add_argument("--morph-missing", help="exclude (default) or none: words without a feature")
    p.add_argument("--max-iter", type=int, help="L-BFGS iterations (default 100)")
    p.add_argument("--tol", type=float, help="stop a head at this whitened gradient (default 1e-4; 1e-3 is ~3x faster)")
    p.add_argument("--no-figures", dest="figures", action="store_const", const=False, help="skip figures")
    p.add_argument("--threads", type=int, help="torch threads")
    p.add_argument("--backend", help="local (default) or ray: one Ray task per (language, layer) cell")
    p.add_argument("--workers", type=int, help="CPUs of a local Ray (default 2)")
    p.add_argument("--ray-address", dest="ray_address", help="running Ray cluster (default: start a local one)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m probes.train``."""
    from crossling.io import DirLock
    from crossling.tables import write_table

    args = build_parser().parse_args(argv)
    over = {k: v for k, v in vars(args).items() if k not in ("config", "quiet", "debug") and v is not None}
    cfg = load_config(TrainConfig, args.config, over)
    from probes.extraction.store import ActivationStore

    ActivationStore(cfg.activations)  # fail on a missing store before creating anything inside it
    if cfg.random_activations:
        ActivationStore(cfg.random_activations)
    out = Path(cfg.out) if cfg.out else Path(cfg.activations) / "probes"
    cfg.out = str(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with DirLock(out):
        remove_stale_temps(out, ["cells", "figures"])
        skipped: list[dict[str, Any]] = []
        stats: dict[str, int] = {}
        df = train_grid(cfg, progress=not args.quiet, skipped=skipped, out=out, stats=stats)
        write_table(df, out / "probes")
        write_table(pd.DataFrame(skipped, columns=["model", "lang", "task", "reason"]), out / "skipped")
        save_config(cfg, out / "config.yaml")
        figs: list[Path] = []
        if cfg.figures and len(df):
            from probes.train_figures import draw_all

            figs = draw_all(df, out / "figures")
    n_cells = df.groupby(["model", "layer", "lang"]).ngroups if len(df) else 0
    print(f"wrote {out / 'probes.parquet'} ({len(df)} rows, {n_cells} model/layer/language cells, "
          f"{stats.get('reused', 0)} of them reused from an earlier run, {time.time() - t0:.1f}s); "
          f"{len(skipped)} (language, task) cells skipped (see skipped.csv); "
          f"{len(figs)} figures in {out / 'figures'}")
    return 0


if __name__ == "__main__":
    from crossling.cli import run_main

    raise SystemExit(run_main(main))
