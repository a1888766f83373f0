"""One (language, layer) cell of a probe grid: its labels, its features and its result rows.

:class:`Cell` is what a task kind's :meth:`~probes.probing.TaskKind.fit` receives:
the config, the language's coded labels (:class:`LangData`), the layer, the
standardised features of the train/dev/test words and the rows to add results to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crossling.errors import ConfigError, DataError
from crossling.types import Sentence
from probes.probing._base import Standardizer
from probes.probing._logreg import WhiteningBasis, whitening_basis
from probes.probing._metrics import accuracy, macro_f1

__all__ = ["Cell", "TaskData", "LangData", "Rows"]


@dataclass
class _TaskData:
    """Labels of one task in one language, coded for the probe."""

    task: Any  # ProbeTask
    raw: list[Any]
    y: np.ndarray  # global code (classification) or float (regression) or head index (arc); -1 / nan excluded
    control: np.ndarray | None = None
    local: np.ndarray | None = None  # global code -> local class (classes seen in training), -1 otherwise
    n_local: int = 0
    eligible: bool = True
    reason: str = ""


@dataclass
class _LangData:
    """One language's sentences, its train/dev/test split per word and sentence, and its coded task labels."""

    lang: str
    sentences: list[Sentence]
    split: np.ndarray  # per word: 0 train, 1 dev, 2 test, -1 unusable
    sent_split: np.ndarray
    sent_of_word: np.ndarray
    tasks: dict[str, _TaskData] = field(default_factory=dict)

    def rows(self, part: int) -> np.ndarray:
        return np.flatnonzero(self.split == part)



def _local_y(td: _TaskData, y: np.ndarray) -> np.ndarray:
    """Global codes -> local head classes; -1 stays -1, classes unseen in training become -2."""
    if td.local is None:
        raise ConfigError(f"Task {td.task.task_name!r} has no class mapping (it is not a classification task).")
    out = np.where(y >= 0, td.local[np.clip(y, 0, None)], -1)
    out[(y >= 0) & (out < 0)] = -2
    return out


# --------------------------------------------------------------------------- the grid


class _Rows:
    """The result rows of one probe run (one row per model, layer, lang, task, probe, metric)."""

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


@dataclass
class Cell:
    """What a task kind fits on: one language at one layer.

    Attributes
    ----------
    cfg : TrainConfig
    ld : LangData
        The language's sentences, word splits and coded labels (``ld.tasks[name]``).
    layer : int
    inp : _CellInput
        Features: ``X`` (raw, all words), ``std`` (the standardiser fitted on training
        words), ``Xtr``, ``Xdv``, ``Xte`` (standardised train/dev/test words), ``basis``.
    rows : Rows
        Result rows; add with ``rows.add(layer, lang, task, probe, metric, value, n_train, n_test)``.
    """

    cfg: Any
    ld: _LangData
    layer: int
    inp: _CellInput
    rows: _Rows

    @property
    def lang(self) -> str:
        return self.ld.lang

    @property
    def tr(self) -> np.ndarray:
        """Word rows of the training split."""
        return self.ld.rows(0)

    @property
    def dv(self) -> np.ndarray:
        """Word rows of the dev split."""
        return self.ld.rows(1)

    @property
    def te(self) -> np.ndarray:
        """Word rows of the test split."""
        return self.ld.rows(2)


#: Public names of the cell's parts (for task kinds written outside the package).
TaskData, LangData, Rows = _TaskData, _LangData, _Rows
