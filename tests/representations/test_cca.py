"""SVCCA, PWCCA and canonical correlations: properties and agreement with scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from crossling.errors import ConfigError, DataError
from representations import SmallSampleWarning, canonical_correlations, pwcca, svcca


def _related(rng, n=500, d=8, e=6, noise=1.0):
    x = rng.normal(size=(n, d))
    y = x[:, :e] @ rng.normal(size=(e, e)) + noise * rng.normal(size=(n, e))
    return x, y


def test_self_similarity(rng):
    x, _ = _related(rng)
    assert svcca(x, x) == pytest.approx(1.0, abs=1e-10)
    assert pwcca(x, x) == pytest.approx(1.0, abs=1e-10)


def test_svcca_symmetric_pwcca_not(rng):
    x, y = _related(rng)
    assert svcca(x, y) == pytest.approx(svcca(y, x), abs=1e-12)
    assert abs(pwcca(x, y) - pwcca(y, x)) > 1e-4


def test_svcca_invariant_to_invertible_linear_maps_at_full_rank(rng):
    x, y = _related(rng)
    a = rng.normal(size=(x.shape[1], x.shape[1])) + 3 * np.eye(x.shape[1])
    ref, rho = svcca(x, y, keep_variance=1.0, return_correlations=True)
    val, rho2 = svcca(x @ a + 2.0, 0.01 * y, keep_variance=1.0, return_correlations=True)
    assert val == pytest.approx(ref, abs=1e-9)
    np.testing.assert_allclose(rho, rho2, atol=1e-9)


def test_svcca_invariant_to_rotation_and_scale_with_truncation(rng):
    x, y = _related(rng)
    q, _ = np.linalg.qr(rng.normal(size=(x.shape[1], x.shape[1])))
    assert svcca(5 * x @ q, y, keep_variance=0.9) == pytest.approx(svcca(x, y, keep_variance=0.9), abs=1e-9)


def test_canonical_correlations_agree_with_sklearn(rng):
    from sklearn.cross_decomposition import CCA

    x, y = _related(rng, n=300, d=4, e=3)
    k = 3
    model = CCA(n_components=k, scale=False, max_iter=5000, tol=1e-14).fit(x, y)
    u, v = model.transform(x, y)
    ref = [abs(np.corrcoef(u[:, i], v[:, i])[0, 1]) for i in range(k)]
    ours = canonical_correlations(x, y)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    value = svcca(x, y, keep_variance=1.0)
    assert value == pytest.approx(np.mean(ref), abs=1e-6)


def test_keep_variance_reduces_dimensions(rng):
    x = rng.normal(size=(400, 10)) * np.array([10, 8, 5, 1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    y = rng.normal(size=(400, 10))
    _, rho_full = svcca(x, y, keep_variance=1.0, return_correlations=True)
    _, rho_99 = svcca(x, y, keep_variance=0.99, return_correlations=True)
    _, rho_999 = svcca(x, y, keep_variance=0.999, return_correlations=True)
    # variances 100, 64, 25, 1 and 6 x 0.01: 3 directions hold 99.4 %, 4 hold 99.97 %.
    assert len(rho_full) == 10 and len(rho_99) == 3 and len(rho_999) == 4
    _, rho_cap = svcca(x, y, keep_variance=1.0, max_dims=2, return_correlations=True)
    assert len(rho_cap) == 2


def test_unrelated_data_low_related_high(rng):
    x, y = _related(rng, n=2000, noise=0.3)
    z = rng.normal(size=(2000, 6))
    assert svcca(x, y) > 0.5 > svcca(x, z)
    assert pwcca(y, x) > 0.8 > pwcca(z, x)


def test_pwcca_weights_follow_variance(rng):
    # x has one strong direction shared with y and weak noise directions:
    # PWCCA weights the shared (high-variance) direction, mean CCA does not.
    n = 3000
    s = rng.normal(size=n)
    x = np.column_stack([10 * s, rng.normal(size=(n, 5)) * 0.01])
    y = np.column_stack([s + 0.05 * rng.normal(size=n), rng.normal(size=(n, 5))])
    assert pwcca(x, y) > 0.95
    assert svcca(x, y, keep_variance=1.0) < 0.5


def test_small_n_reduces_with_warning_not_a_failed_svd(rng):
    x = rng.normal(size=(20, 50))
    y = rng.normal(size=(20, 50))
    with pytest.warns(SmallSampleWarning, match=r"\(20, 50\)"):
        value, rho = svcca(x, y, keep_variance=1.0, return_correlations=True)
    assert len(rho) == 9 and np.isfinite(value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svcca(x, y, max_dims=5)  # explicit cap: no warning
    with pytest.warns(SmallSampleWarning):
        assert len(svcca(x[:3], y[:3], keep_variance=1.0, return_correlations=True)[1]) == 1
    with pytest.raises(DataError, match=r"\(2, 50\).*n >= 3"):
        svcca(x[:2], y[:2])


def test_rank_deficient_inputs(rng):
    base = rng.normal(size=(200, 3))
    x = np.column_stack([base, base @ rng.normal(size=(3, 5)), np.ones(200)])  # rank 3 + a constant column
    y = base @ rng.normal(size=(3, 4))
    assert svcca(x, y, keep_variance=1.0) == pytest.approx(1.0, abs=1e-8)
    assert pwcca(x, y) == pytest.approx(1.0, abs=1e-8)


def test_parameter_errors(rng):
    x, y = _related(rng, n=50)
    with pytest.raises(ConfigError, match="keep_variance"):
        svcca(x, y, keep_variance=0)
    with pytest.raises(ConfigError, match="keep_variance"):
        svcca(x, y, keep_variance=1.5)
    with pytest.raises(ConfigError, match="max_dims"):
        pwcca(x, y, max_dims=0)
