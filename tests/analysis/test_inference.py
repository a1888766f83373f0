"""Dyadic-aware inference, LOLO comparisons and the calibration harness, through the public API."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis import calibrate as C
from analysis.stats import extrapolation_k, law_predict
from analysis.recommend import fit_recommender
from analysis.stats import (
    METHOD_FREEDMAN_LANE,
    METHOD_FREEDMAN_LANE_FE,
    METHOD_LR,
    METHOD_MRQAP,
    METHOD_MRQAP_FE,
    compare_lolo,
    explain_transfer,
    language_effects,
    lolo_cv,
    lolo_predictions,
    pair_level,
    permutation_design,
    qap_coefficients,
    set_tests,
)
from crossling.errors import ConfigError, DataError

LANGS10 = [f"l{i}" for i in range(10)]


def _design(scenario="both_pair", seed=0, n=10, effect_r=0.5):
    return C.simulate_table([f"l{i}" for i in range(n)], scenario, np.random.default_rng(seed), effect_r=effect_r)


def test_mrqap_recovers_planted_coefficients():
    rng = np.random.default_rng(3)
    d = _design("iid", seed=3)
    z = {f: (d[f] - d[f].mean()) / d[f].std(ddof=0) for f in ("syntax_dist", "lex_dist", "morph_dist")}
    d["score"] = 0.4 * z["syntax_dist"] - 0.2 * z["lex_dist"] + rng.normal(0, 0.05, len(d))
    feats = ["lex_dist", "syntax_dist", "morph_dist", "log10_tokens_src"]
    for fe in (True, False):
        q = qap_coefficients(d, feats, permutations=199, seed=0, fixed_effects=fe).set_index("term")
        assert q.loc["syntax_dist", "beta"] == pytest.approx(0.4, abs=0.02)
        assert q.loc["lex_dist", "beta"] == pytest.approx(-0.2, abs=0.02)
        assert q.loc["morph_dist", "beta"] == pytest.approx(0.0, abs=0.02)
        assert q.loc["syntax_dist", "p"] == pytest.approx(1 / 200) and q.loc["lex_dist", "p"] == pytest.approx(1 / 200)
        # distances vary within languages: tested net of source/target effects; the source's data size cannot be
        assert list(q["method"]) == [METHOD_MRQAP_FE if fe else METHOD_MRQAP] * 3 + [METHOD_MRQAP]
        assert (q["n_langs"] == 10).all()


def test_within_language_coefficient_survives_large_language_effects():
    """Planted pair effect under strong source/target effects: the FE test finds it, its beta is the planted one."""
    rng = np.random.default_rng(8)
    d = _design("iid", seed=8)
    langs = sorted(set(d["src"]))
    a, b = (dict(zip(langs, rng.normal(0, 3.0, len(langs)))) for _ in range(2))
    z = (d["syntax_dist"] - d["syntax_dist"].mean()) / d["syntax_dist"].std(ddof=0)
    d["score"] = d["src"].map(a) + d["tgt"].map(b) - 0.3 * z + rng.normal(0, 0.3, len(d))
    q = qap_coefficients(d, ["syntax_dist", "lex_dist"], permutations=199, seed=0).set_index("term")
    assert q.loc["syntax_dist", "method"] == METHOD_MRQAP_FE and q.loc["syntax_dist", "p"] <= 0.01
    assert q.loc["syntax_dist", "beta"] == pytest.approx(-0.3, abs=0.06)
    assert q.loc["lex_dist", "p"] > 0.01


def test_pair_level_separates_distances_from_language_features():
    d = _design("iid", seed=2, n=6)
    two = pd.concat([d.assign(task="a"), d.assign(task="b")], ignore_index=True)
    E = language_effects(two)
    assert E.shape == (len(two), 2 * 2 * 6) and (E.sum(1) == 2).all()
    X = two[["syntax_dist", "log10_tokens_src", "log10_tokens_tgt", "lex_dist"]].to_numpy(float)
    assert list(pair_level(X, E)) == [True, False, False, True]
    # a source feature that differs by task is still spanned by the per-task source effects
    X2 = (two["log10_tokens_src"] * np.where(two["task"] == "a", 1.0, 2.0)).to_numpy(float)[:, None]
    assert not pair_level(X2, E)[0]


def test_nested_comparisons_point_the_right_way():
    groups = {"lexical": ["lex_dist"], "typology": ["syntax_dist", "morph_dist"],
              "lexical+typology": ["lex_dist", "syntax_dist", "morph_dist"]}
    for scenario, adds, not_adds in (("syntax", "lexical", "typology"), ("lexical", "typology", "lexical")):
        d = _design(scenario, seed=11, effect_r=0.7)
        st = set_tests(d, groups, permutations=199, seed=0)
        fl = st[st["headline"]].set_index(["reduced", "full"])["p"]
        # when only one block matters, adding it to the other is significant and the reverse is not
        assert fl[(adds, "lexical+typology")] <= 0.01, (scenario, fl)
        assert fl[(not_adds, "lexical+typology")] > 0.05, (scenario, fl)
    assert set(st.columns) >= {"reduced", "full", "p", "method", "headline"}
    head = st[st["headline"]].set_index(["reduced", "full"])["method"]
    # blocks of distances are tested net of the language effects
    assert head[("lexical", "lexical+typology")] == METHOD_FREEDMAN_LANE_FE
    assert head[("null", "lexical")] == METHOD_FREEDMAN_LANE_FE
    assert st.loc[~st["headline"], "method"].eq(METHOD_LR).all()
    # a comparison that adds a language-level feature is tested without them
    st2 = set_tests(d, {"lexical": ["lex_dist"], "size": ["lex_dist", "log10_tokens_src"]}, permutations=49)
    h2 = st2[st2["headline"]].set_index(["reduced", "full"])["method"]
    assert h2[("lexical", "size")] == METHOD_FREEDMAN_LANE and h2[("null", "lexical")] == METHOD_FREEDMAN_LANE_FE


def test_fe_t_statistic_is_the_statsmodels_t_with_language_dummies():
    """The t of a pair-level feature with language effects uses the model's rank, not its column count."""
    import statsmodels.api as sm

    d = C.simulate_table(LANGS10[:6], "both_pair", np.random.default_rng(2))
    q = qap_coefficients(d, ["syntax_dist", "lex_dist"], permutations=19, seed=0).set_index("term")
    z = d.assign(**{f: (d[f] - d[f].mean()) / d[f].std(ddof=0) for f in ("syntax_dist", "lex_dist")})
    X = pd.concat([z[["syntax_dist", "lex_dist"]], pd.get_dummies(z["src"], prefix="s", drop_first=True),
                   pd.get_dummies(z["tgt"], prefix="t", drop_first=True)], axis=1).astype(float)
    fit = sm.OLS(z["score"].astype(float), sm.add_constant(X)).fit()
    for f in ("syntax_dist", "lex_dist"):
        assert q.loc[f, "method"] == METHOD_MRQAP_FE
        assert q.loc[f, "beta"] == pytest.approx(fit.params[f], rel=1e-8)
        assert q.loc[f, "t"] == pytest.approx(fit.tvalues[f], rel=1e-8)


