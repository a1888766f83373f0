"""Probe tasks: what a probe predicts for each word (or sentence).

A probe task is one small class registered by name in :data:`TASKS`. It turns
one annotated :class:`~crossling.types.Sentence` into labels, one per word
(``level = "word"``) or one per sentence (``level = "sentence"``), and
declares its ``kind``:

``classification``
    a string label per word (``None`` = the word is excluded from the task);
``regression``
    a float per word (``None`` = excluded);
``arc``
    the 0-based index of another word of the same sentence (the head), a
    classification over the sentence's words;

or any other kind registered in :data:`~probes.probing.KINDS` (a
:class:`~probes.probing.TaskKind` subclass, also as ``"module:Class"``), which
says how the labels are coded, checked, fitted and scored.

Probe tasks read :class:`~crossling.types.Sentence` records. Sentences from an
activation store's word index are rebuilt with :func:`sentences_from_index`
(one record per ``sentence_id``, words in row order; character spans are not
kept in the index and are set to ``(0, 0)``).

Built in
--------
``upos``, ``deprel`` (universal part of the relation: ``nmod:poss`` ->
``nmod``), ``deprel-full``, ``head-distance`` and ``tree-depth`` (regression:
``|i - head(i)|`` in words, the root excluded; number of arcs from the root,
the root at 0; after Hewitt and Manning 2019), ``arc`` (which word is my
head; the root excluded), ``morph:<Feature>`` for the UD features in
:data:`MORPH_FEATURES` (and any other feature by name, e.g.
``morph:Number[psor]``), ``language-id`` (sentence level: the sentence's
language; pooled over all languages of a store).

Words without a morphological feature are excluded from its task by default
(``MorphTask(feature, missing="exclude")``); ``missing="none"`` labels them
``"_none_"`` instead. ``morph:all`` (see :func:`resolve_tasks`) means every
feature carried by at least ``min_examples`` words in at least one language.

Adding a task
-------------
>>> from probes.probing import ProbeTask, register_task
>>> @register_task("is-capitalised", overwrite=True)
... class IsCapitalised(ProbeTask):
...     kind = "classification"
...     label_set = ("no", "yes")
...     def labels(self, sentence):
...         return ["yes" if w.form[:1].isupper() else "no" for w in sentence.words]

or name it as ``"my_module:IsCapitalised"`` in ``--tasks`` / a config.

This module is just over 600 lines: the task base class and the built-in tasks
(UPOS, dependency labels, tree distance and depth, every morphological feature,
their control tasks) read as one catalogue; splitting it would separate each
task from the control built from it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from crossling.errors import ConfigError, DataError
from crossling.registry import Registry
from crossling.types import UPOS_TAGS, Sentence, Word
from probes.probing._kinds import KINDS, get_kind

__all__ = [
    "ProbeTask",
    "TASKS",
    "TASK_KINDS",
    "register_task",
    "get_task",
    "resolve_tasks",
    "MorphTask",
    "MORPH_FEATURES",
    "UD_DEPRELS",
    "sentences_from_index",
    "parse_feats",
    "task_labels",
    "control_labels",
    "morph_feature_counts",
]

#: The built-in task kinds (every registered kind is in :data:`~probes.probing.KINDS`).
TASK_KINDS: tuple[str, ...] = ("classification", "regression", "arc")

#: The 37 universal dependency relations of UD v2.
UD_DEPRELS: tuple[str, ...] = (
    "acl", "advcl", "advmod", "amod", "appos", "aux", "case", "cc", "ccomp", "clf", "compound",
    "conj", "cop", "csubj", "dep", "det", "discourse", "dislocated", "expl", "fixed", "flat",
    "goeswith", "iobj", "list", "mark", "nmod", "nsubj", "nummod", "obj", "obl", "orphan",
    "parataxis", "punct", "reparandum", "root", "vocative", "xcomp",
)

#: Morphological features with a registered ``morph:<Feature>`` task.
MORPH_FEATURES: tuple[str, ...] = (
    "Number", "Case", "Gender", "Tense", "Person", "Mood", "VerbForm", "Aspect", "Definite",
    "Degree", "PronType", "Voice", "Polarity",
)

Label = Any


class ProbeTask:
    """Base class of probe tasks (subclass it and register it).

    Class attributes
    ----------------
    name : str
        Registered name (set by :func:`register_task`).
    kind : str or TaskKind subclass
        ``"classification"``, ``"regression"``, ``"arc"``, another name registered in
        :data:`~probes.probing.KINDS`, ``"module:Class"`` or a :class:`~probes.probing.TaskKind` subclass.
    level : {"word", "sentence"}
    label_set : tuple of str or None
        The labels a classification task may emit; ``None`` when they come
        from the data (e.g. the values of a morphological feature).
    pooled : bool
        Sentence-level tasks whose examples are all languages of a store at
        once (``language-id``).
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "classification"
    level: ClassVar[str] = "word"
    label_set: ClassVar[tuple[str, ...] | None] = None
    pooled: ClassVar[bool] = False

    def labels(self, sentence: Sentence) -> list[Label]:
        """Labels of ``sentence``: one per word (word level) or a 1-list (sentence level).

        ``None`` excludes a word (or sentence) from the task.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement labels(sentence).")

    def control_key(self, word: Word) -> str:
        """The word type whose control label a word shares (Hewitt and Liang 2019): its form."""
        return word.form

    @property
    def task_name(self) -> str:
        """The name results are labelled with."""
        return self.name or type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.task_name!r}, kind={self.kind!r})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.task_name))


def _check_kind(name: str, kind: Any) -> None:
    """Raise unless ``kind`` names a probe-task kind."""
    try:
        get_kind(kind)
    except ConfigError:
        raise ConfigError(f"Probe task {name!r} has kind {kind!r}; use one of {', '.join(KINDS.names())}, "
                          "or a TaskKind subclass (registered, or named as 'module:Class').") from None


#: Registry of probe task classes.
TASKS: Registry[type[ProbeTask]] = Registry("probe task")


def register_task(name: str, *, overwrite: bool = False):
    """Class decorator: register a :class:`ProbeTask` subclass under ``name``."""

    def deco(cls: type[ProbeTask]) -> type[ProbeTask]:
        if not (isinstance(cls, type) and issubclass(cls, ProbeTask)):
            raise ConfigError(f"Probe task {name!r} must be a ProbeTask subclass, got {cls!r}.")
        _check_kind(name, cls.kind)
        if cls.level not in ("word", "sentence"):
            raise ConfigError(f"Probe task {name!r} has level {cls.level!r}; use 'word' or 'sentence'.")
        cls.name = name
        TASKS.register(name, overwrite=overwrite)(cls)
        return cls

    return deco


# --------------------------------------------------------------------------- built-in tasks


@register_task("upos")
class UposTask(ProbeTask):
    """Universal part of speech of each word."""

    label_set = UPOS_TAGS

    def labels(self, sentence: Sentence) -> list[Label]:
        return [w.upos if w.upos in UPOS_TAGS else None for w in sentence.words]


@register_task("deprel")
class DeprelTask(ProbeTask):
    """Universal relation of the word's incoming arc (subtype dropped: ``nmod:poss`` -> ``nmod``)."""

    label_set = UD_DEPRELS

    def labels(self, sentence: Sentence) -> list[Label]:
        out = []
        for w in sentence.words:
            rel = (w.deprel or "").split(":")[0]
            out.append(rel if rel in UD_DEPRELS else None)
        return out


