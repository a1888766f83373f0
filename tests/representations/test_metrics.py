"""The metric registry and the all-pairs engine: conformance, agreement with the
pure functions, resampling against brute force, and p-value behaviour."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from crossling.errors import ConfigError, DataError
from representations import (
    METRICS,
    alignment_maps,
    center_gram,
    linear_cka,
    pwcca,
    rbf_cka,
    retrieval_accuracy,
    svcca,
)
from representations._maps import p_value, percentile_ci

REFERENCE = {
    "cka": lambda x, y: linear_cka(x, y, debiased=True),
    "cka_biased": lambda x, y: linear_cka(x, y),
    "rbf_cka": lambda x, y: rbf_cka(x, y, debiased=True),
    "svcca": lambda x, y: svcca(x, y, keep_variance=0.99),
    "pwcca": lambda x, y: pwcca(x, y, keep_variance=0.99),
    "retrieval": lambda x, y: retrieval_accuracy(x, y).x_to_y,
    "retrieval_centered": lambda x, y: retrieval_accuracy(x, y, center=True).x_to_y,
}


def _views(rng, n=60, k=3, d=12):
    base = rng.normal(size=(n, 8))
    return [base @ rng.normal(size=(8, d)) + rng.normal(size=(n, d)) * s for s in np.linspace(0.5, 2.0, k)]


def test_every_registered_metric_has_a_reference():
    assert set(METRICS.names()) == set(REFERENCE)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_conformance(rng, name):
    """Every metric: values agree with the pure function, self-similarity 1,
    symmetry as declared, resampled arrays shaped right, deterministic, picklable."""
    metric = METRICS.get(name)()
    views = _views(rng)
    states = [metric.prepare(v, {}) for v in views]
    perms = np.stack([rng.permutation(60) for _ in range(4)])
    boots = rng.integers(0, 60, size=(5, 60))
    res = metric.evaluate(states, None, permutations=perms, bootstraps=boots)
    assert res.values.shape == (3, 3) and res.null.shape == (4, 3, 3) and res.boot.shape == (5, 3, 3)
    np.testing.assert_allclose(np.diag(res.values), 1.0, atol=1e-9)
    for i in range(3):
        for j in range(3):
            if i != j:
                assert res.values[i, j] == pytest.approx(REFERENCE[name](views[i], views[j]), abs=1e-9)
                for r, p in enumerate(perms):
                    assert res.null[r, i, j] == pytest.approx(REFERENCE[name](views[i], views[j][p]), abs=1e-9)
    if metric.symmetric:
        np.testing.assert_allclose(res.values, res.values.T, atol=1e-12)
    again = metric.evaluate([metric.prepare(v, {}) for v in views], None, permutations=perms, bootstraps=boots)
    np.testing.assert_array_equal(res.values, again.values)
    np.testing.assert_array_equal(res.boot, again.boot)
    pickle.loads(pickle.dumps(res))
    # Cross-list evaluation equals the within-list one.
    cross = metric.evaluate(states[:1], states[1:])
    np.testing.assert_allclose(cross.values, res.values[:1, 1:], atol=1e-12)


@pytest.mark.parametrize("name", ["cka", "cka_biased"])
def test_cka_bootstrap_equals_recomputation_on_the_resample(rng, name):
    """The weighted-sum bootstrap equals CKA recomputed on the resampled sentences
    (for the debiased estimator, pairs of copies of one sentence excluded like the diagonal)."""
    metric = METRICS.get(name)()
    views = _views(rng, n=40)
    boots = rng.integers(0, 40, size=(3, 40))
    res = metric.evaluate([metric.prepare(v, {}) for v in views], None, bootstraps=boots)
    debiased = name == "cka"
    for r, idx in enumerate(boots):
        for i in range(3):
            for j in range(3):
                grams = []
                for v in (views[i], views[j]):
                    vc = v - v.mean(0)
                    k = (vc @ vc.T)[np.ix_(idx, idx)].copy()
                    if debiased:
                        k[idx[:, None] == idx[None, :]] = 0.0
                    grams.append(center_gram(k, unbiased=debiased))
                a, b = grams
                ref = np.vdot(a, b) / np.sqrt(np.vdot(a, a) * np.vdot(b, b))
                assert res.boot[r, i, j] == pytest.approx(ref, abs=1e-10)


def test_debiased_bootstrap_is_not_inflated_by_duplicates(rng):
    x, y = rng.normal(size=(200, 150)), rng.normal(size=(200, 150))
    metric = METRICS.get("cka")()
    res = metric.evaluate([metric.prepare(v, {}) for v in (x, y)], None, bootstraps=rng.integers(0, 200, (30, 200)))
    assert abs(np.mean(res.boot[:, 0, 1])) < 0.02  # a naive resample would sit near the plain bias (~0.4)


def test_permutation_p_values_uniform_under_null_and_small_for_related(rng):
    n, reps = 40, 60
    metric = METRICS.get("cka")()
    perms = np.stack([np.random.default_rng(1).permutation(n) for _ in range(1)])
    ps = []
    for _ in range(reps):
        x, y = rng.normal(size=(n, 5)), rng.normal(size=(n, 5))
        perms = np.stack([rng.permutation(n) for _ in range(99)])
        res = metric.evaluate([metric.prepare(v, {}) for v in (x, y)], None, permutations=perms)
        ps.append(p_value(res.values, res.null)[0, 1])
    ps = np.array(ps)
    from scipy.stats import kstest

    assert kstest(ps, "uniform").pvalue > 0.01
    assert 0.05 < np.mean(ps < 0.5) < 0.95
    x = rng.normal(size=(n, 5))
    y = x + 0.5 * rng.normal(size=(n, 5))
    perms = np.stack([rng.permutation(n) for _ in range(99)])
    res = metric.evaluate([metric.prepare(v, {}) for v in (x, y)], None, permutations=perms)
    assert p_value(res.values, res.null)[0, 1] == pytest.approx(0.01)


def test_p_value_and_interval_helpers():
    obs = np.array([0.5])
    null = np.array([[0.1], [0.6], [0.5], [0.2]])
    assert p_value(obs, null)[0] == pytest.approx((1 + 2) / 5)
    lo, hi = percentile_ci(np.linspace(0, 1, 101)[:, None], 0.9)
    assert lo[0] == pytest.approx(0.05) and hi[0] == pytest.approx(0.95)


def test_alignment_maps_tidy_output(rng):
    n = 50
    z = rng.normal(size=(n, 6))
    data = {(lang, layer): z @ rng.normal(size=(6, 10)) + (1 + layer) * rng.normal(size=(n, 10))
            for lang in ("en", "de", "fr") for layer in (0, 1)}
    metrics = [METRICS.get(m)() for m in ("cka", "pwcca", "retrieval")]
    table, layers = alignment_maps(lambda l, k: data[l, k], ["en", "de", "fr"], [0, 1], metrics,
                                   n_permutations=9, n_bootstrap=7, resample=["cka", "retrieval"])
    # symmetric cka: 3 unordered pairs; asymmetric pwcca / retrieval: 6 ordered pairs; per layer.
    counts = table.groupby("metric").size().to_dict()
    assert counts == {"cka": 6, "pwcca": 12, "retrieval": 12}
    cka = table[table.metric == "cka"]
    assert cka[["ci_low", "ci_high", "p_value"]].notna().all().all()
    assert (cka.ci_low <= cka.ci_high).all() and (cka.p_value >= 0.1).all() and (cka.n == n).all()
    assert table[table.metric == "pwcca"][["ci_low", "p_value"]].isna().all().all()
    row = cka[(cka.layer == 1) & (cka.lang_a == "en") & (cka.lang_b == "de")].value.item()
    assert row == pytest.approx(linear_cka(data["en", 1], data["de", 1], debiased=True), abs=1e-10)
    assert len(layers) == 3 * 3 * 2 * 2  # languages x metrics x layers^2
    m = layers[(layers.lang == "fr") & (layers.metric == "cka")].pivot(index="layer_a", columns="layer_b",
                                                                        values="value")
    assert m.loc[0, 0] == pytest.approx(1.0)
    assert m.loc[0, 1] == pytest.approx(linear_cka(data["fr", 0], data["fr", 1], debiased=True), abs=1e-10)


def test_alignment_maps_errors(rng):
    metric = METRICS.get("cka")()
    x = rng.normal(size=(20, 4))
    with pytest.raises(DataError, match="two languages"):
        alignment_maps(lambda l, k: x, ["en"], [0], [metric])
    with pytest.raises(DataError, match=r"\(19, 4\)"):
        alignment_maps(lambda l, k: x if l == "en" else x[:19], ["en", "de"], [0], [metric])
    retrieval = METRICS.get("retrieval")()
    with pytest.raises(DataError, match="widths"):
        alignment_maps(lambda l, k: x if l == "en" else x[:, :3], ["en", "de"], [0], [retrieval])
    with pytest.raises(ConfigError, match="Available"):
        METRICS.get("ckaa")


@pytest.mark.parametrize("name", ["cka", "cka_biased"])
def test_feature_form_for_large_n_matches_gram_form(rng, name):
    """Above gram_max_n the engine leaves the n x n form; values, permutation
    null and bootstrap are identical."""
    views = _views(rng, n=50)
    perms = np.stack([rng.permutation(50) for _ in range(3)])
    boots = rng.integers(0, 50, size=(3, 50))
    gram = METRICS.get(name)()
    feat = METRICS.get(name)(gram_max_n=10)
    rg = gram.evaluate([gram.prepare(v, {}) for v in views], None, permutations=perms, bootstraps=boots)
    rf = feat.evaluate([feat.prepare(v, {}) for v in views], None, permutations=perms, bootstraps=boots)
    for u, v in ((rg.values, rf.values), (rg.null, rf.null), (rg.boot, rf.boot)):
        np.testing.assert_allclose(u, v, atol=1e-10)


def test_rbf_refuses_huge_n_with_advice(rng):
    from crossling.errors import ResourceError

    metric = METRICS.get("rbf_cka")(gram_max_n=10)
    with pytest.raises(ResourceError, match="feature-space"):
        metric.prepare(rng.normal(size=(20, 3)), {})


def test_cca_pairs_in_threads_give_the_same_values(rng):
    views = _views(rng, k=4)
    one = METRICS.get("pwcca")(jobs=1)
    two = METRICS.get("pwcca")(jobs=2)
    a = one.evaluate([one.prepare(v, {}) for v in views]).values
    b = two.evaluate([two.prepare(v, {}) for v in views]).values
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_svcca_reuses_pwcca_work_and_stays_exact(rng):
    views = {("a", 0): _views(rng)[0], ("b", 0): _views(rng)[1], ("c", 0): _views(rng)[2]}
    metrics = [METRICS.get("svcca")(), METRICS.get("pwcca")()]
    table, _ = alignment_maps(lambda l, k: views[l, k], ["a", "b", "c"], [0], metrics, layer_matrices=False)
    assert table["metric"].tolist()[:3] == ["svcca"] * 3  # user order kept in the table
    for row in table.itertuples():
        x, y = views[row.lang_a, 0], views[row.lang_b, 0]
        ref = svcca(x, y) if row.metric == "svcca" else pwcca(x, y, keep_variance=0.99)
        assert row.value == pytest.approx(ref, abs=1e-9)
