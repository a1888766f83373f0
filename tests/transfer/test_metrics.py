import math

import pytest

from crossling.errors import DataError
from transfer.metrics import METRICS, accuracy, bio_entities, entity_f1


def test_bio_entities_iob2_and_lenient_iob1():
    assert bio_entities(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    # I- after O starts a chunk; a type change splits; B- right after a chunk splits
    assert bio_entities(["I-ORG", "I-ORG", "I-PER", "B-PER", "I-PER"]) == [("ORG", 0, 2), ("PER", 2, 3), ("PER", 3, 5)]
    assert bio_entities(["O", "O"]) == []
    assert bio_entities([]) == []
    assert bio_entities(["B-LOC"]) == [("LOC", 0, 1)]


def test_entity_f1_hand_computed():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"], ["B-ORG", "I-ORG", "I-ORG"]]
    # sentence 1: PER exact (hit), LOC predicted as ORG (miss, extra pred)
    # sentence 2: ORG predicted too short (0:2 instead of 0:3) -> miss + wrong pred
    pred = [["B-PER", "I-PER", "O", "B-ORG", "O"], ["B-ORG", "I-ORG", "O"]]
    r = entity_f1(gold, pred)
    # gold entities 3, predicted 3, correct 1
    assert r["precision"] == pytest.approx(1 / 3)
    assert r["recall"] == pytest.approx(1 / 3)
    assert r["f1"] == pytest.approx(1 / 3)


def test_entity_f1_asymmetric_counts():
    gold = [["B-PER", "O", "B-LOC", "I-LOC"]]
    pred = [["B-PER", "O", "O", "O"]]  # 1 predicted, 1 correct, 2 gold
    r = entity_f1(gold, pred)
    assert r["precision"] == 1.0
    assert r["recall"] == 0.5
    assert r["f1"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)


def test_entity_f1_exact_span_required():
    # a predicted span that overlaps but is longer does not count
    r = entity_f1([["B-PER", "O"]], [["B-PER", "I-PER"]])
    assert r == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    # nothing predicted, nothing gold
    assert entity_f1([["O"]], [["O"]])["f1"] == 0.0


def test_entity_f1_perfect_and_empty_prediction_string():
    gold = [["B-LOC", "I-LOC", "O"]]
    assert entity_f1(gold, gold)["f1"] == 1.0
    # "" (an out-of-window word) counts as outside any entity
    assert entity_f1(gold, [["B-LOC", "", "O"]])["f1"] == 0.0


def test_accuracy_and_alignment_errors():
    assert accuracy([["A", "B"], ["C"]], [["A", "C"], ["C"]])["accuracy"] == pytest.approx(2 / 3)
    assert math.isnan(accuracy([], [])["accuracy"])
    with pytest.raises(DataError, match="gold has 2 labels but pred has 1"):
        accuracy([["A", "B"]], [["A"]])
    with pytest.raises(DataError, match="gold has 1 examples but pred has 2"):
        entity_f1([["O"]], [["O"], ["O"]])
    assert set(METRICS.names()) >= {"accuracy", "entity_f1"}
