"""Recommender: NDCG, ranking from features (also for unseen targets), LOTO evaluation, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.recommend import RANKERS, evaluate_ranking, fit_recommender, main, ndcg_at_k
from crossling.cli import run_main
from crossling.tables import read_table, write_table


def test_ndcg_properties():
    obs = {"a": 0.9, "b": 0.7, "c": 0.5, "d": 0.1}
    assert ndcg_at_k(["a", "b", "c", "d"], obs) == 1.0
    assert ndcg_at_k(["b", "a", "c", "d"], obs) < 1.0
    assert ndcg_at_k(["d", "c", "b", "a"], obs) < ndcg_at_k(["b", "a", "c", "d"], obs)
    # unknown sources are ignored; relevance is LangRank's max(0, 10 - true rank), gain 2^rel - 1
    assert ndcg_at_k(["zz", "a", "b", "c"], obs) == 1.0
    expected = ((2 ** 9 - 1) / 1 + (2 ** 10 - 1) / np.log2(3) + (2 ** 8 - 1) / 2) / (
        (2 ** 10 - 1) + (2 ** 9 - 1) / np.log2(3) + (2 ** 8 - 1) / 2)
    assert ndcg_at_k(["b", "a", "c"], obs) == pytest.approx(expected)
    # tied observed scores share a relevance: every order of tied sources is ideal
    tied = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.2}
    assert ndcg_at_k(["c", "b", "a", "d"], tied) == 1.0 and ndcg_at_k(["d", "a", "b"], tied) < 1.0


def test_loto_ndcg_near_one_when_features_determine_transfer(sim):
    tr, fe, _ = sim.simulate(noise=0.003)
    per, summ = evaluate_ranking(tr, fe, task="xnli")
    s = summ.set_index("method")["mean_ndcg"]
    assert s["model"] > 0.95
    assert s["model"] > s["english"] + 0.1 and s["model"] > s["lexical"] + 0.1
    assert set(per["method"]) == set(RANKERS.names()) and per["n_sources"].eq(9).all()


def test_lexical_baseline_wins_when_only_lexical_similarity_matters(sim):
    tr, fe, _ = sim.simulate(coef={"lex_sim": 0.1}, noise=0.001)
    s = evaluate_ranking(tr, fe, task="xnli")[1].set_index("method")["mean_ndcg"]
    assert s["lexical"] > 0.95 and s["model"] > 0.95
    # the same information as a distance whose name does not say so (PanLex LDN): orientation is learned
    dist = fe.assign(feature=fe["feature"].replace({"lex_sim": "lex_swadesh_ldn"}),
                     value=np.where(fe["feature"] == "lex_sim", -fe["value"], fe["value"]))
    s2 = evaluate_ranking(tr, dist, task="xnli")[1].set_index("method")["mean_ndcg"]
    assert s2["lexical"] == pytest.approx(s["lexical"])


def test_ranks_an_unseen_target_from_its_features(sim):
    tr, fe, truth = sim.simulate(noise=0.003, extra_langs=2)
    assert "l10" not in set(tr["tgt"]) | set(tr["src"])
    rec = fit_recommender(tr, fe, task="xnli")
    ranked = rec.rank("l10")
    assert len(ranked) == 11 and ranked["rank"].tolist() == list(range(1, 12))
    assert ranked["observed"].isna().all()
    # noiseless truth for the unseen pairs from the planted coefficients
    from analysis.stats import features_wide

    w = features_wide(fe).set_index(["src", "tgt"])
    true = []
    for s in ranked["src"]:
        row = w.loc[(s, "l10")]
        true.append(0.08 * row["lex_sim"] - 0.06 * row["syntax_dist"] - 0.015 * row["phon_dist"]
                    + 0.03 * row["log_tokens_src"])
    rho = sps.spearmanr(ranked["predicted"], true)[0]
    assert rho > 0.95


def test_k_needed_from_the_fewshot_law(sim):
    tr, fe, _ = sim.simulate(noise=0.003)
    fs = sim.simulate_fewshot(targets=("sw",))
    both = pd.concat([tr[~((tr["src"] == "en") & (tr["tgt"] == "sw"))], fs], ignore_index=True)
    rec = fit_recommender(both, fe, task="xnli")
    out = rec.rank("sw", score=0.6)
    assert (out["slope_from"] == "target").all()
    law = rec.laws.set_index("tgt").loc["sw"]
    a = out["predicted"].to_numpy()
    expected = np.clip(np.exp((0.6 - a) / law["b"]) - law["c"], 0, None)
    np.testing.assert_allclose(out["k_needed"], expected)
    assert out["k_needed"].is_monotonic_increasing  # better predicted source -> fewer examples


def test_cli_ranks_and_evaluates(sim, tmp_path, capsys):
    tr, fe, _ = sim.simulate(noise=0.003)
    write_table(tr, tmp_path / "transfer")
    write_table(fe, tmp_path / "features")
    code = run_main(main, ["--task", "xnli", "--target", "sw", "--transfer", str(tmp_path / "transfer.parquet"),
                           "--features", str(tmp_path / "features.csv"), "--top", "3", "--evaluate",
                           "--out", str(tmp_path / "rec")])
    text = capsys.readouterr().out
    assert code == 0 and "NDCG@3" in text and "sim-model" in text
    table = read_table(tmp_path / "rec.parquet")
    assert len(table) == 3 and (table["tgt"] == "sw").all()
    assert (tmp_path / "rec.config.yaml").is_file() and (tmp_path / "rec_ndcg.csv").is_file()


def test_cli_errors_have_exit_codes(sim, tmp_path, capsys):
    tr, fe, _ = sim.simulate()
    write_table(tr, tmp_path / "t")
    write_table(fe, tmp_path / "f")
    base = ["--transfer", str(tmp_path / "t.parquet"), "--features", str(tmp_path / "f.parquet")]
    assert run_main(main, [*base, "--task", "xnlj", "--target", "sw"]) == 2
    assert "Did you mean 'xnli'" in capsys.readouterr().err
    assert run_main(main, [*base, "--task", "xnli", "--target", "qq"]) == 3
    assert "qq" in capsys.readouterr().err
    assert run_main(main, ["--task", "xnli", "--target", "sw", "--transfer", "nope.parquet",
                           "--features", "f"]) == 2
