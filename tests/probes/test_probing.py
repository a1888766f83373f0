"""Probe solvers: planted signals are found, shuffled ones are not, and results match scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from crossling.errors import ConfigError, DataError
from probes.probing import (
    Head,
    Standardizer,
    accuracy,
    fit_arc_probe,
    fit_logreg_heads,
    fit_mlp_heads,
    fit_ridge,
    macro_f1,
    online_codelength,
)


def planted(n=3000, d=20, k=4, seed=0, noise=0.0):
    """Random features with a label that is linearly encoded (argmax of a random projection)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    W = rng.standard_normal((d, k))
    y = (X @ W + noise * rng.gumbel(size=(n, k))).argmax(axis=1)
    return X, y


def test_planted_label_recovered_and_shuffled_at_chance():
    X, y = planted()
    rng = np.random.default_rng(1)
    y_shuf = rng.permutation(y)
    tr, te = slice(0, 2000), slice(2000, None)
    fit = fit_logreg_heads(X[tr], [Head("planted", y[tr], 4), Head("shuffled", y_shuf[tr], 4)], max_iter=300)
    p = fit.predict(X[te])
    assert accuracy(y[te], p[0]) > 0.93
    majority = np.bincount(y_shuf[tr]).max() / 2000
    assert abs(accuracy(y_shuf[te], p[1]) - majority) < 0.06


def test_matches_sklearn_per_head():
    from sklearn.linear_model import LogisticRegression

    X, y = planted(n=1500, d=30, k=5, noise=2.0)
    rng = np.random.default_rng(2)
    yb = (X[:, 0] + rng.standard_normal(1500) > 0).astype(int)
    yb[rng.random(1500) < 0.5] = -1  # a head that ignores half the rows
    heads = [Head("multi", y, 5, C=0.5), Head("binary", yb, 2, C=2.0)]
    fit = fit_logreg_heads(X, heads, max_iter=500, tol=1e-6)
    for i, h in enumerate(heads):
        m = h.y >= 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = LogisticRegression(C=h.C, max_iter=2000, tol=1e-8).fit(X[m], h.y[m])
        ours = fit.predict(X[m])[i]
        assert (ours == sk.predict(X[m])).mean() > 0.995
        W, b = fit.head(h.name)
        if h.n_classes == 2:  # sklearn's sigmoid weights = difference of our two softmax columns
            np.testing.assert_allclose(W[:, 1] - W[:, 0], sk.coef_[0], atol=2e-3)
        else:
            np.testing.assert_allclose(W - W.mean(axis=1, keepdims=True), sk.coef_.T - sk.coef_.T.mean(axis=1, keepdims=True), atol=2e-3)


def test_joint_equals_separate_and_warm_start():
    X, y = planted(n=800, d=10, k=3, noise=1.0)
    y2 = planted(n=800, d=10, k=2, seed=5, noise=1.0)[1]
    joint = fit_logreg_heads(X, [Head("a", y, 3), Head("b", y2, 2)], max_iter=500, tol=1e-7)
    sep = fit_logreg_heads(X, [Head("a", y, 3)], max_iter=500, tol=1e-7)
    np.testing.assert_allclose(joint.head("a")[0], sep.head("a")[0], atol=1e-3)
    warm = fit_logreg_heads(X, [Head("a", y, 3), Head("b", y2, 2)], init=joint, max_iter=500, tol=1e-4)
    assert warm.n_iter <= 2 and warm.converged
    with pytest.raises(ConfigError, match="Warm start"):
        fit_logreg_heads(X, [Head("a", y, 3)], init=joint)


def test_head_validation():
    with pytest.raises(DataError, match="labels must lie in"):
        Head("h", np.array([0, 3]), 3)
    X = np.zeros((4, 2), np.float32)
    with pytest.raises(DataError, match="has 3 labels but X has 4 rows"):
        fit_logreg_heads(X, [Head("h", np.array([0, 1, 0]), 2)])
    with pytest.raises(DataError, match="2-D"):
        fit_logreg_heads(np.zeros(4, np.float32), [Head("h", np.array([0, 1, 0, 1]), 2)])


