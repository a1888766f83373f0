"""Scores of downstream tasks: accuracy and entity-level F1 (seqeval-style).

Every metric is a function ``metric(gold, pred) -> dict[str, float]`` that takes
one list of labels per example (a sentence's tags for token tasks, a one-item
list for sentence tasks) and returns named values; it is registered in
:data:`METRICS` so a task names its metric by string.
"""

from __future__ import annotations

from collections.abc import Sequence

from crossling.errors import DataError
from crossling.registry import Registry

__all__ = ["METRICS", "accuracy", "entity_f1", "bio_entities"]

#: Registry of metric functions, keyed by name.
METRICS: Registry = Registry("transfer metric")


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
