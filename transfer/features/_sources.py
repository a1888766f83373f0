"""Where the head regime gets its features: an activation store, or synthetic data.

A :class:`FeatureSource` answers ``units(task, lang, pool, layer)`` with the
classification units of one pool (words for token tasks, pooled pair
sequences for pair tasks) as a :class:`Units` record. Sources are small,
picklable descriptions; the arrays are loaded lazily in whichever process
(local worker or Ray worker) runs the job, and cached there.

:class:`StoreFeatures` reads one activation store per (task, language) holding
the groups ``train`` and ``test`` (see :func:`transfer.features.extraction.extract_features`).
:class:`SyntheticFeatures` draws features of the right shapes with a known
class signal and a language-specific shift; it is used by unit tests and by
the benchmark when no extraction is available.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crossling.errors import ConfigError, DataError
from transfer.tasks import DownstreamTask

__all__ = ["Units", "FeatureSource", "StoreFeatures", "SyntheticFeatures", "parse_layer"]


@dataclass
class Units:
    """Classification units of one pool.

    Attributes
    ----------
    X : ndarray, shape (n_units, dim) or (n_units, n_layers, dim)
        Features (float32).
    y : ndarray of int, shape (n_units,)
        Class ids; ``-1`` for a label outside the task's label set.
    example : ndarray of int, shape (n_units,)
        Row of the unit's example (sentence or pair) in the pool, non-decreasing.
    gold : list of list of str
        Gold labels per example (what the metric compares with).
    valid : ndarray of bool, shape (n_units,)
        False for words cut off by truncation (their vector is meaningless).
    example_ids : list of str
        ``sent_id`` of each example.
    """

    X: np.ndarray
    y: np.ndarray
    example: np.ndarray
    gold: list[list[str]]
    valid: np.ndarray
    example_ids: list[str]

    @property
    def n_examples(self) -> int:
        return len(self.gold)

    def select(self, examples: np.ndarray) -> Units:
        """The units of the given example rows (in the given order of rows, sorted)."""
        ex = np.sort(np.asarray(examples, dtype=np.int64))
        mask = np.isin(self.example, ex)
        remap = np.full(self.n_examples, -1, dtype=np.int64)
        remap[ex] = np.arange(len(ex))
        return Units(
            X=self.X[mask], y=self.y[mask], example=remap[self.example[mask]],
            gold=[self.gold[i] for i in ex], valid=self.valid[mask],
            example_ids=[self.example_ids[i] for i in ex],
        )


def parse_layer(layer: str | int, available: list[int]) -> int | str:
    """Resolve the run's layer spec against the available layers: one layer, or ``"mix"``.

    The grammar is the suite's one layer grammar (:func:`crossling.layers.parse_layers`:
    an integer, a negative index counting from the top, ``last``), restricted
    to a single layer, plus ``mix`` (every layer, mixed by a learned head).

    Examples
    --------
    >>> parse_layer("last", [0, 4, 8]), parse_layer(-2, [0, 1, 2]), parse_layer("mix", [0, 1])
    (8, 1, 'mix')
    """
    from crossling.layers import parse_layers

    s = str(layer).strip().lower()
    if s == "mix":
        return "mix"
    if not available:
        raise ConfigError(f"No layer is available to resolve layer {layer!r}; the features hold no layers.")
    try:
        picked = parse_layers(s, max(available))
    except ConfigError as exc:
        raise ConfigError(f"The 'layer' parameter must be one layer (an integer, 'last') or 'mix', got {layer!r}: "
                          f"{exc}") from None
    if len(picked) != 1 or s == "all":
        raise ConfigError(f"The 'layer' parameter must be one layer (an integer, 'last') or 'mix', got {layer!r} "
                          f"(which names layers {picked}).")
    if picked[0] not in available:
        raise ConfigError(f"Layer {picked[0]} is not available; the features have layers {available}. "
                          "Pick one of them, 'last', or 'mix'.")
    return picked[0]


class FeatureSource:
    """Interface: ``model``, ``fingerprint``, ``layers``, ``units(...)``, ``pool_from(...)``."""

    model: str = ""

    def fingerprint(self) -> str:
        raise NotImplementedError

    def layers(self, task: str, lang: str) -> list[int]:
        raise NotImplementedError

    def units(self, task: DownstreamTask, lang: str, pool: str, layer: str | int) -> Units:
        raise NotImplementedError

    def pool_from(self, task: str, lang: str) -> tuple[str, str]:
        """``(train_from, test_from)`` of a (task, language)."""
        raise NotImplementedError

    def n_examples(self, task: str, lang: str, pool: str) -> int:
        """Number of examples (sentences or pairs) in a pool, without loading features."""
        raise NotImplementedError


_CACHE: OrderedDict[tuple, Units] = OrderedDict()
#: Feature arrays kept per process (a task's 10 languages x 2 pools fit; batches run task by task).
_CACHE_MAX = 24


def _cached(key: tuple, make: Any) -> Units:
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    u = make()
    _CACHE[key] = u
    while len(_CACHE) > _CACHE_MAX:
        _CACHE.popitem(last=False)
    return u


@dataclass
class StoreFeatures(FeatureSource):
    """Features from activation stores, one per (task, language), groups ``train`` / ``test``.

    Parameters
    ----------
    stores : dict
        ``"task/lang"`` -> store directory.
    pools : dict
        ``"task/lang"`` -> ``[train_from, test_from]``.
    model : str
        Model label of the stores.
    """

    stores: dict[str, str]
    pools: dict[str, list[str]]
    model: str = ""
    store_plans: dict[str, str] = field(default_factory=dict)
    pair_encoding: str = "joint"

    def _store(self, task: str, lang: str) -> Any:
        from probes.extraction.store import ActivationStore

        key = f"{task}/{lang}"
        if key not in self.stores:
            raise ConfigError(f"No features for task {task!r}, language {lang!r}; extracted: {sorted(self.stores)}.")
        return ActivationStore(self.stores[key], verify=False)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(
            {"model": self.model, "plans": self.store_plans or self.stores,
             **({"pair_encoding": self.pair_encoding} if self.pair_encoding != "joint" else {})},
            sort_keys=True).encode()).hexdigest()[:16]

    def layers(self, task: str, lang: str) -> list[int]:
        return self._store(task, lang).layers

    def pool_from(self, task: str, lang: str) -> tuple[str, str]:
        a, b = self.pools[f"{task}/{lang}"]
        return a, b

    def n_examples(self, task: str, lang: str, pool: str) -> int:
        return len(self._store(task, lang).sentence_index(pool))

    def units(self, task: DownstreamTask, lang: str, pool: str, layer: str | int) -> Units:
        key = ("store", self.stores.get(f"{task.name}/{lang}"), pool, str(layer))
        return _cached(key, lambda: self._load(task, lang, pool, layer))

    def _load(self, task: DownstreamTask, lang: str, pool: str, layer: str | int) -> Units:
        st = self._store(task.name, lang)
        lay = parse_layer(layer, st.layers)
        lab = task.label_id()
        sidx = st.sentence_index(pool)
        ids = [str(s) for s in sidx["sentence_id"]]
        if task.kind == "pair":
            get = st.sentences
            if self.pair_encoding == "separate":
                get = _pair_features(st)
            labels = [str(x) for x in sidx["label"]]
            y = np.array([lab.get(l, -1) for l in labels], dtype=np.int64)
            example = np.arange(len(sidx), dtype=np.int64)
            gold = [[l] for l in labels]
            valid = np.ones(len(sidx), dtype=bool)
        else:
            get = st.words
            widx = st.word_index(pool)
            row_of = {s: i for i, s in enumerate(ids)}
            example = np.array([row_of[str(s)] for s in widx["sentence_id"]], dtype=np.int64)
            labels = [str(x) for x in widx[task.label_field]]
            y = np.array([lab.get(l, -1) for l in labels], dtype=np.int64)
            valid = widx["in_window"].to_numpy(dtype=bool) if "in_window" in widx else np.ones(len(widx), bool)
            gold = [[] for _ in ids]
            for e, l in zip(example, labels):
                gold[e].append(l)
        if lay == "mix":
            X = np.stack([np.asarray(get(pool, l), dtype=np.float32) for l in st.layers], axis=1)
        else:
            X = np.asarray(get(pool, lay), dtype=np.float32)
        if not np.all(np.isfinite(X[valid])):
            raise DataError(f"Non-finite features in store {str(st.path)!r}, group {pool!r}, layer {lay}.")
        return Units(X=X, y=y, example=example, gold=gold, valid=valid, example_ids=ids)


def _pair_features(st: Any) -> Any:
    """``(pool, layer) -> [u; v; |u - v|; u * v]`` from the store's separately encoded groups ``<pool>_a/_b``."""

    def get(pool: str, layer: int) -> np.ndarray:
        if f"{pool}_a" not in st.groups:
            raise DataError(f"Store {str(st.path)!r} has no separately encoded pairs (groups {pool}_a/{pool}_b); "
                            "it was extracted with pair_encoding: joint. Rerun to extract the separate groups.")
        u = np.asarray(st.sentences(f"{pool}_a", layer), dtype=np.float32)
        v = np.asarray(st.sentences(f"{pool}_b", layer), dtype=np.float32)
        return np.concatenate([u, v, np.abs(u - v), u * v], axis=-1)

    return get


