"""Null levels, dimensions used, the length control and warning summaries of the
alignment maps, and the float32-screened retrieval against the exact one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from representations import METRICS, SmallSampleWarning, alignment_maps, linear_cka, svcca
from representations._maps import LENGTH_SUFFIX, length_residuals, plan_map
from representations._retrieval import retrieval_outcomes, screen_tolerance, unit_rows


def _data(rng, langs=("en", "de", "fr"), layers=(0, 1), n=60, d=10):
    z = rng.normal(size=(n, 4))
    length = rng.uniform(1.0, 4.0, size=n)
    views = {}
    for lang in langs:
        own_len = length + 0.1 * rng.normal(size=n)
        for k in layers:
            views[lang, k] = (z @ rng.normal(size=(4, d)) + np.outer(own_len, rng.normal(size=d)) * 3
                              + rng.normal(size=(n, d)))
    return views, {lang: length + 0.1 * rng.normal(size=n) for lang in langs}


def _metrics(*names):
    return [METRICS.get(m)() for m in names]


def test_length_residuals_remove_the_covariate_and_the_mean(rng):
    x = rng.normal(size=(50, 6))
    t = rng.normal(size=50)
    r = length_residuals(x + np.outer(t, np.arange(6)), t)
    np.testing.assert_allclose(r.T @ t, 0, atol=1e-9)
    np.testing.assert_allclose(r.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(r, length_residuals(x, t), atol=1e-10)  # only the t-part removed


def test_length_controlled_rows_equal_the_metric_on_residualised_views(rng):
    views, cov = _data(rng)
    langs = ["en", "de", "fr"]
    table, _ = alignment_maps(lambda l, k: views[l, k], langs, [0, 1], _metrics("cka", "svcca"),
                              layer_matrices=False, covariates=cov, null_draws=3)
    assert set(table.metric) == {"cka", "svcca", "cka" + LENGTH_SUFFIX, "svcca" + LENGTH_SUFFIX}
    assert (table.length_control == table.metric.str.endswith(LENGTH_SUFFIX)).all()
    row = table.query("metric == 'cka_lenctl' and layer == 1 and lang_a == 'en' and lang_b == 'fr'")
    want = linear_cka(length_residuals(views["en", 1], cov["en"]), length_residuals(views["fr", 1], cov["fr"]),
                      debiased=True)
    assert row["value"].item() == pytest.approx(want, abs=1e-10)
    # Length drives a large part of this toy alignment: controlling for it lowers CKA.
    raw = table.query("metric == 'cka'")["value"].mean()
    assert table.query("metric == 'cka_lenctl'")["value"].mean() < raw
    only, _ = alignment_maps(lambda l, k: views[l, k], langs, [0], _metrics("cka"), layer_matrices=False,
                             covariates=cov, length_only=True)
    assert set(only.metric) == {"cka_lenctl"}


def test_null_level_is_the_mean_of_the_permutation_null(rng):
    views, _ = _data(rng)
    langs = ["en", "de", "fr"]
    metric = METRICS.get("cka")()
    table, _ = alignment_maps(lambda l, k: views[l, k], langs, [0], [metric], layer_matrices=False,
                              n_permutations=30, seed=4)
    plan = plan_map(langs, [metric], 60, n_permutations=30, seed=4)
    states = [metric.prepare(views[l, 0], {}) for l in langs]
    null = metric.evaluate(states, None, permutations=plan.perms).null
    got = table.set_index(["lang_a", "lang_b"])["null_level"]
    assert got["en", "de"] == pytest.approx(null[:, 0, 1].mean(), abs=1e-12)
    assert (table.null_draws == 30).all()
    # Debiased CKA under random pairing sits near 0, far below the aligned values.
    assert abs(table["null_level"]).max() < 0.1 < table["value"].min()


def test_null_level_without_permutations_from_a_few_draws(rng):
    views, _ = _data(rng)
    langs = ["en", "de", "fr"]
    table, _ = alignment_maps(lambda l, k: views[l, k], langs, [0], _metrics("retrieval", "svcca", "pwcca"),
                              layer_matrices=False, null_draws=7, cca_null_draws=2)
    assert table.groupby("metric")["null_draws"].max().to_dict() == {"retrieval": 7, "svcca": 2, "pwcca": 2}
    ret = table[table.metric == "retrieval"]
    assert (ret["null_level"] < 0.1).all()  # chance is 1/n
    assert table["p_value"].isna().all()
    # The SVCCA null is far above 0 for wide views at small n: the level the values must be read against.
    sv = table[table.metric == "svcca"]
    assert (sv["null_level"] > 0.3).all()


def test_dims_used_and_the_small_sample_cap_are_stated(rng):
    n, d = 30, 25
    views = {(lang, 0): rng.normal(size=(n, d)) for lang in ("en", "de")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table, _ = alignment_maps(lambda l, k: views[l, k], ["en", "de"], [0], _metrics("svcca", "cka"),
                                  layer_matrices=False, null_draws=1)
    sv = table[table.metric == "svcca"].iloc[0]
    assert sv.dims_a == sv.dims_b == (n - 1) // 2
    assert "capped at (n-1)//2 = 14" in sv.dims_rule and "0.99 of the variance" in sv.dims_rule
    assert sv.value == pytest.approx(svcca(views["en", 0], views["de", 0]), abs=1e-9)
    ck = table[table.metric == "cka"].iloc[0]
    assert ck.dims_a == d and ck.dims_rule == "all features"
    assert sum(issubclass(w.category, SmallSampleWarning) for w in caught) == 1


def test_warnings_are_summarised_once_per_kind(rng):
    """Three languages, many layers and the layer matrices: one SmallSampleWarning line, not dozens."""
    views = {(lang, k): rng.normal(size=(20, 15)) for lang in ("en", "de", "fr") for k in range(6)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alignment_maps(lambda l, k: views[l, k], ["en", "de", "fr"], list(range(6)), _metrics("svcca", "pwcca"),
                       null_draws=0, cca_null_draws=0)
    small = [w for w in caught if issubclass(w.category, SmallSampleWarning)]
    assert len(small) == 1 and "such warnings" in str(small[0].message)


def test_svcca_map_matches_sklearn_cca_at_full_rank(rng):
    from sklearn.cross_decomposition import CCA

    n = 200
    x = rng.normal(size=(n, 3))
    y = x @ rng.normal(size=(3, 3)) + rng.normal(size=(n, 3))
    cca = CCA(n_components=3, max_iter=5000, tol=1e-12).fit(x, y)
    u, v = cca.transform(x, y)
    want = np.mean([abs(np.corrcoef(u[:, i], v[:, i])[0, 1]) for i in range(3)])
    metric = METRICS.get("svcca")(cca_keep_variance=None)
    table, _ = alignment_maps(lambda l, k: {"a": x, "b": y}[l], ["a", "b"], [0], [metric], layer_matrices=False,
                              null_draws=0, cca_null_draws=0)
    assert table["value"].item() == pytest.approx(want, abs=1e-5)


@pytest.mark.parametrize("d", [8, 64, 384])
def test_float32_screen_gives_the_exact_neighbours(rng, d):
    n = 300
    x = rng.normal(size=(n, d))
    y = x + 0.8 * rng.normal(size=(n, d))
    y[5] = y[7]  # exact ties: duplicated candidates / queries
    y[9] = y[7] * (1 + 1e-9)  # near-ties far below float32 resolution
    x[11] = 0.0  # a zero vector: every cosine 0, all tied
    x[20] = 2 * y[7]  # its best candidates are y[5] and y[7], exactly tied
    zx, zy = unit_rows(x, False), unit_rows(y, False)
    screened = retrieval_outcomes(zx, zy, screen=True)
    exact = retrieval_outcomes(zx, zy, screen=False)
    for a, b in zip(screened, exact):
        np.testing.assert_array_equal(a, b)
    assert not screened[1][11] and not screened[1][20] and screened[0][20] in (5, 7)
    assert 0 < screen_tolerance(d) < 1e-3
