"""Planted-structure tests of the transfer models (real statsmodels fits)."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from analysis.stats import (
    best_subsets,
    compare_feature_sets,
    default_feature_groups,
    explain_transfer,
    features_wide,
    fit_mixed,
    fit_ols,
    lolo_cv,
    lolo_folds,
    pair_design,
    select_transfer,
    vif_table,
)
from crossling.errors import ConfigError, DataError

TRUE_COEF = {"lex_sim": 0.08, "syntax_dist": -0.06, "phon_dist": -0.015, "log_tokens_src": 0.03}  # as conftest
FEATS = [*TRUE_COEF, "geo_dist"]  # geo_dist has a true effect of 0


def _design(sim, **kw):
    tr, fe, truth = sim.simulate(**kw)
    return pair_design(select_transfer(tr), features_wide(fe), FEATS), truth


def _true_std_beta(d):
    return {f: TRUE_COEF.get(f, 0.0) * d[f].std(ddof=0) for f in FEATS}


def test_ols_recovers_planted_coefficients_within_cis(sim):
    d, _ = _design(sim, noise=0.01)
    fit = fit_ols(d, FEATS, alpha=0.01)
    coef = fit.coef.set_index("term")
    truth = _true_std_beta(d)
    for f, beta in truth.items():
        assert coef.loc[f, "ci_low"] <= beta <= coef.loc[f, "ci_high"], (f, beta, coef.loc[f].to_dict())
    # real effects are detected, the null one is not
    assert (coef.loc[list(TRUE_COEF), "p"] < 1e-3).all()
    assert coef.loc["geo_dist", "p"] > 0.01
    assert list(fit.coef.columns) == ["term", "beta", "se", "ci_low", "ci_high", "p", "n", "converged"]
    assert fit.r2 > 0.95 and np.isfinite(fit.aic) and fit.n == 90


def test_ci_excludes_a_wrong_coefficient(sim):
    d, _ = _design(sim, noise=0.01)
    coef = fit_ols(d, FEATS).coef.set_index("term")
    wrong = 2 * _true_std_beta(d)["lex_sim"]
    assert not coef.loc["lex_sim", "ci_low"] <= wrong <= coef.loc["lex_sim", "ci_high"]


def test_mixed_model_recovers_coefficients_and_crossed_variances(sim):
    d, _ = _design(sim, noise=0.01, src_sd=0.05, tgt_sd=0.03, seed=3)
    fit = fit_mixed(d, ["lex_sim", "syntax_dist", "phon_dist", "geo_dist"], alpha=0.01)
    coef = fit.coef.set_index("term")
    truth = _true_std_beta(d)
    for f in ["lex_sim", "syntax_dist", "geo_dist"]:
        assert coef.loc[f, "ci_low"] <= truth[f] <= coef.loc[f, "ci_high"], f
    assert fit.converged
    # source spread (0.05 plus log_tokens_src, absorbed by u_src) exceeds the target spread
    assert fit.extra["var_src"] > fit.extra["var_tgt"] > 0
    assert 0 < fit.r2 < fit.extra["r2_conditional"] <= 1
    # OLS with the same features ignores the language effects: its residual variance is larger
    assert fit_ols(d, ["lex_sim", "syntax_dist", "phon_dist", "geo_dist"]).r2 < fit.extra["r2_conditional"]


def test_pooled_fit_has_a_task_term(sim):
    tr, fe, _ = sim.simulate(tasks=("xnli", "pawsx"))
    d = pair_design(select_transfer(tr), features_wide(fe), FEATS)
    coef = fit_ols(d, FEATS).coef.set_index("term")
    # pawsx is the reference (sorted first); xnli was simulated 0.05 lower... task index 0 -> +0.00
    assert "task[xnli]" in coef.index
    assert coef.loc["task[xnli]", "ci_low"] <= -0.05 <= coef.loc["task[xnli]", "ci_high"]


def test_lolo_folds_hold_out_every_pair_of_a_language(sim):
    d, _ = _design(sim)
    folds = lolo_folds(d)
    assert len(folds) == 10
    for lang, tr, te in folds:
        test = d.iloc[te]
        assert ((test["src"] == lang) | (test["tgt"] == lang)).all()
        assert len(te) == 18  # 9 as source + 9 as target
        train = d.iloc[tr]
        assert not ((train["src"] == lang) | (train["tgt"] == lang)).any()


def test_lolo_cv_beats_mean_baseline_and_not_on_noise(sim):
    d, _ = _design(sim, noise=0.01)
    summ, per = lolo_cv(d, FEATS)
    row = summ.iloc[0]
    assert row["mae"] < 0.5 * row["baseline_mae"] and row["r2"] > 0.8 and row["skill"] > 0.8
    assert (per["mae"] < per["baseline_mae"]).all()
    rng = np.random.default_rng(0)
    noise = d.assign(score=rng.permutation(d["score"].to_numpy()))
    nrow = lolo_cv(noise, FEATS)[0].iloc[0]
    assert nrow["skill"] < 0.1  # features carry no signal after shuffling the scores


def test_lolo_cv_mixed_runs(sim):
    d, _ = _design(sim, noise=0.01, src_sd=0.03, tgt_sd=0.03)
    summ, _ = lolo_cv(d, ["lex_sim", "syntax_dist"], kind="mixed")
    assert summ.iloc[0]["skill"] > 0.3


def test_feature_set_comparison_lr_tests_and_cv(sim):
    # only the lexical feature matters here
    tr, fe, _ = sim.simulate(coef={"lex_sim": 0.1}, noise=0.01)
    d = pair_design(select_transfer(tr), features_wide(fe), FEATS)
    fits, tests = compare_feature_sets(d, features=["lex_sim", "syntax_dist", "phon_dist"])
    f = fits.set_index("set")
    assert list(f.index) == ["null", "lexical", "typology", "all"]
    assert f.loc["lexical", "cv_mae"] < f.loc["typology", "cv_mae"]
    t = tests.set_index(["reduced", "full"])
    assert t.loc[("null", "lexical"), "p"] < 1e-6
    assert t.loc[("lexical", "all"), "p"] > 0.01  # typology adds nothing
    assert t.loc[("typology", "all"), "p"] < 1e-6  # lexical adds a lot
    assert ("lexical", "typology") not in t.index  # not nested
    assert t.loc[("lexical", "all"), "df"] == 2


def test_feature_groups_from_names():
    g = default_feature_groups(["uriel_syntax", "grambank_morph", "ud_morph_jsd", "uriel_phonology",
                                "uriel_inventory", "lex_swadesh_sim", "tok_overlap", "uriel_genetic"])
    assert g["syntax"] == ["uriel_syntax"]
    assert g["morphology"] == ["grambank_morph", "ud_morph_jsd"]
    assert g["phonology"] == ["uriel_phonology", "uriel_inventory"]
    assert g["lexical"] == ["lex_swadesh_sim", "tok_overlap"]
    assert g["other"] == ["uriel_genetic"]


def test_vif_flags_collinearity(sim):
    d, _ = _design(sim)
    rng = np.random.default_rng(1)
    d["lex_copy"] = d["lex_sim"] + rng.normal(0, 0.01, len(d))
    v = vif_table(d, ["lex_sim", "syntax_dist", "lex_copy"]).set_index("feature")["vif"]
    assert v["lex_copy"] > 100 and v["lex_sim"] > 100 and v["syntax_dist"] < 2


def test_best_subsets_finds_the_planted_pair(sim):
    tr, fe, _ = sim.simulate(coef={"lex_sim": 0.08, "syntax_dist": -0.06}, noise=0.01)
    d = pair_design(select_transfer(tr), features_wide(fe), FEATS)
    out = best_subsets(d, FEATS, sizes=(2, 3))
    best2 = out[out["size"] == 2].iloc[0]
    assert set(best2["features"].split(",")) == {"lex_sim", "syntax_dist"}
    assert best2["cv_r2"] > 0.9
    assert out["cv_rmse"].is_monotonic_increasing


def test_explain_transfer_tables_are_labelled(sim):
    tr, fe, _ = sim.simulate(src_sd=0.02, tgt_sd=0.02)
    res = explain_transfer(tr, fe, kinds=("ols",))
    assert set(res) >= {"coefficients", "fits", "lolo", "predictions", "feature_sets", "lr_tests", "vif", "subsets"}
    assert (res["coefficients"]["model"] == "sim-model").all()
    assert res["predictions"]["predicted_lolo"].notna().all()
    assert "log_tokens_tgt" in res["fits"].columns or "log_tokens_tgt" in set(res["coefficients"]["term"])


def test_partially_missing_feature_is_left_out_not_the_language(sim):
    tr, fe, _ = sim.simulate(noise=0.01)
    gap = fe.copy()
    gap.loc[(gap["feature"] == "phon_dist") & ((gap["lang_a"] == "sw") | (gap["lang_b"] == "sw")), "value"] = np.nan
    res = explain_transfer(tr, gap, kinds=("ols",), subset_sizes=())
    cov = res["coverage"].set_index("feature")
    assert cov.loc["phon_dist", "coverage"] == pytest.approx(0.8) and not cov.loc["phon_dist", "used"]
    assert cov.loc["lex_sim", "used"] and "sw" in set(res["design"]["tgt"]) and len(res["design"]) == 90
    # with a lower threshold the feature is used and the language's pairs are dropped instead
    res2 = explain_transfer(tr, gap, kinds=("ols",), subset_sizes=(), min_coverage=0.8)
    assert "phon_dist" in set(res2["coefficients"]["term"]) and len(res2["design"]) == 72


def test_features_wide_mirrors_symmetric_only():
    fe = pd.DataFrame([("a", "b", "dist", 1.0, "s"), ("a", "b", "size_src", 5.0, "s"), ("b", "a", "size_src", 7.0, "s"),
                       ("a", "c", "dist", np.nan, "s")], columns=["lang_a", "lang_b", "feature", "value", "source"])
    w = features_wide(fe).set_index(["src", "tgt"])
    assert w.loc[("b", "a"), "dist"] == 1.0  # mirrored
    assert w.loc[("b", "a"), "size_src"] == 7.0 and w.loc[("a", "b"), "size_src"] == 5.0
    assert np.isnan(w.loc[("a", "c"), "dist"])  # missing stays missing


def test_errors_name_the_problem(sim):
    tr, fe, _ = sim.simulate()
    two = pd.concat([tr, tr.assign(metric="f1")])
    with pytest.raises(ConfigError, match="metric.*accuracy.*f1"):
        select_transfer(two)
    with pytest.raises(ConfigError, match="Did you mean 'xnli'"):
        select_transfer(tr, task="xnlj")
    d = pair_design(select_transfer(tr), features_wide(fe), FEATS).assign(const_feat=1.0)
    with pytest.raises(DataError, match="const_feat.*constant"):
        fit_ols(d, ["lex_sim", "const_feat"])
    with pytest.raises(ConfigError, match="lex_simm"):
        pair_design(select_transfer(tr), features_wide(fe), ["lex_simm"])
    with pytest.raises(ConfigError, match="cluster"):
        fit_ols(d, ["lex_sim"], cluster="lang")


XNLI10 = ["en", "de", "fr", "es", "ru", "zh", "ar", "hi", "sw", "tr"]


@pytest.fixture(scope="module")
def real_features(data_dir):
    from analysis.typology import pair_features

    return pair_features(XNLI10, sources=["uriel", "mc4", "swadesh"], data_dir=data_dir)


@pytest.mark.integration
def test_real_typology_features_with_planted_transfer(real_features):
    """Real URIEL / PanLex / mC4 features (collinear, differently scaled); planted effects still recovered."""
    w = features_wide(real_features)
    rng = np.random.default_rng(0)
    truth = {"uriel_syntax": -0.3, "lex_swadesh_ldn": -0.4, "log10_tokens_src": 0.03}
    w["score"] = 0.9 + sum(c * w[f] for f, c in truth.items()) + rng.normal(0, 0.005, len(w))
    rows = [("m", "zero-shot", 12, "xnli", s, t, 0, 0, "accuracy", y, 100, 100)
            for s, t, y in w[["src", "tgt", "score"]].itertuples(index=False)]
    tr = pd.DataFrame(rows, columns=["model", "regime", "layer", "task", "src", "tgt", "k", "seed", "metric", "value",
                                     "n_train", "n_test"])
    feats = ["uriel_syntax", "uriel_phonology", "uriel_genetic", "lex_swadesh_ldn", "log10_tokens_src",
             "log10_tokens_tgt"]
    res = explain_transfer(tr, real_features, feature_names=feats, kinds=("ols",), subset_sizes=(2, 3))
    co = res["coefficients"]
    coef = co[co["fit"] == "ols"].set_index("term")  # the mrqap rows (headline p) carry no CI
    d = res["design"]
    for f in feats:
        beta = truth.get(f, 0.0) * d[f].std(ddof=0)
        assert coef.loc[f, "ci_low"] - 1e-3 <= beta <= coef.loc[f, "ci_high"] + 1e-3, f
    assert res["lolo"].iloc[0]["skill"] > 0.8
    groups = default_feature_groups(feats)
    assert groups["lexical"] == ["lex_swadesh_ldn"] and groups["syntax"] == ["uriel_syntax"]
    assert np.isfinite(res["vif"]["vif"]).all()
