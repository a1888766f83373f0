"""Regression models of transfer scores on pair features (statsmodels fits).

Public names are re-exported by :mod:`analysis.stats`; see docs/analysis.md
for the formulas.

This module is over 600 lines on purpose: OLS, the mixed model, LOLO
cross-validation, VIF and the subset search share one design-matrix builder and
one standardisation, which must stay identical between the fits they compare.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.stats.outliers_influence import variance_inflation_factor
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from crossling.errors import ConfigError, DataError

__all__ = [
    "TransferFit",
    "fit_ols",
    "fit_mixed",
    "FIT_KINDS",
    "fit_transfer",
    "default_feature_groups",
    "compare_feature_sets",
    "vif_table",
    "best_subsets",
    "lolo_folds",
    "lolo_cv",
    "COEF_COLUMNS",
]

#: Columns of every coefficient table.
COEF_COLUMNS = ["term", "beta", "se", "ci_low", "ci_high", "p", "n", "converged"]
_CLUSTERS = ("both", "src", "tgt", "none")


@dataclass
class TransferFit:
    """A fitted model of transfer score on standardised pair features.

    Attributes
    ----------
    kind : str
        ``"ols"`` or ``"mixed"``.
    features : list of str
        Predictors, in order; their coefficients are per standard deviation.
    coef : DataFrame
        Columns ``COEF_COLUMNS`` (one row per fixed-effect term).
    r2 : float
        R-squared (OLS) or marginal R-squared of the fixed effects (mixed).
    aic, llf : float
        Akaike information criterion and maximised log-likelihood (ML).
    n : int
        Number of pairs (rows) fitted.
    converged : bool
        Whether the optimiser converged without warnings.
    center, scale : Series
        Training means and standard deviations of the features.
    tasks : list of str
        Task levels (first is the reference of the task term).
    extra : dict
        Model-specific numbers (variance components, conditional R², ...).
    """

    kind: str
    features: list[str]
    coef: pd.DataFrame
    r2: float
    aic: float
    llf: float
    n: int
    n_params: int
    converged: bool
    center: pd.Series
    scale: pd.Series
    tasks: list[str]
    params: pd.Series
    extra: dict = field(default_factory=dict)

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Predicted score (fixed effects only) for rows of ``df``.

        Parameters
        ----------
        df : DataFrame
            Feature columns (raw scale) and, for pooled fits, ``task``.

        Returns
        -------
        ndarray, shape (n_rows,)
        """
        X = _design(df, self.features, self.center, self.scale, self.tasks)
        return X.to_numpy(float) @ self.params.reindex(X.columns).fillna(0.0).to_numpy(float)

    def summary(self) -> pd.DataFrame:
        """One-row table: fit, r2, aic, llf, n, n_params, converged (+ extras)."""
        row = {"fit": self.kind, "r2": self.r2, "aic": self.aic, "llf": self.llf, "n": self.n,
               "n_params": self.n_params, "converged": self.converged}
        row.update({k: v for k, v in self.extra.items() if np.isscalar(v)})
        return pd.DataFrame([row])


def _tasks_of(df: pd.DataFrame) -> list[str]:
    return sorted(df["task"].astype(str).unique()) if "task" in df.columns else []


def _standardise(df: pd.DataFrame, features: Sequence[str]) -> tuple[pd.Series, pd.Series]:
    X = df[list(features)].astype(float)
    center = X.mean()
    scale = X.std(ddof=0)
    flat = [f for f in features if not np.isfinite(scale[f]) or scale[f] <= 1e-12]
    if flat:
        raise DataError(
            f"Feature(s) {flat} are constant over the {len(df)} fitted pairs, so their effect cannot be "
            "estimated; drop them from the feature list or add pairs where they vary."
        )
    return center, scale


