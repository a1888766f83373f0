"""Sections 1-3 of ``docs/RESULTS.md``: inside the model (alignment, probes, the random-initialised control)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.reporting._literature import LIT_CONTROL
from analysis.reporting._markdown import (
    _at,
    _by_layer,
    _concat,
    _Doc,
    _f,
    _models,
    _names,
    _pct,
    _read,
    _safe,
    _slug,
    _task_order,
    md_table,
)

__all__: list[str] = []

#: Alignment metrics in the order they are shown (others follow alphabetically).
METRIC_ORDER = ("cka", "svcca", "pwcca", "retrieval")


def _alignment_section(doc: _Doc, run: Path, model: str, control: str | None, facts: dict[str, Any]) -> None:
    doc.add("## 1. How aligned are the languages inside the model?")
    al = _concat(sorted(run.glob("align-*/alignment.parquet")))
    if al is None:
        doc.add(f"_No alignment table in this run (expected `{run / ('align-' + _slug(model))}/alignment.parquet`, "
                "written by `python -m representations.align`)._")
        return
    present = _models(al)
    if model not in present:
        doc.add(f"_The alignment tables hold no rows of `{model}`; they hold {_names(present)}._")
        return
    ctrl = control if control in present else None
    doc.source(f"`{model}`" + (f" and its random-initialised control `{ctrl}`" if ctrl else ""))
    if control and not ctrl:
        doc.add(f"_No alignment rows of the control `{control}` (expected "
                f"`{run / ('align-' + _slug(control))}/alignment.parquet`): the comparison with the control is "
                "missing._")
    al = al[al["model"].astype(str).isin([model] + ([ctrl] if ctrl else []))]
    mset = set(al[al["model"] == model]["metric"].astype(str))
    metrics = [m for m in METRIC_ORDER if m in mset] + sorted(mset - set(METRIC_ORDER))
    layers = sorted(int(x) for x in al[al["model"] == model]["layer"].unique())
    means = {k: g.groupby("layer")["value"].mean() for k, g in al.groupby(["model", "metric"])}
    tab = pd.DataFrame({"layer": layers})
    for m in metrics:
        tab[m] = tab["layer"].map(means[(model, m)])
        if ctrl and (ctrl, m) in means:
            tab[f"{m} (ctrl)"] = tab["layer"].map(means[(ctrl, m)])
    doc.add("Mean over language pairs, by layer (`cka` is the debiased linear CKA; `svcca` the mean canonical "
            "correlation of the SVD directions, `pwcca` its projection-weighted form (weights from `lang_a`); "
            "`retrieval` is P@1 of finding the translation by cosine"
            + (f"; `(ctrl)` columns are the random-initialised control `{ctrl}`" if ctrl else "")
            + "):\n\n" + md_table(tab, "{:.2f}"))
    ci_level = _align_ci_level(run, model)
    rows, sentences = [], []
    facts["align"] = {}
    for m in metrics:
        for who in [model] + ([ctrl] if ctrl else []):
            sub = al[(al["model"] == who) & (al["metric"] == m)]
            if sub.empty:
                continue
            by = _by_layer(sub)
            peak = int(by.idxmax())
            p = sub["p_value"].dropna() if "p_value" in sub else pd.Series(dtype=float)
            w = (sub["ci_high"] - sub["ci_low"]).dropna() if {"ci_low", "ci_high"} <= set(sub.columns) \
                else pd.Series(dtype=float)
            rows.append({"metric": m, "model": who, "peak layer": peak, "peak": by.max(), "layer 0": _at(by, 0),
                         "last layer": by.iloc[-1], "cells": len(sub), "cells with p": len(p),
                         "share p < 0.05": float((p < 0.05).mean()) if len(p) else np.nan,
                         "median CI width": float(w.median()) if len(w) else np.nan})
        mm = al[(al["model"] == model) & (al["metric"] == m)]
        by = _by_layer(mm)
        peak = int(by.idxmax())
        npairs = len(mm[mm["layer"] == peak].drop_duplicates(["lang_a", "lang_b"]))
        f = {"peak_layer": peak, "peak": float(by.max()), "layer0": _at(by, 0), "last": float(by.iloc[-1]),
             "last_layer": int(by.index[-1]), "first_layer": int(by.index[0])}
        s = (f"- **{m}**: `{model}` peaks at layer **{peak}** (mean {by.max():.2f} over {npairs} pairs; "
             f"layer {int(by.index[0])}: {by.iloc[0]:.2f}; last layer {int(by.index[-1])}: {by.iloc[-1]:.2f})")
        if ctrl and (ctrl, m) in means:
            cb = means[(ctrl, m)]
            f.update(ctrl_at_peak=_at(cb, peak), ctrl_peak=float(cb.max()), ctrl_peak_layer=int(cb.idxmax()))
            s += (f"; the control `{ctrl}` has {_f(f['ctrl_at_peak'])} at layer {peak} and peaks at layer "
                  f"{f['ctrl_peak_layer']} ({f['ctrl_peak']:.2f})")
            if np.isfinite(f["ctrl_at_peak"]):
                s += f", so pre-training adds {f['peak'] - f['ctrl_at_peak']:+.2f} at the model's peak"
        pm = mm["p_value"].dropna() if "p_value" in mm else pd.Series(dtype=float)
        if len(pm):
            s += f". {(pm < 0.05).mean():.0%} of the model's {len(pm)} (pair, layer) cells have a permutation p < 0.05"
            wm = (mm["ci_high"] - mm["ci_low"]).dropna()
            if len(wm):
                s += f"; median width of the {ci_level} bootstrap interval {wm.median():.3f}"
        else:
            s += ". No permutation p-values or intervals for this metric (representations.align resamples only the "
            s += "CKA variants and retrieval unless `--resample-metrics` says otherwise)"
        sentences.append(s + ".")
        facts["align"][m] = f
    doc.add(f"Peak layer, significance and interval width per metric (p-values are one-sided permutation tests, not "
            f"corrected for multiple comparisons; CI = {ci_level} percentile bootstrap over sentences):\n\n"
            + md_table(pd.DataFrame(rows), "{:.3f}"))
    doc.add("\n".join(sentences))
    if "cka" in metrics:
        main = al[(al["model"] == model) & (al["metric"] == "cka")]
        best = facts["align"]["cka"]["peak_layer"]
        at = main[main["layer"] == best].groupby(["lang_a", "lang_b"])["value"].mean().sort_values(ascending=False)
        if len(at) >= 2:
            doc.add(f"Most aligned pairs at layer {best} (`{model}`, cka): "
                    + ", ".join(f"{a}-{b} {v:.2f}" for (a, b), v in at.head(3).items())
                    + "; least aligned: " + ", ".join(f"{a}-{b} {v:.2f}" for (a, b), v in at.tail(3).items()) + ".")
        afig = run / "analysis" / "figures"
        if doc.figure(afig / "alignment_layers.png", "alignment_layers.png",
                      f"Alignment by layer: mean over pairs with the interquartile band, `{model}` (solid) vs the "
                      "random-initialised control (dashed)."):
            doc.figure(afig / "alignment_heatmap_cka.png", "alignment_heatmap_cka.png",
                       f"Debiased CKA between languages at its peak layer ({model}; fixed 0-1 scale, fixed "
                       "language order).")
            return
        fdir = run / f"align-{_slug(model)}" / "figures"
        heat = {int(p.stem.rsplit("_L", 1)[1]): p for p in fdir.glob("heatmap_cka_L*.png")
                if p.stem.rsplit("_L", 1)[1].isdigit()}
        if heat:
            near = min(heat, key=lambda layer: abs(layer - best))
            doc.figure(heat[near], f"alignment_heatmap_L{near}.png",
                       f"Debiased CKA between languages at layer {near} ({model}), clustered.")
        doc.figure(fdir / "layers_cka.png", "alignment_layer_curves.png",
                   f"Debiased CKA by layer for chosen pairs, with bootstrap bands ({model}).")


def _align_ci_level(run: Path, model: str) -> str:
    cfg = run / f"align-{_slug(model)}" / "config.yaml"
    if cfg.is_file():
        m = re.search(r"^ci_level:\s*([0-9.]+)\s*$", cfg.read_text(encoding="utf-8"), flags=re.MULTILINE)
        if m:
            return f"{float(m.group(1)):.0%}"
    return "95%"


def _probes_section(doc: _Doc, run: Path, model: str, control: str | None, facts: dict[str, Any]) -> None:
    doc.add("## 2. Where are syntax and morphology?")
    pr = _read(run / "probes" / "probes.parquet")
    if pr is None:
        doc.add(f"_No probe table in this run (expected `{run / 'probes' / 'probes.parquet'}`, written by "
                "`python -m probes.train`)._")
        return
    present = _models(pr)
    if model not in present:
        doc.add(f"_The probe table holds no rows of `{model}`; it holds {_names(present)}._")
        return
    ctrl = control if control in present else None
    doc.source(f"`{model}`" + (f"; `random-init` columns: the control `{ctrl}` (same probes, same data)" if ctrl
                               else ""))
    if control and not ctrl:
        doc.add(f"_The probe table holds no rows of the control `{control}` (probes.train runs it with "
                "`--random-activations`): the comparison with the control is missing._")
    pr = pr.assign(train_lang=pr["train_lang"].astype(str), test_lang=pr["test_lang"].astype(str))
    same = pr[pr["train_lang"] == pr["test_lang"]]
    cross = pr[pr["train_lang"] != pr["test_lang"]]

    def rows_of(df: pd.DataFrame, who: str | None, probe: str, metric: str, task: str | None = None) -> pd.DataFrame:
        if who is None:
            return df.iloc[0:0]
        sel = (df["model"] == who) & (df["probe"] == probe) & (df["metric"] == metric)
        if task is not None:
            sel &= df["task"] == task
        return df[sel]

    # (a) classification tasks
    best_layers: dict[str, int] = {}
    facts["probes"] = {}
    rows = []
    for task in sorted(rows_of(same, model, "linear", "accuracy")["task"].unique()):
        m = rows_of(same, model, "linear", "accuracy", task)
        by = _by_layer(m)
        best = int(by.idxmax())
        best_layers[task] = best
        sel = rows_of(same, model, "linear", "selectivity", task)
        maj = rows_of(same, model, "majority", "accuracy", task)
        row = {"task": task, "languages": m["lang"].nunique(), "best layer": best, "best": by.max(),
               "layer 0": _at(by, 0), "last layer": by.iloc[-1],
               "majority": maj[maj["layer"] == best]["value"].mean() if len(maj) else np.nan,
               "selectivity@best": sel[sel["layer"] == best]["value"].mean() if len(sel) else np.nan}
        c = rows_of(same, ctrl, "linear", "accuracy", task)
        if ctrl:
            cb = _by_layer(c)
            row["random-init best"] = float(cb.max()) if len(cb) else np.nan
            row["random-init layer"] = str(int(cb.idxmax())) if len(cb) else ""
        rows.append(row)
        facts["probes"][task] = {k: row.get(k, np.nan) for k in ("best", "best layer", "layer 0", "majority",
                                                                  "random-init best", "selectivity@best")}
    n_layers = len(set(same[same["model"] == model]["layer"]))
    facts["probe_layers"] = sorted(int(x) for x in set(same[same["model"] == model]["layer"]))
    if rows:
        t = pd.DataFrame(rows).sort_values("task", key=lambda s: s.map(_task_order))
        doc.add("### 2a. Classification probes\n\nLinear probes, accuracy, mean over languages (in-language "
                "train/test split by sentence id; `selectivity` = accuracy minus control-task accuracy, Hewitt & "
                "Liang 2019; `majority` = most frequent training label, at the best layer"
                + ("; `random-init` = the same probe on the random-initialised control, its best layer" if ctrl
                   else "") + f"; {n_layers} layers probed):\n\n" + md_table(t, max_rows=60))
        for task in ("upos", "deprel"):
            if task not in facts["probes"]:
                continue
            u = facts["probes"][task]
            txt = (f"{task.upper() if task == 'upos' else 'Dependency relations'} (`{model}`): best at layer "
                   f"{int(u['best layer'])} ({u['best']:.3f}) versus {_f(u['layer 0'], '{:.3f}')} at the embeddings "
                   f"(layer 0) and a majority baseline of {_f(u['majority'], '{:.3f}')}")
            rb = u.get("random-init best", np.nan)
            if ctrl:
                txt += f"; the random-initialised control reaches {_f(rb, '{:.3f}')}"
            ref = max(x for x in (u["layer 0"], rb, -np.inf) if np.isfinite(x))
            if u["best"] > ref + 0.01:
                txt += (": the pre-trained contextual layers add linearly decodable information beyond the "
                        + ("embeddings and the random model." if np.isfinite(rb) else
                           "embeddings (no random-initialised control to compare with)."))
            else:
                txt += (": most of it is already available " + ("at the embeddings or in the random model."
                                                                if np.isfinite(rb) else "at the embeddings."))
            doc.add(txt)
    else:
        doc.add(f"_No linear-probe accuracy rows of `{model}` (classification tasks)._")

    # (b) regression tasks
    reg_tasks = sorted(rows_of(same, model, "ridge", "r2")["task"].unique())
    doc.add("### 2b. Tree structure (regression probes)")
    facts["regression"] = {}
    if reg_tasks:
        tab = pd.DataFrame({"layer": sorted(int(x) for x in rows_of(same, model, "ridge", "r2")["layer"].unique())})
        lines = []
        for task in reg_tasks:
            r2 = _by_layer(rows_of(same, model, "ridge", "r2", task))
            sp = _by_layer(rows_of(same, model, "ridge", "spearman", task))
            se = _by_layer(rows_of(same, model, "ridge", "selectivity", task))
            cr = _by_layer(rows_of(same, ctrl, "ridge", "r2", task)) if ctrl else pd.Series(dtype=float)
            tab[f"{task} R²"] = tab["layer"].map(r2)
            tab[f"{task} Spearman"] = tab["layer"].map(sp)
            if len(se):
                tab[f"{task} selectivity"] = tab["layer"].map(se)
            if len(cr):
                tab[f"{task} R² (random-init)"] = tab["layer"].map(cr)
            best = int(r2.idxmax())
            facts["regression"][task] = {"best layer": best, "r2": float(r2.max()),
                                         "random-init r2": float(cr.max()) if len(cr) else np.nan}
            s = (f"- **{task}** (`{model}`): R² peaks at layer **{best}** ({r2.max():.3f}; Spearman "
                 f"{_f(_at(sp, best), '{:.3f}')}; selectivity over the control task {_f(_at(se, best), '{:.3f}')}); "
                 f"layer 0: {_f(_at(r2, 0), '{:.3f}')}")
            if len(cr):
                s += f"; the random-initialised control reaches R² {cr.max():.3f} (layer {int(cr.idxmax())})"
            lines.append(s + ".")
        doc.add("Ridge probes (R² and Spearman correlation of predicted vs gold value on the test split, mean over "
                "languages; `selectivity` = R² minus the control task's R²):\n\n" + md_table(tab))
        doc.add("\n".join(lines))
    else:
        doc.add(f"_No regression-probe rows (`ridge`, `r2`) of `{model}`: tree-depth / head-distance were not "
                "probed in this run._")

    # (c) MDL
    doc.add("### 2c. Minimum description length (online code)")
    comp = rows_of(same, model, "linear", "compression")
    if len(comp):
        rows = []
        for task in sorted(comp["task"].unique(), key=_task_order):
            cb = _by_layer(rows_of(same, model, "linear", "compression", task))
            cc = _by_layer(rows_of(same, model, "linear", "control_compression", task))
            rc = _by_layer(rows_of(same, ctrl, "linear", "compression", task)) if ctrl else pd.Series(dtype=float)
            best = best_layers.get(task, int(cb.idxmax()))
            row = {"task": task, "best layer": best, "compression": _at(cb, best),
                   "control-task compression": _at(cc, best)}
            row["task / control task"] = row["compression"] / row["control-task compression"] \
                if np.isfinite(row["control-task compression"]) and row["control-task compression"] > 0 else np.nan
            row["compression peak layer"] = int(cb.idxmax())
            row["peak compression"] = float(cb.max())
            if ctrl:
                row["random-init compression"] = _at(rc, best)
            rows.append(row)
        t = pd.DataFrame(rows)
        doc.add("Compression = uniform codelength / online codelength (Voita & Titov 2020), mean over languages, at "
                "the layer where the probe's accuracy is best; the control task gives every word type a random "
                "label" + (", `random-init` is the same code on the random-initialised control at that layer"
                           if ctrl else "") + ":\n\n" + md_table(t, "{:.2f}", max_rows=60))
        ratio = t["task / control task"].dropna()
        if len(ratio):
            doc.add(f"At the best layer the task's labels compress better than the control task's in "
                    f"{int((ratio > 1).sum())} of {len(ratio)} tasks (median ratio {ratio.median():.2f}).")
        facts["mdl"] = t
    else:
        doc.add(f"_No MDL rows (`compression`) of `{model}`: probes.train ran without `--mdl`._")

    # (d) cross-lingual probe transfer
    doc.add("### 2d. Cross-lingual probe transfer")
    cr_acc = rows_of(cross, model, "linear", "accuracy")
    facts["cross"] = {}
    if len(cr_acc):
        rows = []
        for task in sorted(cr_acc["task"].unique(), key=_task_order):
            if task not in best_layers:
                continue
            best = best_layers[task]
            c = cr_acc[(cr_acc["task"] == task) & (cr_acc["layer"] == best)]
            if c.empty:
                continue
            pairs = c.groupby(["train_lang", "test_lang"])["value"].mean()
            langs = sorted(set(c["train_lang"]) | set(c["test_lang"]))
            own = rows_of(same, model, "linear", "accuracy", task)
            own = own[(own["layer"] == best) & own["lang"].astype(str).isin(langs)]
            inl = float(own["value"].mean()) if len(own) else np.nan
            off = float(pairs.mean())
            row = {"task": task, "layer": best, "languages": len(langs), "pairs": len(pairs),
                   "in-language": inl, "cross-lingual": off,
                   "cross / in-language": off / inl if np.isfinite(inl) and inl > 0 else np.nan,
                   "best pair": f"{pairs.idxmax()[0]}->{pairs.idxmax()[1]} {pairs.max():.2f}",
                   "worst pair": f"{pairs.idxmin()[0]}->{pairs.idxmin()[1]} {pairs.min():.2f}"}
            if ctrl:
                cc = rows_of(cross, ctrl, "linear", "accuracy", task)
                cc = cc[cc["layer"] == best]
                row["random-init cross-lingual"] = float(cc["value"].mean()) if len(cc) else np.nan
            rows.append(row)
            facts["cross"][task] = row
        if rows:
            doc.add("A probe trained on language A applied to language B's test split (A's labels only; labels A "
                    "never saw count as errors), at the layer where the in-language probe is best; "
                    "`cross-lingual` = mean over ordered pairs A != B, `in-language` = mean accuracy of the same "
                    "languages' own probes" + (", `random-init` = the control at the same layer" if ctrl else "")
                    + ":\n\n" + md_table(pd.DataFrame(rows), max_rows=60))
            for task in ("upos", "deprel"):
                if task in facts["cross"]:
                    r = facts["cross"][task]
                    doc.add(f"{task} (`{model}`, layer {r['layer']}): a probe from another language reaches "
                            f"{r['cross-lingual']:.3f} against {r['in-language']:.3f} in-language, "
                            f"{_pct(r['cross / in-language'])} of it.")
                    _probe_transfer_figure(doc, run, pr, model, task, r["layer"])
        else:
            doc.add(f"_Cross-lingual rows of `{model}` exist but none at the in-language best layers._")
    else:
        doc.add(f"_No cross-lingual probe rows (train_lang != test_lang) of `{model}`: probes.train ran without "
                "`--cross-lingual`._")
    for name in ("probe_layers_accuracy", "probe_layers_selectivity"):
        doc.figure(run / "analysis" / "figures" / f"{name}.png", f"{name}.png",
                   f"{name.replace('_', ' ').capitalize()} (figure from analysis.report).")


def _probe_transfer_figure(doc: _Doc, run: Path, pr: pd.DataFrame, model: str, task: str, layer: int) -> bool:
    """Copy the train x test heatmap that probes.train drew (its file naming: the table's first model unsuffixed)."""
    fdir = run / "probes" / "figures"
    first = _models(pr)[0] if len(pr) else model
    suffix = "" if first == model else f"_{_safe(model)}"
    stem = f"transfer_{_safe(task)}_L"
    found = {}
    for p in fdir.glob(f"{stem}*.png"):
        rest = p.stem[len(stem):]
        num, _, sfx = rest.partition("_")
        if num.isdigit() and (("_" + sfx) if sfx else "") == suffix:
            found[int(num)] = p
    if not found:
        return False
    use = layer if layer in found else min(found, key=lambda x: abs(x - layer))
    return doc.figure(found[use], f"probe_transfer_{_safe(task)}_L{use}.png",
                      f"Cross-lingual probe transfer, {task}, layer {use}: accuracy of the probe trained on the row "
                      f"language tested on the column language ({model}; figure from probes.train).")


def _control_section(doc: _Doc, model: str, control: str | None, facts: dict[str, Any]) -> None:
    doc.add("## 3. What the random-initialised control shows")
    if not control:
        doc.add("_No control model was named (`--control-model`), so this section has nothing to compare; the only "
                "controls are layer 0 (the embeddings) and the control tasks of section 2._")
        return
    doc.source(f"`{model}` against `{control}`")
    out = []
    al = facts.get("align", {})
    aline = [f"{m} {f['peak']:.2f} vs {f['ctrl_at_peak']:.2f} at layer {f['peak_layer']}"
             for m, f in al.items() if np.isfinite(f.get("ctrl_at_peak", np.nan))]
    if aline:
        out.append("**Alignment** (model vs control at the model's peak layer): " + "; ".join(aline) + ".")
    probes = facts.get("probes", {})
    shares = {}
    for task, u in probes.items():
        rb, maj = u.get("random-init best", np.nan), u.get("majority", np.nan)
        if np.isfinite(rb) and np.isfinite(maj) and u["best"] - maj > 0.005:
            shares[task] = (rb - maj) / (u["best"] - maj)
    if shares:
        s = pd.Series(shares)
        named = [f"{t} {probes[t]['random-init best']:.3f} vs {probes[t]['best']:.3f} (majority "
                 f"{probes[t]['majority']:.3f}; {shares[t]:.0%} of the gain over the majority baseline)"
                 for t in ("upos", "deprel") if t in shares]
        out.append("**Probes**: the control's best layer reaches " + ("; ".join(named) + ". " if named else "")
                   + f"Over the {len(s)} classification tasks it recovers a median {s.median():.0%} of the model's "
                   f"gain over the majority baseline (range {s.min():.0%} to {s.max():.0%}).")
        facts["control_share_median"] = float(s.median())
    reg = [f"{t} R² {r['random-init r2']:.3f} vs {r['r2']:.3f}" for t, r in facts.get("regression", {}).items()
           if np.isfinite(r.get("random-init r2", np.nan))]
    if reg:
        out.append("**Tree structure**: " + "; ".join(reg) + ".")
    cross = [f"{t} {r['random-init cross-lingual']:.3f} vs {r['cross-lingual']:.3f}"
             for t, r in facts.get("cross", {}).items() if t in ("upos", "deprel")
             and np.isfinite(r.get("random-init cross-lingual", np.nan))]
    if cross:
        out.append("**Cross-lingual probes** (mean over pairs, same layer): " + "; ".join(cross) + ".")
    if not out:
        doc.add(f"_The tables hold no rows of `{control}` to compare with (alignment and probe rows of the control "
                "are both missing)._")
        return
    doc.add("\n\n".join(out))
    concl = []
    med = facts.get("control_share_median")
    if med is not None:
        concl.append("most of what the linear probes decode is already available without pre-training (word "
                     "identity through random embeddings and the architecture), so probe accuracy alone says little "
                     "about what pre-training taught; the gap to the control and the selectivity are the informative "
                     "numbers" if med >= 0.8 else
                     "pre-training accounts for most of the probes' gain over the majority baseline" if med < 0.5 else
                     "the random model already recovers a substantial part of the probes' gain over the majority "
                     "baseline; pre-training adds the rest")
    if "cka" in al and np.isfinite(al["cka"].get("ctrl_at_peak", np.nan)):
        f = al["cka"]
        concl.append("cross-lingual CKA between translations is largely present without pre-training (shared "
                     "tokens, length and position), so CKA levels must be read against the control"
                     if f["ctrl_at_peak"] >= 0.8 * f["peak"] else
                     "pre-training creates most of the cross-lingual similarity that CKA measures")
    if concl:
        doc.add("In short: " + "; ".join(concl) + ". " + LIT_CONTROL)

