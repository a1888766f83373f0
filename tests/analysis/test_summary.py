"""The five answers and the caveats: numbers equal to what the tables imply; newer columns used when present."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.summary import (
    QUESTIONS,
    caveats,
    five_answers,
    headline_coefficients,
    task_chance,
    with_method,
    zero_shot_levels,
)


def _alignment(null: bool = False, length_control: bool = False) -> pd.DataFrame:
    rows = []
    for model, prof in (("m", [0.3, 0.7, 0.5]), ("ctrl", [0.2, 0.2, 0.2])):
        for layer, v in enumerate(prof):
            for a, b, off in (("en", "de", -0.02), ("en", "zh", 0.0), ("de", "zh", 0.02)):
                row = {"model": model, "layer": layer, "lang_a": a, "lang_b": b, "metric": "cka", "value": v + off,
                       "n": 300}
                if null:
                    row["null_level"] = 0.05
                if length_control:
                    rows.append({**row, "length_control": True, "value": 0.99})
                    row["length_control"] = False
                rows.append(row)
    return pd.DataFrame(rows)


def _transfer(nli_level: float = 0.36) -> pd.DataFrame:
    rows = []
    for task, metric, level in (("pos", "accuracy", 0.7), ("nli", "accuracy", nli_level)):
        for s in ("en", "de", "zh"):
            for t in ("en", "de", "zh"):
                v = level + (0.2 if s == t else 0.0) + (0.05 if s == "en" else 0.0)
                rows.append({"model": "m", "task": task, "src": s, "tgt": t, "k": 0, "seed": 0, "metric": metric,
                             "value": v, "n_test": 150})
    return pd.DataFrame(rows)


def test_alignment_answer_reads_the_tables():
    a = five_answers(model="m", control="ctrl", alignment=_alignment(null=True))[0]
    assert a.key == "alignment" and a.available
    assert "peaks at layer 1 (mean 0.70 over 3 language pairs" in a.answer
    assert "null level of 0.05" in a.answer and "control reaches 0.20" in a.answer


def test_length_controlled_rows_do_not_replace_the_plain_measure():
    a = five_answers(model="m", alignment=_alignment(length_control=True))[0]
    assert "mean 0.70" in a.answer and "0.99" not in a.answer


def test_transfer_levels_and_near_chance():
    lv = zero_shot_levels(_transfer(), "m").set_index("task")
    assert np.isclose(lv.loc["nli", "chance"], 1 / 3) and bool(lv.loc["nli", "near_chance"])
    assert np.isnan(lv.loc["pos", "chance"]) and not bool(lv.loc["pos", "near_chance"])
    cross = [0.36 + (0.05 if s == "en" else 0.0) for s in ("en", "de", "zh") for t in ("en", "de", "zh") if s != t]
    assert np.isclose(lv.loc["nli", "zero_shot"], np.mean(cross)) and lv.loc["nli", "pairs"] == 6
    assert any("nli is near chance" in c for c in caveats(model="m", transfer=_transfer()))
    assert not any("near chance" in c for c in caveats(model="m", transfer=_transfer(nli_level=0.7)))


def test_explain_answer_uses_headline_method_rows():
    coef = pd.DataFrame({"fit": "ols", "term": ["Intercept", "syntax", "syntax", "lex", "lex"],
                         "beta": [0.5, -0.04, -0.04, 0.01, 0.01], "ci_low": [0.4, -0.06, -0.06, -0.01, -0.01],
                         "ci_high": [0.6, -0.02, -0.02, 0.03, 0.03], "p": [0.0, 0.001, 0.03, 0.4, 0.5],
                         "method": ["wald", "wald", "wild bootstrap", "wald", "wild bootstrap"],
                         "headline": [True, False, True, False, True], "n": 60})
    a = five_answers(model="m", coefficients=coef)[3]
    assert "syntax (β = -0.040 per SD" in a.answer and "p = 0.03 (wild bootstrap)" in a.answer
    assert "1 of 2 predictors have p < 0.05" in a.answer


def test_explain_answer_counts_untestable_predictors():
    coef = pd.DataFrame({"fit": "mrqap", "term": ["syntax", "lex", "size"], "beta": [-0.04, 0.01, 0.02],
                         "p": [np.nan, np.nan, 0.01], "method": ["mrqap-dsp-fe", "mrqap-dsp-fe", "mrqap-dsp"],
                         "headline": True, "n": 12})
    a = five_answers(model="m", coefficients=coef)[3].answer
    assert "p = nan" not in a and "1 of 3 predictors have p < 0.05 (2 without a p-value" in a


def test_method_named_when_the_table_lacks_it():
    c = with_method(pd.DataFrame({"fit": ["ols", "mixed"], "term": ["x", "x"], "p": [0.1, 0.2]}))
    assert list(c["method"]) == ["Wald, SE clustered two-way by source and target", "Wald, mixed model"]


def test_missing_tables_are_said_and_caveats_name_the_model():
    ans = five_answers(model="m")
    assert [a.key for a in ans] == [k for k, _ in QUESTIONS] and not any(a.available for a in ans)
    assert all(a.answer.startswith("Not answered by this run") for a in ans)
    assert caveats(model="m")[0].startswith("The model is m, not mT5")
    assert not any("not mT5" in c for c in caveats(model="hf:google/mt5-small"))


def test_chance_levels():
    assert task_chance("paws", "accuracy") == 0.5 and task_chance("pos", "accuracy") is None
    assert task_chance("ner", "f1") == 0.0 and task_chance("nli", "macro_f1") is None


def test_headline_permutation_rows_borrow_the_model_based_interval():
    coef = pd.DataFrame([
        {"fit": "ols", "term": "syntax", "beta": -0.04, "se": 0.01, "ci_low": -0.06, "ci_high": -0.02, "p": 0.001,
         "method": "wald", "headline": False, "n": 60},
        {"fit": "mrqap", "term": "syntax", "beta": -0.04, "p": 0.04, "method": "mrqap-node-permutation",
         "headline": True, "permutations": 999, "n": 60}])
    h = headline_coefficients(coef)
    assert len(h) == 1 and h["p"].iloc[0] == 0.04 and h["ci_low"].iloc[0] == -0.06
    assert h["interval_from"].iloc[0] == "ols"
    a = five_answers(model="m", coefficients=coef)[3].answer
    assert "p = 0.04 (mrqap-node-permutation)" in a and "-0.060 to -0.020 (ols)" in a


def test_within_language_rows_keep_their_beta_and_borrow_no_interval():
    coef = pd.DataFrame([
        {"fit": "ols", "term": "syntax", "beta": -0.04, "se": 0.01, "ci_low": -0.06, "ci_high": -0.02, "p": 0.001,
         "method": "wald", "headline": False, "n": 60},
        {"fit": "ols", "term": "size_src", "beta": 0.02, "se": 0.01, "ci_low": 0.0, "ci_high": 0.04, "p": 0.04,
         "method": "wald", "headline": False, "n": 60},
        {"fit": "mrqap", "term": "syntax", "beta": -0.01, "p": 0.03, "method": "mrqap-dsp-fe",
         "headline": True, "permutations": 999, "n": 60},
        {"fit": "mrqap", "term": "size_src", "beta": 0.02, "p": 0.2, "method": "mrqap-dsp",
         "headline": True, "permutations": 999, "n": 60}])
    h = headline_coefficients(coef).set_index("term")
    assert h.loc["syntax", "beta"] == -0.01 and np.isnan(h.loc["syntax", "ci_low"])
    assert h.loc["syntax", "interval_from"] == ""
    assert h.loc["size_src", "ci_low"] == 0.0 and h.loc["size_src", "interval_from"] == "ols"
