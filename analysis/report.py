"""One self-contained HTML report of a run directory.

``python -m analysis.report --run DIR`` finds every tidy table under ``DIR``
(Parquet, or CSV without a Parquet twin) and recognises it by its columns
(transfer, alignment, probe, pair-feature tables; see docs/design.md). It then
runs the analyses the tables allow, writes their tidy results under
``DIR/analysis/`` and their figures under ``DIR/analysis/figures/`` (PNG +
PDF), and writes ``DIR/report.html``: figures embedded as base64 PNG, key
tables, the model and data each result came from (table paths, SHA-256,
model labels, feature sources) and every resolved config found in ``DIR``.
An analysis that the tables do not allow is listed with the reason.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import figures as F
from analysis._frames import (
    select_transfer,
    square_matrix,
)
from analysis.fewshot import extrapolation_error, extrapolation_k, fit_laws
from analysis.mantel import mantel_by_layer, mantel_pairs
from analysis.recommend import evaluate_ranking
from analysis.stats import explain_transfer, transfer_matrix
from probes.cli import SuiteArgumentParser, run_main
from probes.config import config_to_dict, load_config, save_config
from probes.errors import ConfigError, DataError, SuiteError
from probes.io import atomic_write_text, sha256_file
from probes.tables import read_table, write_table

__all__ = ["ReportConfig", "discover_tables", "build_report", "main", "TABLE_KINDS"]

#: Table kind -> columns that identify it (checked in this order).
TABLE_KINDS: dict[str, tuple[str, ...]] = {
    "transfer": ("task", "src", "tgt", "k", "metric", "value"),
    "probe": ("layer", "lang", "task", "probe", "metric", "value"),
    # transfer.attribute's overlap/ablation tables also have alignment-like columns: recognise them first
    "unit_attribution": ("task", "lang_a", "lang_b", "metric", "value", "k"),
    "alignment": ("layer", "lang_a", "lang_b", "metric", "value"),
    "features": ("lang_a", "lang_b", "feature", "value"),
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #bbb;margin-top:2em}
table{border-collapse:collapse;font-size:12px;margin:.5em 0 1.2em}th,td{border:1px solid #ccc;padding:2px 6px}
th{background:#f0f0f0}td{text-align:right}td:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:min(100%,860px);border:1px solid #eee}figcaption{font-size:13px;color:#555}
pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:11px;max-height:30em}
.skip{color:#a00}.note{color:#555;font-size:13px}
"""


@dataclass
class ReportConfig:
    """Configuration of ``python -m analysis.report``."""

    run: str = ""
    out: str | None = None
    title: str = ""
    tasks: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    mantel_features: list[str] = field(default_factory=list)
    control_feature: str | None = None
    permutations: int = 999
    alpha: float = 0.05
    fewshot_c: float = 1.0
    max_rows: int = 25
    mixed: bool = True
    model: str | None = None
    metric: str | None = None
    regime: str | None = None
    layer: str | None = None
    seed: int = 0

    def validate(self) -> None:
        """Check the run directory and numeric options."""
        if not self.run:
            raise ConfigError("--run is required: the directory holding the run's tidy tables.")
        if not Path(self.run).is_dir():
            raise ConfigError(f"--run {self.run!r} is not a directory.")
        if self.permutations < 1:
            raise ConfigError(f"--permutations must be >= 1, got {self.permutations}.")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"--alpha must be in (0, 1), got {self.alpha}.")
        if self.fewshot_c <= 0:
            raise ConfigError(f"--fewshot-c must be > 0, got {self.fewshot_c}.")



#: Panels of the probe-by-layer figures: these tasks first, then the morphological features that
#: cover the most languages, at most this many panels in all.
_FIGURE_TASKS = ("upos", "deprel", "tree-depth", "head-distance")
_FIGURE_MAX_PANELS = 12


