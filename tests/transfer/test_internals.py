"""Exactness of the fast paths (the public surface: tests/test_public_api.py)."""

import numpy as np
import pytest

from transfer.features import SyntheticFeatures
from transfer.heads import RidgeHead
from transfer.regimes import SHOT_BLOCK, shot_stats
from transfer.splits import shot_indices
from transfer.tasks import get_task


def test_ridge_fit_stats_equals_direct_warm_fit():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 6)) * 3 + 1, rng.integers(0, 3, 200)
    Xk, yk = rng.normal(size=(40, 6)) + 2, rng.integers(0, 3, 40)
    a = RidgeHead(3, alpha=5.0).fit(X, y)
    b = a.copy()
    a.fit(Xk, yk, warm_start=True)
    G, B = b.stats(Xk, yk)
    b.fit_stats(G, B, warm_start=True)
    assert np.allclose(a.W_, b.W_, atol=1e-8)
    assert np.array_equal(a.predict(Xk), b.predict(Xk))


@pytest.mark.parametrize("k", [0, 7, SHOT_BLOCK, SHOT_BLOCK + 3, 500])
def test_shot_stats_match_direct_statistics_and_are_order_independent(k):
    task = get_task("ner")
    fs = SyntheticFeatures(dim=5, n_train=120, words=4)
    units = fs.units(task, "de", "train", "last")
    head = RidgeHead(len(task.labels))
    shots = shot_indices(units.n_examples, k, seed=1, key="ner/de")
    sel = units.select(shots)
    G0, B0 = head.stats(sel.X, sel.y)
    key = ("t", k)
    G, B, n = shot_stats(units, k, key=key, seed=1, shot_key="ner/de", n_classes=len(task.labels))
    assert n == min(k, 120)
    assert np.allclose(G, G0) and np.allclose(B, B0)
    # a different order of requests gives bitwise identical sums
    for kk in (SHOT_BLOCK * 2, 3):
        shot_stats(units, kk, key=("u", k), seed=1, shot_key="ner/de", n_classes=len(task.labels))
    G2, B2, _ = shot_stats(units, k, key=("u", k), seed=1, shot_key="ner/de", n_classes=len(task.labels))
    assert np.array_equal(G, G2) and np.array_equal(B, B2)