def _design(
    df: pd.DataFrame, features: Sequence[str], center: pd.Series, scale: pd.Series, tasks: Sequence[str]
) -> pd.DataFrame:
    """Intercept, z-scored features, task dummies (first task is the reference)."""
    feats = list(features)
    cols = [np.ones((len(df), 1))]
    if feats:
        Z = df[feats].to_numpy(dtype=float)
        cols.append((Z - center[feats].to_numpy(float)) / scale[feats].to_numpy(float))
    names = ["const", *feats]
    if len(tasks) > 1:
        t = df["task"].astype(str).to_numpy()
        cols.append(np.column_stack([(t == level).astype(float) for level in tasks[1:]]))
        names += [f"task[{level}]" for level in tasks[1:]]
    return pd.DataFrame(np.hstack(cols), index=df.index, columns=names)


def _check(df: pd.DataFrame, features: Sequence[str], response: str) -> pd.DataFrame:
    if response not in df.columns:
        raise ConfigError(f"Response column {response!r} is not in the table; columns are {list(df.columns)}.")
    missing = [f for f in features if f not in df.columns]
    if missing:
        raise ConfigError(f"Feature column(s) {missing} are not in the table; columns are {list(df.columns)}.")
    d = df.dropna(subset=[response, *features])
    if len(d) < len(features) + 3:
        raise DataError(
            f"Only {len(d)} complete pairs for {len(features)} features; a fit needs at least "
            f"{len(features) + 3}. Use fewer features or more language pairs."
        )
    return d


def _coef_table(names, beta, se, p, ci, n, converged) -> pd.DataFrame:
    return pd.DataFrame({
        "term": list(names), "beta": np.asarray(beta, float), "se": np.asarray(se, float),
        "ci_low": np.asarray(ci)[:, 0], "ci_high": np.asarray(ci)[:, 1], "p": np.asarray(p, float),
        "n": int(n), "converged": bool(converged),
    })


