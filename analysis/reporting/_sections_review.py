"""Sections 10-11 of ``docs/RESULTS.md``: comparison with published numbers, data gaps and caveats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.figures import MIN_K_FOR_LAW
from analysis.reporting._literature import (
    LIT_ALIGNMENT,
    LIT_CONTROL,
    LIT_CROSS,
    LIT_PROBES,
    MULLER_2022,
    REFERENCE_SOURCES,
    REFERENCE_ZERO_SHOT,
)
from analysis.reporting._markdown import _Doc, _read, _slug, md_table

__all__: list[str] = []


def _verdict(ok: bool | None, yes: str = "agrees", no: str = "disagrees") -> str:
    return "not checkable" if ok is None else (yes if ok else no)


def _comparison_rows(model: str, fsets: dict[str, pd.DataFrame], laws: pd.DataFrame | None,
                     tr: pd.DataFrame | None, facts: dict[str, Any], mantel_tt: pd.DataFrame | None) -> list[dict]:
    """One row per published claim this study can check: source, published, this study, verdict."""
    rows: list[dict] = []

    def add(claim: str, source: str, published: str, ours: str, verdict: str) -> None:
        rows.append({"claim": claim, "source": source, "published": published, "this study": ours,
                     "verdict": verdict})

    # Muller et al. (2022): typology beats lexical similarity; log-linear few-shot gains
    checks = []
    for label, fs in fsets.items():
        d = fs.set_index("set") if "set" in fs.columns else pd.DataFrame()
        if {"lexical", "typology"} <= set(d.index) and "cv_mae" in d.columns:
            checks.append((label, float(d.loc["typology", "cv_mae"]), float(d.loc["lexical", "cv_mae"])))
    add("Syntax, morphology and phonology similarity predict transfer better than lexical similarity",
        "Muller et al. (2022), mT5", "direction: typology > lexical",
        "; ".join(f"{lab}: CV MAE typology {t:.3f} vs lexical {lx:.3f}" for lab, t, lx in checks) or "no fits",
        _verdict(None if not checks else all(t < lx for _, t, lx in checks), no="disagrees (at least one task)")
        if checks else "not checkable")
    if laws is not None and not laws.empty:
        pos, r2 = float((laws["b"] > 0).mean()), float(laws["r2"].median())
        add("Scores rise log-linearly with the number of target examples k", "Muller et al. (2022), mT5",
            "direction: log-linear rise", f"b > 0 in {pos:.0%} of {len(laws)} curves (>= {MIN_K_FOR_LAW} k), "
            f"median R² {r2:.2f}", _verdict(pos > 0.8 and r2 > 0.7, no="partly (not every curve)"))
    else:
        add("Scores rise log-linearly with the number of target examples k", "Muller et al. (2022), mT5",
            "direction: log-linear rise", f"no curve with >= {MIN_K_FOR_LAW} distinct k", "not checkable")

    # XTREME / mT5 zero-shot levels from English (numbers quoted in REFERENCE_ZERO_SHOT)
    if tr is not None and not tr.empty:
        z = tr[(tr["k"] == 0) & (tr["src"] == "en") & (tr["tgt"] != "en")]
        for task, refs in REFERENCE_ZERO_SHOT.items():
            g = z[z["task"] == task]
            metric = next((m for m in ("accuracy", "f1", "entity_f1", "macro_f1") if (g["metric"] == m).any()), None)
            if metric is None:
                continue
            ours = 100 * float(g[g["metric"] == metric].groupby("tgt")["value"].mean().mean())
            tg = sorted(map(str, g["tgt"].unique()))
            targets = f"{len(tg)} targets" + (f": {', '.join(tg)}" if len(tg) <= 6 else "")
            pub = ", ".join(f"{k} {v:.1f}" for k, v in refs.items())
            low = min(refs.values())
            add(f"Zero-shot {task} from English (percent)", "XTREME, Hu et al. (2020) Table 2; mT5, Xue et al. (2021)",
                pub, f"{ours:.1f} ({metric}, frozen encoder + linear head, {targets}; the published means are over "
                     "each benchmark's own targets)",
                "below all published levels (expected: no fine-tuning)" if ours < low else
                "within the published range" if ours <= max(refs.values()) else "above the published levels")

    # layer-wise probing
    pr = facts.get("probes", {})
    if "upos" in pr and "deprel" in pr:
        u, d = int(pr["upos"]["best layer"]), int(pr["deprel"]["best layer"])
        add("Part of speech is decoded best in lower layers than dependency relations",
            "Tenney et al. (2019), BERT", "direction: POS layer <= dependency layer",
            f"upos best at layer {u}, deprel at layer {d}", _verdict(u <= d))
    pl = facts.get("probe_layers", [])
    syn = {t: int(r["best layer"]) for t, r in facts.get("regression", {}).items()}
    if "deprel" in pr:
        syn["deprel"] = int(pr["deprel"]["best layer"])
    if pl and syn:
        lo, hi = min(pl), max(pl)
        mid = [t for t, b in syn.items() if lo + (hi - lo) / 4 <= b <= hi - (hi - lo) / 4]
        add("Syntactic structure is recovered best from the middle layers",
            "Hewitt & Manning (2019), structural probes on BERT/ELMo", "direction: middle layers",
            ", ".join(f"{t} layer {b}" for t, b in syn.items()) + f" (of {lo}..{hi})",
            _verdict(len(mid) == len(syn), no="partly" if mid else "disagrees"))
    cr = facts.get("cross", {})
    kept = {t: r["cross / in-language"] for t, r in cr.items() if t in ("upos", "deprel")
            and np.isfinite(r["cross / in-language"])}
    if kept:
        add("Syntactic probes transfer across languages (a shared subspace)",
            "Chi et al. (2020), mBERT", "direction: cross-lingual probes work",
            ", ".join(f"{t}: {v:.0%} of in-language accuracy" for t, v in kept.items()),
            _verdict(min(kept.values()) >= 0.75, no="weaker (< 75% kept)"))
    if mantel_tt is not None and not mantel_tt.empty and "r" in mantel_tt.columns:
        mt = mantel_tt[mantel_tt["test"] == "mantel"] if "test" in mantel_tt.columns else mantel_tt
        syn_rows = mt[mt["left"].astype(str).str.contains("syn", case=False)] if "left" in mt.columns else mt.iloc[0:0]
        if len(syn_rows):
            neg = int((syn_rows["r"] < 0).sum())
            how = (f"{int(syn_rows['permutations'].max())} permutations" if "permutations" in syn_rows.columns
                   else "permutation")
            add("Transfer is better between typologically (syntactically) similar languages",
                "Pires et al. (2019), mBERT", "direction: closer languages transfer better",
                f"Mantel r of syntactic distance vs transfer negative in {neg} of {len(syn_rows)} tests "
                f"(min r {syn_rows['r'].min():+.2f}; p by {how})", _verdict(neg == len(syn_rows), no="partly"
                                                                           if neg else "disagrees"))

    # alignment across layers
    al = facts.get("align", {})
    if "cka" in al:
        f = al["cka"]
        interior = f["first_layer"] < f["peak_layer"] < f["last_layer"]
        add("Similarity of translations rises through the lower layers and falls in the last ones",
            "Muller et al. (2021), mBERT", "direction: rise, then fall",
            f"CKA peak {f['peak']:.2f} at layer {f['peak_layer']} of {f['first_layer']}..{f['last_layer']}; last "
            f"layer {f['last']:.2f}", _verdict(interior and f["peak"] - f["last"] > 0.01))
    if len(al) >= 2:
        peaks = {m: f["peak_layer"] for m, f in al.items()}
        add("Layer profiles of cross-lingual similarity depend on the similarity index",
            "Del & Fishel (2021)", "direction: indexes disagree",
            ", ".join(f"{m} peaks at layer {p}" for m, p in peaks.items()), _verdict(len(set(peaks.values())) > 1))
    if "cka" in al and np.isfinite(al["cka"].get("ctrl_at_peak", np.nan)):
        f = al["cka"]
        add("Random-initialised encoders are strong baselines for representation analyses",
            "Zhang & Bowman (2018); Hewitt & Liang (2019)", "direction: controls needed",
            f"control CKA {f['ctrl_at_peak']:.2f} vs model {f['peak']:.2f} at layer {f['peak_layer']}",
            "agrees (control close to the model)" if f["ctrl_at_peak"] >= 0.8 * f["peak"] else
            "model clearly above its control")
    return rows


def _agreement(doc: _Doc, run: Path, model: str, fsets: dict[str, pd.DataFrame], laws: pd.DataFrame | None,
               tr: pd.DataFrame | None, facts: dict[str, Any]) -> None:
    doc.add("## 10. Comparison with published numbers")
    doc.source(f"`{model}` (this run) against the published numbers and findings quoted, each with its source")
    rows = _comparison_rows(model, fsets, laws, tr, facts, _read(run / "analysis" / "mantel_typology_transfer.parquet"))
    doc.add("Each claim of the literature this study can check, the published number (or its direction, where the "
            "paper reports no number comparable to ours), this study's number, and whether they agree. Published "
            "results come from other models (mBERT, XLM-R, mT5, BERT); this study's from "
            f"`{model}`" + (" — **not mT5**" if "mt5" not in model.lower() else "") + ".\n\n"
            + md_table(pd.DataFrame(rows), max_rows=40))
    doc.add(REFERENCE_SOURCES)
    doc.add(MULLER_2022 + " " + LIT_ALIGNMENT + " " + LIT_PROBES + " " + LIT_CROSS + " " + LIT_CONTROL)


def _gaps(doc: _Doc, run: Path, model: str, control: str | None, tr: pd.DataFrame | None,
          ov: pd.DataFrame | None) -> None:
    doc.add("## 11. Data gaps and caveats")
    items = []
    missing = [name for name, p in (("alignment", run / f"align-{_slug(model)}" / "alignment.parquet"),
                                    ("probes", run / "probes" / "probes.parquet"),
                                    ("transfer", run / "transfer" / "transfer.parquet"),
                                    ("attribution", run / "attribution" / "overlap.parquet"),
                                    ("pair features", run / "typology" / "pair_features.parquet"),
                                    ("analysis (report)", run / "analysis" / "fewshot_laws.parquet"))
               if not p.is_file()]
    if control and not (run / f"align-{_slug(control)}" / "alignment.parquet").is_file():
        missing.append(f"control alignment (`align-{_slug(control)}`)")
    if missing:
        items.append("Tables missing from this run: " + ", ".join(missing) + "; the sections that need them say so.")
    sk = _read(run / "probes" / "skipped.parquet")
    if sk is None:
        sk = _read(run / "probes" / "skipped.csv")
    if sk is not None and not sk.empty and {"lang", "task"} <= set(sk.columns):
        skm = sk[sk["model"].astype(str) == model] if "model" in sk.columns else sk
        if len(skm):
            per = skm.groupby("task")["lang"].apply(lambda s: ", ".join(sorted(set(map(str, s)))))
            items.append(f"Probe cells skipped for lack of data (`{model}`, probes/skipped): {len(skm)} "
                         "(language, task) cells; " + "; ".join(f"{t}: {langs}" for t, langs in per.items())
                         + ". Reasons are in the table (e.g. one class in training, no labelled words).")
    if tr is not None and "src_pool" in tr.columns:
        dev = tr[tr["src_pool"].astype(str).str.startswith("dev")]
        per_task = {t: sorted(set(g["src"].astype(str))) for t, g in dev.groupby("task")}
        if per_task:
            items.append("Training pools cut from a dev split (no train split in the data), by task: "
                         + "; ".join(f"{t}: {', '.join(langs)}" for t, langs in sorted(per_task.items()))
                         + ". The dev split was cut by example index into a training part and a disjoint test "
                         "part (`src_pool` / `tgt_pool` in the transfer table).")
    if tr is not None and not tr.empty:
        short = []
        for task, g in tr[tr["k"] == 0].groupby("task"):
            langs = sorted(set(g["src"].astype(str)) | set(g["tgt"].astype(str)))
            pairs = len(g[g["src"] != g["tgt"]].drop_duplicates(["src", "tgt"]))
            if pairs < len(langs) * (len(langs) - 1):
                short.append(f"{task}: {pairs} of {len(langs) * (len(langs) - 1)} ordered pairs")
        if short:
            items.append("Transfer grids with missing pairs: " + "; ".join(short) + ".")
    if ov is not None and not ov.empty:
        cfg = run / "study.config.yaml"
        if cfg.is_file():
            from crossling.config import load_yaml, split_list

            want = split_list(load_yaml(cfg).get("attribution_tasks", []))
            absent = [t for t in want if t not in set(ov["task"].astype(str))]
            if absent:
                items.append("Attribution tasks requested in study.config.yaml but absent from the overlap table "
                             "(too few languages with the feature): " + ", ".join(absent) + ".")
    items.append("XTREME test splits are not used: most are unlabelled in this mirror, and nine UD-POS test "
                 "files are damaged (ar bg el es fi fr hi id it); evaluation uses dev splits.")
    items.append("XNLI/PAWS-X dev sets are split by example index so no target is tested on translations of "
                 "examples a source was trained on; training sizes are capped equally across sources.")
    items.append("PUD has 1000 sentences per language: probes and alignment are estimated on those; Japanese PUD "
                 "carries almost no morphological features, so it drops out of most morphology probes.")
    items.append("Pair features have gaps (Grambank lacks some languages, PanLex has no Urdu variety; UD morphology "
                 "profiles exist only for the 16 PUD languages): features covering fewer than 90% of pairs are left "
                 "out of the models rather than dropping languages (see the coverage tables in the HTML report).")
    doc.add("\n".join(f"- {i}" for i in items))