def test_empty_head_gives_uniform():
    X, y = planted(n=200, d=5, k=3)
    fit = fit_logreg_heads(X, [Head("a", y, 3), Head("none", np.full(200, -1), 3)])
    W, b = fit.head("none")
    assert np.allclose(W, 0) and np.allclose(b, 0)


def test_control_selectivity_near_zero_on_random_features():
    """On features that encode nothing, task and control accuracy are both at the majority level."""
    from probes.probing import control_labels, get_task, task_labels
    from crossling.types import Sentence, Word

    rng = np.random.default_rng(0)
    n_types, n = 300, 6000
    type_of = rng.integers(0, n_types, n)
    label_of_type = rng.choice(["NOUN", "VERB", "ADJ"], n_types, p=[0.5, 0.3, 0.2])
    words = [Word(id=i + 1, form=f"t{type_of[i]}", span=(0, 0), upos=str(label_of_type[type_of[i]])) for i in range(n)]
    sents = [Sentence("s", "xx", "", words)]
    t = get_task("upos")
    labs = task_labels(t, sents)
    ctrl = control_labels(t, sents, labs, seed=0)
    vocab = sorted(set(labs))
    y = np.array([vocab.index(v) for v in labs])
    yc = np.array([vocab.index(v) for v in ctrl])
    X = Standardizer(rng.standard_normal((n, 16))).transform(rng.standard_normal((n, 16)))
    tr, te = slice(0, 4000), slice(4000, None)
    fit = fit_logreg_heads(X[tr], [Head("task", y[tr], 3, C=0.1), Head("control", yc[tr], 3, C=0.1)])
    p = fit.predict(X[te])
    selectivity = accuracy(y[te], p[0]) - accuracy(yc[te], p[1])
    assert abs(selectivity) < 0.05


def test_mdl_planted_shorter_than_shuffled():
    X, y = planted(n=2000, d=16, k=4, noise=0.5)
    y_shuf = np.random.default_rng(3).permutation(y)
    res = online_codelength(X, [Head("planted", y, 4), Head("shuffled", y_shuf, 4)])
    planted_r, shuffled_r = res
    assert planted_r.codelength < 0.6 * shuffled_r.codelength
    assert planted_r.compression > 1.5
    assert 0.85 < shuffled_r.compression < 1.1  # no structure: about the uniform code
    assert planted_r.uniform_codelength == pytest.approx(2000 * 2.0)
    assert len(planted_r.block_bits) == 11 and planted_r.block_bits[0] == pytest.approx(2 * 2.0)
    with pytest.raises(ConfigError, match="end at 1"):
        online_codelength(X, [Head("p", y, 4)], fractions=(0.1, 0.5))


def test_ridge_matches_sklearn_and_picks_alpha():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 12))
    w = rng.standard_normal(12)
    y = X @ w + 0.5 * rng.standard_normal(500)
    y2 = y.copy()
    y2[::3] = np.nan
    fit = fit_ridge(X, np.stack([y, y2], 1), alphas=[3.0])
    sk = Ridge(alpha=3.0).fit(X, y)
    np.testing.assert_allclose(fit.W[:, 0], sk.coef_, atol=1e-8)
    np.testing.assert_allclose(fit.b[0], sk.intercept_, atol=1e-8)
    m = np.isfinite(y2)
    np.testing.assert_allclose(fit.W[:, 1], Ridge(alpha=3.0).fit(X[m], y2[m]).coef_, atol=1e-8)
    Xd = rng.standard_normal((200, 12))
    yd = Xd @ w
    noise_target = rng.standard_normal(500)
    sel = fit_ridge(X, np.stack([y, noise_target], 1), alphas=[0.01, 1e6], X_dev=Xd,
                    Y_dev=np.stack([yd, rng.standard_normal(200)], 1))
    assert sel.alpha[0] == 0.01 and sel.alpha[1] == 1e6
    with pytest.raises(ConfigError, match="X_dev"):
        fit_ridge(X, y, alphas=[1, 2])


