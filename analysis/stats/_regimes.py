"""Does the explanation of transfer change with the transfer regime? (:func:`compare_regimes`, issue #16).

A study can measure the observed transfer twice: with frozen-encoder heads
(``regime: head``) and with fine-tuning (``regime: finetune``). For every
(regime, task) this module computes, on the same languages, the quantities a
reader compares side by side:

- the levels: mean in-language score (``src == tgt``) and mean zero-shot score
  (``src != tgt``), both at ``k = 0``;
- typology against lexical similarity: the calibrated Freedman-Lane node
  permutation tests of :func:`set_tests` (``lexical -> lexical+typology``:
  does typology add to lexical similarity?, and ``typology -> lexical+typology``);
- alignment against transfer: the Mantel test of the model's alignment metric
  at every layer against the transfer matrix (:func:`mantel_by_layer`),
  summarised by the strongest layer and the number of layers that survive the
  Benjamini-Hochberg correction;
- across regimes: the Spearman correlation of the zero-shot pair scores of
  every other regime with the first one's (do the same pairs transfer well?).

The result is one tidy table (``regime, task, quantity, value, p, method,
detail, n``); :func:`regime_verdicts` says, per task and question, whether the
regimes reach the same conclusion at level ``alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis._frames import features_wide, pair_design, select_transfer
from analysis.stats._explain import default_predictors, select_features, transfer_matrix
from analysis.stats._inference import default_set_groups, permutation_design, set_tests
from analysis.stats._mantel import mantel_by_layer
from crossling.errors import ConfigError, DataError, SuiteError

__all__ = [
    "REGIME_COLUMNS", "REGIME_QUESTIONS", "MIN_SEED_AGREEMENT", "agreement_lower_bound", "compare_regimes",
    "regime_cells", "regime_verdicts",
]

#: Columns of :func:`compare_regimes`.
REGIME_COLUMNS = ["regime", "task", "quantity", "value", "p", "method", "detail", "n"]

#: The set-test comparisons asked of every regime: quantity -> (reduced set, full set).
_SET_PAIRS = {
    "typology_beyond_lexical": ("lexical", "lexical+typology"),
    "lexical_beyond_typology": ("typology", "lexical+typology"),
}

#: Questions whose conclusion :func:`regime_verdicts` compares across regimes: quantity -> wording.
REGIME_QUESTIONS = {
    "typology_beyond_lexical": "typology explains transfer beyond lexical similarity",
    "lexical_beyond_typology": "lexical similarity explains transfer beyond typology",
    "alignment_best_layer": "alignment of some layer correlates with transfer (BH-corrected)",
}


def regime_cells(
    transfer: pd.DataFrame,
    *,
    model: str | None = None,
    metric: str | None = None,
    layer: object = None,
    primary_metrics: Sequence[str] = (),
) -> pd.DataFrame:
    """The zero-shot cells :func:`compare_regimes` compares: one metric and one layer per (regime, task).

    Keeps ``k == 0`` (when the table has a ``k`` column), the rows of ``model``
    and ``metric`` when given; then, per (regime, task), the first of
    ``primary_metrics`` the task reports (else its first metric in sorted
    order) and ``layer`` when the task has it (else its highest layer: the
    head regime's probed layer, or ``last`` for fine-tuning). This is the
    selection ``analysis.report`` makes for section 5b.

    Parameters
    ----------
    transfer : DataFrame
        ``transfer.run`` rows of one or more regimes (a ``regime`` column).
    model, metric : str, optional
    layer : int or str, optional
    primary_metrics : sequence of str
        Metrics preferred, in order, when none is given.

    Returns
    -------
    DataFrame
        The selected rows, in (regime, task) order.

    Raises
    ------
    DataError
        If the table lacks a ``regime``, ``task``, ``metric`` or ``layer`` column, or nothing is left.
    """
    need = {"regime", "task", "metric", "layer"} - set(transfer.columns)
    if need:
        raise DataError(f"regime_cells: the transfer table lacks column(s) {sorted(need)}; pass transfer.run rows.")
    t = transfer
    if "k" in t.columns:
        t = t[pd.to_numeric(t["k"], errors="coerce") == 0]
    if model is not None and "model" in t.columns:
        t = t[t["model"].astype(str) == str(model)]
    if metric is not None:
        t = t[t["metric"].astype(str) == str(metric)]
    parts = []
    for (_, _), sub in t.groupby(["regime", "task"], sort=True):
        metrics = sorted(sub["metric"].astype(str).unique())
        chosen = next((m for m in primary_metrics if m in metrics), metrics[0])
        sub = sub[sub["metric"].astype(str) == chosen]
        layers = sorted(sub["layer"].astype(str).unique(), key=lambda v: (pd.to_numeric(v, errors="coerce"), v))
        parts.append(sub[sub["layer"].astype(str) == (str(layer) if layer is not None and str(layer) in layers
                                                       else layers[-1])])
    if not parts:
        raise DataError(f"regime_cells: no k = 0 rows left (model={model!r}, metric={metric!r}); the table has "
                        f"{len(transfer)} rows.")
    return pd.concat(parts, ignore_index=True)


def _levels(table: pd.DataFrame, task: str) -> list[dict[str, object]]:
    sel = select_transfer(table, task=task, include_self=True)
    same = sel["src"].astype(str) == sel["tgt"].astype(str)
    metric = str(sel["metric"].iloc[0])
    rows = []
    for name, part in (("in_language", sel[same]), ("zero_shot", sel[~same])):
        rows.append({"quantity": name, "value": float(part["score"].mean()) if len(part) else np.nan,
                     "p": np.nan, "method": f"mean {metric}",
                     "detail": f"{part['src'].nunique()} languages" if name == "in_language"
                     else f"{len(part)} ordered pairs", "n": len(part)})
    return rows


def agreement_lower_bound(rho: float, n: int, *, level: float = 0.95) -> float:
    """Lower confidence bound of a Spearman rho over ``n`` pairs (Fisher z, variance ``1.06 / (n - 3)``).

    Fieller, Hartley and Pearson (1957). The pairs of a transfer matrix share
    languages, so they are not independent and the bound is optimistic; it
    still keeps a rho of 0.54 over 90 pairs (lower bound 0.37) from passing
    as reproducible. NaN when ``rho`` is NaN or ``n <= 3``.
    """
    if not np.isfinite(rho) or n <= 3:
        return float("nan")
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999)) - norm.ppf(0.5 + level / 2) * np.sqrt(1.06 / (n - 3))
    return float(np.tanh(z))


def _seed_rows(table: pd.DataFrame, task: str) -> list[dict[str, object]]:
    """``seed_agreement``: mean Spearman rho between seeds of the zero-shot pair scores (NaN with one seed)."""
    mine = table[table["task"].astype(str) == task]
    if "k" in mine.columns:
        mine = mine[pd.to_numeric(mine["k"], errors="coerce") == 0]
    seeds = sorted(mine["seed"].dropna().unique()) if "seed" in mine.columns else []
    if len(seeds) < 2:
        return [{"quantity": "seed_agreement", "value": np.nan, "p": np.nan, "method": "none",
                 "detail": "one seed: how much of this matrix is training noise is not measured", "n": 0}]
    per = pd.concat([select_transfer(table[table["seed"] == s], task=task).set_index(["src", "tgt"])["score"]
                     .rename(str(s)) for s in seeds], axis=1, join="inner").dropna()
    rho = per.rank().corr()
    upper = rho.values[np.triu_indices(len(seeds), 1)]
    value = float(np.mean(upper))
    low = agreement_lower_bound(value, len(per))
    return [{"quantity": "seed_agreement", "value": value, "p": np.nan,
             "method": "spearman between seeds, mean over pairs of seeds",
             "detail": f"{len(seeds)} seeds; lowest pair {float(np.min(upper)):.3f}; 95% lower bound {low:.3f} "
                       "(Fisher z, pairs taken as independent)", "n": len(per)}]


def _set_rows(table: pd.DataFrame, features: pd.DataFrame, task: str, *, feature_names: Sequence[str] | None,
              permutations: int, seed: int) -> list[dict[str, object]]:
    scores = select_transfer(table, task=task)
    wide = features_wide(features)
    cand = list(feature_names) if feature_names else default_predictors(wide.columns)
    joined = pair_design(scores, wide, cand, dropna=False)
    feats = list(feature_names) if feature_names else select_features(joined, cand)
    design = joined.dropna(subset=feats).reset_index(drop=True)
    groups = default_set_groups(feats)
    pairs = [p for p in _SET_PAIRS.values() if p[0] in groups and p[1] in groups]
    rows: list[dict[str, object]] = []
    if not pairs:
        for q in _SET_PAIRS:
            rows.append({"quantity": q, "value": np.nan, "p": np.nan, "method": "none",
                         "detail": f"feature groups {sorted(groups)} lack lexical or typology", "n": len(design)})
        return rows
    pdesign = permutation_design(design, permutations=permutations, seed=seed)
    st = set_tests(design, groups, design=pdesign, pairs=pairs, include_lr=False)
    for q, (reduced, full) in _SET_PAIRS.items():
        hit = st[(st["reduced"] == reduced) & (st["full"] == full)]
        if "headline" in hit.columns and hit["headline"].any():
            hit = hit[hit["headline"]]
        if hit.empty:
            rows.append({"quantity": q, "value": np.nan, "p": np.nan, "method": "none",
                         "detail": f"no {reduced} -> {full} comparison", "n": len(design)})
            continue
        r = hit.iloc[0]
        rows.append({"quantity": q, "value": float(r["stat"]), "p": float(r["p"]), "method": str(r["method"]),
                     "detail": f"{reduced} -> {full}, {int(r['permutations'])} permutations, "
                               f"{int(r['n_langs'])} languages", "n": int(r["n"])})
    return rows


def _alignment_rows(table: pd.DataFrame, alignment: pd.DataFrame, task: str, *, metric: str, permutations: int,
                    seed: int, alpha: float) -> list[dict[str, object]]:
    tm = transfer_matrix(select_transfer(table, task=task))
    res = mantel_by_layer(alignment, {f"transfer:{task}": tm}, metrics=[metric], permutations=permutations,
                          alpha=alpha, seed=seed)
    res = res[res["test"] == "mantel"]
    if res.empty or res["r"].isna().all():
        return [{"quantity": "alignment_best_layer", "value": np.nan, "p": np.nan, "method": "none",
                 "detail": f"no {metric} layer shares 4+ languages with the {task} matrix", "n": 0}]
    best = res.loc[res["r"].abs().idxmax()]
    n_sig = int(res["significant"].sum())
    return [
        {"quantity": "alignment_best_layer", "value": float(best["r"]), "p": float(best["q"]),
         "method": f"mantel ({best['method']}), BH q over layers",
         "detail": f"{metric} layer {best['layer']}; {n_sig} of {len(res)} layers with q < {alpha:g}",
         "n": int(best["n_cells"])},
        {"quantity": "alignment_layers_significant", "value": float(n_sig), "p": np.nan,
         "method": f"mantel ({best['method']}), BH q < {alpha:g}", "detail": f"of {len(res)} layers ({metric})",
         "n": int(best["n_cells"])},
    ]


def compare_regimes(
    transfer: pd.DataFrame,
    features: pd.DataFrame | None = None,
    alignment: pd.DataFrame | None = None,
    *,
    tasks: Sequence[str] | None = None,
    regimes: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    alignment_metric: str = "cka",
    permutations: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Levels and explanations of transfer, side by side for every regime of a transfer table.

    Parameters
    ----------
    transfer : DataFrame
        A ``transfer.run`` table (or several concatenated) with a ``regime``
        column; within a (regime, task) the model, metric and layer must be
        single-valued (as :func:`select_transfer` requires).
    features : DataFrame, optional
        Tidy pair features; without them the set tests are skipped.
    alignment : DataFrame, optional
        Tidy alignment table of one model; without it the Mantel rows are skipped.
    tasks : list of str, optional
        Default: every task of the table.
    regimes : list of str, optional
        Default: every regime of the table, in sorted order except that
        ``head`` comes first (the reference the rank agreement is measured against).
    feature_names : list of str, optional
        Predictors of the set tests (default: those :func:`explain_transfer` would use).
    alignment_metric : str, default="cka"
        Alignment metric of the Mantel rows.
    permutations : int, default=999
        Node permutations of the set tests and of every Mantel test.
    alpha : float, default=0.05
        Level of the Benjamini-Hochberg correction over layers.
    seed : int, default=0

    Returns
    -------
    DataFrame
        :data:`REGIME_COLUMNS`: one row per (regime, task, quantity). Quantities:
        ``in_language``, ``zero_shot`` (means), ``typology_beyond_lexical``,
        ``lexical_beyond_typology`` (value = the test statistic, p = the headline
        permutation p), ``alignment_best_layer`` (value = Mantel r at the layer
        with the largest ``|r|``, p = its BH q), ``alignment_layers_significant``
        (count), ``rank_agreement`` (Spearman rho of the zero-shot pair scores
        with the first regime's; absent for the first), ``seed_agreement``
        (mean Spearman rho of the zero-shot pair scores between the regime's
        seeds: how reproducible its matrix is; NaN with one seed). A matrix
        whose seeds disagree is mostly training noise, and the tests run on it
        say little (a fine-tuned NLI grid rerun with another batch order
        agreed at rho 0.14: docs/bench-transfer.md).

    Raises
    ------
    ConfigError
        If a requested regime or task is not in the table, or ``permutations < 1``.
    DataError
        If the table has no ``regime`` column.
    """
    if "regime" not in transfer.columns:
        raise DataError("The transfer table has no 'regime' column; compare_regimes needs the tables of "
                        "transfer.run (one per regime, concatenated).")
    if permutations < 1:
        raise ConfigError(f"The 'permutations' parameter must be >= 1, got {permutations}.")
    have = sorted(map(str, transfer["regime"].dropna().unique()), key=lambda r: (r != "head", r))
    want = list(regimes) if regimes is not None else have
    bad = [r for r in want if r not in have]
    if bad:
        raise ConfigError(f"The 'regimes' parameter names {bad}, which the transfer table lacks; it has {have}.")
    all_tasks = sorted(map(str, transfer["task"].unique()))
    want_tasks = list(tasks) if tasks is not None else all_tasks
    bad = [t for t in want_tasks if t not in all_tasks]
    if bad:
        raise ConfigError(f"The 'tasks' parameter names {bad}, which the transfer table lacks; it has {all_tasks}.")
    if alignment is not None and "model" in alignment.columns and alignment["model"].nunique() > 1:
        models = set(map(str, transfer["model"].unique())) if "model" in transfer.columns else set()
        alignment = alignment[alignment["model"].astype(str).isin(models)]
        if alignment.empty:
            raise ConfigError(f"The alignment table holds several models and none of the transfer table's "
                              f"({sorted(models)}); pass the alignment rows of the transfer's model.")
    rows: list[dict[str, object]] = []
    zero: dict[tuple[str, str], pd.Series] = {}
    for regime in want:
        table = transfer[transfer["regime"].astype(str) == regime]
        for task in want_tasks:
            if not (table["task"].astype(str) == task).any():
                continue
            label = {"regime": regime, "task": task}
            out: list[dict[str, object]] = []
            try:
                out += _levels(table, task)
                sel = select_transfer(table, task=task)
                zero[(regime, task)] = sel.set_index(["src", "tgt"])["score"]
            except SuiteError as exc:
                out.append({"quantity": "in_language", "value": np.nan, "p": np.nan, "method": "none",
                            "detail": str(exc).splitlines()[0], "n": 0})
            try:
                out += _seed_rows(table, task)
            except SuiteError as exc:
                out.append({"quantity": "seed_agreement", "value": np.nan, "p": np.nan, "method": "none",
                            "detail": str(exc).splitlines()[0], "n": 0})
            if features is not None:
                try:
                    out += _set_rows(table, features, task, feature_names=feature_names,
                                     permutations=permutations, seed=seed)
                except SuiteError as exc:
                    out += [{"quantity": q, "value": np.nan, "p": np.nan, "method": "none",
                             "detail": str(exc).splitlines()[0], "n": 0} for q in _SET_PAIRS]
            if alignment is not None:
                try:
                    out += _alignment_rows(table, alignment, task, metric=alignment_metric,
                                           permutations=permutations, seed=seed, alpha=alpha)
                except SuiteError as exc:
                    out.append({"quantity": "alignment_best_layer", "value": np.nan, "p": np.nan,
                                "method": "none", "detail": str(exc).splitlines()[0], "n": 0})
            rows += [{**label, **r} for r in out]
    for task in want_tasks:
        ref = next((r for r in want if (r, task) in zero), None)
        for regime in want:
            if regime == ref or (regime, task) not in zero or ref is None:
                continue
            both = pd.concat([zero[(ref, task)].rename("a"), zero[(regime, task)].rename("b")], axis=1,
                             join="inner").dropna()
            rho = float(both["a"].rank().corr(both["b"].rank())) if len(both) >= 3 else np.nan
            rows.append({"regime": regime, "task": task, "quantity": "rank_agreement", "value": rho, "p": np.nan,
                         "method": "spearman", "detail": f"zero-shot pair scores against {ref}", "n": len(both)})
    return pd.DataFrame(rows, columns=REGIME_COLUMNS)


#: Below this mean seed-to-seed Spearman rho a regime's matrix is called mostly noise by :func:`regime_verdicts`.
MIN_SEED_AGREEMENT = 0.5


def regime_verdicts(table: pd.DataFrame, *, alpha: float = 0.05,
                    min_seed_agreement: float = MIN_SEED_AGREEMENT) -> pd.DataFrame:
    """Per task and question, the conclusion of every regime and whether they agree.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`compare_regimes`.
    alpha : float, default=0.05
        A test's conclusion is "yes" when its p (the BH q for the alignment rows) is below ``alpha``.
    min_seed_agreement : float, default=0.5
        A regime's verdicts count as reliable only when the 95% lower bound
        of its ``seed_agreement`` (Spearman rho between seeds,
        :func:`agreement_lower_bound`) reaches this: below it, its matrix may
        be mostly training noise.

    Returns
    -------
    DataFrame
        ``task, question, <one column per regime: yes / no / n/a>, same, reliable, caution``.
        ``same``: every regime with a p reaches the same conclusion. ``reliable``:
        every such regime's seeds were measured to agree (True), one of them
        was measured not to (False), or some regime has one seed only (None).
        ``caution`` says which regime and why.
    """
    if not 0 < alpha < 1:
        raise ConfigError(f"The 'alpha' parameter must be in (0, 1), got {alpha}.")
    if not -1 <= min_seed_agreement <= 1:
        raise ConfigError(f"The 'min_seed_agreement' parameter must be in [-1, 1], got {min_seed_agreement}.")
    regimes = list(dict.fromkeys(table["regime"].astype(str)))
    rows = []
    for task in dict.fromkeys(table["task"].astype(str)):
        agree, lower = {}, {}
        for r in regimes:
            hit = table[(table["regime"] == r) & (table["task"] == task) & (table["quantity"] == "seed_agreement")]
            agree[r] = float(hit["value"].iloc[0]) if len(hit) and hit["method"].iloc[0] != "none" else np.nan
            lower[r] = agreement_lower_bound(agree[r], int(hit["n"].iloc[0])) if len(hit) else np.nan
        for q, wording in REGIME_QUESTIONS.items():
            row: dict[str, object] = {"task": task, "question": wording}
            said = []
            notes: list[str] = []
            states: list[bool | None] = []
            for r in regimes:
                hit = table[(table["regime"] == r) & (table["task"] == task) & (table["quantity"] == q)]
                p = float(hit["p"].iloc[0]) if len(hit) else np.nan
                row[r] = "n/a" if np.isnan(p) else ("yes" if p < alpha else "no")
                if not np.isnan(p):
                    said.append(p < alpha)
                    if np.isnan(agree[r]):
                        states.append(None)
                        notes.append(f"{r}: reproducibility not measured (one seed, or scores that do not vary)")
                    elif not lower[r] >= min_seed_agreement:
                        states.append(False)
                        notes.append(f"{r}: seeds agree at rho {agree[r]:.2f} (95% lower bound {lower[r]:.2f} < "
                                     f"{min_seed_agreement:g}): the matrix may be mostly training noise")
                    else:
                        states.append(True)
            row["same"] = (len(set(said)) == 1) if len(said) >= 2 else None
            row["reliable"] = (False if False in states else None if None in states else True) if states else None
            row["caution"] = "; ".join(notes)
            rows.append(row)
    return pd.DataFrame(rows)
