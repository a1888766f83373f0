"""Mathematical properties of CKA (linear, RBF, debiased, minibatch) on random data."""

from __future__ import annotations

import numpy as np
import pytest

from crossling.errors import ConfigError, DataError, ResourceError
from representations import (
    center_gram,
    cka_from_grams,
    gram_linear,
    gram_rbf,
    linear_cka,
    minibatch_cka,
    rbf_cka,
)


def _related(rng: np.random.Generator, n: int = 120, d: int = 12, e: int = 9, noise: float = 1.0):
    x = rng.normal(size=(n, d))
    y = x @ rng.normal(size=(d, e)) + noise * rng.normal(size=(n, e))
    return x, y


def _song_hsic(k: np.ndarray, l: np.ndarray) -> float:
    """Unbiased HSIC exactly as printed in Song et al. (2012), Theorem 2."""
    n = k.shape[0]
    k = k.copy()
    l = l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    one = np.ones(n)
    return (np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * one @ k @ l @ one) / (n * (n - 3))


def _textbook_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al. (2019) eq. 3 with H = I - 11'/n, written literally."""
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T
    hsic = lambda a, b: np.trace(a @ h @ b @ h) / (n - 1) ** 2
    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


@pytest.mark.parametrize("debiased", [False, True])
def test_self_similarity_and_symmetry(rng, debiased):
    x, y = _related(rng)
    assert linear_cka(x, x, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    assert rbf_cka(x, x, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(x, y, debiased=debiased) == pytest.approx(linear_cka(y, x, debiased=debiased), abs=1e-12)
    assert rbf_cka(x, y, debiased=debiased) == pytest.approx(rbf_cka(y, x, debiased=debiased), abs=1e-12)


@pytest.mark.parametrize("debiased", [False, True])
def test_invariant_to_rotation_scaling_and_translation(rng, debiased):
    x, y = _related(rng)
    q, _ = np.linalg.qr(rng.normal(size=(x.shape[1], x.shape[1])))
    ref = linear_cka(x, y, debiased=debiased)
    assert linear_cka(3.7 * x @ q + 5.0, y, debiased=debiased) == pytest.approx(ref, abs=1e-10)
    ref_rbf = rbf_cka(x, y, debiased=debiased)
    assert rbf_cka(0.2 * x @ q - 1.0, y, debiased=debiased) == pytest.approx(ref_rbf, abs=1e-10)


def test_not_invariant_to_arbitrary_linear_maps(rng):
    x, y = _related(rng)
    a = np.diag(np.linspace(0.1, 10, x.shape[1]))
    assert abs(linear_cka(x @ a, y) - linear_cka(x, y)) > 1e-3


def test_matches_textbook_formula(rng):
    x, y = _related(rng, n=40)
    assert linear_cka(x, y) == pytest.approx(_textbook_cka(x, y), abs=1e-12)


@pytest.mark.parametrize("debiased", [False, True])
def test_gram_and_feature_forms_agree(rng, debiased):
    for n, d, e in [(30, 50, 7), (200, 5, 8)]:  # n < d and n > d
        x, y = _related(rng, n=n, d=d, e=e)
        g = linear_cka(x, y, debiased=debiased, method="gram")
        f = linear_cka(x, y, debiased=debiased, method="features")
        assert g == pytest.approx(f, abs=1e-11)
        assert linear_cka(x, y, debiased=debiased) == pytest.approx(g, abs=1e-11)
        assert cka_from_grams(x @ x.T, y @ y.T, debiased=debiased) == pytest.approx(g, abs=1e-11)


def test_u_centring_is_song_unbiased_hsic(rng):
    x, y = _related(rng, n=25)
    k, l = x @ x.T, y @ y.T
    n = k.shape[0]
    uk, ul = center_gram(k, unbiased=True), center_gram(l, unbiased=True)
    assert np.vdot(uk, ul) / (n * (n - 3)) == pytest.approx(_song_hsic(k, l), rel=1e-10)
    song = _song_hsic(k, l) / np.sqrt(_song_hsic(k, k) * _song_hsic(l, l))
    assert linear_cka(x, y, debiased=True) == pytest.approx(song, abs=1e-12)


def test_plain_cka_of_unrelated_data_is_large_and_debiased_is_near_zero(rng):
    # The trap the docs warn about: n = 500, width 768, independent data.
    x = rng.normal(size=(500, 768))
    y = rng.normal(size=(500, 768))
    assert linear_cka(x, y) > 0.5
    assert abs(linear_cka(x, y, debiased=True)) < 0.02


def test_debiased_independent_data_centred_on_zero(rng):
    vals = [linear_cka(rng.normal(size=(60, 40)), rng.normal(size=(60, 30)), debiased=True) for _ in range(40)]
    assert abs(np.mean(vals)) < 0.01
    assert min(vals) < 0 < max(vals)  # an unbiased estimate goes both ways


def test_debiased_noisy_copy_near_known_value(rng):
    # y = x + noise with isotropic x ~ N(0, I_d), noise ~ N(0, s^2 I_d):
    # population linear CKA = ||S_xy||^2 / (||S_xx|| ||S_yy||) = d / (sqrt(d) sqrt(d) (1 + s^2)) = 1 / (1 + s^2).
    d, s = 64, 1.0
    x = rng.normal(size=(400, d))
    y = x + s * rng.normal(size=(400, d))
    expected = 1.0 / (1.0 + s**2)
    assert linear_cka(x, y, debiased=True) == pytest.approx(expected, abs=0.04)
    assert linear_cka(x, y) > expected + 0.05  # the plain estimate is biased upwards here


def test_float32_input_is_computed_in_float64(rng):
    x, y = _related(rng)
    assert linear_cka(x.astype(np.float32), y.astype(np.float32)) == pytest.approx(
        linear_cka(x.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64)), abs=1e-14)


def test_rbf_sigma_options(rng):
    x, y = _related(rng)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    med = np.median(d[np.triu_indices(len(x), 1)])
    g = gram_rbf(x)
    g2 = gram_rbf(x, sigma=med)
    np.testing.assert_allclose(g, g2, atol=1e-12)
    assert gram_rbf(x, median_fraction=0.5)[0, 1] < g[0, 1]
    assert rbf_cka(x, y, sigma=2.0) != pytest.approx(rbf_cka(x, y), abs=1e-6)
    with pytest.raises(ConfigError, match="sigma"):
        rbf_cka(x, y, sigma=-1.0)
    with pytest.raises(ConfigError, match="median_fraction"):
        rbf_cka(x, y, median_fraction=0)


def test_gram_helpers(rng):
    x = rng.normal(size=(10, 3))
    np.testing.assert_allclose(gram_linear(x), (x - x.mean(0)) @ (x - x.mean(0)).T, atol=1e-12)
    kc = center_gram(x @ x.T)
    np.testing.assert_allclose(kc.sum(axis=0), 0, atol=1e-10)
    with pytest.raises(DataError, match="square"):
        center_gram(np.ones((3, 4)))
    with pytest.raises(DataError, match="n >= 4"):
        center_gram(np.eye(3), unbiased=True)
    with pytest.raises(DataError, match="shape"):
        cka_from_grams(np.eye(4), np.eye(5))


@pytest.mark.parametrize("debiased", [False, True])
def test_minibatch_exact_equals_full_data(rng, debiased):
    x, y = _related(rng, n=1000, d=20, e=15)
    x += 50.0  # large offsets: the single-pass sums must stay accurate
    full = linear_cka(x, y, debiased=debiased)
    assert minibatch_cka(x, y, debiased=debiased, batch_size=97) == pytest.approx(full, abs=1e-10)
    gen = lambda a: (a[i:i + 128] for i in range(0, len(a), 128))
    assert minibatch_cka(gen(x), gen(y), debiased=debiased) == pytest.approx(full, abs=1e-10)


def test_minibatch_reads_memory_maps(tmp_path, rng):
    x, y = _related(rng, n=600, d=10, e=10)
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    np.save(tmp_path / "y.npy", y.astype(np.float32))
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    ym = np.load(tmp_path / "y.npy", mmap_mode="r")
    assert minibatch_cka(xm, ym, batch_size=64) == pytest.approx(
        linear_cka(np.asarray(xm), np.asarray(ym), debiased=True), abs=1e-10)


def test_minibatch_average_estimator(rng):
    x, y = _related(rng, n=2000, d=10, e=10)
    avg = minibatch_cka(x, y, estimator="average", batch_size=200)
    # Nguyen et al.'s estimator targets the same population value as the full debiased CKA.
    assert avg == pytest.approx(linear_cka(x, y, debiased=True), abs=0.05)
    # Independent data: near zero at any batch size.
    assert abs(minibatch_cka(rng.normal(size=(2000, 50)), rng.normal(size=(2000, 50)),
                             estimator="average", batch_size=100)) < 0.03


def test_minibatch_errors(rng):
    x, y = _related(rng, n=100)
    with pytest.raises(DataError, match="ran out"):
        minibatch_cka(iter([x[:50], x[50:]]), iter([y[:50]]))
    with pytest.raises(DataError, match="features"):
        minibatch_cka(iter([x[:50], x[50:, :3]]), iter([y[:50], y[50:]]))
    with pytest.raises(DataError, match="no batches"):
        minibatch_cka(iter([]), iter([]))
    with pytest.raises(ConfigError, match="estimator"):
        minibatch_cka(x, y, estimator="mean")
    with pytest.raises(DataError, match=r"\(50, 12\).*\(49, 9\)"):
        minibatch_cka(iter([x[:50]]), iter([y[:49]]))
    with pytest.raises(DataError, match="n >= 4"):
        minibatch_cka(iter([x[:50, :], x[:3]]), iter([y[:50], y[:3]]), estimator="average")


def test_gram_form_refuses_impossible_memory(monkeypatch, rng):
    import representations._cka as mod

    monkeypatch.setattr(mod, "_available_memory", lambda: 1000)
    x, y = _related(rng, n=50)
    with pytest.raises(ResourceError, match="minibatch_cka"):
        linear_cka(x, y, method="gram")
    assert linear_cka(x, y, method="features") == pytest.approx(_textbook_cka(x, y), abs=1e-12)
    with pytest.raises(ConfigError, match="method"):
        linear_cka(x, y, method="fast")


def test_debiased_needs_four_examples(rng):
    with pytest.raises(DataError, match="n >= 4"):
        linear_cka(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), debiased=True)