def _figure_model(probes: pd.DataFrame, model: str | None) -> str:
    models = sorted(probes["model"].astype(str).unique()) if "model" in probes.columns else []
    if model and model in models:
        return model
    return models[0] if models else "model"


def _figure_probes(probes: pd.DataFrame, metric: str, model: str | None) -> pd.DataFrame:
    """The rows drawn in a probe-by-layer figure: one model, trained probes, the main tasks."""
    p = probes[probes["metric"] == metric]
    if "model" in p.columns:
        p = p[p["model"].astype(str) == _figure_model(probes, model)]
    if "probe" in p.columns:
        p = p[p["probe"] != "majority"]
    coverage = p.groupby("task")["lang"].nunique().sort_values(ascending=False, kind="stable")
    first = [t for t in _FIGURE_TASKS if t in coverage.index]
    rest = [t for t in coverage.index if t not in first]
    keep = (first + rest)[:_FIGURE_MAX_PANELS]
    return p[p["task"].isin(keep)]

def _table_kind(columns: Sequence[str]) -> str | None:
    cols = set(columns)
    for kind, need in TABLE_KINDS.items():
        if set(need) <= cols:
            return kind
    return None


def _read_or_fail(p: Path, nrows: int | None = None) -> pd.DataFrame:
    """Read a Parquet/CSV file, turning any reader failure into a DataError naming it."""
    try:
        return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, nrows=nrows)
    except Exception as exc:  # noqa: BLE001 - any reader failure means a damaged table
        first = (str(exc).splitlines() or [""])[0]
        raise DataError(
            f"Cannot read this table ({type(exc).__name__}: {first}); it is truncated or corrupt. Recreate it "
            "by rerunning the command that wrote it, or move it out of the run directory.", path=p) from None


def discover_tables(run: str | Path, *, skip: Sequence[str] = ("analysis",)) -> pd.DataFrame:
    """Find and classify the tidy tables under ``run``.

    Parameters
    ----------
    run : path
        Run directory, searched recursively (subfolders named in ``skip``
        are ignored, so the report's own outputs are not re-read).

    Returns
    -------
    DataFrame
        ``path, kind, rows, sha256, models`` (one row per recognised table;
        a CSV with a Parquet twin is skipped, and so is anything under a
        hidden name such as a writer's ``.name.parquet.<id>.tmp``).

    Raises
    ------
    DataError
        If a ``.parquet`` or ``.csv`` file cannot be read (truncated or
        corrupt): the report never leaves a damaged table out silently.
    """
    run = Path(run)
    rows = []
    for p in sorted(run.rglob("*")):
        if p.suffix not in (".parquet", ".csv") or not p.is_file():
            continue
        rel = p.relative_to(run).parts
        if any(part in skip for part in rel[:-1]):
            continue
        if any(part.startswith(".") for part in rel):
            continue  # hidden: temporary files of a killed writer, resume state (.work/)
        if p.suffix == ".csv" and p.with_suffix(".parquet").is_file():
            continue
        df = _read_or_fail(p, nrows=5)
        kind = _table_kind(df.columns)
        if kind is None:
            continue
        if kind == "probe" and "refit_accuracy" in set(map(str, df["metric"].unique())):
            kind = "attribution_probe"  # transfer.attribute's refitted probes, not probes.train output
        if p.suffix == ".csv":
            df = _read_or_fail(p)
        models = ",".join(sorted(map(str, df["model"].dropna().unique()))) if "model" in df.columns else ""
        rows.append({"path": str(p.relative_to(run)), "kind": kind, "rows": len(df), "sha256": sha256_file(p),
                     "models": models})
    return pd.DataFrame(rows, columns=["path", "kind", "rows", "sha256", "models"])


def _load(run: Path, found: pd.DataFrame, kind: str) -> pd.DataFrame | None:
    paths = found.loc[found["kind"] == kind, "path"].tolist()
    if not paths:
        return None
    parts = [read_table(run / p, TABLE_KINDS[kind]) for p in paths]
    df = pd.concat(parts, ignore_index=True)
    return df.drop_duplicates(ignore_index=True) if not df.empty else None


