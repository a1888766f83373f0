import numpy as np
import pytest

from crossling.errors import ConfigError, DataError
from transfer.heads import HEADS, RidgeHead, SoftmaxHead, make_head


def _blobs(n=300, d=8, c=3, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    means = np.random.default_rng(99).normal(size=(c, d)) * 3
    y = rng.integers(0, c, n)
    X = means[y] + rng.normal(size=(n, d)) + shift
    return X.astype(np.float32), y


@pytest.mark.parametrize("name", HEADS.names())
def test_heads_learn_separable_classes(name):
    X, y = _blobs()
    Xt, yt = _blobs(seed=1)
    params = {"steps": 100, "lr": 0.05} if name == "softmax" else {}
    h = make_head(name, 3, seed=0, params=params).fit(X, y)
    assert (h.predict(Xt) == yt).mean() > 0.9
    assert h.decision_function(Xt).shape == (len(Xt), 3)
    # deterministic
    h2 = make_head(name, 3, seed=0, params=params).fit(X, y)
    assert np.array_equal(h.predict(Xt), h2.predict(Xt))


@pytest.mark.parametrize("name", HEADS.names())
def test_warm_start_adapts_to_shifted_target_and_copy_is_independent(name):
    X, y = _blobs()
    Xs, ys = _blobs(shift=4.0, seed=2)
    Xt, yt = _blobs(shift=4.0, seed=3)
    params = {"steps": 100, "warm_steps": 50, "lr": 0.05} if name == "softmax" else {}
    src = make_head(name, 3, seed=0, params=params).fit(X, y)
    before = (src.predict(Xt) == yt).mean()
    adapted = src.copy().fit(Xs[:60], ys[:60], warm_start=True)
    after = (adapted.predict(Xt) == yt).mean()
    assert after > before
    assert (src.predict(Xt) == yt).mean() == before  # the source head is untouched


def test_ridge_warm_start_shrinks_towards_source():
    X, y = _blobs()
    Xs, ys = _blobs(shift=4.0, seed=2)
    src = RidgeHead(3, alpha=1e9, warm="prior").fit(X, y)
    w0 = src.W_.copy()
    # with a huge penalty the warm fit stays at the source weights
    src.fit(Xs[:30], ys[:30], warm_start=True)
    assert np.allclose(src.W_, w0, atol=1e-4)


def test_softmax_layer_mix_weights():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    noise = rng.normal(size=(400, 3, 4)).astype(np.float32)
    noise[:, 2, 0] += (2 * y - 1) * 3.0  # only layer 2 carries the signal
    h = SoftmaxHead(2, steps=150, lr=0.05).fit(noise, y)
    w = h.layer_weights
    assert w.shape == (3,) and w.sum() == pytest.approx(1.0, abs=1e-5)
    assert int(np.argmax(w)) == 2
    assert (h.predict(noise) == y).mean() > 0.9


def test_head_errors():
    with pytest.raises(ConfigError, match="Unknown parameter"):
        make_head("ridge", 3, seed=0, params={"alpah": 1})
    with pytest.raises(ConfigError, match="one layer"):
        RidgeHead(2).fit(np.zeros((4, 2, 3)), np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match="do not match"):
        RidgeHead(2).fit(np.zeros((4, 3)), np.array([0, 1]))
    with pytest.raises(DataError, match="No labelled example"):
        SoftmaxHead(2).fit(np.zeros((2, 3)), np.array([-1, -1]))
    with pytest.raises(ConfigError, match="not fitted"):
        RidgeHead(2).predict(np.zeros((1, 3)))


def test_ridge_joint_warm_start_equals_training_on_the_union():
    X, y = _blobs()
    Xk, yk = _blobs(shift=4.0, seed=2)
    a = RidgeHead(3, alpha=3.0).fit(X, y)
    b = a.copy()
    a.fit(Xk[:50], yk[:50], warm_start=True)
    G, B = b.stats(np.vstack([X, Xk[:50]]), np.r_[y, yk[:50]])
    b.fit_stats(G, B, warm_start=False)  # one solve on the union, source standardisation
    assert np.allclose(a.W_, b.W_, atol=1e-8)
    with pytest.raises(ConfigError, match="'joint' or 'prior'"):
        RidgeHead(3, warm="both").fit(X, y)