def fit_ols(
    df: pd.DataFrame,
    features: Sequence[str],
    *,
    response: str = "score",
    cluster: str = "both",
    alpha: float = 0.05,
) -> TransferFit:
    """OLS of ``response`` on standardised features with cluster-robust SEs.

    Parameters
    ----------
    df : DataFrame
        One row per (task, src, tgt) pair: ``response``, ``features``, ``src``,
        ``tgt`` and (for a pooled fit over several tasks) ``task``.
    features : list of str
        Predictors; each is z-scored so its beta is the change in score per SD.
    cluster : {"both", "src", "tgt", "none"}, default="both"
        Cluster-robust covariance: two-way by source and target language
        (Cameron-Gelbach-Miller), one-way, or classical (``"none"``).
    alpha : float, default=0.05
        Confidence intervals are ``1 - alpha``; t-based with G-1 degrees of
        freedom for clustered errors (G = number of clusters).

    Returns
    -------
    TransferFit

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> L = list("abcdefgh")
    >>> d = pd.DataFrame([(s, t) for s in L for t in L if s != t], columns=["src", "tgt"])
    >>> d["x"] = rng.normal(size=len(d)); d["score"] = 0.5 + 0.1 * d["x"] + rng.normal(0, .01, len(d))
    >>> fit = fit_ols(d, ["x"])
    >>> round(float(fit.coef.set_index("term").loc["x", "beta"]), 1)
    0.1
    """
    if cluster not in _CLUSTERS:
        raise ConfigError(f"cluster={cluster!r} is not one of {_CLUSTERS}.")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha!r}.")
    d = _check(df, features, response)
    center, scale = _standardise(d, features)
    tasks = _tasks_of(d)
    X = _design(d, features, center, scale, tasks)
    y = d[response].astype(float).to_numpy()
    model = sm.OLS(y, X)
    if cluster == "none":
        res = model.fit()
    else:
        cols = {"both": ["src", "tgt"], "src": ["src"], "tgt": ["tgt"]}[cluster]
        groups = np.column_stack([pd.factorize(d[c].astype(str))[0] for c in cols])
        if groups.shape[1] == 1:
            groups = groups[:, 0]
        res = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    beta = np.asarray(res.params)
    if cluster == "none":
        se, dof = np.asarray(res.bse), float(res.df_resid)
    else:
        cov = np.asarray(res.cov_params())
        if cluster == "both":
            # two-way cluster covariance V_src + V_tgt - V_pair can be non-PSD: clip negative
            # eigenvalues to zero (Cameron, Gelbach & Miller 2011, section 2.3).
            w, v = np.linalg.eigh((cov + cov.T) / 2)
            cov = (v * np.clip(w, 0.0, None)) @ v.T
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        dof = float(min(len(np.unique(groups[:, j] if groups.ndim == 2 else groups))
                        for j in range(groups.shape[1] if groups.ndim == 2 else 1)) - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = beta / se
    tcrit = sps.t.ppf(1 - alpha / 2, dof)
    p = 2 * sps.t.sf(np.abs(tval), dof)
    ci = np.column_stack([beta - tcrit * se, beta + tcrit * se])
    coef = _coef_table(X.columns, beta, se, p, ci, len(d), True)
    return TransferFit(
        kind="ols", features=list(features), coef=coef, r2=float(res.rsquared), aic=float(res.aic),
        llf=float(res.llf), n=len(d), n_params=int(X.shape[1]), converged=True, center=center, scale=scale,
        tasks=tasks, params=pd.Series(np.asarray(res.params), index=X.columns),
        extra={"r2_adj": float(res.rsquared_adj), "cluster": cluster, "df_inference": dof},
    )


def fit_mixed(
    df: pd.DataFrame,
    features: Sequence[str],
    *,
    response: str = "score",
    reml: bool = False,
    alpha: float = 0.05,
) -> TransferFit:
    """Linear mixed model with crossed random intercepts for source and target.

    ``score = X beta + u_src + v_tgt + e`` with ``u ~ N(0, s2_src)``,
    ``v ~ N(0, s2_tgt)``, ``e ~ N(0, s2)``. statsmodels expresses crossed
    effects as variance components inside one all-encompassing group
    (``groups = 1``, ``vc_formula = {"src": "0 + C(src)", "tgt": "0 + C(tgt)"}``).

    Parameters
    ----------
    df, features, response, alpha
        As in :func:`fit_ols`.
    reml : bool, default=False
        REML estimation. The default (ML) makes AIC and likelihood-ratio tests
        between models with different fixed effects valid.

    Returns
    -------
    TransferFit
        ``r2`` is the marginal R² (variance of the fixed-effect predictions
        over total variance, Nakagawa & Schielzeth 2013); ``extra`` holds
        ``r2_conditional``, ``var_src``, ``var_tgt``, ``var_resid``.
    """
    d = _check(df, features, response)
    center, scale = _standardise(d, features)
    tasks = _tasks_of(d)
    X = _design(d, features, center, scale, tasks)
    safe = {c: f"x{i}" for i, c in enumerate(X.columns)}
    data = X.rename(columns=safe)
    data["y"] = d[response].astype(float).to_numpy()
    data["src"] = d["src"].astype(str).to_numpy()
    data["tgt"] = d["tgt"].astype(str).to_numpy()
    data["one"] = 1
    rhs = " + ".join(v for k, v in safe.items() if k != "const") or "1"
    formula = f"y ~ {rhs}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MixedLM.from_formula(
            formula, data=data, groups="one", vc_formula={"src": "0 + C(src)", "tgt": "0 + C(tgt)"}
        )
        res = None
        for method in ("lbfgs", "powell", "nm"):
            try:
                res = model.fit(reml=reml, method=method)
            except (np.linalg.LinAlgError, ValueError):
                continue
            if res.converged:
                break
        if res is None:
            raise DataError("The mixed model could not be fitted with any optimiser (singular design).")
        # statsmodels computes these lazily: evaluate them here so their warnings are recorded too
        fe = res.fe_params
        k = len(fe)
        bse = np.asarray(res.bse)[:k]
        llf = float(res.llf)
        vc = dict(zip(model.exog_vc.names, np.asarray(res.vcomp)))
        resid_var = float(res.scale)
        exog = np.asarray(res.model.exog)
        res_converged = bool(res.converged)
    conv_msgs = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    boundary = any("boundary" in m for m in conv_msgs)
    converged = res_converged and not any("boundary" not in m for m in conv_msgs)
    inv = {v: k_ for k_, v in safe.items()}
    inv["Intercept"] = "const"
    names = [inv.get(n, n) for n in fe.index]
    z = sps.norm.ppf(1 - alpha / 2)
    ci = np.column_stack([fe - z * bse, fe + z * bse])
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * sps.norm.sf(np.abs(np.asarray(fe) / bse))
    coef = _coef_table(names, fe, bse, p, ci, len(d), converged)
    var_fixed = float(np.var(exog @ np.asarray(fe)))
    var_src, var_tgt, var_res = float(vc.get("src", 0.0)), float(vc.get("tgt", 0.0)), resid_var
    total = var_fixed + var_src + var_tgt + var_res
    n_params = k + len(vc) + 1
    aic = float(-2 * llf + 2 * n_params) if not reml else float("nan")
    return TransferFit(
        kind="mixed", features=list(features), coef=coef, r2=var_fixed / total if total > 0 else float("nan"),
        aic=aic, llf=llf, n=len(d), n_params=n_params, converged=converged, center=center, scale=scale,
        tasks=tasks, params=pd.Series(np.asarray(fe), index=names),
        extra={"r2_conditional": (var_fixed + var_src + var_tgt) / total if total > 0 else float("nan"),
               "var_src": var_src, "var_tgt": var_tgt, "var_resid": var_res, "reml": reml,
               "boundary": boundary, "optimizer_warnings": " | ".join(sorted(set(conv_msgs)))},
    )