def test_mlp_learns_nonlinear_label_and_is_reproducible():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 6)).astype(np.float32)
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)  # XOR: not linearly separable
    heads = [Head("xor", y[:2000], 2)]
    lin = fit_logreg_heads(X[:2000], heads)
    a = fit_mlp_heads(X[:2000], heads, hidden=32, epochs=30, lr=1e-2, batch_size=128, seed=1)
    b = fit_mlp_heads(X[:2000], heads, hidden=32, epochs=30, lr=1e-2, batch_size=128, seed=1)
    np.testing.assert_array_equal(a.W1, b.W1)
    assert accuracy(y[2000:], lin.predict(X[2000:])[0]) < 0.65
    assert accuracy(y[2000:], a.predict(X[2000:])[0]) > 0.9


def test_arc_probe_recovers_planted_heads():
    rng = np.random.default_rng(0)
    d, n_sent, L = 16, 120, 6
    X, heads, sow = [], [], []
    for s in range(n_sent):
        H = rng.standard_normal((L, d))
        h = rng.integers(0, L - 1, L)
        h = np.where(h >= np.arange(L), h + 1, h)  # never self
        h[0] = -1  # word 0 is the root
        # plant: the first 4 dims of a word copy dims 4..8 of its head
        for i in range(1, L):
            H[i, :4] = H[h[i], 4:8]
        X.append(H)
        heads.append(h)
        sow.append(np.full(L, s))
    X = np.concatenate(X).astype(np.float32)
    heads = np.concatenate(heads)
    sow = np.concatenate(sow)
    train = sow < 90
    probe = fit_arc_probe(X, heads, sow, train, rank=8, steps=200, lr=0.05)
    pred = probe.predict(X, sow)
    test = (~train) & (heads >= 0)
    assert accuracy(heads[test], pred[test]) > 0.65  # chance is 1/5
    # heads shuffled within sentences carry no signal: near chance
    rng2 = np.random.default_rng(1)
    shuf = heads.copy()
    for s in range(n_sent):
        idx = np.flatnonzero((sow == s) & (heads >= 0))
        shuf[idx] = rng2.permutation(heads[idx])
    shuf[shuf == np.arange(len(shuf)) % L] = -1  # drop self-attachments
    ctrl = fit_arc_probe(X, shuf, sow, train, rank=8, steps=200, lr=0.05).predict(X, sow)
    tc = test & (shuf >= 0)
    assert accuracy(shuf[tc], ctrl[tc]) < 0.4


def test_macro_f1_matches_sklearn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < 0.6, y, rng.integers(0, 7, 300))
    assert macro_f1(y, p) == pytest.approx(f1_score(y, p, average="macro"))


def test_standardizer():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 4)) * [1, 5, 0, 2] + 3
    Z = Standardizer(X).transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z[:, [0, 1, 3]].std(0), 1, atol=1e-4)
    assert np.all(Z[:, 2] == 0)
    with pytest.raises(DataError, match="fitted on 4 features"):
        Standardizer(X).transform(X[:, :3])


def test_whitening_handles_rank_deficient_and_constant_features():
    """More features than rows, duplicated and constant columns: the same answer as scikit-learn."""
    from sklearn.linear_model import LogisticRegression

    from probes.probing import whitening_basis

    rng = np.random.default_rng(4)
    base = rng.standard_normal((60, 10)).astype(np.float32)
    X = np.concatenate([base, base[:, :5] * 2.0, np.zeros((60, 3), np.float32), rng.standard_normal((60, 70))],
                       axis=1).astype(np.float32)  # 88 features, 60 rows, rank <= 60
    y = (base[:, 0] + 0.3 * base[:, 1] > 0).astype(int)
    basis = whitening_basis(X)
    assert basis.rank <= 60
    np.testing.assert_allclose((X @ basis.P).T @ (X @ basis.P) / 60, np.eye(basis.rank), atol=2e-3)
    fit = fit_logreg_heads(X, [Head("y", y, 2, C=0.5)], max_iter=500, tol=1e-6)
    sk = LogisticRegression(C=0.5, max_iter=5000, tol=1e-10).fit(X, y)
    W, _ = fit.head("y")
    np.testing.assert_allclose(W[:, 1] - W[:, 0], sk.coef_[0], atol=5e-3)
    assert np.allclose(W[15:18], 0.0)  # constant columns get no weight
    with pytest.raises(ConfigError, match="floor"):
        whitening_basis(X, floor=1.5)


