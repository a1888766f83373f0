"""explain_transfer and its helpers: feature selection, coverage, LOLO predictions (private; see analysis.stats)."""


from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis._frames import (
    features_wide,
    pair_design,
    select_transfer,
    square_matrix,
)
from analysis.stats._inference import (
    METHOD_LR,
    compare_lolo,
    default_set_groups,
    permutation_design,
    qap_coefficients,
    set_tests,
)
from analysis.stats._models import (
    COEF_COLUMNS,
    _cv_predictions,
    best_subsets,
    compare_feature_sets,
    fit_transfer,
    lolo_cv,
    lolo_folds,
    vif_table,
)
from crossling.errors import DataError

__all__ = ["MIN_COVERAGE", "METHOD_MODEL", "default_predictors", "explain_transfer", "feature_coverage", "lolo_predictions", "select_features", "transfer_matrix"]


def transfer_matrix(scores: pd.DataFrame, task: str | None = None) -> pd.DataFrame:
    """Square matrix of transfer scores (rows = source, columns = target).

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`select_transfer` (``task, src, tgt, score``).
    task : str, optional
        Required when ``scores`` holds several tasks.

    Returns
    -------
    DataFrame, shape (n_langs, n_langs)
        Asymmetric; cells with no experiment are NaN.
    """
    s = scores
    if task is not None:
        s = s[s["task"].astype(str) == task]
    elif "task" in s.columns and s["task"].nunique() > 1:
        raise DataError(f"Scores hold several tasks {sorted(s['task'].unique())}; pass task=.")
    return square_matrix(s, "score", a="src", b="tgt", symmetric=False)


#: Default minimum share of transfer pairs a feature must cover to be a predictor.
MIN_COVERAGE = 0.9