def test_a_degenerate_permutation_distribution_gives_nan_not_one():
    # 4 languages, two symmetric distances and source/target effects: the tested part of each distance is
    # the same direction under every permutation, so the test cannot say anything
    d = C.simulate_table(LANGS10[:4], "both_pair", np.random.default_rng(0))
    with pytest.warns(UserWarning, match="degenerate"):
        q = qap_coefficients(d, ["syntax_dist", "lex_dist"], permutations=49, seed=1)
    assert q["p"].isna().all() and np.isfinite(q["t"]).all()
    # without the effects the same table has a proper permutation distribution
    q0 = qap_coefficients(d, ["syntax_dist", "lex_dist"], permutations=49, seed=1, fixed_effects=False)
    assert q0["p"].between(0, 1).all()


def test_set_tests_pairs_restricts_to_the_named_comparisons():
    groups = {"lexical": ["lex_dist"], "typology": ["syntax_dist", "morph_dist"],
              "lexical+typology": ["lex_dist", "syntax_dist", "morph_dist"]}
    d = _design("syntax", seed=3, effect_r=0.5)
    full = set_tests(d, groups, permutations=49, seed=4)
    want = [("typology", "lexical+typology"), ("null", "lexical")]
    some = set_tests(d, groups, permutations=49, seed=4, pairs=want)
    assert list(dict.fromkeys(zip(some["reduced"], some["full"]))) == want
    # the same design (seed) gives the same p-values as in the full table
    key = ["reduced", "full", "method"]
    merged = some.merge(full, on=key, suffixes=("", "_all"))
    assert len(merged) == len(some)
    np.testing.assert_allclose(merged["p"], merged["p_all"])
    with pytest.raises(ConfigError, match="not a strict subset"):
        set_tests(d, groups, permutations=9, pairs=[("lexical+typology", "lexical")])
    with pytest.raises(ConfigError, match="unknown feature set"):
        set_tests(d, groups, permutations=9, pairs=[("lexical", "syntax")])