def test_heads_solved_in_threads_equal_serial():
    X, y = planted(n=1200, d=24, k=5, noise=1.0)
    y2 = np.where(np.arange(1200) % 3 == 0, -1, planted(n=1200, d=24, k=3, seed=9, noise=1.0)[1])
    heads = [Head("a", y, 5), Head("b", y2, 3), Head("c", (y > 2).astype(int), 2)]
    par = fit_logreg_heads(X, heads, n_jobs=3)
    ser = fit_logreg_heads(X, heads, n_jobs=1)
    np.testing.assert_array_equal(par.W, ser.W)
    assert par.head_iters == ser.head_iters and all(i > 0 for i in par.head_iters)


def test_lockstep_over_row_blocks_matches_sklearn_and_ignores_thread_count():
    """Rows span several solver blocks; heads on all rows, on most rows (shared pass, weight 0
    elsewhere) and on a rare subset (own pass) are solved in the same rounds; the result is the
    same with 1 or 2 threads and each head matches scikit-learn fitted on its own rows."""
    from sklearn.linear_model import LogisticRegression

    import probes.probing._logreg as pp

    from probes.probing._threads import _BLOCK_ROWS

    n = 2 * _BLOCK_ROWS + 700
    X, y = planted(n=n, d=12, k=4, noise=1.5)
    rng = np.random.default_rng(3)
    most = np.where(rng.random(n) < 0.6, planted(n=n, d=12, k=3, seed=4, noise=1.5)[1], -1)
    rare = np.where(rng.random(n) < 0.05, (X[:, 1] + rng.standard_normal(n) > 0).astype(int), -1)
    assert (most >= 0).mean() >= pp._SHARED_ROWS > (rare >= 0).mean()
    heads = [Head("all", y, 4), Head("most", most, 3, C=0.3), Head("rare", rare, 2, C=3.0)]
    one = fit_logreg_heads(X, heads, max_iter=500, tol=1e-5, n_jobs=1)
    two = fit_logreg_heads(X, heads, max_iter=500, tol=1e-5, n_jobs=2)
    np.testing.assert_array_equal(one.W, two.W)
    np.testing.assert_array_equal(one.b, two.b)
    assert one.head_iters == two.head_iters and one.converged
    for i, h in enumerate(heads):
        m = h.y >= 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = LogisticRegression(C=h.C, max_iter=3000, tol=1e-9).fit(X[m], h.y[m])
        assert (one.predict(X[m])[i] == sk.predict(X[m])).mean() > 0.995
        W, b = one.head(h.name)
        if h.n_classes == 2:
            np.testing.assert_allclose(W[:, 1] - W[:, 0], sk.coef_[0], atol=3e-3)
        else:
            np.testing.assert_allclose(W - W.mean(axis=1, keepdims=True),
                                       sk.coef_.T - sk.coef_.T.mean(axis=1, keepdims=True), atol=3e-3)


def test_standardizer_matches_numpy_statistics():
    X = (np.random.default_rng(0).standard_normal((500, 7)) * [1, 10, 1e-3, 5, 1, 1, 0] + 100).astype(np.float32)
    std = Standardizer(X)
    np.testing.assert_allclose(std.mean_, X.astype(np.float64).mean(axis=0), rtol=1e-12)
    sd = X.astype(np.float64).std(axis=0)
    np.testing.assert_allclose(std.scale_[:6], sd[:6], rtol=1e-6)
    assert std.scale_[6] == 1.0  # constant feature: left centred
