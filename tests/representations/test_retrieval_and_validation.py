"""Retrieval accuracy and the shared input validator (the public surface: tests/test_public_api.py)."""

from __future__ import annotations

import numpy as np
import pytest

from crossling.errors import DataError
from representations import (
    canonical_correlations,
    check_pair,
    linear_cka,
    minibatch_cka,
    pwcca,
    rbf_cka,
    retrieval_accuracy,
    svcca,
)


def test_retrieval_perfect_and_chance(rng):
    x = rng.normal(size=(200, 16))
    r = retrieval_accuracy(x, 3 * x + 0.01 * rng.normal(size=x.shape))
    assert r == (1.0, 1.0) and r.x_to_y == 1.0
    r0 = retrieval_accuracy(x, rng.normal(size=(200, 16)))
    assert r0.x_to_y < 0.05 and r0.y_to_x < 0.05


def test_retrieval_directions_differ_and_match_brute_force(rng):
    x = rng.normal(size=(150, 8))
    y = x + 1.2 * rng.normal(size=(150, 8))
    zx = x / np.linalg.norm(x, axis=1, keepdims=True)
    zy = y / np.linalg.norm(y, axis=1, keepdims=True)
    s = zx @ zy.T
    ref_xy = np.mean(np.argmax(s, axis=1) == np.arange(150))
    ref_yx = np.mean(np.argmax(s, axis=0) == np.arange(150))
    r = retrieval_accuracy(x, y, block=7)  # several blocks: running column maxima
    assert r.x_to_y == pytest.approx(ref_xy) and r.y_to_x == pytest.approx(ref_yx)
    assert r.x_to_y != r.y_to_x


def test_retrieval_centering_removes_language_offset(rng):
    z = rng.normal(size=(300, 32))
    x = z + 0.8 * rng.normal(size=z.shape) + 6.0  # big shared offset per language
    y = z + 0.8 * rng.normal(size=z.shape) - 6.0 * np.sign(rng.normal(size=32))
    plain = retrieval_accuracy(x, y)
    centred = retrieval_accuracy(x, y, center=True)
    assert centred.x_to_y > plain.x_to_y + 0.2


def test_retrieval_ties_count_as_wrong():
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    r = retrieval_accuracy(x, x.copy())
    assert r.x_to_y == pytest.approx(1 / 3)


def test_retrieval_needs_same_width(rng):
    with pytest.raises(DataError, match=r"\(10, 3\).*\(10, 4\)"):
        retrieval_accuracy(rng.normal(size=(10, 3)), rng.normal(size=(10, 4)))


FUNCTIONS = [
    ("linear_cka", lambda x, y: linear_cka(x, y)),
    ("linear_cka", lambda x, y: linear_cka(x, y, debiased=True)),
    ("rbf_cka", lambda x, y: rbf_cka(x, y)),
    ("minibatch_cka", lambda x, y: minibatch_cka(iter([x]), iter([y]))),
    ("svcca", lambda x, y: svcca(x, y)),
    ("pwcca", lambda x, y: pwcca(x, y)),
    ("canonical_correlations", lambda x, y: canonical_correlations(x, y)),
    ("retrieval_accuracy", lambda x, y: retrieval_accuracy(x, y)),
]


@pytest.mark.parametrize("name,fn", FUNCTIONS)
def test_every_function_rejects_bad_input_naming_both_shapes(rng, name, fn):
    x = rng.normal(size=(30, 5))
    y = rng.normal(size=(30, 5))
    bad = x.copy()
    bad[3, 2] = np.nan
    cases = [
        (x, y[:29], r"\(30, 5\).*\(29, 5\).*unequal numbers of rows"),
        (bad, y, r"\(30, 5\).*\(30, 5\).*NaN.*row 3, column 2"),
        (x, np.full((30, 5), 2.0), r"\(30, 5\).*constant"),
        (x[:, 0], y, r"\(30,\).*\(30, 5\).*2-D"),
        (x[:1], y[:1], r"\(1, 5\).*\(1, 5\).*n >= "),
        (np.array([["a"] * 5] * 30), y, r"real numbers"),
    ]
    for a, b, pattern in cases:
        with pytest.raises(DataError, match=pattern):
            fn(a, b)
    with pytest.raises(ValueError):  # DataError is also a ValueError for scikit-learn-style callers
        fn(x, y[:2])


def test_check_pair_returns_float64_views(rng):
    x = rng.normal(size=(5, 2))
    xx, yy = check_pair(x, x.astype(np.float16))
    assert xx is x and yy.dtype == np.float64
    with pytest.raises(DataError, match="no features"):
        check_pair(np.empty((4, 0)), x[:4])