#: Transfer-model kinds accepted by :func:`fit_transfer`: name -> fitting function.
FIT_KINDS = {"ols": fit_ols, "mixed": fit_mixed}


def fit_transfer(df: pd.DataFrame, features: Sequence[str], kind: str = "ols", **kwargs) -> TransferFit:
    """Dispatch to :func:`fit_ols` or :func:`fit_mixed` by name."""
    if kind not in FIT_KINDS:
        raise ConfigError(f"Unknown fit kind {kind!r}. Available: {sorted(FIT_KINDS)}.")
    return FIT_KINDS[kind](df, features, **kwargs)


_GROUP_PATTERNS = {
    "lexical": r"lex|swadesh|vocab|overlap|subword|edit",
    "syntax": r"syntax|syntactic|word_order",
    "morphology": r"morph",
    "phonology": r"phon|inventory",
}


def default_feature_groups(features: Sequence[str]) -> dict[str, list[str]]:
    """Group feature names by family from their names (see docs/analysis.md).

    Returns
    -------
    dict
        ``lexical``, ``syntax``, ``morphology``, ``phonology``, ``other``
        (genetic, geographic, data size, model similarity ...): feature lists.
    """
    groups: dict[str, list[str]] = {g: [] for g in [*_GROUP_PATTERNS, "other"]}
    for f in features:
        for g, pat in _GROUP_PATTERNS.items():
            if re.search(pat, f, flags=re.IGNORECASE):
                groups[g].append(f)
                break
        else:
            groups["other"].append(f)
    return groups


def _lstsq_predict(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray) -> np.ndarray:
    beta, *_ = np.linalg.lstsq(Xtr, ytr, rcond=None)
    return Xte @ beta


