"""Deterministic, leakage-free splits of example pools.

XNLI and PAWS-X in the shared data are dev sets that are parallel across
languages (line ``i`` is the same example everywhere). :func:`index_split`
splits such a set by example index into a training pool and a disjoint test
pool; the split depends only on the number of examples, the group size and a
fixed seed, never on the language, so every language gets the same indices and
a target is never tested on the translation of an example the source saw.
Examples that share a premise (XNLI lists three hypotheses per premise on
consecutive lines) are kept on the same side by splitting whole groups of
``group_size`` consecutive lines.
"""

from __future__ import annotations

import numpy as np

from crossling.errors import ConfigError

__all__ = ["index_split", "capped_subset", "shot_indices"]


def _rng(*keys: int | str) -> np.random.Generator:
    """A generator seeded from a tuple of ints/strings (stable across runs and platforms)."""
    import hashlib

    h = hashlib.sha256("\x1f".join(str(k) for k in keys).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


def index_split(
    n: int, *, test_fraction: float = 0.5, group_size: int = 1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split example indices ``0..n-1`` into disjoint train and test pools.

    Parameters
    ----------
    n : int
        Number of examples (lines) in the set.
    test_fraction : float, default=0.5
        Share of groups that go to the test pool, in (0, 1).
    group_size : int, default=1
        Consecutive lines ``[g*size, (g+1)*size)`` form one group and stay together.
    seed : int, default=0
        Split seed (a property of the experiment, not of a run seed).

    Returns
    -------
    train_idx, test_idx : ndarray of int, shape (n_train,), (n_test,)
        Sorted, disjoint, together covering ``0..n-1``.

    Examples
    --------
    >>> tr, te = index_split(12, group_size=3, seed=0)
    >>> sorted(set(tr) | set(te)) == list(range(12)), set(tr) & set(te)
    (True, set())
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}.")
    if group_size < 1:
        raise ConfigError(f"group_size must be >= 1, got {group_size!r}.")
    if n < 2:
        raise ConfigError(f"Cannot split {n} example(s) into a train and a test pool; need at least 2.")
    n_groups = -(-n // group_size)
    perm = _rng("index_split", n, group_size, seed).permutation(n_groups)
    n_test_groups = min(max(1, int(round(n_groups * test_fraction))), n_groups - 1)
    test_groups = np.zeros(n_groups, dtype=bool)
    test_groups[perm[:n_test_groups]] = True
    group_of = np.arange(n) // group_size
    is_test = test_groups[group_of]
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def capped_subset(indices: np.ndarray, cap: int | None, *, seed: int = 0, key: str = "") -> np.ndarray:
    """A fixed random subset of at most ``cap`` of ``indices`` (sorted).

    The subset depends only on ``indices``, ``cap``, ``seed`` and ``key``,
    so parallel languages with the same indices get the same subset.

    Parameters
    ----------
    indices : ndarray of int, shape (n,)
    cap : int or None
        Maximum size; ``None`` keeps everything.
    seed : int
    key : str
        Distinguishes independent subsets (e.g. ``"train"`` / ``"test"``).

    Returns
    -------
    ndarray of int, shape (min(n, cap),)
    """
    indices = np.asarray(indices)
    if cap is None or cap >= len(indices):
        return np.sort(indices)
    if cap < 0:
        raise ConfigError(f"A size cap must be >= 0, got {cap!r}.")
    pick = _rng("capped_subset", key, len(indices), seed).permutation(len(indices))[:cap]
    return np.sort(indices[pick])


def shot_indices(n_pool: int, k: int, *, seed: int, key: str = "") -> np.ndarray:
    """Indices of the ``k`` target examples used by a few-shot cell.

    Nested across ``k``: the 10-shot set is a prefix of the 50-shot set for the
    same seed, so curves over ``k`` add examples rather than resample them.

    Parameters
    ----------
    n_pool : int
        Size of the target's training pool.
    k : int
        Number of shots; values above ``n_pool`` take the whole pool.
    seed : int
        Run seed.
    key : str
        E.g. ``"pos/de"`` so that targets draw independent samples.

    Returns
    -------
    ndarray of int, shape (min(k, n_pool),)
    """
    if k < 0:
        raise ConfigError(f"The number of shots k must be >= 0, got {k!r}.")
    perm = _rng("shots", key, n_pool, seed).permutation(n_pool)
    return perm[: min(k, n_pool)]
