"""python -m representations.align on a real store built by the suite's extractor
from the tiny random BERT and the bundled parallel sample."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from crossling.cli import run_main
from probes.extraction.store import ActivationStore
from representations import linear_cka, retrieval_accuracy
from representations.align import aligned_rows, main

REPO = Path(__file__).resolve().parents[2]


def test_cli_end_to_end(tiny_store, tmp_path):
    out = tmp_path / "align"
    code = run_main(main, ["--activations", str(tiny_store), "--out", str(out), "--metric",
                           "cka,svcca,pwcca,retrieval", "--layers", "all", "--n-permutations", "19",
                           "--n-bootstrap", "10", "--pairs", "en-de,en-zh", "--heatmap-layers", "0,-1",
                           "--cca-max-dims", "12"])
    assert code == 0
    st = ActivationStore(tiny_store)
    table = pd.read_parquet(out / "alignment.parquet")
    assert list(table.columns) == ["model", "layer", "lang_a", "lang_b", "metric", "value", "ci_low", "ci_high",
                                   "p_value", "n", "null_level", "null_draws", "dims_a", "dims_b", "dims_rule",
                                   "length_control"]
    assert (table["model"] == st.model).all()
    n_layers = len(st.layers)
    # 4 languages: 6 unordered pairs (cka, svcca), 12 ordered pairs (pwcca, retrieval); each also length-controlled
    sizes = {"cka": 6 * n_layers, "svcca": 6 * n_layers, "pwcca": 12 * n_layers, "retrieval": 12 * n_layers}
    assert table.groupby("metric").size().to_dict() == {**sizes, **{f"{m}_lenctl": v for m, v in sizes.items()}}
    assert (table["length_control"] == table["metric"].str.endswith("_lenctl")).all()
    # Null levels: from the 19 permutations where drawn, else from sampled re-pairings (1 for CCA, 10 otherwise).
    assert (table[table.metric.isin(["cka", "retrieval"])]["null_draws"] == 19).all()
    assert (table[table.metric.isin(["svcca", "pwcca"])]["null_draws"] == 1).all()
    assert table["null_level"].notna().all()
    cca = table[table.metric.isin(["svcca", "pwcca"])]
    assert (cca["dims_a"] <= 12).all() and cca["dims_rule"].str.contains("at most 12").all()
    assert (table[table.metric == "cka"]["dims_a"] == np.asarray(st.sentences("en", 0)).shape[1]).all()
    assert (table["n"] == 40).all()
    csv = pd.read_csv(out / "alignment.csv")
    assert len(csv) == len(table)
    # Default resampling: CKA and retrieval get p-values and intervals, the CCA metrics do not.
    cheap = table[table.metric.isin(["cka", "retrieval"])]
    assert cheap[["p_value", "ci_low", "ci_high"]].notna().all().all()
    assert table[table.metric.isin(["svcca", "pwcca"])]["p_value"].isna().all()
    assert ((cheap.p_value > 0) & (cheap.p_value <= 1)).all()
    # Values recomputed independently from the store, aligned by sentence id.
    ids = {lang: st.sentence_index(lang)["sentence_id"].astype(str).tolist() for lang in ("en", "de")}
    order = ids["en"]
    pos_de = {s: i for i, s in enumerate(ids["de"])}
    layer = st.layers[-1]
    x = np.asarray(st.sentences("en", layer))
    y = np.asarray(st.sentences("de", layer))[[pos_de[s] for s in order]]
    got = table.query("metric == 'cka' and layer == @layer and lang_a == 'de' and lang_b == 'en'")
    if got.empty:
        got = table.query("metric == 'cka' and layer == @layer and lang_a == 'en' and lang_b == 'de'")
    assert got["value"].item() == pytest.approx(linear_cka(x, y, debiased=True), abs=1e-9)
    r = table.query("metric == 'retrieval' and layer == @layer and lang_a == 'en' and lang_b == 'de'")
    assert r["value"].item() == pytest.approx(retrieval_accuracy(x, y).x_to_y)
    # The length-controlled CKA: both languages residualised on their own log token counts.
    toks = {lang: st.sentence_index(lang).set_index(st.sentence_index(lang)["sentence_id"].astype(str))["n_tokens"]
            for lang in ("en", "de")}
    design = {lang: np.c_[np.ones(len(order)), np.log(toks[lang].loc[order].to_numpy(float))] for lang in toks}

    def resid(v, z):
        return v - z @ np.linalg.lstsq(z, v, rcond=None)[0]

    got = table.query("metric == 'cka_lenctl' and layer == @layer and lang_a in ('en', 'de') and lang_b in ('en', 'de')")
    want = linear_cka(resid(x, design["en"]), resid(y, design["de"]), debiased=True)
    assert got["value"].item() == pytest.approx(want, abs=1e-9)
    # Layer-by-layer matrices, config, figures.
    lt = pd.read_parquet(out / "layer_similarity.parquet")
    assert len(lt) == 4 * 4 * n_layers * n_layers and (lt["model"] == st.model).all()
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["metrics"] == ["cka", "svcca", "pwcca", "retrieval"] and cfg["n_permutations"] == 19
    figs = sorted(p.name for p in (out / "figures").iterdir())
    assert "heatmap_cka_L0.png" in figs and "layers_pwcca.png" in figs
    assert len(figs) == 4 * 2 + 4 and f"heatmap_svcca_L{st.layers[-1]}.png" in figs
    assert all((out / "figures" / f).stat().st_size > 1000 for f in figs)


def test_cli_is_rerunnable_only_with_overwrite(tiny_store, tmp_path, capsys):
    args = ["--activations", str(tiny_store), "--out", str(tmp_path / "o"), "--metric", "cka",
            "--layers", "0", "--n-permutations", "0", "--n-bootstrap", "0", "--no-figures"]
    assert run_main(main, args) == 0
    assert run_main(main, args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert run_main(main, args + ["--overwrite"]) == 0
    t = pd.read_parquet(tmp_path / "o" / "alignment.parquet")
    assert t["p_value"].isna().all() and set(t["layer"]) == {0}


@pytest.mark.parametrize("args,code,message", [
    (["--metric", "ckaa"], 2, "Did you mean 'cka'"),
    (["--layers", "99"], 2, "not in the store"),
    (["--languages", "en,xx"], 2, "'xx' is not in store"),
    (["--pairs", "en"], 2, "lang_a-lang_b"),
    (["--resample-metrics", "svcca"], 2, "not among metrics"),
    (["--ci-level", "1.5"], 2, "ci_level"),
    (["--bogus"], 2, "unrecognized"),
])
def test_cli_errors(tiny_store, tmp_path, capsys, args, code, message):
    base = ["--activations", str(tiny_store), "--out", str(tmp_path / "e"), "--metric", "cka", "--no-figures"]
    assert run_main(main, base + args) == code
    assert message in capsys.readouterr().err


def test_cli_missing_store(tmp_path, capsys):
    assert run_main(main, ["--activations", str(tmp_path / "nope")]) == 5
    assert "probes.extract" in capsys.readouterr().err


def test_aligned_rows_matches_by_sentence_id(tiny_store):
    st = ActivationStore(tiny_store)
    rows, ids, dropped = aligned_rows(st, ["zh", "en", "fr"])
    assert len(ids) == 40 and dropped == {"zh": 0, "en": 0, "fr": 0}
    for lang in ("zh", "en", "fr"):
        idx = st.sentence_index(lang).set_index("row")["sentence_id"].astype(str)
        assert idx.loc[rows[lang]].tolist() == ids


def test_module_runs_as_a_script(tiny_store, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "representations.align", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "--activations" in proc.stdout
