import numpy as np
import pytest

from crossling.errors import ConfigError
from transfer.splits import capped_subset, index_split, shot_indices


@pytest.mark.parametrize("n,g", [(2490, 3), (2000, 1), (11, 3), (2, 1)])
def test_index_split_disjoint_cover_groups(n, g):
    tr, te = index_split(n, test_fraction=0.5, group_size=g, seed=0)
    assert set(tr).isdisjoint(te)
    assert sorted(np.r_[tr, te]) == list(range(n))
    assert len(tr) and len(te)
    # whole groups on one side
    assert set(tr // g).isdisjoint(set(te // g))


def test_index_split_deterministic_and_seeded():
    a = index_split(100, seed=3)
    b = index_split(100, seed=3)
    c = index_split(100, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_index_split_errors():
    with pytest.raises(ConfigError, match="test_fraction"):
        index_split(10, test_fraction=1.0)
    with pytest.raises(ConfigError, match="at least 2"):
        index_split(1)


def test_capped_subset_and_shots():
    idx = np.arange(50, 150)
    s = capped_subset(idx, 10, seed=0, key="train")
    assert len(s) == 10 and set(s) <= set(idx) and list(s) == sorted(s)
    assert np.array_equal(capped_subset(idx, None), idx)
    assert np.array_equal(capped_subset(idx, 1000), idx)
    # nested shots: the 10-shot set is a prefix of the 50-shot set
    a = shot_indices(200, 10, seed=1, key="pos/de")
    b = shot_indices(200, 50, seed=1, key="pos/de")
    assert np.array_equal(a, b[:10])
    assert len(shot_indices(5, 10, seed=0)) == 5
    assert not np.array_equal(shot_indices(200, 10, seed=2, key="pos/de"), a)
    with pytest.raises(ConfigError, match="k must be >= 0"):
        shot_indices(5, -1, seed=0)