@register_task("deprel-full")
class DeprelFullTask(ProbeTask):
    """Full relation label including language-specific subtypes (``nmod:poss``)."""

    def labels(self, sentence: Sentence) -> list[Label]:
        return [w.deprel or None for w in sentence.words]


def _heads(sentence: Sentence) -> list[int | None]:
    """0-based head index per word (-1 for the root, None when unannotated or invalid)."""
    n = len(sentence.words)
    out: list[int | None] = []
    for w in sentence.words:
        h = w.head
        if h is None or h < 0 or h > n:
            out.append(None)
        else:
            out.append(h - 1)
    return out


def _depths(sentence: Sentence) -> list[int | None]:
    heads = _heads(sentence)
    n = len(heads)
    depth: list[int | None] = [None] * n
    for i in range(n):
        path, j, d = [], i, None
        seen = set()
        while True:
            if depth[j] is not None:
                d = depth[j]
                break
            h = heads[j]
            if h is None or j in seen:
                break
            seen.add(j)
            path.append(j)
            if h == -1:
                d = -1
                break
            j = h
        if d is None:
            continue
        for k in reversed(path):
            d += 1
            depth[k] = d
    return depth


@register_task("head-distance")
class HeadDistanceTask(ProbeTask):
    """Linear distance ``|i - head(i)|`` in words to the head (root excluded)."""

    kind = "regression"

    def labels(self, sentence: Sentence) -> list[Label]:
        return [None if h is None or h < 0 else float(abs(i - h)) for i, h in enumerate(_heads(sentence))]