def test_qap_pvalues_uniform_under_a_null_with_language_effects():
    rng = np.random.default_rng(5)
    ps = []
    for _ in range(40):
        d = C.simulate_table(LANGS10[:8], "both_pair", rng)
        q = qap_coefficients(d, ["syntax_dist", "lex_dist"], permutations=99, seed=rng)
        ps += list(q["p"])
    ps = np.asarray(ps)
    assert 0.35 < ps.mean() < 0.65
    assert np.mean(ps <= 0.1) < 0.25


def test_node_permutation_uses_the_same_permutation_in_every_task():
    d = _design("iid", seed=1, n=6)
    two = pd.concat([d.assign(task="a"), d.assign(task="b", score=d["score"] + 1)], ignore_index=True)
    pd_ = permutation_design(two, permutations=20, seed=0)
    m = pd_.maps
    dd = pd_.data
    for p in range(3):
        a_rows, b_rows = np.flatnonzero(dd["task"] == "a"), np.flatnonzero(dd["task"] == "b")
        ka = list(zip(dd["src"].to_numpy()[m[p, a_rows]], dd["tgt"].to_numpy()[m[p, a_rows]]))
        kb = list(zip(dd["src"].to_numpy()[m[p, b_rows]], dd["tgt"].to_numpy()[m[p, b_rows]]))
        assert ka == kb  # same language permutation, within task
        assert (dd["task"].to_numpy()[m[p]] == dd["task"].to_numpy()).all()


def test_incomplete_pairs_drop_a_language_for_the_permutation_tests():
    d = _design("iid", seed=1, n=7)
    d = d[~((d["src"] == "l3") & (d["tgt"] == "l5"))]
    pd_ = permutation_design(d, permutations=10)
    assert pd_.dropped in (["l3"], ["l5"]) and len(pd_.langs) == 6
    with pytest.raises(DataError, match="at least 4 languages"):
        permutation_design(d[d["src"].isin(["l0", "l1", "l2"]) & d["tgt"].isin(["l0", "l1", "l2"])])


def test_lolo_pools_both_held_out_predictions_of_a_pair():
    d = _design("syntax", seed=2, n=6)
    lp = lolo_predictions(d, ["syntax_dist"])
    counts = lp.groupby(["src", "tgt"]).size()
    assert (counts == 2).all() and len(lp) == 2 * len(d)
    for (s, t), g in lp.groupby(["src", "tgt"]):
        assert set(g["held_out"]) == {s, t}
    summ, _ = lolo_cv(d, ["syntax_dist"])
    assert int(summ["n"].iloc[0]) == 2 * len(d)
    assert summ["rmse"].iloc[0] == pytest.approx(np.sqrt(np.mean((lp["observed"] - lp["predicted"]) ** 2)))


def test_lolo_comparison_has_a_language_level_interval():
    d = _design("syntax", seed=4, n=10, effect_r=0.8)
    c = compare_lolo(d, {"lexical": ["lex_dist"], "typology": ["syntax_dist", "morph_dist"]},
                     pairs=[("typology", "lexical")], n_boot=499, seed=0).iloc[0]
    assert c["diff_rmse"] < 0 and c["ci_low"] <= c["diff_rmse"] <= c["ci_high"]
    assert c["ci_high"] < 0  # typology beats lexical, with an interval that excludes 0
    assert c["diff_rmse"] == pytest.approx(c["cv_rmse_a"] - c["cv_rmse_b"])


