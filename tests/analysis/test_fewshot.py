"""Few-shot law: recovery of planted a, b (and c), extrapolation, inversion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats import extrapolation_error, fit_law, fit_laws, k_for_score, law_predict
from crossling.errors import ConfigError, DataError

KS = np.array([0, 5, 10, 30, 100, 300, 1000])


def test_recovers_planted_a_b_within_se():
    rng = np.random.default_rng(0)
    k = np.repeat(KS, 3)
    y = 0.42 + 0.035 * np.log(k + 1) + rng.normal(0, 0.004, len(k))
    law = fit_law(k, y)
    assert abs(law.a - 0.42) < 3 * law.a_se and abs(law.b - 0.035) < 3 * law.b_se
    assert law.c == 1.0 and not law.c_fitted and law.r2 > 0.99 and law.n == 21 and law.n_k == 7


def test_fitted_c_recovers_planted_offset():
    k = np.array([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], float)
    y = 0.3 + 0.06 * np.log(k + 20)
    law = fit_law(k, y, c="fit")
    assert law.c_fitted and law.c == pytest.approx(20, rel=0.1)
    assert law.b == pytest.approx(0.06, rel=0.05)
    # fixing the wrong c fits worse
    assert fit_law(k, y, c=1.0).rmse > 10 * law.rmse


def test_inversion_round_trips():
    a, b, c = 0.4, 0.05, 1.0
    for s in (0.45, 0.6, 0.75):
        k = float(k_for_score(s, a, b, c))
        assert law_predict(k, a, b, c) == pytest.approx(s)
    assert float(k_for_score(0.3, a, b, c)) == 0.0  # already reached at zero shot
    assert np.isinf(k_for_score(0.6, a, -0.01, c))  # never reached when the curve falls
    law = fit_law(KS, a + b * np.log(KS + c))
    assert law.k_for(0.6) == pytest.approx(np.exp(0.2 / 0.05) - 1, rel=1e-6)


def test_extrapolation_small_when_the_law_holds_large_when_it_does_not(sim):
    good = sim.simulate_fewshot(noise=0.003)
    pts, summ = extrapolation_error(good, k_fit_max=30)
    assert set(pts["k"]) == {100.0, 300.0, 1000.0}
    assert summ.set_index("tgt").loc["all", "mae"] < 0.01
    # a saturating curve (ceiling at 0.6) is mis-extrapolated by a log law fitted on small k
    sat = good.assign(value=lambda d: np.minimum(d["value"], 0.6))
    _, summ2 = extrapolation_error(sat, k_fit_max=30)
    assert summ2.set_index("tgt").loc["all", "mae"] > 0.05


def test_fit_laws_per_target(sim):
    t = sim.simulate_fewshot(b=0.05, noise=0.002)
    laws = fit_laws(t).set_index("tgt")
    assert list(laws.index) == ["de", "sw", "zh"]
    # planted slopes 0.05 * (1 + 0.2 i)
    np.testing.assert_allclose(laws["b"].to_numpy(), [0.05, 0.06, 0.07], atol=0.002)
    np.testing.assert_allclose(laws["a"].to_numpy(), [0.40, 0.45, 0.50], atol=0.01)
    assert (laws["model"] == "sim-model").all()


def test_errors():
    with pytest.raises(DataError, match="2 distinct k"):
        fit_law([10, 10, 10], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match=">= 0"):
        fit_law([-1, 10], [0.1, 0.2])
    with pytest.raises(ConfigError, match="c must be"):
        fit_law([0, 10], [0.1, 0.2], c=-1)
    with pytest.raises(DataError, match="4 distinct"):
        fit_law([0, 10, 100], [0.1, 0.2, 0.3], c="fit")
    with pytest.raises(DataError, match="distinct k"):
        fit_laws(pd.DataFrame({"task": ["x"], "src": ["en"], "tgt": ["de"], "k": [0], "value": [0.5]}))