@register_task("tree-depth")
class TreeDepthTask(ProbeTask):
    """Depth in the dependency tree: arcs from the root (the root has depth 0)."""

    kind = "regression"

    def labels(self, sentence: Sentence) -> list[Label]:
        return [None if d is None else float(d) for d in _depths(sentence)]


@register_task("arc")
class ArcTask(ProbeTask):
    """Which word is my head: the head's 0-based index in the sentence (root excluded)."""

    kind = "arc"

    def labels(self, sentence: Sentence) -> list[Label]:
        return [None if h is None or h < 0 else int(h) for h in _heads(sentence)]


class MorphTask(ProbeTask):
    """Value of one UD morphological feature (``Number=Sing`` -> ``"Sing"``).

    Parameters
    ----------
    feature : str
        The feature name (``"Number"``, ``"Number[psor]"``).
    missing : {"exclude", "none"}, default="exclude"
        Words without the feature are excluded, or labelled ``"_none_"``.
    """

    feature: ClassVar[str] = ""

    def __init__(self, feature: str | None = None, missing: str = "exclude"):
        if missing not in ("exclude", "none"):
            raise ConfigError(f"MorphTask missing={missing!r}: use 'exclude' or 'none'.")
        feat = feature if feature is not None else type(self).feature
        if not feat:
            raise ConfigError("MorphTask needs a feature name, e.g. MorphTask('Number').")
        self.feature_name = feat
        self.missing = missing

    @property
    def task_name(self) -> str:
        return f"morph:{self.feature_name}"

    def labels(self, sentence: Sentence) -> list[Label]:
        fill = "_none_" if self.missing == "none" else None
        return [w.feats.get(self.feature_name, fill) for w in sentence.words]

    def _labels_flat(self, sentences: Sequence[Sentence]) -> list[Label]:
        """:meth:`labels` of every word of ``sentences`` in one pass (used by :func:`task_labels`)."""
        fill, feat = ("_none_" if self.missing == "none" else None), self.feature_name
        return [w.feats.get(feat, fill) for s in sentences for w in s.words]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.feature_name, self.missing))


for _feat in MORPH_FEATURES:
    _cls = type(f"Morph{_feat}Task", (MorphTask,), {"feature": _feat, "__doc__": f"UD feature {_feat}.",
                                                    "__module__": __name__})
    globals()[_cls.__name__] = _cls
    register_task(f"morph:{_feat}")(_cls)


@register_task("language-id")
class LanguageIdTask(ProbeTask):
    """The sentence's language, from sentence vectors pooled over every language of a store."""

    level = "sentence"
    pooled = True

    def labels(self, sentence: Sentence) -> list[Label]:
        return [sentence.lang]


# --------------------------------------------------------------------------- helpers


def get_task(name: str, *, missing: str = "exclude") -> ProbeTask:
    """Instantiate the task called ``name`` (a registered name, ``morph:<Feature>``, or ``module:Class``).

    Raises
    ------
    ConfigError
        For an unknown name (the message lists the registered tasks).
    """
    if isinstance(name, str) and name.startswith("morph:"):
        feat = name.split(":", 1)[1]
        if not feat or feat == "all":
            raise ConfigError(f"Task {name!r} names no feature; use e.g. 'morph:Number' or resolve_tasks for 'morph:all'.")
        cls = TASKS._items.get(name)
        if cls is None:
            return MorphTask(feat, missing=missing)
        return cls(missing=missing)  # type: ignore[call-arg]
    cls = TASKS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, ProbeTask)):
        raise ConfigError(f"Probe task {name!r} resolves to {cls!r}, which is not a ProbeTask subclass.")
    _check_kind(name, cls.kind)
    if cls.level not in ("word", "sentence"):
        raise ConfigError(f"Probe task {name!r} has level={cls.level!r}; use 'word' or 'sentence'.")
    task = cls()
    if not cls.name:
        # a user class named as module:Class without registering it: label results with that path
        task.name = name  # type: ignore[misc]
    return task


