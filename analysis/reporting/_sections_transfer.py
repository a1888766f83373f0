"""Sections 4-9 of ``docs/RESULTS.md``: transfer, what explains it, Mantel tests, few-shot laws, the recommender, attribution."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.figures import MIN_K_FOR_LAW
from analysis.reporting._markdown import _Doc, _models, _names, _read, _rel, md_table
from analysis.summary import NEAR_CHANCE_MARGIN, headline_coefficients, zero_shot_levels

__all__: list[str] = []


def _transfer_section(doc: _Doc, run: Path, model: str) -> pd.DataFrame | None:
    doc.add("## 4. How well does the model transfer?")
    tr = _read(run / "transfer" / "transfer.parquet")
    if tr is None:
        doc.add(f"_No transfer table in this run (expected `{run / 'transfer' / 'transfer.parquet'}`, written by "
                "`python -m transfer.run`)._")
        return None
    present = _models(tr)
    if model in present:
        tr = tr[tr["model"] == model]
        doc.source(f"`{model}`")
    else:
        doc.add(f"_The transfer table holds no rows of `{model}`; the numbers below are from {_names(present)}._")
    rows = []
    for (task, metric), g in tr.groupby(["task", "metric"]):
        z = g[g["k"] == 0]
        diag = z[z["src"] == z["tgt"]].groupby(["src"])["value"].mean()
        off = z[z["src"] != z["tgt"]]
        pair = off.groupby(["src", "tgt"])["value"].mean()
        rows.append({"task": task, "metric": metric, "languages": g["src"].nunique(),
                     "pairs": len(pair), "in-language": diag.mean(), "zero-shot mean": pair.mean(),
                     "best pair": f"{pair.idxmax()[0]}->{pair.idxmax()[1]} {pair.max():.2f}" if len(pair) else "",
                     "worst pair": f"{pair.idxmin()[0]}->{pair.idxmin()[1]} {pair.min():.2f}" if len(pair) else "",
                     "from en": off[off["src"] == "en"]["value"].mean()})
    doc.add("Zero-shot (k = 0) transfer, head regime (frozen encoder, linear head on one layer), mean over "
            "seeds:\n\n" + md_table(pd.DataFrame(rows)))
    levels = zero_shot_levels(tr, model)
    if not levels.empty:
        near = levels[levels["near_chance"]]
        doc.add("Against chance (primary metric per task; `near_chance`: the mean cross-lingual zero-shot score is "
                f"within {NEAR_CHANCE_MARGIN:.2f} of chance):\n\n" + md_table(levels))
        if len(near):
            doc.add("**Near chance:** " + ", ".join(f"{r.task} ({r.metric} {r.zero_shot:.2f} vs chance {r.chance:.2f})"
                                                    for r in near.itertuples()) + ". Differences between pairs "
                    "of these tasks are mostly noise; read their transfer matrices and models with that in mind.")
    ks = tr[tr["src"] != tr["tgt"]].groupby(["task", "k"])["value"].mean().unstack("k")
    doc.add("Mean over cross-lingual pairs (all metrics of a task) by number of target examples k:\n\n"
            + md_table(ks.reset_index()))
    for task in sorted(tr["task"].unique()):
        doc.figure(run / "analysis" / "figures" / f"transfer_matrix_{task}.png", f"transfer_matrix_{task}.png",
                   f"Zero-shot transfer matrix, {task} (rows: source, columns: target).")
    doc.figure(run / "analysis" / "figures" / "fewshot_curves.png", "fewshot_curves.png",
               "Few-shot curves: mean over cross-lingual pairs per task, the law a + b log(k + c) where at least "
               "three distinct k exist, and the range over targets (in-language rows are not drawn).")
    return tr


def _explain_section(doc: _Doc, run: Path) -> dict[str, pd.DataFrame]:
    an = run / "analysis"
    doc.add("## 5. Why? What explains transfer")
    out: dict[str, pd.DataFrame] = {}
    fsets = sorted(an.glob("feature_sets_*.parquet"))
    if not fsets:
        doc.add("_No transfer-model tables (analysis.report did not fit them: missing transfer or pair features)._")
        return out
    models: list[str] = []
    for p in fsets:
        models += _models(_read(p))
    doc.source(f"fits on the transfer rows of {_names(list(dict.fromkeys(models)))}")
    for p in fsets:
        label = p.stem[len("feature_sets_"):]
        fs = _read(p)
        if fs is None:
            continue
        out[label] = fs
        cols = [c for c in ("set", "features", "n", "n_params", "r2", "aic", "cv_r2", "cv_mae", "baseline_cv_mae")
                if c in fs.columns]
        doc.add(f"**{label}**: lexical-only vs syntax+morphology+phonology (`typology`) vs all features "
                "(OLS on standardised predictors; `cv_*` = leave-one-language-out):\n\n" + md_table(fs[cols]))
        lr = _read(an / f"set_tests_{label}.parquet")
        if lr is not None and "headline" in lr.columns:
            lr = lr.sort_values("headline", ascending=False, kind="stable")
        lr = lr if lr is not None else _read(an / f"lr_tests_{label}.parquet")
        if lr is not None and not lr.empty:
            if "method" not in lr.columns:
                lr = lr.assign(method="likelihood ratio, chi²")
            doc.add("Tests of nested feature sets (`method`: how each p was computed):\n\n" + md_table(lr))
        co = _read(an / f"coefficients_{label}.parquet")
        if co is not None and not co.empty:
            co = headline_coefficients(co)
            keep = [c for c in ("fit", "kind", "term", "beta", "se", "ci_low", "ci_high", "interval_from", "p",
                                "method", "permutations", "n", "converged") if c in co.columns]
            co = co[co["term"].astype(str) != "Intercept"] if "term" in co else co
            if "p" in co:
                co = co.sort_values("p")
            doc.add("Coefficients (per SD), smallest p first:\n\n" + md_table(co[keep], max_rows=12))
        lolo = _read(an / f"lolo_{label}.parquet")
        if lolo is not None and not lolo.empty:
            doc.add("Predicting unseen languages (leave-one-language-out):\n\n" + md_table(lolo, max_rows=10))
    calib = doc.md_path.parent / "calibration.md"
    doc.add("How well the p-value methods are calibrated on data shaped like this study's: "
            + (f"[docs/calibration.md]({_rel(calib, doc.md_path)})" if calib.is_file() else
               "`docs/calibration.md` (written by `python -m analysis.calibrate`)") + ".")
    for label in (["pooled"] if "pooled" in out else []) + [x for x in out if x != "pooled"]:
        doc.figure(an / "figures" / f"coefficients_{label}.png", f"coefficients_{label}.png",
                   f"Standardised coefficients with 95% intervals ({label}); each p names its method.")
        break
    return out


def _regimes_section(doc: _Doc, run: Path) -> pd.DataFrame | None:
    """Section 5b: the transfer regimes side by side (``analysis/regimes.parquet``, written by the report)."""
    an = run / "analysis"
    tab = _read(an / "regimes.parquet")
    if tab is None:
        return None  # a run with one regime: nothing to compare, no section
    doc.add("### 5b. Does the explanation depend on the regime?")
    doc.add("The same languages and tasks measured with frozen-encoder heads (`head`) and with fine-tuning "
            "(`finetune`), both at k = 0. `typology_beyond_lexical` and `lexical_beyond_typology` are the "
            "Freedman-Lane statistics and headline permutation p-values of section 5 run on each regime's "
            "matrix; `alignment_best_layer` is the strongest Mantel r between the internal alignment and that "
            "matrix (p = its BH q over layers); `rank_agreement` is the Spearman correlation of the zero-shot "
            "pair scores with the head regime's.")
    shown = tab.copy()
    wide = shown.pivot_table(index=["task", "quantity"], columns="regime", values="value", aggfunc="first")
    order = [r for r in dict.fromkeys(shown["regime"].astype(str)) if r in wide.columns]
    doc.add("Values:\n\n" + md_table(wide[order].reset_index(), max_rows=60))
    pv = shown[shown["p"].notna()].pivot_table(index=["task", "quantity"], columns="regime", values="p",
                                               aggfunc="first")
    if not pv.empty:
        doc.add("p-values (BH q for the alignment rows):\n\n"
                + md_table(pv[[r for r in order if r in pv.columns]].reset_index(), max_rows=60))
    ver = _read(an / "regime_verdicts.parquet")
    if ver is not None:
        doc.add("Same conclusion in every regime (at the report's alpha)?\n\n" + md_table(ver, max_rows=30))
    return tab


def _mantel_section(doc: _Doc, run: Path) -> pd.DataFrame | None:
    an = run / "analysis"
    mt = _read(an / "mantel.parquet")
    tt = _read(an / "mantel_typology_transfer.parquet")
    doc.add("## 6. Alignment, typology and transfer (Mantel tests)")
    if mt is None and tt is None:
        doc.add("_No Mantel tables in this run._")
        return None
    if mt is not None:
        doc.source(f"internal alignment of {_names(_models(mt))}; transfer matrices as in section 4")
    if tt is not None:
        cols = [c for c in tt.columns if c != "langs"]
        doc.add("Typological distance vs transfer matrix (negative r: closer languages transfer better):\n\n"
                + md_table(tt[cols].sort_values(cols[0]) if cols else tt, max_rows=30))
    if mt is not None:
        keys = [c for c in ("model", "metric", "against", "test") if c in mt.columns]
        if "r" in mt.columns and keys:
            best = mt.loc[mt.groupby(keys)["r"].apply(lambda s: s.abs().idxmax())]
            cols = [c for c in (*keys, "layer", "r", "p", "q", "method", "significant") if c in best.columns]
            doc.add("Internal alignment vs each matrix: the layer with the strongest Mantel r "
                    "(Benjamini-Hochberg q across layers):\n\n" + md_table(best[cols], max_rows=40))
        doc.figure(an / "figures" / "mantel_by_layer.png", "mantel_by_layer.png", "Mantel r by layer.")
    return mt


def _fewshot_section(doc: _Doc, run: Path) -> pd.DataFrame | None:
    laws = _read(run / "analysis" / "fewshot_laws.parquet")
    doc.add("## 7. Few-shot law")
    tr = _read(run / "transfer" / "transfer.parquet")
    if tr is not None and "k" in tr.columns:
        n_k = tr.assign(k=pd.to_numeric(tr["k"], errors="coerce")).groupby("task")["k"].nunique()
        short = n_k[n_k < MIN_K_FOR_LAW]
        if len(short):
            doc.add("**No law fitted** for " + ", ".join(f"{t} ({int(n)} distinct k)" for t, n in short.items())
                    + f": a two-parameter law through fewer than {MIN_K_FOR_LAW} values of k fits exactly "
                    "(R² = 1) and says nothing.")
    if laws is not None and "n_k" in laws.columns:
        laws = laws[laws["n_k"] >= MIN_K_FOR_LAW]
    if laws is not None and {"src", "tgt"} <= set(laws.columns):
        laws = laws[laws["src"].astype(str) != laws["tgt"].astype(str)]  # in-language curves are not transfer
    if laws is None or laws.empty:
        doc.add(f"_No few-shot law with at least {MIN_K_FOR_LAW} distinct k in this run._")
        return None
    doc.source(_names(_models(laws)))
    g = laws.groupby("task").agg(curves=("b", "size"), median_b=("b", "median"),
                                 share_b_positive=("b", lambda s: (s > 0).mean()), median_r2=("r2", "median"))
    doc.add(f"Per cross-lingual (task, source, target) curve with at least {MIN_K_FOR_LAW} distinct k, "
            "score(k) = a + b log(k + c):\n\n" + md_table(g.reset_index()))
    ex = _read(run / "analysis" / "fewshot_extrapolation.parquet")
    if ex is not None and "abs_error" in ex.columns:
        doc.add(f"Extrapolation from small k to large k: mean absolute error {ex['abs_error'].mean():.3f} "
                f"over {len(ex)} predictions.")
    return laws


def _recommender_section(doc: _Doc, run: Path) -> pd.DataFrame | None:
    files = sorted((run / "analysis").glob("ndcg_*.parquet"))
    doc.add("## 8. Source-language recommender")
    if not files:
        doc.add("_No recommender evaluation in this run._")
        return None
    per = pd.concat([t.assign(task=p.stem[5:]) for p in files if (t := _read(p)) is not None], ignore_index=True)
    doc.source(_names(_models(per)))
    summ = per.groupby(["task", "method"])["ndcg"].agg(["mean", "std", "size"]).reset_index()
    doc.add("Leave-one-target-out NDCG@3 (LangRank's relevance), model vs baselines:\n\n" + md_table(summ))
    return summ


def _attribution_section(doc: _Doc, run: Path) -> pd.DataFrame | None:
    ov = _read(run / "attribution" / "overlap.parquet")
    doc.add("## 9. Same units across languages? (attribution)")
    if ov is None:
        doc.add("_No attribution tables in this run._")
        return None
    doc.source(_names(_models(ov)))
    g = ov.groupby(["task", "layer", "metric"]).agg(mean=("value", "mean"),
                                                    share_significant=("p_adj", lambda s: (s < 0.05).mean()),
                                                    pairs=("value", "size")).reset_index()
    doc.add("Overlap of the top-k units carrying each morphological probe between languages (Jaccard of "
            "top-k sets, Spearman of importance vectors) against a permutation baseline:\n\n"
            + md_table(g, max_rows=40))
    ab = _read(run / "attribution" / "ablation.parquet")
    if ab is not None:
        gg = ab.groupby(["task", "layer", "metric"])["value"].mean().unstack("metric")
        doc.add("Causal check (ablating language A's top-k units in language B's probe vs random units):\n\n"
                + md_table(gg.reset_index(), max_rows=30))
    return ov

