"""The HTML report builder (:func:`build_report`) behind ``python -m analysis.report``.

:func:`build_report` finds every tidy table under a run directory (Parquet, or
CSV without a Parquet twin) and recognises it by its columns (transfer,
alignment, probe, pair-feature tables; see docs/design.md). It then runs the
analyses the tables allow, writes their tidy results under ``RUN/analysis/`` and
their figures under ``RUN/analysis/figures/`` (PNG + PDF), and writes the page.

The page opens with the answers to the suite's five questions (alignment; where
syntax and morphology live; how well transfer works; what explains it; which
source to pick), each one sentence with its number, its uncertainty and a link
to the evidence, and the caveats that limit them (:mod:`analysis.summary`). The
evidence follows, one section per question, with figures in the shared style of
:mod:`crossling.plotstyle`. Provenance (table paths, SHA-256, model labels, data
sizes) and every resolved config and manifest close the page, as tables.
Settings chosen by the fitting code (probe ``C``, ridge ``alpha``) are never
shown as results; every p-value names how it was computed. An analysis that the
tables do not allow is listed with the reason.

This module is about 600 lines: :func:`build_report` is one long function (about 330 lines), one
block per section of the page, kept together so the page's order reads top to bottom.
"""

from __future__ import annotations

import dataclasses
import html
import inspect
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import figures as F
from analysis._frames import (
    select_transfer,
    square_matrix,
)
from analysis.stats import extrapolation_error, extrapolation_k, fit_laws
from analysis.stats import mantel_by_layer, mantel_pairs
from analysis.recommend import evaluate_ranking
from analysis.reporting._html import _CSS, _attempt, _config_table, _Html, _summary_html
from analysis.reporting._tables import _load, discover_tables
from analysis.stats import compare_regimes, explain_transfer, regime_cells, regime_verdicts, transfer_matrix
from analysis.summary import (
    NEAR_CHANCE_MARGIN,
    SETTING_METRICS,
    caveats,
    five_answers,
    headline_coefficients,
    zero_shot_levels,
)
from crossling.config import Interval, config_to_dict, save_config
from crossling.errors import ConfigError, DataError, SuiteError
from crossling.io import atomic_write_text
from crossling.tables import write_table

__all__ = ["ReportConfig", "build_report", "PRIMARY_METRICS"]


@dataclass
class ReportConfig:
    """Configuration of ``python -m analysis.report`` (YAML keys = field names).

    Attributes
    ----------
    run : str
        Run directory holding the tidy tables (searched recursively); required.
    out : str or None
        HTML file to write (default ``RUN/report.html``).
    title : str
        Report title (default ``crossling report: <run name>``).
    tasks : list of str
        Transfer tasks to analyse (default: every task of the transfer table).
    feature_names : list of str
        Predictors of the transfer models (default: every pair feature with enough coverage).
    mantel_features : list of str
        Distance features of the Mantel tests (default: the symmetric pair features).
    control_feature : str or None
        Data-size feature of the partial Mantel test (default: the first feature named like size/token).
    permutations : int
        Mantel permutations.
    alpha : float
        False-discovery-rate level (Benjamini-Hochberg).
    fewshot_c : float
        c of the few-shot law score = a + b log(k + c).
    max_rows : int
        Rows shown per HTML table (every row stays in the table files).
    mixed : bool
        Also fit the mixed models of transfer (``--no-mixed`` skips them).
    model : str or None
        Model label of the transfer analyses (default: the first in the tables).
    metric : str or None
        Transfer metric (default: accuracy, f1, ... whichever exists).
    regime : str or None
        Transfer regime (default: the first).
    layer : str or None
        Transfer layer, one value (default: the highest).
    seed : int
        Seed of the permutations.
    quiet : bool
        Print nothing but errors (no "wrote ..." line).
    """

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
    quiet: bool = False

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {
        "permutations": [Interval("int", 0, 10**7)],
        "alpha": [Interval("real", 0, 1, closed="neither")],
        "fewshot_c": [Interval("real", 0, None, closed="neither")],
        "max_rows": [Interval("int", 1, None)],
        "seed": [Interval("int", 0, 2**32 - 1)],
    }

    def resolved(self) -> ReportConfig:
        """This config with the default output path filled in (what is saved beside the report)."""
        return dataclasses.replace(self, out=self.out or str(Path(self.run) / "report.html"))

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
    """The rows drawn in a probe-by-layer figure: the main tasks (every model; majority rows kept as chance)."""
    p = probes[(probes["metric"] == metric) | ((probes["metric"] == "accuracy") & (probes.get("probe") == "majority"))]
    m = p
    if "model" in p.columns:
        m = p[p["model"].astype(str) == _figure_model(probes, model)]
    coverage = m.groupby("task")["lang"].nunique().sort_values(ascending=False, kind="stable")
    first = [t for t in _FIGURE_TASKS if t in coverage.index]
    rest = [t for t in coverage.index if t not in first]
    keep = (first + rest)[:_FIGURE_MAX_PANELS]
    return p[p["task"].isin(keep)]


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
            elif col == "regime":
                # the frozen-head grid carries the few-shot grid and the seeds; other regimes are compared
                # with it in "Does the explanation depend on the regime?"
                pick = "head" if "head" in map(str, values) else values[0]
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


