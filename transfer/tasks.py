"""Downstream tasks of the transfer experiments (one small class each, registered).

A task knows its label set, its metric, which files of the XTREME layout hold
its data, and how to form a *training pool* and a disjoint *test pool* for a
language (:meth:`DownstreamTask.pools`):

========  ======================  ==========================================  ============
task      data (``xtreme/``)      pools                                       metric
========  ======================  ==========================================  ============
``pos``   ``udpos/*-<xx>.tsv``    train: ``train``; test: ``dev``. Without a  accuracy
                                  train file (de es fr hi it ko pt ru) the
                                  ``dev`` file is split by sentence index
                                  into a train part and a disjoint test part
``ner``   ``panx/*-<xx>.tsv``     train: ``train``; test: ``dev``             entity F1
``nli``   ``xnli/dev-<xx>.tsv``   ``dev`` split by example index (groups of   accuracy
                                  3 lines sharing a premise), the same
                                  indices in every language
``paws``  ``pawsx/dev-<xx>.tsv``  ``dev`` split by example index              accuracy
========  ======================  ==========================================  ============

The ``test`` files of the XTREME layout are not used: in the shared data most
are unlabelled (XTREME hides test labels) or malformed, so ``dev`` is the
evaluation split everywhere (documented in docs/transfer.md). Every pool says
where it came from (``train``, ``dev``, ``dev[train-part]``, ``dev[test-part]``)
and the result table carries it.

A new task is one subclass of :class:`DownstreamTask` registered with
``@TASKS.register("name")`` in this file, or, without touching the
repository, a subclass in any importable module named ``package.module:Class``
in ``tasks:`` / ``--tasks`` (and ``task:`` of ``python -m transfer.attribute
tokens``). Its capabilities are class attributes: ``kind`` (token or pair),
``regimes`` (which training regimes can run it) and ``pair_encodings`` (pair
tasks in the head regime), checked before any cell runs
(:meth:`DownstreamTask.check_supports`; :func:`task_capabilities`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossling.errors import ConfigError, DataError
from crossling.registry import Registry
from crossling.types import UPOS_TAGS, Sentence
from transfer.splits import capped_subset, index_split

__all__ = ["TASKS", "DownstreamTask", "Pools", "PosTask", "NerTask", "NliTask", "PawsTask", "get_task",
           "task_capabilities"]

#: Registry of downstream task classes, keyed by name.
TASKS: Registry = Registry("downstream task")


@dataclass
class Pools:
    """The training and test pool of one task in one language.

    Attributes
    ----------
    train, test : list of Sentence
        Disjoint example pools (already capped).
    train_from, test_from : str
        Where each pool came from, e.g. ``"train"``, ``"dev"``, ``"dev[train-part]"``.
    """

    train: list[Sentence]
    test: list[Sentence]
    train_from: str
    test_from: str


class DownstreamTask:
    """Base class of a downstream task.

    Class attributes
    ----------------
    name : str
        Registry name.
    kind : {"token", "pair"}
        Token classification (labels on words) or sentence-pair classification.
    labels : tuple of str
        The label set, in the order of class ids.
    metric : str
        Name in :data:`transfer.metrics.METRICS`.
    primary : str
        The metric value that summarises a cell (e.g. ``"f1"``).
    folder : str
        Sub-folder of ``<data_dir>/xtreme``.
    label_field : str
        Word attribute (token tasks) or ``"label"`` (pair tasks) holding the gold label.
    regimes : tuple of str
        Training regimes (:data:`transfer.regimes.REGIMES` names) that can run the task.
    pair_encodings : tuple of str
        Pair tasks: how the head regime may encode a pair (``joint``, ``separate``).
    """

    name = ""
    kind = "token"
    labels: tuple[str, ...] = ()
    metric = "accuracy"
    primary = "accuracy"
    folder = ""
    label_field = "upos"
    #: Consecutive lines that stay on the same side of an index split.
    group_size = 1
    #: Training regimes that can run this task.
    regimes: tuple[str, ...] = ("head", "finetune")
    #: Pair tasks: pair encodings of the head regime this task supports.
    pair_encodings: tuple[str, ...] = ("joint", "separate")

    # -- capabilities ---------------------------------------------------------
    def capabilities(self) -> dict[str, Any]:
        """What the task declares: ``kind``, ``regimes``, ``pair_encodings``, ``metric``, ``n_labels``."""
        return {"kind": self.kind, "regimes": tuple(self.regimes),
                "pair_encodings": tuple(self.pair_encodings) if self.kind == "pair" else (),
                "metric": self.metric, "n_labels": len(self.labels)}

    def check_supports(self, *, regime: str, pair_encoding: str = "joint", name: str = "") -> None:
        """Refuse a regime or pair encoding the task does not declare.

        Raises
        ------
        ConfigError
            Naming the task, what was asked and what it supports.
        """
        label = name or self.name or type(self).__name__
        if self.kind not in ("token", "pair"):
            raise ConfigError(f"Task {label!r} has kind {self.kind!r}; a downstream task is 'token' or 'pair'.")
        if not self.labels:
            raise ConfigError(f"Task {label!r} declares no labels; set the class attribute 'labels'.")
        if regime not in self.regimes and ":" not in regime:  # a user's module:Class regime checks tasks itself
            raise ConfigError(f"Task {label!r} does not support regime {regime!r} (it supports "
                              f"{', '.join(self.regimes)}). Pick one of those or drop the task.")
        if self.kind == "pair" and regime == "head" and pair_encoding not in self.pair_encodings:
            raise ConfigError(f"Task {label!r} does not support pair_encoding {pair_encoding!r} (it supports "
                              f"{', '.join(self.pair_encodings)}).")
        from transfer.metrics import check_metric

        check_metric(self.metric, self.kind, task=label)

    # -- files ---------------------------------------------------------------
    def path(self, data_dir: str | Path, lang: str, split: str) -> Path:
        """``<data_dir>/xtreme/<folder>/<split>-<lang>.tsv``."""
        from probes.readers.xtreme import xtreme_path

        return xtreme_path(data_dir, self.folder, split, lang)

    def languages(self, data_dir: str | Path, split: str = "dev") -> list[str]:
        """Languages that have a ``split`` file, sorted."""
        from probes.readers.xtreme import available

        return sorted(l for l, sp in available(data_dir, self.folder) if sp == split)

    def has_split(self, data_dir: str | Path, lang: str, split: str) -> bool:
        return self.path(data_dir, lang, split).is_file()

    def read(self, data_dir: str | Path, lang: str, split: str) -> list[Sentence]:
        """Read one split of one language as :class:`~crossling.types.Sentence` records.

        Reading is :func:`probes.readers.xtreme.read_xtreme`; a missing file raises a
        :class:`~crossling.errors.DataError` listing what is present.
        """
        from probes.readers.xtreme import read_xtreme

        sents = read_xtreme(data_dir, self.folder, split, lang)
        missing = next((s for s in sents if any(l in (None, "None") for l in self.gold(s))), None)
        if missing is not None:
            raise DataError(
                f"The {self.name} {split} split of {lang!r} is unlabelled (first at {missing.source}); "
                "transfer needs labelled train and dev splits.", path=self.path(data_dir, lang, split))
        return sents

    # -- labels ---------------------------------------------------------------
    def label_id(self) -> dict[str, int]:
        return {l: i for i, l in enumerate(self.labels)}

    def gold(self, sentence: Sentence) -> list[str]:
        """Gold labels of one example: one per word (token tasks) or one item (pair tasks)."""
        if self.kind == "pair":
            return [str(sentence.label)]
        return [str(getattr(w, self.label_field)) for w in sentence.words]

    # -- pools ---------------------------------------------------------------
    def pools(
        self,
        data_dir: str | Path,
        lang: str,
        *,
        pool_cap: int | None = None,
        test_cap: int | None = None,
        test_fraction: float = 0.5,
        split_seed: int = 0,
    ) -> Pools:
        """The training pool and the disjoint test pool of ``lang``.

        Parameters
        ----------
        data_dir : path
            The data directory (holding ``xtreme/``).
        lang : str
            Language code.
        pool_cap, test_cap : int or None
            Keep at most this many examples in the training / test pool (a
            fixed random subset that depends only on the indices and
            ``split_seed``, hence identical across parallel languages).
        test_fraction : float
            Share of an index-split set that goes to the test pool.
        split_seed : int
            Seed of index splits and caps.

        Returns
        -------
        Pools
        """
        raise NotImplementedError

    def _cap(self, sents: list[Sentence], idx: np.ndarray, cap: int | None, seed: int, key: str) -> list[Sentence]:
        keep = capped_subset(np.asarray(idx, dtype=np.int64), cap, seed=seed, key=f"{self.name}/{key}")
        return [sents[i] for i in keep]


class _TokenTask(DownstreamTask):
    kind = "token"

    def pools(self, data_dir: str | Path, lang: str, *, pool_cap: int | None = None, test_cap: int | None = None,
              test_fraction: float = 0.5, split_seed: int = 0) -> Pools:
        dev = self.read(data_dir, lang, "dev")
        if self.has_split(data_dir, lang, "train"):
            train = self.read(data_dir, lang, "train")
            return Pools(
                train=self._cap(train, np.arange(len(train)), pool_cap, split_seed, "train"),
                test=self._cap(dev, np.arange(len(dev)), test_cap, split_seed, "test"),
                train_from="train", test_from="dev",
            )
        tr, te = index_split(len(dev), test_fraction=test_fraction, group_size=1, seed=split_seed)
        return Pools(
            train=self._cap(dev, tr, pool_cap, split_seed, "train"),
            test=self._cap(dev, te, test_cap, split_seed, "test"),
            train_from="dev[train-part]", test_from="dev[test-part]",
        )


@TASKS.register("pos")
class PosTask(_TokenTask):
    """UD part-of-speech tagging (XTREME UD-POS, ``word<TAB>UPOS``), accuracy over words."""

    name = "pos"
    labels = UPOS_TAGS
    metric = "accuracy"
    primary = "accuracy"
    folder = "udpos"
    label_field = "upos"


@TASKS.register("ner")
class NerTask(_TokenTask):
    """WikiANN / PAN-X named entities (BIO tags), entity-level F1 with exact span match."""

    name = "ner"
    labels = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
    metric = "entity_f1"
    primary = "f1"
    folder = "panx"
    label_field = "tag"


class _ParallelPairTask(DownstreamTask):
    kind = "pair"
    label_field = "label"

    def pools(self, data_dir: str | Path, lang: str, *, pool_cap: int | None = None, test_cap: int | None = None,
              test_fraction: float = 0.5, split_seed: int = 0) -> Pools:
        dev = self.read(data_dir, lang, "dev")
        # The split depends on len(dev) only; parallel files have the same length
        # in every language, so every language gets the same indices.
        tr, te = index_split(len(dev), test_fraction=test_fraction, group_size=self.group_size, seed=split_seed)
        return Pools(
            train=self._cap(dev, tr, pool_cap, split_seed, "train"),
            test=self._cap(dev, te, test_cap, split_seed, "test"),
            train_from="dev[train-part]", test_from="dev[test-part]",
        )


@TASKS.register("nli")
class NliTask(_ParallelPairTask):
    """XNLI (3 classes), premise/hypothesis pairs, accuracy.

    The shared XNLI dev files list three hypotheses per premise on consecutive
    lines; index splits keep each triple on one side (``group_size = 3``).
    """

    name = "nli"
    labels = ("entailment", "neutral", "contradiction")
    folder = "xnli"
    group_size = 3


@TASKS.register("paws")
class PawsTask(_ParallelPairTask):
    """PAWS-X paraphrase identification (labels ``0``/``1``), accuracy."""

    name = "paws"
    labels = ("0", "1")
    folder = "pawsx"
    group_size = 1


def get_task(name: str) -> DownstreamTask:
    """An instance of the registered task ``name`` (or ``module:Class``)."""
    obj: Any = TASKS.get(name)
    task = obj() if isinstance(obj, type) else obj
    if not isinstance(task, DownstreamTask):
        raise ConfigError(f"The downstream task {name!r} is a {type(task).__name__}, not a "
                          "transfer.tasks.DownstreamTask subclass; subclass it (see docs/design.md).")
    return task


def task_capabilities(name: str) -> dict[str, Any]:
    """The capabilities of task ``name`` (:meth:`DownstreamTask.capabilities`).

    Examples
    --------
    >>> task_capabilities("nli")["pair_encodings"]
    ('joint', 'separate')
    >>> task_capabilities("ner")["metric"]
    'entity_f1'
    """
    return get_task(name).capabilities()