class _Html:
    """Accumulates the report body."""

    def __init__(self, max_rows: int):
        self.parts: list[str] = []
        self.max_rows = max_rows
        self.n_figures = 0

    def h(self, level: int, text: str) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def p(self, text: str, cls: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{c}>{html.escape(text)}</p>")

    def table(self, df: pd.DataFrame, caption: str = "") -> None:
        if caption:
            self.parts.append(f'<p class="note">{html.escape(caption)}</p>')
        more = ""
        if len(df) > self.max_rows:
            more = f'<p class="note">first {self.max_rows} of {len(df)} rows (all rows in the CSV/Parquet file)</p>'
            df = df.head(self.max_rows)
        self.parts.append(df.to_html(index=False, escape=True, na_rep="",
                                     float_format=lambda x: f"{x:.4g}", border=0) + more)

    def figure(self, png: Path, caption: str) -> None:
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        self.n_figures += 1
        self.parts.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                          f"<figcaption>Figure {self.n_figures}. {html.escape(caption)}</figcaption></figure>")

    def pre(self, text: str) -> None:
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def skip(self, what: str, exc: Exception) -> None:
        self.parts.append(f'<p class="skip">{html.escape(what)} skipped: {html.escape(str(exc))}</p>')


def _attempt(doc: _Html, what: str, fn: Callable[[], None]) -> None:
    """Run one analysis; a suite error (missing data, bad selection) becomes a note in the report."""
    try:
        fn()
    except SuiteError as exc:
        doc.skip(what, exc)


#: Metrics preferred, in order, when a task reports several and none is chosen.
PRIMARY_METRICS: tuple[str, ...] = (
    "accuracy", "entity_f1", "f1", "macro_f1", "micro_f1", "exact_match", "pearson", "spearman",
)


def _selection(transfer: pd.DataFrame, cfg: ReportConfig) -> tuple[pd.DataFrame, list[str]]:
    """Restrict the transfer table to one model, metric, regime and layer per task.

    Explicit choices (``--model`` ...) win; otherwise a column with several
    values at ``k = 0`` is resolved (metric by :data:`PRIMARY_METRICS`, the
    highest layer, the first model/regime) and a note says so.
    """
    t = transfer
    notes = []
    for col in ("model", "metric", "regime", "layer"):
        want = getattr(cfg, col)
        if col not in t.columns:
            continue
        if want is not None:
            t = t[t[col].astype(str) == str(want)]
            if t.empty:
                raise ConfigError(f"--{col} {want!r} matches no row of the transfer table; it has "
                                  f"{sorted(map(str, transfer[col].dropna().unique()))}.")
            continue
        parts = []
        for task, sub in t.groupby("task", sort=True):
            zero = sub[pd.to_numeric(sub["k"], errors="coerce") == 0]
            values = sorted(zero[col].dropna().unique(), key=str)
            if len(values) <= 1:
                parts.append(sub)
                continue
            if col == "metric":
                pick = next((m for m in PRIMARY_METRICS if m in values), values[0])
            elif col == "layer":
                pick = max(values, key=lambda v: pd.to_numeric(v, errors="coerce"))
            else:
                pick = values[0]
            notes.append(f"task {task}: {col} {pick!r} of {[str(v) for v in values]} (choose with --{col})")
            parts.append(sub[sub[col].astype(str) == str(pick)])
        t = pd.concat(parts, ignore_index=True)
    return t, notes