def test_explain_transfer_tables_mark_the_headline(sim):
    tr, fe, _ = sim.simulate(noise=0.01, src_sd=0.03, tgt_sd=0.03, tasks=("xnli", "pos"), seeds=1)
    for task in ("xnli", ["xnli", "pos"]):
        res = explain_transfer(tr, fe, task=task, kinds=("ols",), permutations=99, n_boot=199,
                               subset_sizes=(2,))
        co = res["coefficients"]
        assert {"term", "beta", "p", "method", "headline"} <= set(co.columns)
        head = co[co["headline"]]
        assert head["method"].isin([METHOD_MRQAP, METHOD_MRQAP_FE]).all() and (head["fit"] == "mrqap").all()
        assert head.set_index("term").loc["syntax_dist", "method"] == METHOD_MRQAP_FE
        assert not co[~co["headline"]]["method"].str.startswith("mrqap").any()
        assert head.set_index("term").loc["syntax_dist", "p"] <= 0.02
        st = res["set_tests"]
        assert {"reduced", "full", "p", "method", "headline"} <= set(st.columns)
        assert st[st["headline"]]["method"].isin([METHOD_FREEDMAN_LANE, METHOD_FREEDMAN_LANE_FE]).all()
        assert (res["lr_tests"]["method"] == "model-based-lr").all() and not res["lr_tests"]["headline"].any()
        assert {"set_a", "set_b", "diff_rmse", "ci_low", "ci_high"} <= set(res["lolo_compare"].columns)


@pytest.mark.parametrize("c", [1.0, 10.0])
def test_k_needed_inverts_the_law_for_any_c(sim, c):
    tr, fe, _ = sim.simulate(noise=0.003)
    rec = fit_recommender(tr, fe, task="xnli", fewshot=False)
    rec = dataclasses.replace(rec, laws=pd.DataFrame({"tgt": ["sw"], "a": [0.0], "b": [0.05], "c": [c]}))
    out = rec.rank("sw", score=0.9)
    zero_shot = out["predicted"].to_numpy()
    a = zero_shot - 0.05 * np.log(c)  # the law at k = 0 is the predicted zero-shot score
    np.testing.assert_allclose(law_predict(0.0, a, 0.05, c), zero_shot)
    np.testing.assert_allclose(law_predict(out["k_needed"].to_numpy(), a, 0.05, c), 0.9, atol=1e-9)
    if c == 10.0:  # k = c * exp((s - zero_shot) / b) - c; the old code answered exp((s - zero_shot) / b) - c
        r2 = dataclasses.replace(rec, laws=pd.DataFrame({"tgt": ["sw"], "a": [0.0], "b": [0.1], "c": [10.0]}))
        o2 = r2.rank("sw", score=0.9)
        z = o2["predicted"].to_numpy()
        np.testing.assert_allclose(o2["k_needed"], np.exp((0.9 - z) / 0.1 + np.log(10)) - 10)
        assert float(np.exp(0.3 / 0.1 + np.log(10)) - 10) == pytest.approx(190.855, abs=1e-3)


def test_extrapolation_fits_at_least_three_k():
    assert extrapolation_k([0, 10, 50, 100, 250, 500, 1000]) == 100.0
    assert extrapolation_k([0, 10, 100, 1000]) == 100.0
    assert extrapolation_k([0, 10, 100]) is None
    kmax = extrapolation_k([0, 10, 100, 1000])
    assert sum(k <= kmax for k in [0, 10, 100, 1000]) >= 3


def test_calibration_smoke_small_R(tmp_path):
    """A few simulated tables per null: the headline tests' rates lie in a generous band."""
    tab = C.calibrate(lang_sets=[LANGS10[:8]], reps=20, power_reps=10, permutations=39, seed=1,
                      scenarios=("src_tgt", "syntax"),
                      tests=["coef_syntax_mrqap", "typology_over_lexical_fl", "mantel_syntax"])
    size = tab[(tab["kind"] == "size") & (tab["alpha"] == 0.05)]
    assert (size["rate"] <= 0.25).all()
    power = tab[(tab["kind"] == "power") & (tab["alpha"] == 0.05)].set_index("test")["rate"]
    assert power["coef_syntax_mrqap"] >= 0.5 and power["mantel_syntax"] >= 0.5
    assert {"test", "method", "headline", "scenario", "kind", "n_langs", "alpha", "rate", "mc_se"} <= set(tab.columns)
    png = C.calibration_figure(tab, tmp_path / "cal.png")
    doc = C.calibration_doc(tab, tmp_path / "cal.md", figure=png)
    assert png.stat().st_size > 1000 and "Size (rejection rate" in doc.read_text()
    assert C.main(["--n-langs", "5", "--reps", "2", "--power-reps", "2", "--permutations", "9",
                   "--out", str(tmp_path / "t.csv"), "--doc", str(tmp_path / "d.md"),
                   "--figure", str(tmp_path / "f.png")]) == 0