def _shown_coefficients(coef: pd.DataFrame) -> pd.DataFrame:
    """Coefficient rows and columns shown to a reader: the headline rows when marked, with their method."""
    c = headline_coefficients(coef)
    keep = [k for k in ("fit", "term", "beta", "ci_low", "ci_high", "interval_from", "p", "method", "permutations", "n",
                        "converged") if k in c.columns]
    return c[keep]


def _settings_free(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose metric is a result, not a setting chosen by the fitting code (probe C, ridge alpha)."""
    return df[~df["metric"].astype(str).isin(SETTING_METRICS)] if "metric" in df.columns else df


def build_report(cfg: ReportConfig) -> Path:
    """Run every analysis the run's tables allow and write the HTML report.

    The page opens with the answers to the five questions (:mod:`analysis.summary`) and their
    caveats; the evidence follows, one section per question; provenance and the resolved
    configurations close it, as tables.

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
    facts: dict[str, pd.DataFrame] = {}
    model = cfg.model or next((m for t in (transfer, probes, alignment) for m in F.model_label(t)), None)
    control = F.control_label([m for t in (alignment, probes) for m in F.model_label(t)], model)

    def save(df: pd.DataFrame, name: str) -> None:
        write_table(df, adir / name)
        written.append(f"analysis/{name}.parquet")

    # ---------------------------------------------------------------- 1. alignment
    if alignment is not None:
        doc.h(2, "1. How aligned are the languages inside the model?", anchor="alignment")

        def _align():
            png, _ = F.alignment_by_layer(alignment, fdir / "alignment_layers", model=model, control=control)
            doc.figure(png, "Alignment by layer: mean over language pairs (line) and interquartile range (band); "
                            "solid: the model, dashed: the random-initialised control (when present); dotted: the "
                            "null level (when the table records one).")
            mine = alignment[alignment["model"].astype(str) == str(model)] if "model" in alignment.columns \
                else alignment
            metrics = sorted(mine["metric"].astype(str).unique())
            metric = next((m for m in ("cka", "retrieval", "svcca", "pwcca") if m in metrics), metrics[0])
            png, _ = F.alignment_heatmap(mine, fdir / f"alignment_heatmap_{metric}", metric=metric, model=model)
            doc.figure(png, f"{metric} between every pair of languages at the layer where its mean peaks (fixed "
                            "colour scale; languages in the suite's fixed order).")
        _attempt(doc, "Alignment figures", _align)

    # ---------------------------------------------------------------- 2. probes
    if probes is not None:
        doc.h(2, "2. Where do syntax and morphology live? (probes)", anchor="probes")
        settings = sorted(set(probes["metric"].astype(str)) & SETTING_METRICS)
        if settings:
            doc.p(f"Settings chosen on the training data ({', '.join(settings)}) are not results and are not shown; "
                  "they stay in the probe table.", "note")

        def _probes():
            p = _settings_free(probes)
            for metric in [m for m in ("accuracy", "selectivity", "r2") if m in set(p["metric"])]:
                png, _ = F.probe_accuracy_by_layer(_figure_probes(p, metric, None), fdir / f"probe_layers_{metric}",
                                                   metric=metric, model=model, control=control)
                doc.figure(png, f"Probe {metric} by layer, one panel per task (in-language; mean over languages "
                                "with the range as a band; dashed: the random-initialised control; dotted: the "
                                + ("majority-class baseline)." if metric == "accuracy" else "null 0)."))
            q = p.copy()
            if {"train_lang", "test_lang"} <= set(q.columns):
                q = q[q["train_lang"].astype(str) == q["test_lang"].astype(str)]
            keys = [c for c in ("model", "task", "probe", "metric") if c in q.columns]
            by = q.groupby([*keys, "layer"])["value"].agg(["mean", "std", "count"]).reset_index()
            best = by.loc[by.groupby(keys)["mean"].idxmax()].rename(
                columns={"layer": "best_layer", "mean": "mean_over_languages", "std": "sd_over_languages",
                         "count": "languages"})
            doc.table(best, "Best layer per task (mean over languages of the in-language probes; settings such as "
                            "C are not results and are left out).")
        _attempt(doc, "Probe figures", _probes)

    # ---------------------------------------------------------------- 3. transfer
    tasks: list[str] = []
    if transfer is not None:
        doc.h(2, "3. How well does transfer work?", anchor="transfer")
        for note in notes:
            doc.p("Selection: " + note + ".", "note")
        tasks = cfg.tasks or sorted(transfer["task"].astype(str).unique())
        levels = zero_shot_levels(transfer, model)
        if not levels.empty:
            facts["levels"] = levels
            doc.table(levels, f"Zero-shot levels per task: mean over cross-lingual pairs (src != tgt), their SD and "
                              f"range, the in-language mean and the chance level; near_chance = within "
                              f"{NEAR_CHANCE_MARGIN:.2f} of chance.")
        chance = {r.task: r.chance for r in levels.itertuples() if np.isfinite(r.chance)}
        for task in tasks:
            def _matrix(task=task):
                png, _ = F.transfer_matrix_plot(transfer, fdir / f"transfer_matrix_{task}", task=task,
                                                chance=chance.get(task))
                doc.figure(png, f"Zero-shot transfer matrix for {task} (rows: source, columns: target; dashed "
                                "cells: in-language, not transfer; fixed 0-1 colour scale).")
            _attempt(doc, f"Transfer matrix ({task})", _matrix)

        ks = pd.to_numeric(transfer["k"], errors="coerce")
        if (ks > 0).any():
            doc.h(3, "Few-shot learning curves", anchor="fewshot")

            def _fewshot():
                n_k = transfer.assign(k=ks).groupby("task")["k"].nunique()
                png, _ = F.fewshot_curves(transfer, fdir / "fewshot_curves", c=cfg.fewshot_c, chance=chance)
                doc.figure(png, f"Few-shot curves: mean over cross-lingual pairs per task with the law score = a + "
                                f"b·log(k + {cfg.fewshot_c:g}) fitted when the task has at least "
                                f"{F.MIN_K_FOR_LAW} distinct k; band: range over targets. In-language rows are "
                                "not few-shot transfer and are not drawn.")
                short = n_k[n_k < F.MIN_K_FOR_LAW]
                if len(short):
                    doc.p("No law fitted for " + ", ".join(f"{t} ({int(n)} distinct k)" for t, n in short.items())
                          + f": a two-parameter law through fewer than {F.MIN_K_FOR_LAW} k values fits exactly and "
                          "says nothing.", "skip")
                if (n_k >= F.MIN_K_FOR_LAW).any():
                    laws = fit_laws(transfer[transfer["src"].astype(str) != transfer["tgt"].astype(str)],
                                    c=cfg.fewshot_c, min_k=F.MIN_K_FOR_LAW)
                    save(laws, "fewshot_laws")
                    summ = laws.groupby("task").agg(curves=("b", "size"), median_b=("b", "median"),
                                                    share_b_positive=("b", lambda s: (s > 0).mean()),
                                                    median_r2=("r2", "median"), distinct_k=("n_k", "max"))
                    doc.table(summ.reset_index(), "Per-pair laws (cross-lingual pairs only), summarised per task.")
                    kmax = extrapolation_k(ks.dropna().unique())
                    if kmax is None:
                        doc.p("Extrapolation cannot be checked: it needs at least three k to fit and one larger "
                              "k to predict.", "skip")
                    else:
                        pts, summ = extrapolation_error(transfer, k_fit_max=kmax, c=cfg.fewshot_c)
                        save(pts, "fewshot_extrapolation")
                        doc.table(summ.tail(1), f"Extrapolation: fitted on k <= {kmax:g} (at least three k), error "
                                                "at larger k (all curves).")
            _attempt(doc, "Few-shot laws", _fewshot)

    # ---------------------------------------------------------------- 4. explanation
    if transfer is not None:
        doc.h(2, "4. What explains transfer?", anchor="explain")
        if features is not None:
            doc.p("Every p-value below names how it was computed (the method column). How well these methods are "
                  "calibrated on data with this study's structure: docs/calibration.md in the repository "
                  "(python -m analysis.calibrate).", "note")
            analyses = [(t, t) for t in tasks] + ([("pooled", tasks)] if len(tasks) > 1 else [])
            for label, task in analyses:
                doc.h(3, f"What explains transfer: {label}")

                def _explain(label=label, task=task):
                    extra = {k: v for k, v in (("permutations", cfg.permutations), ("seed", cfg.seed))
                             if k in inspect.signature(explain_transfer).parameters}
                    res = explain_transfer(transfer, features, task=task, feature_names=cfg.feature_names or None,
                                           kinds=("ols", "mixed") if cfg.mixed else ("ols",), **extra)
                    for key, df in res.items():
                        if isinstance(df, pd.DataFrame):
                            save(df, f"{key}_{label}")
                    if label == "pooled" or "coefficients" not in facts:
                        facts["coefficients"], facts["lolo"] = res["coefficients"], res.get("lolo")
                    png, _ = F.coefficient_plot(res["coefficients"], fdir / f"coefficients_{label}",
                                                title=f"What predicts transfer ({label})")
                    doc.figure(png, "Standardised coefficients (per SD of each feature) with 95% intervals; each "
                                    "p-value names its method.")
                    doc.table(_shown_coefficients(res["coefficients"]), "Coefficients (per SD of each feature).")
                    doc.table(res["coverage"], "Candidate features: share of pairs covered (features below 90% "
                                               "are left out rather than dropping languages), and which were used.")
                    doc.table(res["fits"], "Fit summaries (mixed: marginal R² in r2).")
                    png, _ = F.observed_vs_predicted(res["predictions"], fdir / f"observed_predicted_{label}")
                    doc.figure(png, "Observed transfer against leave-one-language-out predictions (OLS).")
                    doc.table(res["lolo"], "Leave-one-language-out CV (every pair of the held-out language is "
                                           "predicted by a model fitted without that language) vs the mean "
                                           "baseline.")
                    doc.table(res["feature_sets"], "Feature sets: lexical vs syntax+morphology+phonology vs all.")
                    tests = res.get("set_tests")
                    if isinstance(tests, pd.DataFrame):
                        if "headline" in tests.columns:
                            tests = tests.sort_values("headline", ascending=False, kind="stable")
                        doc.table(tests, "Tests of nested feature sets (method: how each p was computed; headline: "
                                         "the p the summary uses; docs/calibration.md says how well each keeps "
                                         "its level).")
                        if isinstance(res.get("lolo_compare"), pd.DataFrame):
                            doc.table(res["lolo_compare"], "Prediction of unseen languages: LOLO error difference "
                                                           "between feature sets.")
                    else:
                        lr = res["lr_tests"]
                        doc.table(lr if "method" in lr.columns else lr.assign(method="likelihood ratio, chi²"),
                                  "Likelihood-ratio tests of nested feature sets.")
                    doc.table(res["vif"], "Variance inflation factors.")
                    doc.table(res["subsets"], "Best small feature sets by LOLO CV RMSE.")
                _attempt(doc, f"Transfer models ({label})", _explain)
        else:
            doc.p("No pair-feature table in the run: transfer models and the recommender are skipped.", "skip")

    # ---------------------------------------------------------------- 4b. regimes side by side
    zero_all = transfer_all[pd.to_numeric(transfer_all["k"], errors="coerce") == 0] \
        if transfer_all is not None and "k" in transfer_all.columns else transfer_all
    regimes = sorted(map(str, zero_all["regime"].dropna().unique())) \
        if zero_all is not None and "regime" in zero_all.columns else []
    if len(regimes) > 1:
        doc.h(3, "Does the explanation depend on the regime?")

        def _regimes():
            t = regime_cells(zero_all, model=cfg.model or model, metric=cfg.metric, layer=cfg.layer,
                             primary_metrics=PRIMARY_METRICS)
            mine = None
            if alignment is not None:
                mine = alignment[alignment["model"].astype(str) == str(model)] \
                    if "model" in alignment.columns and model in set(alignment["model"].astype(str)) else alignment
            table = compare_regimes(t, features, mine, tasks=cfg.tasks or None, permutations=cfg.permutations,
                                    alpha=cfg.alpha, seed=cfg.seed)
            save(table, "regimes")
            verdicts = regime_verdicts(table, alpha=cfg.alpha)
            save(verdicts, "regime_verdicts")
            facts["regimes"] = table
            wide = table.pivot_table(index=["task", "quantity"], columns="regime", values="value", aggfunc="first")
            doc.table(wide.reset_index(), "Per task and regime at k = 0: mean in-language and zero-shot scores, "
                                          "the set-test statistics (typology beyond lexical similarity and the "
                                          "reverse), the strongest alignment-transfer Mantel r over layers and "
                                          "how many layers survive BH, and the Spearman agreement of the "
                                          "zero-shot pair scores with the head regime.")
            doc.table(verdicts, f"Does each regime reach the same conclusion (p or BH q < {cfg.alpha:g})? "
                                "Headline permutation tests as in the sections above.")
            doc.table(table, "Every row with its p-value, method and detail.")
        _attempt(doc, "Regime comparison", _regimes)

    # ---------------------------------------------------------------- 5. source choice
    if transfer is not None and features is not None:
        doc.h(2, "5. Which source language to pick?", anchor="source")
        per_all = []
        for task in tasks:
            def _rank(task=task):
                per, summ = evaluate_ranking(transfer, features, task=task,
                                             feature_names=cfg.feature_names or None)
                save(per, f"ndcg_{task}")
                per_all.append(per)
                doc.table(summ, f"Source recommender ({task}): leave-one-target-out NDCG@3 vs baselines.")
            _attempt(doc, f"Recommender evaluation ({task})", _rank)
        if per_all:
            facts["ndcg"] = pd.concat(per_all, ignore_index=True)
    elif transfer is not None:
        doc.h(2, "5. Which source language to pick?", anchor="source")
        doc.p("No pair-feature table: the recommender is not evaluated; the summary names the best observed "
              "source per task.", "note")

    # ---------------------------------------------------------------- 6. Mantel
    if alignment is not None or (transfer is not None and features is not None):
        doc.h(2, "6. Alignment, typology and transfer (Mantel tests)", anchor="mantel")
    if transfer is not None and features is not None:
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
            cname, control_m = _control_matrix(features, cfg.control_feature)
            table = mantel_pairs(dists, tms, control=control_m, permutations=cfg.permutations, alpha=cfg.alpha,
                                 seed=cfg.seed)
            save(table, "mantel_typology_transfer")
            doc.table(table.drop(columns=["langs"]).rename(columns={"left": "distance", "right": "task"}),
                      "Mantel tests of each typological distance against the transfer matrix (all src->tgt "
                      "cells; negative r: closer languages transfer better)"
                      + (f"; partial tests control for data size ({cname})" if cname else "")
                      + "; Benjamini-Hochberg q over the table; method column: how p was computed.")
        _attempt(doc, "Typology vs transfer Mantel tests", _typology_transfer)
    if alignment is not None:
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
            cname, control_m = _control_matrix(features, cfg.control_feature) if features is not None \
                else (None, None)
            mine = alignment[alignment["model"].astype(str) == str(model)] \
                if "model" in alignment.columns and model in set(alignment["model"].astype(str)) else alignment
            table = mantel_by_layer(mine, against, control=control_m, permutations=cfg.permutations,
                                    alpha=cfg.alpha, seed=cfg.seed)
            save(table, "mantel")
            png, _ = F.mantel_by_layer_plot(table, fdir / "mantel_by_layer", alpha=cfg.alpha)
            extra = f"; dashed: partial Mantel controlling for data size ({cname})" if cname else ""
            doc.figure(png, f"Mantel r between the alignment matrix and each matrix, by layer, one panel per "
                            f"comparison ({cfg.permutations} permutations, Benjamini-Hochberg across layers{extra}).")
            keys = [c for c in ("metric", "against", "test") if c in table.columns]
            strongest = table.loc[table.groupby(keys)["r"].apply(lambda s: s.abs().idxmax())]
            doc.table(strongest.drop(columns=["langs"]), "Mantel tests: the layer with the strongest r per "
                                                         "comparison (every layer in analysis/mantel.parquet).")
            feats_only = table[~table["against"].str.startswith("transfer:") & (table["test"] == "mantel")]
            if not feats_only.empty:  # draw the feature most related to alignment at some layer
                first_feature = str(feats_only.loc[feats_only["r"].abs().idxmax(), "against"])
            if first_feature is not None and features is not None:
                metrics = sorted(mine["metric"].unique())
                png, _ = F.typology_alignment_scatter(mine, features, first_feature,
                                                      fdir / "typology_alignment", metric=metrics[0],
                                                      mantel_table=table)
                doc.figure(png, f"{metrics[0]} against {first_feature} per layer, with Mantel r and FDR q.")
        _attempt(doc, "Mantel tests", _mantel)

    # ---------------------------------------------------------------- provenance and configs (last)
    doc.h(2, "Provenance", anchor="provenance")
    models = sorted({m for s_ in found["models"] for m in s_.split(",") if m})
    doc.p(f"Models: {', '.join(models) or 'not recorded in the tables'}.")
    doc.table(found, "Input tables (paths relative to the run directory) with their SHA-256.", max_rows=200)
    if features is not None and "source" in features.columns:
        src = features.groupby(["source"])["feature"].agg(lambda s_: ", ".join(sorted(set(s_)))).reset_index()
        doc.table(src.rename(columns={"feature": "features"}), "Pair-feature sources.")
    for name, df in (("transfer", transfer_all), ("probe", probes)):
        if df is not None and {"n_train", "n_test"} <= set(df.columns):
            keys = [c for c in ("model", "task", "regime", "metric") if c in df.columns]
            sizes = _settings_free(df).groupby(keys)[["n_train", "n_test"]].agg(["min", "max"]).reset_index()
            sizes.columns = ["_".join(c).strip("_") for c in sizes.columns]
            doc.table(sizes, f"Training/test sizes in the {name} table.")
    doc.h(2, "Resolved configurations and manifests", anchor="configs")
    cfg = cfg.resolved()
    save_config(cfg, adir / "report.config.yaml")
    doc.table(pd.DataFrame(sorted((k, json.dumps(v) if isinstance(v, (list, dict)) else str(v))
                                  for k, v in config_to_dict(cfg).items()), columns=["setting", "value"]),
              "This report's configuration (analysis/report.config.yaml).", max_rows=200)
    for p in sorted([*run.rglob("*.yaml"), *run.rglob("*.yml"), *run.rglob("manifest.json")]):
        rel = p.relative_to(run)
        if rel.parts[0] == "analysis" or any(part.startswith(".") for part in rel.parts):
            continue
        doc.h(4, str(rel))
        doc.table(_config_table(p), "", max_rows=80)
    doc.p(f"Analysis tables written: {', '.join(written) or 'none'}. Figures (PNG + PDF): analysis/figures/. "
          f"Report built in {time.time() - t0:.1f} s.", "note")

    answers = five_answers(model=model, control=control, alignment=alignment, probes=probes, transfer=transfer,
                           coefficients=facts.get("coefficients"), lolo=facts.get("lolo"), ndcg=facts.get("ndcg"))
    cav = caveats(model=model, transfer=transfer, probes=probes, alignment=alignment)
    title = cfg.title or f"crossling report: {run.resolve().name}"
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
            f'<p class="lede">Model: <b>{html.escape(str(model or "not recorded"))}</b>'
            + (f"; control: {html.escape(control)}" if control else "")
            + f'. Run: {html.escape(run.resolve().name)}. <a href="#provenance">Provenance and configurations</a> '
            "are at the end.</p>"
            + _summary_html(answers, cav) + "\n".join(doc.parts)
            + f'<p class="note">Generated {time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())} by analysis.report '
            f"from {html.escape(str(run.resolve()))}.</p></body></html>\n")
    atomic_write_text(out, page)
    return out