def _symmetric_features(features: pd.DataFrame, names: Sequence[str] | None) -> list[str]:
    if names:
        return list(names)
    out = []
    for f, sub in features.groupby("feature", sort=True):
        if re.search(r"size|token", f, flags=re.IGNORECASE) or "@" in f:  # data size; per-layer model features
            continue
        M = square_matrix(sub, "value", symmetric=False)
        a, b = M.to_numpy(), M.T.to_numpy()
        both = np.isfinite(a) & np.isfinite(b)
        symmetric = not both.any() or np.allclose(a[both], b[both])  # one orientation listed, or equal both ways
        if symmetric and np.isfinite(M.combine_first(M.T).to_numpy()).mean() > 0.5:
            out.append(f)
    return out


def _control_matrix(features: pd.DataFrame, name: str | None) -> tuple[str | None, pd.DataFrame | None]:
    names = sorted(features["feature"].unique())
    if name is None:
        cands = [f for f in names if re.search(r"size|token", f, flags=re.IGNORECASE)]
        if not cands:
            return None, None
        name = cands[0]
    elif name not in names:
        raise ConfigError(f"--control-feature {name!r} is not a pair feature; available: {names}.")
    M = square_matrix(features[features["feature"] == name], "value", symmetric=False)
    M = M.combine_first(M.T)
    return name, (M + M.T) / 2  # mean over the two directions: the pair's mean data size