@pytest.mark.slow
def test_calibration_full_size_targets():
    """The issue's target: every headline test's size in [0.02, 0.08] under the three nulls (500 tables, ~10 min).

    Met by the committed run (docs/calibration.md, seed 0: 48 of 48 headline cells, 2.6-7.8%); this reruns it
    with another seed, so a rate near a band edge can fall outside by Monte-Carlo error (SE 1.0 point).
    """
    tab = C.calibrate(reps=500, power_reps=200, permutations=199, seed=1,
                      tests=[t for t, (_, h, _) in C.TESTS.items() if h])
    size = tab[(tab["kind"] == "size") & (tab["alpha"] == 0.05)]
    assert size["rate"].between(0.02, 0.08).all(), size
    power = tab[(tab["kind"] == "power") & (tab["alpha"] == 0.05) & (tab["scenario"] == "syntax")]
    assert power.set_index(["test", "n_langs"])["rate"].loc["coef_syntax_mrqap"].min() >= 0.8


def test_coverage_reports_the_share_of_pairs_from_a_proxy_language(sim):
    tr, fe, _ = sim.simulate(noise=0.01, seeds=1)
    fe = fe.assign(note="")
    de = (fe["feature"] == "syntax_dist") & ((fe["lang_a"] == "de") | (fe["lang_b"] == "de"))
    fe.loc[de, "note"] = "'de' (Glottocode stan1295) is not in Grambank; proxy nld (dutc1256)"
    res = explain_transfer(tr, fe, kinds=("ols",), permutations=19, n_boot=49, subset_sizes=())
    cov = res["coverage"].set_index("feature")
    assert cov.loc["syntax_dist", "proxy_share"] == pytest.approx(18 / 90)  # 18 of the 90 ordered pairs involve de
    assert cov.loc["lex_sim", "proxy_share"] == 0.0


def test_dyadic_robust_studentisation_finds_a_planted_effect_and_agrees_with_classical():
    d = _design("syntax", seed=8, effect_r=0.7)
    groups = {"lexical": ["lex_dist"], "lexical+typology": ["lex_dist", "syntax_dist", "morph_dist"]}
    for robust in (False, True):
        q = qap_coefficients(d, ["lex_dist", "syntax_dist"], permutations=199, seed=0, robust=robust)
        assert q.set_index("term").loc["syntax_dist", "p"] <= 0.01
        st = set_tests(d, groups, permutations=199, seed=0, robust=robust, include_lr=False)
        assert st.set_index(["reduced", "full"]).loc[("lexical", "lexical+typology"), "p"] <= 0.01


def test_without_complete_matrices_the_tables_have_no_headline_row(sim):
    tr, fe, _ = sim.simulate(noise=0.01, seeds=1)
    tr = tr[tr["src"].isin(["en", "de", "fr"])]  # 3 sources x 9 targets: no 4 languages with every pair
    res = explain_transfer(tr, fe, kinds=("ols",), permutations=19, n_boot=49, subset_sizes=())
    assert not res["coefficients"]["headline"].any() and (res["coefficients"]["fit"] == "ols").all()
    st = res["set_tests"]
    assert len(st) > 0 and (st["method"] == "model-based-lr").all() and not st["headline"].any()


def test_explain_transfer_on_four_languages_completes_and_labels_what_it_could_test():
    """4 languages: the within-language part of several distances is too small for every FE test."""
    import sys
    import warnings
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import simulate

    tr, fe, _ = simulate(n_langs=4, noise=0.05, src_sd=0.03, tgt_sd=0.03, seeds=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = explain_transfer(tr, fe, task="xnli", kinds=("ols",), permutations=99, n_boot=99, subset_sizes=(2,))
    st = res["set_tests"]
    head = st[st["headline"]]
    # a block whose within-language part is collinear with the effects falls back to the plain test, labelled
    assert head["method"].isin([METHOD_FREEDMAN_LANE, METHOD_FREEDMAN_LANE_FE]).all()
    assert (head["method"] == METHOD_FREEDMAN_LANE).any()
    assert head["p"].dropna().between(0, 1).all()
    co = res["coefficients"]
    assert co.loc[co["headline"], "p"].dropna().between(0, 1).all()