def _seed_of(*keys: Any) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, keys)).encode()).digest()[:8], "little")


@dataclass
class SyntheticFeatures(FeatureSource):
    """Features of real shapes with a known signal (tests, benchmarks without extraction).

    Each class has a mean vector shared by all languages; each language adds
    its own offset (``lang_shift``) and noise, so that transfer degrades with
    the shift and in-language training wins. Token tasks get ``words`` units per
    sentence with valid label sequences (BIO for NER).

    Parameters
    ----------
    dim : int
    n_layers : int
        Number of blocks; layers are ``0..n_layers``.
    n_train, n_test : int
        Examples in the training / test pool of every language.
    words : int or dict
        Words per sentence of token tasks (a dict maps task name -> words).
    lang_shift : float
    noise : float
    seed : int
    model : str
    """

    dim: int = 32
    n_layers: int = 2
    n_train: int = 200
    n_test: int = 100
    words: Any = 12
    lang_shift: float = 0.5
    noise: float = 1.0
    seed: int = 0
    model: str = "synthetic"

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()[:16]

    def layers(self, task: str, lang: str) -> list[int]:
        return list(range(self.n_layers + 1))

    def pool_from(self, task: str, lang: str) -> tuple[str, str]:
        return "synthetic", "synthetic"

    def n_examples(self, task: str, lang: str, pool: str) -> int:
        return self.n_train if pool == "train" else self.n_test

    def units(self, task: DownstreamTask, lang: str, pool: str, layer: str | int) -> Units:
        key = ("synthetic", self.fingerprint(), task.name, lang, pool, str(layer))
        return _cached(key, lambda: self._make(task, lang, pool, layer))

    def _words(self, task: str) -> int:
        w = self.words
        return int(w.get(task, 12)) if isinstance(w, dict) else int(w)

    def _labels(self, task: DownstreamTask, rng: np.random.Generator, n: int) -> list[list[str]]:
        n_words = self._words(task.name)
        if task.kind == "pair":
            return [[task.labels[int(rng.integers(len(task.labels)))]] for _ in range(n)]
        if task.name == "ner" or any(l.startswith("B-") for l in task.labels):
            types = sorted({l[2:] for l in task.labels if l.startswith("B-")})
            out = []
            for _ in range(n):
                tags: list[str] = []
                while len(tags) < n_words:
                    if rng.random() < 0.25:
                        t = types[int(rng.integers(len(types)))]
                        span = int(rng.integers(1, 4))
                        tags += [f"B-{t}"] + [f"I-{t}"] * (span - 1)
                    else:
                        tags.append("O")
                out.append(tags[:n_words])
            return out
        return [[task.labels[int(rng.integers(len(task.labels)))] for _ in range(n_words)] for _ in range(n)]

    def _make(self, task: DownstreamTask, lang: str, pool: str, layer: str | int) -> Units:
        lay = parse_layer(layer, self.layers(task.name, lang))
        n = self.n_train if pool == "train" else self.n_test
        rng = np.random.default_rng(_seed_of(self.seed, task.name, lang, pool))
        gold = self._labels(task, rng, n)
        lab = task.label_id()
        flat = [l for g in gold for l in g]
        y = np.array([lab.get(l, -1) for l in flat], dtype=np.int64)
        example = np.repeat(np.arange(n), [len(g) for g in gold]).astype(np.int64)
        means = np.random.default_rng(_seed_of(self.seed, task.name, "means")).normal(size=(len(task.labels), self.dim))
        shift = np.random.default_rng(_seed_of(self.seed, "lang", lang)).normal(size=self.dim) * self.lang_shift
        layers = self.layers(task.name, lang) if lay == "mix" else [lay]
        arrs = []
        for l in layers:
            strength = (1 + l) / (1 + self.n_layers)
            noise = rng.normal(size=(len(y), self.dim)) * self.noise
            arrs.append((means[np.maximum(y, 0)] * strength + shift + noise).astype(np.float32))
        X = np.stack(arrs, axis=1) if lay == "mix" else arrs[0]
        ids = [f"{pool}-{i}" for i in range(n)]
        return Units(X=X, y=y, example=example, gold=gold, valid=np.ones(len(y), dtype=bool), example_ids=ids)