def lolo_folds(df: pd.DataFrame, langs: Sequence[str] | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-one-language-out folds: (language, train index, test index).

    Every pair that involves the held-out language (as source or target) is
    in the test fold; training uses only pairs between the other languages.
    """
    src = df["src"].astype(str).to_numpy()
    tgt = df["tgt"].astype(str).to_numpy()
    if langs is None:
        langs = sorted(set(src) | set(tgt))
    folds = []
    for lang in langs:
        test = (src == lang) | (tgt == lang)
        if test.any() and (~test).sum() > 0:
            folds.append((lang, np.flatnonzero(~test), np.flatnonzero(test)))
    return folds


def _cv_predictions(d: pd.DataFrame, features: Sequence[str], response: str, folds, kind: str = "ols"):
    """Held-out predictions of every fold, pooled.

    A pair ``(s, t)`` is in the test fold of ``s`` and of ``t``: both of its
    held-out predictions are kept (the returned arrays have one entry per
    (fold, test pair), ``sum(len(te))`` in all), as docs/analysis.md promises.

    Returns
    -------
    y, pred, base : ndarray, shape (n_pooled,)
    per : DataFrame
        Per fold: ``held_out, n_train, n_test, mae, baseline_mae, sse, baseline_sse``.
    where : ndarray of int, shape (n_pooled,)
        Row of ``d`` of each pooled entry.
    fold : ndarray of object, shape (n_pooled,)
        Held-out language of each pooled entry.
    """
    y_all = d[response].astype(float).to_numpy()
    ys, preds, bases, wheres, langs = [], [], [], [], []
    rows = []
    tasks = _tasks_of(d)
    for lang, tr, te in folds:
        dtr, dte = d.iloc[tr], d.iloc[te]
        if kind == "ols":
            center, scale = dtr[list(features)].mean(), dtr[list(features)].std(ddof=0).replace(0, 1.0)
            Xtr = _design(dtr, features, center, scale, tasks).to_numpy(float)
            Xte = _design(dte, features, center, scale, tasks).to_numpy(float)
            p = _lstsq_predict(Xtr, y_all[tr], Xte)
        else:
            p = FIT_KINDS[kind](dtr, features, response=response).predict(dte)
        # mean baseline: training mean of the same task
        if len(tasks) > 1:
            means = dtr.groupby(dtr["task"].astype(str))[response].mean()
            b = dte["task"].astype(str).map(means).fillna(dtr[response].mean()).to_numpy(float)
        else:
            b = np.full(len(te), dtr[response].mean())
        yt = y_all[te]
        ys.append(yt), preds.append(p), bases.append(b), wheres.append(np.asarray(te))
        langs.append(np.full(len(te), lang, dtype=object))
        rows.append({"held_out": lang, "n_train": len(tr), "n_test": len(te),
                     "mae": float(np.mean(np.abs(yt - p))), "baseline_mae": float(np.mean(np.abs(yt - b))),
                     "sse": float(np.sum((yt - p) ** 2)), "baseline_sse": float(np.sum((yt - b) ** 2))})
    cat = (lambda parts, dt=float: np.concatenate(parts) if parts else np.array([], dtype=dt))
    return (cat(ys), cat(preds), cat(bases), pd.DataFrame(rows), cat(wheres, int), cat(langs, object))


def _scores(y: np.ndarray, pred: np.ndarray, base: np.ndarray) -> dict[str, float]:
    ok = np.isfinite(pred)
    y, pred, base = y[ok], pred[ok], base[ok]
    sst = np.sum((y - y.mean()) ** 2)
    sse, sse_b = np.sum((y - pred) ** 2), np.sum((y - base) ** 2)
    return {
        "r2": float(1 - sse / sst) if sst > 0 else float("nan"),
        "mae": float(np.mean(np.abs(y - pred))),
        "rmse": float(np.sqrt(np.mean((y - pred) ** 2))),
        "baseline_r2": float(1 - sse_b / sst) if sst > 0 else float("nan"),
        "baseline_mae": float(np.mean(np.abs(y - base))),
        "baseline_rmse": float(np.sqrt(np.mean((y - base) ** 2))),
        "skill": float(1 - sse / sse_b) if sse_b > 0 else float("nan"),
        "n": int(ok.sum()),
    }


def lolo_cv(
    df: pd.DataFrame,
    features: Sequence[str],
    *,
    response: str = "score",
    kind: str = "ols",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-language-out cross-validation of a transfer model.

    Parameters
    ----------
    df : DataFrame
        Pairs with ``src``, ``tgt``, ``response`` and ``features``.
    kind : {"ols", "mixed"}
        Model refitted on every training fold (standardisation included);
        predictions for unseen languages use fixed effects only.

    Returns
    -------
    summary : DataFrame
        One row: ``r2`` (1 - SSE/SST over all held-out predictions, SST about
        the overall mean), ``mae``, ``rmse``, the same for the mean baseline
        (training-fold mean per task), ``skill`` (1 - SSE/SSE_baseline), ``n``,
        ``n_folds``.
    folds : DataFrame
        Per held-out language: ``held_out, n_train, n_test, mae, baseline_mae``.
    """
    d = _check(df, features, response).reset_index(drop=True)
    folds = lolo_folds(d)
    if len(folds) < 3:
        raise DataError(f"Leave-one-language-out CV needs at least 3 languages; the table has {len(folds)}.")
    y, pred, base, per, _, _ = _cv_predictions(d, features, response, folds, kind)
    per = per.drop(columns=["sse", "baseline_sse"])
    summary = pd.DataFrame([{**_scores(y, pred, base), "n_folds": len(folds), "fit": kind,
                             "features": ",".join(features)}])
    return summary, per


def compare_feature_sets(
    df: pd.DataFrame,
    groups: Mapping[str, Sequence[str]] | None = None,
    *,
    features: Sequence[str] | None = None,
    response: str = "score",
    kind: str = "ols",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lexical-only vs syntax+morphology+phonology vs all: fits, LR tests, CV.

    Parameters
    ----------
    df : DataFrame
        Pairs with the response and every feature.
    groups : mapping name -> features, optional
        The candidate feature sets. Default, from
        :func:`default_feature_groups` over ``features``: ``lexical``,
        ``typology`` (syntax + morphology + phonology) and ``all`` (every
        feature). Empty sets are skipped.
    features : list of str, optional
        Needed when ``groups`` is None.
    kind : {"ols", "mixed"}
        Model family; fits are by maximum likelihood so LR tests are valid.

    Returns
    -------
    fits : DataFrame
        One row per set: ``set, features, n, n_params, r2, aic, llf, cv_r2,
        cv_mae, cv_rmse, baseline_cv_mae, converged``. All sets use the same
        rows (complete cases over the union of features).
    tests : DataFrame
        Likelihood-ratio tests of every nested pair (including the
        intercept-only ``null`` model): ``reduced, full, lr, df, p``.
    """
    if groups is None:
        if features is None:
            raise ConfigError("compare_feature_sets needs `groups` or `features`.")
        g = default_feature_groups(features)
        groups = {"lexical": g["lexical"], "typology": g["syntax"] + g["morphology"] + g["phonology"],
                  "all": list(features)}
    groups = {k: list(v) for k, v in groups.items() if len(v) > 0}
    if not groups:
        raise DataError("No non-empty feature set to compare; check the feature names or pass `groups`.")
    union = sorted({f for v in groups.values() for f in v})
    d = _check(df, union, response).reset_index(drop=True)
    folds = lolo_folds(d)
    fits, rows = {}, []
    for name, feats in {"null": [], **groups}.items():
        if feats:
            fit = fit_transfer(d, feats, kind, response=response)
            y, pred, base, *_ = _cv_predictions(d, feats, response, folds, "ols" if kind == "ols" else kind)
            cv = _scores(y, pred, base)
            llf, k, aic, r2, conv = fit.llf, fit.n_params, fit.aic, fit.r2, fit.converged
        else:
            tasks = _tasks_of(d)
            X = _design(d, [], pd.Series(dtype=float), pd.Series(dtype=float), tasks)
            if kind == "mixed":
                fit0 = _null_mixed(d, response, tasks)
                llf, k = fit0
            else:
                r = sm.OLS(d[response].astype(float).to_numpy(), X).fit()
                llf, k = float(r.llf), X.shape[1]
            aic, r2, conv = -2 * llf + 2 * k, 0.0, True
            y, pred, base, *_ = _cv_predictions(d, [], response, folds, "ols")
            cv = _scores(y, pred, base)
        fits[name] = (set(feats), llf, k)
        rows.append({"set": name, "features": ",".join(feats), "n": len(d), "n_params": k, "r2": r2, "aic": aic,
                     "llf": llf, "cv_r2": cv["r2"], "cv_mae": cv["mae"], "cv_rmse": cv["rmse"],
                     "baseline_cv_mae": cv["baseline_mae"], "converged": conv})
    tests = []
    for (a, (fa, la, ka)), (b, (fb, lb, kb)) in itertools.permutations(fits.items(), 2):
        if fa < fb:
            lr = max(0.0, 2 * (lb - la))
            dof = kb - ka
            tests.append({"reduced": a, "full": b, "lr": lr, "df": dof, "p": float(sps.chi2.sf(lr, dof))})
    return pd.DataFrame(rows), pd.DataFrame(tests, columns=["reduced", "full", "lr", "df", "p"])


def _null_mixed(d: pd.DataFrame, response: str, tasks: list[str]) -> tuple[float, int]:
    data = pd.DataFrame({"y": d[response].astype(float).to_numpy(), "src": d["src"].astype(str).to_numpy(),
                         "tgt": d["tgt"].astype(str).to_numpy(), "one": 1})
    rhs = "1"
    if len(tasks) > 1:
        data["task"] = d["task"].astype(str).to_numpy()
        rhs = "C(task)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = MixedLM.from_formula(f"y ~ {rhs}", data=data, groups="one",
                                 vc_formula={"src": "0 + C(src)", "tgt": "0 + C(tgt)"})
        r = m.fit(reml=False, method="lbfgs")
    return float(r.llf), len(r.fe_params) + 3


def vif_table(df: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Variance inflation factors of the standardised features.

    Returns
    -------
    DataFrame
        ``feature, vif`` (1 = uncorrelated with the others; > 10 is a common
        warning level), sorted by decreasing VIF.
    """
    d = df.dropna(subset=list(features))
    center, scale = _standardise(d, features)
    X = _design(d, features, center, scale, []).to_numpy(float)
    with np.errstate(divide="ignore"):
        vifs = [float(variance_inflation_factor(X, i + 1)) for i in range(len(features))]
    return pd.DataFrame({"feature": list(features), "vif": vifs}).sort_values("vif", ascending=False, ignore_index=True)


def best_subsets(
    df: pd.DataFrame,
    features: Sequence[str],
    *,
    sizes: Sequence[int] = (2, 3, 4),
    response: str = "score",
    top: int = 10,
) -> pd.DataFrame:
    """Exhaustive search of small feature sets ranked by LOLO CV error.

    Every subset of ``features`` with a size in ``sizes`` is fitted by OLS in
    each leave-one-language-out fold.

    Returns
    -------
    DataFrame
        The ``top`` subsets per size and overall best first: ``rank, size,
        features, cv_rmse, cv_mae, cv_r2, r2`` (in-sample).
    """
    bad = [s for s in sizes if s < 1 or s > len(features)]
    if bad:
        raise ConfigError(f"Subset sizes {bad} are outside 1..{len(features)} (number of features).")
    d = _check(df, features, response).reset_index(drop=True)
    folds = lolo_folds(d)
    y = d[response].astype(float).to_numpy()
    tasks = _tasks_of(d)
    base_cols = _design(d, [], pd.Series(dtype=float), pd.Series(dtype=float), tasks).to_numpy(float)
    Z = d[list(features)].astype(float).to_numpy()
    sst = np.sum((y - y.mean()) ** 2)
    y_cv = np.concatenate([y[te] for _, _, te in folds])
    sst_cv = np.sum((y_cv - y_cv.mean()) ** 2)
    rows = []
    for size in sizes:
        for combo in itertools.combinations(range(len(features)), size):
            err = []  # both held-out predictions of every pair, pooled (one per fold it is in)
            for _, tr, te in folds:
                Zs = Z[:, combo]
                mu, sd = Zs[tr].mean(0), Zs[tr].std(0)
                sd[sd == 0] = 1.0
                X = np.column_stack([base_cols, (Zs - mu) / sd])
                err.append(y[te] - _lstsq_predict(X[tr], y[tr], X[te]))
            err = np.concatenate(err)
            Xall = np.column_stack([base_cols, Z[:, combo]])
            fit_in = Xall @ np.linalg.lstsq(Xall, y, rcond=None)[0]
            rows.append({"size": size, "features": ",".join(features[i] for i in combo),
                         "cv_rmse": float(np.sqrt(np.mean(err ** 2))),
                         "cv_mae": float(np.mean(np.abs(err))),
                         "cv_r2": float(1 - np.sum(err ** 2) / sst_cv),
                         "r2": float(1 - np.sum((y - fit_in) ** 2) / sst)})
    out = pd.DataFrame(rows).sort_values("cv_rmse", ignore_index=True)
    out = out.groupby("size", sort=True).head(top).sort_values("cv_rmse", ignore_index=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