def parse_feats(feats: str | None) -> dict[str, str]:
    """``"Case=Nom|Number=Sing"`` -> ``{"Case": "Nom", "Number": "Sing"}`` (``""``/``"_"``/None -> {})."""
    if feats is None or (isinstance(feats, float) and np.isnan(feats)) or feats in ("", "_"):
        return {}
    out = {}
    for part in str(feats).split("|"):
        k, sep, v = part.partition("=")
        if sep and k:
            out[k] = v
    return out


def _opt_str(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    s = str(v)
    return s if s and s != "_" else None


def sentences_from_index(words: pd.DataFrame, lang: str) -> list[Sentence]:
    """Rebuild :class:`Sentence` records from an activation store's word index.

    Parameters
    ----------
    words : DataFrame
        ``ActivationStore.word_index(lang)``: columns ``sentence_id, word_index,
        form, upos, feats, head, deprel`` (``tag`` optional), one row per word
        in array-row order.
    lang : str

    Returns
    -------
    list of Sentence
        In order of first appearance; words in row order (so concatenating
        every sentence's words gives the index's rows). ``head`` -1 becomes None.
    """
    need = ["sentence_id", "form", "upos", "feats", "head", "deprel"]
    missing = [c for c in need if c not in words.columns]
    if missing:
        raise DataError(f"Word index of {lang!r} lacks column(s) {missing}; it has {list(words.columns)}.")
    sid = words["sentence_id"].astype(str).to_numpy()
    if len(sid):
        change = np.flatnonzero(sid[1:] != sid[:-1]) + 1
        starts = np.concatenate([[0], change, [len(sid)]])
    else:
        starts = np.array([0])
    forms = words["form"].astype(str).tolist()

    def column(name: str, parse: Callable[[Any], Any]) -> list[Any]:
        # each distinct value converted once (FEATS strings repeat: one parsed dict per distinct
        # string, shared by its words, as the CoNLL-U reader does)
        if name not in words.columns:
            return [parse(None)] * len(words)
        cache: dict[Any, Any] = {}
        out = []
        for v in words[name].tolist():
            key = v if isinstance(v, str) else repr(v)
            got = cache.get(key, cache)
            if got is cache:
                got = cache[key] = parse(v)
            out.append(got)
        return out

    upos, deprel, tags = column("upos", _opt_str), column("deprel", _opt_str), column("tag", _opt_str)
    feats = column("feats", parse_feats)
    heads = column("head", _opt_head)
    seen: set[str] = set()
    out: list[Sentence] = []
    for a, b in zip(starts[:-1].tolist(), starts[1:].tolist()):
        s = sid[a]
        if s in seen:
            raise DataError(f"Word index of {lang!r}: the words of sentence {s!r} are not contiguous (row {a}).")
        seen.add(s)
        ws = [Word(id=k + 1, form=forms[i], span=(0, 0), upos=upos[i], feats=feats[i], head=heads[i],
                   deprel=deprel[i], tag=tags[i]) for k, i in enumerate(range(a, b))]
        out.append(Sentence(sent_id=s, lang=lang, text=" ".join(forms[a:b]), words=ws))
    return out


def _owner(cls: type, name: str) -> type | None:
    """The class in ``cls``'s MRO that defines attribute ``name``."""
    return next((k for k in cls.__mro__ if name in vars(k)), None)


def _opt_head(h: Any) -> int | None:
    if h is None or (isinstance(h, float) and np.isnan(h)) or int(h) < 0:
        return None
    return int(h)


def task_labels(task: ProbeTask, sentences: Sequence[Sentence]) -> list[Label]:
    """Labels of every word (or sentence) of ``sentences``, flattened in order.

    Raises
    ------
    DataError
        If the task returns the wrong number of labels for a sentence.
    """
    flat = getattr(task, "_labels_flat", None)
    if flat is not None and task.level == "word" and _owner(type(task), "_labels_flat") is _owner(type(task), "labels"):
        return flat(sentences)  # a built-in task's one-pass labels() (not when a subclass overrides labels)
    out: list[Label] = []
    for s in sentences:
        lab = task.labels(s)
        want = 1 if task.level == "sentence" else len(s.words)
        if len(lab) != want:
            raise DataError(
                f"Probe task {task.task_name!r} returned {len(lab)} labels for sentence {s.sent_id!r} "
                f"({s.lang}), which has {want} {'sentence label' if want == 1 and task.level == 'sentence' else 'words'}."
            )
        out.extend(lab)
    return out


def _stable_seed(*parts: object) -> int:
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(h, "little")


def control_labels(
    task: ProbeTask, sentences: Sequence[Sentence], labels: Sequence[Label], *, seed: int = 0
) -> list[Label]:
    """Control-task labels (Hewitt and Liang 2019) for word-level tasks.

    Each word type (:meth:`ProbeTask.control_key`) gets one label drawn at
    random from the empirical distribution of ``labels`` (the task's labels
    of these words); every token of the type carries it. Words the task
    excludes stay excluded. Deterministic given ``seed``, the task name and
    the sentences' language.

    Parameters
    ----------
    task : ProbeTask
    sentences : sequence of Sentence
    labels : sequence
        ``task_labels(task, sentences)``.
    seed : int

    Returns
    -------
    list
        One control label per word (``None`` where ``labels`` is None).
    """
    if task.level != "word" or not get_kind(task.kind).has_control:
        raise ConfigError(f"Control tasks are defined for word-level classification/regression tasks, "
                          f"not {task.task_name!r} (kind {task.kind!r}, level {task.level!r}).")
    keys = [task.control_key(w) for s in sentences for w in s.words]
    if len(keys) != len(labels):
        raise DataError(f"control_labels: {len(labels)} labels for {len(keys)} words.")
    observed = [lab for lab in labels if lab is not None]
    if not observed:
        return [None] * len(labels)
    counts = Counter(observed)
    values = sorted(counts, key=lambda v: (str(type(v)), v))
    p = np.array([counts[v] for v in values], dtype=float)
    p /= p.sum()
    lang = sentences[0].lang if sentences else ""
    rng = np.random.default_rng(_stable_seed(seed, task.task_name, lang))
    types = sorted({k for k, lab in zip(keys, labels) if lab is not None})
    draw = rng.choice(len(values), size=len(types), p=p)
    mapping = {t: values[j] for t, j in zip(types, draw)}
    return [None if lab is None else mapping[k] for k, lab in zip(keys, labels)]


def morph_feature_counts(sentences: Iterable[Sentence]) -> Counter[str]:
    """Number of words carrying each morphological feature."""
    c: Counter[str] = Counter()
    for s in sentences:
        for w in s.words:
            c.update(w.feats.keys())
    return c


def resolve_tasks(
    names: Sequence[str],
    sentences: Mapping[str, Sequence[Sentence]] | None = None,
    *,
    min_examples: int = 100,
    missing: str = "exclude",
) -> list[ProbeTask]:
    """Expand task names into task instances (order kept, duplicates dropped).

    ``all`` means every registered task; ``morph:all`` means every registered
    ``morph:*`` task plus every other feature carried by at least
    ``min_examples`` words in at least one language of ``sentences``.

    Parameters
    ----------
    names : sequence of str
    sentences : mapping of language to sentences, optional
        Needed to discover unregistered features for ``morph:all``.
    min_examples : int, default=100
    missing : {"exclude", "none"}
        Policy for words without a morphological feature.
    """
    out: list[ProbeTask] = []
    seen: set[str] = set()

    def add(t: ProbeTask) -> None:
        if t.task_name not in seen:
            seen.add(t.task_name)
            out.append(t)

    if not names:
        raise ConfigError("No probe task given; pass e.g. --tasks upos,deprel,morph:all.")
    for name in names:
        if name == "all":
            for n in TASKS.names():
                add(get_task(n, missing=missing))
            if sentences is not None:
                for t in resolve_tasks(["morph:all"], sentences, min_examples=min_examples, missing=missing):
                    add(t)
        elif name == "morph:all":
            feats = [f"morph:{f}" for f in MORPH_FEATURES]
            if sentences is not None:
                best: Counter[str] = Counter()
                for sents in sentences.values():
                    for f, c in morph_feature_counts(sents).items():
                        best[f] = max(best[f], c)
                feats += [f"morph:{f}" for f in sorted(best) if best[f] >= min_examples]
            for f in feats:
                add(get_task(f, missing=missing))
        else:
            add(get_task(name, missing=missing))
    return out