def feature_coverage(design: pd.DataFrame, candidates: Sequence[str], used: Sequence[str] = (),
                     features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of pairs with a value and number of distinct values of each candidate feature.

    Parameters
    ----------
    features : DataFrame, optional
        The tidy pair-feature table; when it has a ``note`` column, pairs whose
        value came from a stand-in language (a note with ``proxy``, e.g.
        German in Grambank) are counted in ``proxy_share``.

    Returns
    -------
    DataFrame
        ``feature, coverage, n_unique, used, proxy_share``.
    """
    proxied: dict[str, set] = {}
    if features is not None and "note" in features.columns:
        px = features[features["note"].astype(str).str.contains("proxy", na=False)]
        for f, sub in px.groupby("feature"):
            proxied[str(f)] = {frozenset(p) for p in zip(sub["lang_a"].astype(str), sub["lang_b"].astype(str))}
    pairs = [frozenset(p) for p in zip(design["src"].astype(str), design["tgt"].astype(str))]
    rows = []
    for f in candidates:
        v = pd.to_numeric(design[f], errors="coerce")
        share = float(np.mean([p in proxied.get(f, ()) for p in pairs])) if pairs else 0.0
        rows.append({"feature": f, "coverage": float(v.notna().mean()), "n_unique": int(v.nunique(dropna=True)),
                     "used": f in set(used), "proxy_share": share})
    return pd.DataFrame(rows, columns=["feature", "coverage", "n_unique", "used", "proxy_share"])


def default_predictors(columns: Sequence[str]) -> list[str]:
    """Candidate predictors of a wide pair table: every feature column except
    per-layer model-internal features (names with ``@``, e.g. ``cka@L6``), which
    would add one collinear predictor per layer; pass them explicitly to use them."""
    return [c for c in columns if c not in ("src", "tgt", "lang_a", "lang_b") and "@" not in str(c)]


def select_features(
    design: pd.DataFrame,
    candidates: Sequence[str],
    *,
    min_coverage: float = MIN_COVERAGE,
) -> list[str]:
    """Features usable in a model: numeric, non-constant, covering enough pairs.

    Parameters
    ----------
    design : DataFrame
        Pairs joined with candidate features (NaN where missing).
    min_coverage : float, default=0.9
        Minimum share of pairs with a value (a feature missing for one of 10
        languages covers 80% of the pairs and is left out, rather than
        dropping that language from every model).

    Returns
    -------
    list of str
        In the order of ``candidates``.
    """
    keep = []
    for f in candidates:
        v = pd.to_numeric(design[f], errors="coerce")
        if v.notna().mean() >= min_coverage and v.nunique(dropna=True) > 1:
            keep.append(f)
    return keep


def lolo_predictions(df: pd.DataFrame, features: Sequence[str], *, response: str = "score",
                     kind: str = "ols") -> pd.DataFrame:
    """Leave-one-language-out predictions for every pair.

    A pair (s, t) is predicted once per held-out language it involves (twice
    in all: when ``s`` and when ``t`` is held out); both rows are returned
    with ``held_out``.

    Returns
    -------
    DataFrame
        ``src, tgt, task, held_out, observed, predicted, baseline``.
    """
    d = df.dropna(subset=[response, *features]).reset_index(drop=True)
    y, pred, base, _, where, held = _cv_predictions(d, features, response, lolo_folds(d), kind)
    out = d.iloc[where][[c for c in ("task", "src", "tgt") if c in d.columns]].reset_index(drop=True)
    out["held_out"] = held
    out["observed"], out["predicted"], out["baseline"] = y, pred, base
    return out


#: ``method`` of the model-based rows of the coefficient table, per fit kind.
METHOD_MODEL = {"ols": "model-based-ols-cluster2", "mixed": "model-based-mixed-wald"}


def explain_transfer(
    transfer: pd.DataFrame,
    features: pd.DataFrame,
    *,
    task: str | Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    metric: str | None = None,
    model: str | None = None,
    regime: str | None = None,
    layer: object | None = None,
    k: int = 0,
    kinds: Sequence[str] = ("ols", "mixed"),
    min_coverage: float = MIN_COVERAGE,
    subset_sizes: Sequence[int] = (2, 3, 4),
    max_subset_features: int = 16,
    permutations: int = 999,
    seed: int = 0,
    n_boot: int = 2000,
) -> dict[str, pd.DataFrame]:
    """Fit every transfer model for one selection and return tidy tables.

    Parameters
    ----------
    transfer : DataFrame
        A ``transfer.run`` table.
    features : DataFrame
        A tidy pair-feature table (``lang_a, lang_b, feature, value, source``).
    task : str or list, optional
        One task, or several (pooled fit with a task term); default all.
    feature_names : list of str, optional
        Predictors; default: every feature covering ``min_coverage`` of the
        pairs and varying over them.
    metric, model, regime, layer, k
        Passed to :func:`select_transfer`.
    kinds : list of {"ols", "mixed"}
    subset_sizes : sizes searched by :func:`best_subsets`; the search is
        skipped when more than ``max_subset_features`` features are used.
    permutations : int, default=999
        Node permutations of the headline tests (MRQAP coefficients,
        Freedman-Lane set tests); the same language permutation in every task.
    seed : int
        Seed of the permutations and of the LOLO bootstrap.
    n_boot : int, default=2000
        Language-level bootstrap draws of :func:`compare_lolo`.

    Returns
    -------
    dict of DataFrame
        ``design`` (pairs x features), ``coverage`` (candidate features,
        their coverage and whether they were used), ``coefficients`` (``fit,
        model, task`` + ``COEF_COLUMNS`` + ``method, headline``: model-based
        rows of each fit kind and ``fit == "mrqap"`` rows whose node-permutation
        p is the headline), ``fits`` (one row per fit), ``lolo`` (LOLO CV
        summary per fit kind), ``lolo_folds``, ``predictions`` (in-sample
        and LOLO per pair), ``feature_sets``, ``set_tests`` (nested sets:
        Freedman-Lane node permutation = headline, LR = model-based),
        ``lr_tests`` (the LR rows in the old layout, labelled model-based),
        ``lolo_compare`` (LOLO CV difference between sets with a
        language-bootstrap CI), ``vif``, ``subsets``. Schema:
        docs/analysis.md.
    """
    scores = select_transfer(transfer, task=task, metric=metric, model=model, regime=regime, layer=layer, k=k)
    wide = features_wide(features)
    cand = list(feature_names) if feature_names is not None else default_predictors(wide.columns)
    joined = pair_design(scores, wide, cand, dropna=False)
    if feature_names is not None:
        feats = list(feature_names)
    else:
        feats = select_features(joined, cand, min_coverage=min_coverage)
    if not feats:
        raise DataError(
            f"No pair feature covers {min_coverage:.0%} of the {len(joined)} transfer pairs; "
            f"candidates were {cand}. Lower min_coverage or add feature sources."
        )
    design = joined.dropna(subset=feats).reset_index(drop=True)
    model_label = ",".join(sorted(map(str, design["model"].unique())))
    task_label = ",".join(sorted(map(str, design["task"].unique())))
    label = {"model": model_label, "task": task_label}
    coefs, fits, lolos, lfolds = [], [], [], []
    preds = design[["model", "task", "src", "tgt", "score"]].rename(columns={"score": "observed"}).copy()
    for kind in kinds:
        fit = fit_transfer(design, feats, kind)
        coefs.append(fit.coef.assign(fit=kind, method=METHOD_MODEL.get(kind, f"model-based-{kind}"),
                                     headline=False, **label))
        fits.append(fit.summary().assign(**label))
        preds[f"predicted_{kind}"] = fit.predict(design)
        summ, per = lolo_cv(design, feats, kind=kind)
        lolos.append(summ.assign(**label))
        lfolds.append(per.assign(fit=kind, **label))
    try:
        pdesign = permutation_design(design, permutations=permutations, seed=seed)
    except DataError:  # fewer than 4 languages with complete matrices: no node-permutation test is possible
        pdesign = None
    if pdesign is not None:
        qap = qap_coefficients(design, feats, design=pdesign)
        coefs.append(pd.DataFrame({"term": qap["term"], "beta": qap["beta"], "se": np.nan, "ci_low": np.nan,
                                   "ci_high": np.nan, "p": qap["p"], "n": qap["n"], "converged": True,
                                   "fit": "mrqap", "method": qap["method"], "headline": True, **label}))
    lp = lolo_predictions(design, feats)
    lp_mean = lp.groupby(["task", "src", "tgt"])["predicted"].mean().rename("predicted_lolo").reset_index()
    preds = preds.merge(lp_mean, on=["task", "src", "tgt"], how="left")
    out: dict[str, pd.DataFrame] = {
        "design": design,
        "coverage": feature_coverage(joined, cand, feats, features).assign(**label),
        "coefficients": pd.concat(coefs, ignore_index=True)[["fit", "model", "task", *COEF_COLUMNS, "method",
                                                             "headline"]],
        "fits": pd.concat(fits, ignore_index=True),
        "lolo": pd.concat(lolos, ignore_index=True),
        "lolo_folds": pd.concat(lfolds, ignore_index=True),
        "predictions": preds,
    }
    groups = default_set_groups(feats)
    fs, _ = compare_feature_sets(design, groups)
    # without complete matrices over 4+ languages only the model-based rows exist (no headline row)
    st = set_tests(design, groups, design=pdesign, permutations=permutations if pdesign is not None else 0)
    lr = st[st["method"] == METHOD_LR].rename(columns={"stat": "lr"})[["reduced", "full", "lr", "df", "p", "method",
                                                                        "headline"]]
    out["feature_sets"], out["set_tests"] = fs.assign(**label), st.assign(**label)
    out["lr_tests"] = lr.reset_index(drop=True).assign(**label)
    out["lolo_compare"] = compare_lolo(design, groups, n_boot=n_boot, seed=seed).assign(**label)
    if len(feats) > 1:
        out["vif"] = vif_table(design, feats).assign(**label)
    else:
        out["vif"] = pd.DataFrame(columns=["feature", "vif"])
    sizes = [s for s in subset_sizes if s <= len(feats)]
    if sizes and len(feats) <= max_subset_features:
        out["subsets"] = best_subsets(design, feats, sizes=sizes).assign(**label)
    else:
        out["subsets"] = pd.DataFrame(columns=["rank", "size", "features", "cv_rmse", "cv_mae", "cv_r2", "r2"])
    return out