def build_report(cfg: ReportConfig) -> Path:
    """Run every analysis the run's tables allow and write the HTML report.

    Returns
    -------
    Path
        The HTML file written.
    """
    run = Path(cfg.run)
    out = Path(cfg.out) if cfg.out else run / "report.html"
    adir = run / "analysis"
    fdir = adir / "figures"
    found = discover_tables(run)
    if found.empty:
        raise DataError(
            "No tidy table (transfer, alignment, probe or pair-feature columns) under the run directory; "
            "run transfer.run / representations.align / probes.train / analysis.typology first.", path=run)
    transfer, alignment = _load(run, found, "transfer"), _load(run, found, "alignment")
    probes, features = _load(run, found, "probe"), _load(run, found, "features")
    transfer_all = transfer
    notes: list[str] = []
    if transfer is not None:
        transfer, notes = _selection(transfer, cfg)  # a bad --model/--metric/... fails before any output
    # every input is read and checked: only now may outputs appear (a failed command leaves nothing behind)
    fdir.mkdir(parents=True, exist_ok=True)
    doc = _Html(cfg.max_rows)
    t0 = time.time()
    written: list[str] = []

    def save(df: pd.DataFrame, name: str) -> None:
        write_table(df, adir / name)
        written.append(f"analysis/{name}.parquet")

    # ---------------------------------------------------------------- provenance
    doc.h(2, "Provenance")
    models = sorted({m for s in found["models"] for m in s.split(",") if m})
    doc.p(f"Models: {', '.join(models) or 'not recorded in the tables'}.")
    doc.table(found, "Input tables (paths relative to the run directory) with their SHA-256.")
    if features is not None and "source" in features.columns:
        src = features.groupby(["source"])["feature"].agg(lambda s: ", ".join(sorted(set(s)))).reset_index()
        doc.table(src.rename(columns={"feature": "features"}), "Pair-feature sources.")
    for name, df in (("transfer", transfer_all), ("probe", probes)):
        if df is not None and {"n_train", "n_test"} <= set(df.columns):
            keys = [c for c in ("model", "task", "regime", "metric") if c in df.columns]
            sizes = df.groupby(keys)[["n_train", "n_test"]].agg(["min", "max"]).reset_index()
            sizes.columns = ["_".join(c).strip("_") for c in sizes.columns]
            doc.table(sizes, f"Training/test sizes in the {name} table.")

    # ---------------------------------------------------------------- transfer
    if transfer is not None:
        doc.h(2, "Transfer")
        for note in notes:
            doc.p("Selection: " + note + ".", "note")
        tasks = cfg.tasks or sorted(transfer["task"].astype(str).unique())
        for task in tasks:
            def _matrix(task=task):
                png, _ = F.transfer_matrix_plot(transfer, fdir / f"transfer_matrix_{task}", task=task)
                doc.figure(png, f"Zero-shot transfer matrix for {task} (rows: source, columns: target).")
            _attempt(doc, f"Transfer matrix ({task})", _matrix)
        if features is not None:
            analyses = [(t, t) for t in tasks] + ([("pooled", tasks)] if len(tasks) > 1 else [])
            for label, task in analyses:
                doc.h(3, f"What explains transfer: {label}")

                def _explain(label=label, task=task):
                    res = explain_transfer(transfer, features, task=task, feature_names=cfg.feature_names or None,
                                           kinds=("ols", "mixed") if cfg.mixed else ("ols",),
                                           permutations=cfg.permutations, seed=cfg.seed)
                    for key, df in res.items():
                        save(df, f"{key}_{label}")
                    png, _ = F.coefficient_plot(res["coefficients"], fdir / f"coefficients_{label}",
                                                title=f"Predictors of transfer ({label})")
                    doc.figure(png, "Standardised coefficients with 95% CIs: OLS with two-way cluster-robust "
                                    "errors (source, target) and the mixed model with crossed random effects.")
                    doc.table(res["coverage"], "Candidate features: share of pairs covered (features below 90% "
                                               "are left out rather than dropping languages), and which were used.")
                    doc.table(res["coefficients"], "Coefficients (per SD of each feature); headline p: MRQAP node "
                                                   "permutation (fit mrqap); ols/mixed p are model-based.")
                    doc.table(res["fits"], "Fit summaries (mixed: marginal R² in r2).")
                    png, _ = F.observed_vs_predicted(res["predictions"], fdir / f"observed_predicted_{label}")
                    doc.figure(png, "Observed transfer against leave-one-language-out predictions (OLS).")
                    doc.table(res["lolo"], "Leave-one-language-out CV (every pair of the held-out language is "
                                           "predicted by a model fitted without that language) vs the mean "
                                           "baseline.")
                    doc.table(res["feature_sets"], "Feature sets: lexical vs syntax+morphology+phonology vs all.")
                    doc.table(res["set_tests"], "Nested feature sets: headline p from Freedman-Lane node permutations "
                                                "(method freedman-lane-node); model-based-lr rows do not keep their "
                                                "level with language effects (docs/calibration.md).")
                    doc.table(res["lolo_compare"], "Prediction of unseen languages: LOLO RMSE difference between sets "
                                                   "with a language-level paired bootstrap 95% CI.")
                    doc.table(res["vif"], "Variance inflation factors.")
                    doc.table(res["subsets"], "Best small feature sets by LOLO CV RMSE.")
                _attempt(doc, f"Transfer models ({label})", _explain)
            for task in tasks:
                def _rank(task=task):
                    per, summ = evaluate_ranking(transfer, features, task=task,
                                                 feature_names=cfg.feature_names or None)
                    save(per, f"ndcg_{task}")
                    doc.table(summ, f"Source recommender ({task}): leave-one-target-out NDCG@3 vs baselines.")
                _attempt(doc, f"Recommender evaluation ({task})", _rank)
        else:
            doc.p("No pair-feature table in the run: transfer models and the recommender are skipped.", "skip")

        if features is not None:
            def _typology_transfer():
                dists = {f: square_matrix(features[features["feature"] == f], "value")
                         for f in _symmetric_features(features, cfg.mantel_features or None)}
                tms = {}
                for task in tasks:
                    try:
                        tms[task] = transfer_matrix(select_transfer(transfer, task=task))
                    except SuiteError:
                        continue
                if not dists or not tms:
                    raise DataError("no typological distance matrix or no transfer matrix")
                cname, control = _control_matrix(features, cfg.control_feature)
                table = mantel_pairs(dists, tms, control=control, permutations=cfg.permutations, alpha=cfg.alpha,
                                     seed=cfg.seed)
                save(table, "mantel_typology_transfer")
                doc.table(table.drop(columns=["langs"]).rename(columns={"left": "distance", "right": "task"}),
                          "Mantel tests of each typological distance against the transfer matrix (all src->tgt "
                          "cells; negative r: closer languages transfer better)"
                          + (f"; partial tests control for data size ({cname})" if cname else "")
                          + "; Benjamini-Hochberg q over the table.")
            _attempt(doc, "Typology vs transfer Mantel tests", _typology_transfer)

        ks = pd.to_numeric(transfer["k"], errors="coerce")
        if (ks > 0).any():
            doc.h(2, "Few-shot learning curves")

            def _fewshot():
                laws = fit_laws(transfer, c=cfg.fewshot_c)
                save(laws, "fewshot_laws")
                png, _ = F.fewshot_curves(transfer, fdir / "fewshot_curves", laws=laws)
                doc.figure(png, f"Few-shot curves with the fitted law score = a + b·log(k + c), c = {cfg.fewshot_c:g}.")
                doc.table(laws, "Fitted few-shot laws.")
                kmax = extrapolation_k(ks.dropna().unique())
                if kmax is not None:
                    pts, summ = extrapolation_error(transfer, k_fit_max=kmax, c=cfg.fewshot_c)
                    save(pts, "fewshot_extrapolation")
                    doc.table(summ, f"Extrapolation: fitted on k <= {kmax:g} (at least three k), error at larger k.")
                else:
                    doc.p("Extrapolation of the few-shot law cannot be checked: it needs at least three k to fit "
                          "and one larger k to predict.", "skip")
            _attempt(doc, "Few-shot laws", _fewshot)

    # ---------------------------------------------------------------- alignment
    if alignment is not None:
        doc.h(2, "Internal alignment, typology and transfer")

        def _mantel():
            against: dict[str, pd.DataFrame] = {}
            first_feature = None
            if features is not None:
                for f in _symmetric_features(features, cfg.mantel_features or None):
                    against[f] = square_matrix(features[features["feature"] == f], "value")
                    first_feature = first_feature or f
            if transfer is not None:
                for task in cfg.tasks or sorted(transfer["task"].astype(str).unique()):
                    try:
                        against[f"transfer:{task}"] = transfer_matrix(select_transfer(transfer, task=task))
                    except SuiteError:
                        continue
            if not against:
                raise DataError("no typological distance or transfer matrix to compare the alignment with")
            cname, control = _control_matrix(features, cfg.control_feature) if features is not None else (None, None)
            table = mantel_by_layer(alignment, against, control=control, permutations=cfg.permutations,
                                    alpha=cfg.alpha, seed=cfg.seed)
            save(table, "mantel")
            png, _ = F.mantel_by_layer_plot(table, fdir / "mantel_by_layer", alpha=cfg.alpha)
            extra = f"; dashed: partial Mantel controlling for data size ({cname})" if cname else ""
            doc.figure(png, f"Mantel r between the alignment matrix and each matrix, by layer ({cfg.permutations} "
                            f"permutations, Benjamini-Hochberg across layers{extra}).")
            doc.table(table.drop(columns=["langs"]), "Mantel tests by layer.")
            feats_only = table[~table["against"].str.startswith("transfer:") & (table["test"] == "mantel")]
            if not feats_only.empty:  # draw the feature most related to alignment at some layer
                first_feature = str(feats_only.loc[feats_only["r"].abs().idxmax(), "against"])
            if first_feature is not None:
                metrics = sorted(alignment["metric"].unique())
                png, _ = F.typology_alignment_scatter(alignment, features, first_feature,
                                                      fdir / "typology_alignment", metric=metrics[0],
                                                      mantel_table=table)
                doc.figure(png, f"{metrics[0]} against {first_feature} per layer, with Mantel r and FDR q.")
        _attempt(doc, "Mantel tests", _mantel)

    # ---------------------------------------------------------------- probes
    if probes is not None:
        doc.h(2, "Probes")

        def _probes():
            for metric in sorted(probes["metric"].unique()):
                png, _ = F.probe_accuracy_by_layer(_figure_probes(probes, metric, cfg.model), fdir / f"probe_layers_{metric}",
                                                   metric=metric)
                doc.figure(png, f"Probe {metric} by layer (in-language; {_figure_model(probes, cfg.model)}; "
                                "the main tasks and the most widely available morphological features).")
            p = probes.copy()
            if {"train_lang", "test_lang"} <= set(p.columns):
                p = p[p["train_lang"].astype(str) == p["test_lang"].astype(str)]
            keys = [c for c in ("model", "task", "probe", "metric", "lang") if c in p.columns]
            best = p.loc[p.groupby(keys)["value"].idxmax(), [*keys, "layer", "value"]]
            doc.table(best.rename(columns={"layer": "best_layer"}), "Best layer per language (in-language probes).")
        _attempt(doc, "Probe figures", _probes)

    # ---------------------------------------------------------------- configs
    doc.h(2, "Resolved configurations and manifests")
    save_config(cfg, adir / "report.config.yaml")
    for p in sorted([*run.rglob("*.yaml"), *run.rglob("*.yml"), *run.rglob("manifest.json")]):
        text = p.read_text(encoding="utf-8", errors="replace")
        if len(text) > 20000:
            text = text[:20000] + "\n... (truncated)"
        doc.h(4, str(p.relative_to(run)))
        doc.pre(text)
    doc.p(f"Analysis tables written: {', '.join(written) or 'none'}. Figures (PNG + PDF): analysis/figures/. "
          f"Report built in {time.time() - t0:.1f} s.", "note")

    title = cfg.title or f"crossling report: {run.resolve().name}"
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
            f'<p class="note">Generated {time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())} by analysis.report '
            f"from {html.escape(str(run.resolve()))}. Config: "
            f"{html.escape(json.dumps(config_to_dict(cfg), sort_keys=True))}</p>"
            + "\n".join(doc.parts) + "</body></html>\n")
    atomic_write_text(out, page)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis.report``."""
    p = SuiteArgumentParser(prog="python -m analysis.report", description=__doc__.split("\n\n")[0])
    p.add_argument("--run", help="run directory with the tidy tables")
    p.add_argument("--config", help="YAML file with ReportConfig keys")
    p.add_argument("--out", help="HTML file to write (default RUN/report.html)")
    p.add_argument("--title", help="report title")
    p.add_argument("--tasks", help="comma-separated tasks (default: all in the transfer table)")
    p.add_argument("--feature-names", help="comma-separated predictors of the transfer models")
    p.add_argument("--mantel-features", help="comma-separated distance features for the Mantel tests")
    p.add_argument("--control-feature", help="data-size feature of the partial Mantel test")
    p.add_argument("--permutations", type=int, help="Mantel permutations (default 999)")
    p.add_argument("--alpha", type=float, help="FDR level (default 0.05)")
    p.add_argument("--fewshot-c", type=float, help="c of the few-shot law (default 1)")
    p.add_argument("--max-rows", type=int, help="rows shown per HTML table (default 25)")
    p.add_argument("--model", help="model label of the transfer analyses (default: the first)")
    p.add_argument("--metric", help="transfer metric (default: accuracy, f1, ... whichever exists)")
    p.add_argument("--regime", help="transfer regime (default: the first)")
    p.add_argument("--layer", help="transfer layer (default: the highest)")
    p.add_argument("--no-mixed", dest="mixed", action="store_false", default=None, help="skip mixed models")
    p.add_argument("--seed", type=int, help="permutation seed")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    args = vars(p.parse_args(argv))
    args.pop("debug")
    cfg = load_config(ReportConfig, args.pop("config"), args)
    out = build_report(cfg)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
