"""Few-shot learning curves: the law score(k) = a + b log(k + c).

``k`` is the number of target-language training examples added to the
source-language training set (``k = 0`` is zero-shot transfer). With the
default ``c = 1`` the law is defined at ``k = 0`` and ``a`` is the zero-shot
score; ``b`` is the gain per e-fold increase of ``k + 1``. With ``c="fit"``,
``c`` is chosen on a log-spaced grid in [0.01, 1000] by least squares
(profile likelihood: for each ``c`` the law is linear in ``a`` and ``b``).

Examples
--------
>>> import numpy as np
>>> k = np.array([0, 10, 100, 1000])
>>> law = fit_law(k, 0.4 + 0.05 * np.log(k + 1))
>>> round(law.a, 3), round(law.b, 3)
(0.4, 0.05)
>>> round(law.k_for(0.6))  # exp((0.6 - 0.4) / 0.05) - 1
54
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from crossling.errors import ConfigError, DataError
from crossling.tables import require_columns

__all__ = ["FewShotLaw", "fit_law", "fit_laws", "extrapolation_error", "extrapolation_k", "k_for_score",
           "law_predict"]

_C_GRID = np.logspace(-2, 3, 151)


def law_predict(k: np.ndarray | float, a: float, b: float, c: float) -> np.ndarray:
    """``a + b * log(k + c)``; ``k`` of shape (n,) or scalar."""
    return a + b * np.log(np.asarray(k, float) + c)


def k_for_score(s: float | np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """Invert the law: the number of target examples to reach score ``s``.

    ``k(s) = exp((s - a) / b) - c``, clipped at 0 (the score is already reached
    with no target examples). ``inf`` when ``b <= 0`` and ``s`` exceeds the
    zero-example score (the curve never reaches it).
    """
    s = np.asarray(s, float)
    if b <= 0:
        reached = s <= law_predict(0.0, a, b, c)
        return np.where(reached, 0.0, np.inf)
    with np.errstate(over="ignore"):
        k = np.exp((s - a) / b) - c
    return np.clip(k, 0.0, None)


@dataclass(frozen=True)
class FewShotLaw:
    """A fitted few-shot law ``score(k) = a + b log(k + c)``.

    Attributes
    ----------
    a, b, c : float
    a_se, b_se : float
        Standard errors of ``a`` and ``b`` (OLS, conditional on ``c``).
    r2, rmse : float
        Fit quality on the fitted points.
    n, n_k : int
        Points (all seeds) and distinct ``k`` values.
    k_min, k_max : float
    c_fitted : bool
    """

    a: float
    b: float
    c: float
    a_se: float
    b_se: float
    r2: float
    rmse: float
    n: int
    n_k: int
    k_min: float
    k_max: float
    c_fitted: bool

    def predict(self, k: np.ndarray | float) -> np.ndarray:
        """Predicted score at ``k``."""
        return law_predict(k, self.a, self.b, self.c)

    def k_for(self, s: float) -> float:
        """Examples needed to reach score ``s`` (see :func:`k_for_score`)."""
        return float(k_for_score(s, self.a, self.b, self.c))


def _ols_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float, float]:
    X = np.column_stack([np.ones_like(x), x])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    sse = float(resid @ resid)
    dof = max(len(y) - 2, 1)
    cov = sse / dof * np.linalg.pinv(X.T @ X)
    return float(beta[0]), float(beta[1]), sse, float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))


def fit_law(k: Sequence[float], score: Sequence[float], c: float | str = 1.0) -> FewShotLaw:
    """Fit ``score = a + b log(k + c)`` by least squares.

    Parameters
    ----------
    k : array-like, shape (n,)
        Target-example counts (>= 0); repeated ``k`` (seeds) are fine.
    score : array-like, shape (n,)
    c : float > 0 or "fit", default=1.0
        Fixed offset, or ``"fit"`` to choose it on a grid (needs >= 4
        distinct ``k``).

    Returns
    -------
    FewShotLaw
    """
    k = np.asarray(k, float)
    y = np.asarray(score, float)
    if k.shape != y.shape or k.ndim != 1:
        raise ConfigError(f"k and score must be 1-D of the same length, got shapes {k.shape} and {y.shape}.")
    ok = np.isfinite(k) & np.isfinite(y)
    k, y = k[ok], y[ok]
    if np.any(k < 0):
        raise DataError(f"k must be >= 0 (number of target examples), got {k[k < 0][:3].tolist()}.")
    n_k = len(np.unique(k))
    if c == "fit":
        if n_k < 4:
            raise DataError(f"Fitting c needs at least 4 distinct k values, got {n_k}; use a fixed c (e.g. 1).")
        grid = _C_GRID if k.min() > 0 else _C_GRID[_C_GRID > 0]
        sses = [_ols_line(np.log(k + cc), y)[2] for cc in grid]
        cval, fitted = float(grid[int(np.argmin(sses))]), True
    else:
        try:
            cval = float(c)
        except (TypeError, ValueError):
            raise ConfigError(f"c must be a positive number or 'fit', got {c!r}.") from None
        if not cval > 0 and not (cval == 0 and k.min() > 0):
            raise ConfigError(f"c must be > 0 (or 0 when every k > 0), got {c!r}.")
        fitted = False
    if n_k < 2:
        raise DataError(f"A few-shot law needs at least 2 distinct k values, got {n_k} ({np.unique(k).tolist()}).")
    a, b, sse, a_se, b_se = _ols_line(np.log(k + cval), y)
    sst = float(np.sum((y - y.mean()) ** 2))
    return FewShotLaw(a, b, cval, a_se, b_se, 1 - sse / sst if sst > 0 else float("nan"),
                      float(np.sqrt(sse / len(y))), int(len(y)), int(n_k), float(k.min()), float(k.max()), fitted)


def _group_cols(table: pd.DataFrame, group: Sequence[str] | None) -> list[str]:
    if group is None:
        group = [g for g in ("model", "task", "src", "tgt", "metric", "layer") if g in table.columns]
    missing = [g for g in group if g not in table.columns]
    if missing:
        raise ConfigError(f"Group column(s) {missing} are not in the transfer table ({list(table.columns)}).")
    return list(group)


def fit_laws(
    table: pd.DataFrame,
    *,
    group: Sequence[str] | None = None,
    c: float | str = 1.0,
    regimes: Sequence[str] | None = None,
    min_k: int = 2,
) -> pd.DataFrame:
    """Fit the law per (model, task, src, tgt, metric, layer) of a transfer table.

    Parameters
    ----------
    table : DataFrame
        A ``transfer.run`` table with several ``k`` per group (seeds are
        replicate points).
    group : list of str, optional
        Grouping columns (default: those of model, task, src, tgt, metric,
        layer present).
    regimes : list of str, optional
        Keep only these regimes (e.g. zero-shot and few-shot rows).
    min_k : int, default=2
        Groups with fewer distinct ``k`` are skipped.

    Returns
    -------
    DataFrame
        Group columns + ``a, b, c, a_se, b_se, r2, rmse, n, n_k, k_min, k_max,
        c_fitted``.
    """
    require_columns(table, ("k", "value"), "transfer table")
    t = table
    if regimes is not None:
        t = t[t["regime"].astype(str).isin(list(regimes))]
    cols = _group_cols(t, group)
    rows = []
    for key, sub in t.groupby(cols, sort=True, dropna=False):
        kk = pd.to_numeric(sub["k"], errors="coerce").to_numpy(float)
        if len(np.unique(kk[np.isfinite(kk)])) < max(min_k, 4 if c == "fit" else 2):
            continue
        law = fit_law(kk, pd.to_numeric(sub["value"], errors="coerce").to_numpy(float), c)
        rows.append({**dict(zip(cols, key if isinstance(key, tuple) else (key,))), **asdict(law)})
    if not rows:
        raise DataError(f"No group of the transfer table (grouped by {cols}) has {min_k} or more distinct k values.")
    return pd.DataFrame(rows)


def extrapolation_k(ks: Sequence[float], *, min_fit: int = 3) -> float | None:
    """The largest ``k`` of the fitting side for an extrapolation check, or None.

    The fit uses the smaller half of the distinct ``k`` (at least ``min_fit``
    of them) and at least one larger ``k`` must remain to be predicted;
    ``None`` when there are too few distinct ``k`` (the check cannot be made).

    Examples
    --------
    >>> extrapolation_k([0, 10, 50, 100, 250, 500, 1000])
    100.0
    >>> extrapolation_k([0, 10, 100]) is None
    True
    """
    kv = np.unique(np.asarray([k for k in ks if np.isfinite(k)], float))
    n_fit = max(min_fit, (len(kv) + 1) // 2)
    if len(kv) < n_fit + 1:
        return None
    return float(kv[n_fit - 1])


def extrapolation_error(
    table: pd.DataFrame,
    *,
    k_fit_max: float,
    group: Sequence[str] | None = None,
    c: float | str = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit on ``k <= k_fit_max``, predict the mean score at every larger ``k``.

    Returns
    -------
    points : DataFrame
        Group columns + ``k, observed`` (mean over seeds), ``predicted,
        error`` (predicted - observed), ``abs_error``, ``b`` of the small-k fit.
    summary : DataFrame
        Per group: ``mae, max_abs_error, n_points`` and, over all groups, one
        row with group columns set to ``"all"``.
    """
    require_columns(table, ("k", "value"), "transfer table")
    cols = _group_cols(table, group)
    pts = []
    for key, sub in table.groupby(cols, sort=True, dropna=False):
        kk = pd.to_numeric(sub["k"], errors="coerce")
        small, large = sub[kk <= k_fit_max], sub[kk > k_fit_max]
        if large.empty or len(pd.unique(pd.to_numeric(small["k"]))) < (4 if c == "fit" else 2):
            continue
        law = fit_law(pd.to_numeric(small["k"]).to_numpy(float), pd.to_numeric(small["value"]).to_numpy(float), c)
        obs = large.assign(k=pd.to_numeric(large["k"])).groupby("k")["value"].mean()
        keyd = dict(zip(cols, key if isinstance(key, tuple) else (key,)))
        for kv, ov in obs.items():
            pv = float(law.predict(kv))
            pts.append({**keyd, "k": float(kv), "observed": float(ov), "predicted": pv, "error": pv - float(ov),
                        "abs_error": abs(pv - float(ov)), "b": law.b, "k_fit_max": float(k_fit_max)})
    if not pts:
        raise DataError(
            f"No group has at least 2 distinct k <= {k_fit_max} and a larger k to predict; lower or raise k_fit_max."
        )
    points = pd.DataFrame(pts)
    summ = points.groupby(cols, dropna=False).agg(mae=("abs_error", "mean"), max_abs_error=("abs_error", "max"),
                                                  n_points=("abs_error", "size")).reset_index()
    overall = {c_: "all" for c_ in cols}
    overall.update(mae=float(points["abs_error"].mean()), max_abs_error=float(points["abs_error"].max()),
                   n_points=len(points))
    summ = pd.concat([summ.astype({c_: object for c_ in cols}), pd.DataFrame([overall])], ignore_index=True)
    return points, summ
