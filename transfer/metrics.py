"""Scores of downstream tasks: accuracy and entity-level F1 (seqeval-style).

Every metric is a callable ``metric(gold, pred) -> dict[str, float]`` that takes
one list of labels per example (a sentence's tags for token tasks, a one-item
list for sentence tasks) and returns named values; it is registered in
:data:`METRICS` so a task names its metric by string, and a run may add
metrics of its own (``metrics:`` in a transfer config, ``--metrics``).

A new metric is a function (or a :class:`Metric` subclass) registered with
``@METRICS.register("name")`` in this file, or, without touching the
repository, named ``package.module:name`` wherever a metric name is accepted
(a task's ``metric``, ``metrics:`` / ``--metrics``). Its capabilities are
attributes of the registered object: ``task_kinds`` (default: every kind)
says which task kinds (``token``, ``pair``) it can score, checked when the
config is validated (:func:`check_metric`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crossling.errors import ConfigError, DataError
from crossling.registry import Registry

__all__ = ["METRICS", "Metric", "get_metric", "metric_capabilities", "check_metric", "accuracy", "entity_f1",
           "bio_entities", "ALL_TASK_KINDS"]

#: Registry of metrics (functions or :class:`Metric` classes), keyed by name.
METRICS: Registry = Registry("transfer metric")

#: Task kinds a metric scores unless it says otherwise.
ALL_TASK_KINDS: tuple[str, ...] = ("token", "pair")

MetricFn = Callable[[Sequence[Sequence[str]], Sequence[Sequence[str]]], dict[str, float]]


class Metric:
    """Base class of a metric object (a plain function works as well).

    Class attributes
    ----------------
    task_kinds : tuple of str
        Task kinds the metric can score (``token``, ``pair``).

    Subclasses implement ``__call__(gold, pred) -> dict[str, float]``; the
    class is instantiated without arguments by :func:`get_metric`.
    """

    task_kinds: tuple[str, ...] = ALL_TASK_KINDS

    def __call__(self, gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
        raise NotImplementedError


def get_metric(name: str) -> MetricFn:
    """The callable of metric ``name`` (a registered name or ``module:name``; classes are instantiated).

    Examples
    --------
    >>> get_metric("accuracy")([["A"]], [["A"]])
    {'accuracy': 1.0}
    """
    obj: Any = METRICS.get(name)
    fn = obj() if isinstance(obj, type) else obj
    if not callable(fn):
        raise ConfigError(f"The metric {name!r} is {type(fn).__name__}, not a callable (gold, pred) -> dict.")
    return fn


def metric_capabilities(name: str) -> dict[str, Any]:
    """What metric ``name`` declares about itself: ``{"task_kinds": (...)}``.

    Examples
    --------
    >>> metric_capabilities("entity_f1")
    {'task_kinds': ('token',)}
    """
    obj: Any = METRICS.get(name)
    return {"task_kinds": tuple(getattr(obj, "task_kinds", ALL_TASK_KINDS))}


def check_metric(name: str, task_kind: str, *, task: str = "") -> None:
    """Refuse a metric that cannot score a task of kind ``task_kind``.

    Raises
    ------
    ConfigError
        Naming the metric, the task and the kinds the metric supports.
    """
    kinds = metric_capabilities(name)["task_kinds"]
    if task_kind not in kinds:
        raise ConfigError(f"The metric {name!r} scores {'/'.join(kinds)} tasks, but task {task or '?'!r} is a "
                          f"{task_kind} task. Drop the metric or the task.")


def _check_lengths(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(pred):
        raise DataError(f"gold has {len(gold)} examples but pred has {len(pred)}; they must align one to one.")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise DataError(f"Example {i}: gold has {len(g)} labels but pred has {len(p)}; they must align.")


@METRICS.register("accuracy")
def accuracy(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Fraction of labels predicted exactly, pooled over all examples.

    Parameters
    ----------
    gold, pred : sequence of sequence of str
        One label list per example (length 1 for sentence-level tasks).

    Returns
    -------
    dict
        ``{"accuracy": float}`` (NaN when there is no label).

    Examples
    --------
    >>> accuracy([["A", "B"], ["C"]], [["A", "C"], ["C"]])
    {'accuracy': 0.6666666666666666}
    """
    _check_lengths(gold, pred)
    n = sum(len(g) for g in gold)
    if n == 0:
        return {"accuracy": float("nan")}
    hit = sum(a == b for g, p in zip(gold, pred) for a, b in zip(g, p))
    return {"accuracy": hit / n}


def _split_tag(tag: str) -> tuple[str, str]:
    if tag in ("O", "", None):
        return "O", ""
    prefix, sep, typ = str(tag).partition("-")
    if not sep or prefix not in ("B", "I", "E", "S"):
        # A bare type ("PER") is read as an inside tag of that type, as conlleval does.
        return "I", str(tag)
    return prefix, typ


def bio_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entity spans of a BIO (IOB2, lenient IOB1) tag sequence, conlleval/seqeval style.

    A chunk starts at ``B-X``, or at ``I-X`` that follows ``O`` or a tag of
    another type; it ends before ``O``, ``B-*`` or a tag of another type.

    Parameters
    ----------
    tags : sequence of str
        One tag per word, e.g. ``["B-PER", "I-PER", "O"]``.

    Returns
    -------
    list of (type, start, end)
        ``end`` is exclusive.

    Examples
    --------
    >>> bio_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5)]
    """
    out: list[tuple[str, int, int]] = []
    start, cur = -1, ""
    for i, t in enumerate(list(tags) + ["O"]):
        prefix, typ = _split_tag(t)
        begins = prefix in ("B", "S") or (prefix in ("I", "E") and typ != cur)
        ends = cur != "" and (prefix == "O" or begins)
        if ends:
            out.append((cur, start, i))
            cur, start = "", -1
        if prefix != "O" and (begins or cur == ""):
            cur, start = typ, i
        if prefix in ("E", "S") and cur != "":
            out.append((cur, start, i + 1))
            cur, start = "", -1
    return out


@METRICS.register("entity_f1")
def entity_f1(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro-averaged entity-level precision, recall and F1 with exact span match.

    An entity counts as correct only when its type, first word and last word
    all match a gold entity (seqeval's default mode / conlleval).

    Parameters
    ----------
    gold, pred : sequence of sequence of str
        BIO tags, one list per sentence.

    Returns
    -------
    dict
        ``{"f1", "precision", "recall"}``; precision (recall) is 0 when
        nothing is predicted (in the gold), and F1 is 0 when both are 0.

    Examples
    --------
    >>> entity_f1([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    {'f1': 0.0, 'precision': 0.0, 'recall': 0.0}
    """
    _check_lengths(gold, pred)
    n_gold = n_pred = n_hit = 0
    for g, p in zip(gold, pred):
        ge = set(bio_entities(g))
        pe = set(bio_entities(p))
        n_gold += len(ge)
        n_pred += len(pe)
        n_hit += len(ge & pe)
    precision = n_hit / n_pred if n_pred else 0.0
    recall = n_hit / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


entity_f1.task_kinds = ("token",)  # type: ignore[attr-defined]
