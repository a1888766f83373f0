"""Dyadic-aware inference for transfer models: node permutations and LOLO comparisons.

Public names are re-exported by :mod:`analysis.stats`; formulas and the
choice of headline p-values are in docs/analysis.md ("Inference that
respects the pairs"); the size and power of every test are measured by
:mod:`analysis.calibrate` (docs/calibration.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.stats._qap import NodePermuter, complete_languages, freedman_lane, mrqap_dsp
from analysis.stats._models import (
    _check,
    _design,
    _standardise,
    _tasks_of,
    default_feature_groups,
    lolo_folds,
)
from crossling.errors import ConfigError, DataError

__all__ = [
    "METHOD_MRQAP",
    "METHOD_MRQAP_FE",
    "METHOD_FREEDMAN_LANE",
    "METHOD_FREEDMAN_LANE_FE",
    "METHOD_LR",
    "language_effects",
    "pair_level",
    "PermutationDesign",
    "permutation_design",
    "qap_coefficients",
    "set_tests",
    "default_set_groups",
    "compare_lolo",
]

#: ``method`` labels of the tables (headline: the permutation methods).
#: MRQAP (double semi-partialling) without language effects: used for features that
#: vary only with one language of the pair (data size of the source or the target).
METHOD_MRQAP = "mrqap-dsp"
#: MRQAP with source and target effects (per task) as nuisance: used for pair-level
#: features (distances); the coefficient is the within-language one.
METHOD_MRQAP_FE = "mrqap-dsp-fe"
#: Method label of the Freedman-Lane node-permutation test of a feature block
#: (no language effects: used when the added block has a language-level feature).
METHOD_FREEDMAN_LANE = "freedman-lane-node"
#: Freedman-Lane with source and target effects (per task) in the reduced model:
#: used when every added feature is pair-level.
METHOD_FREEDMAN_LANE_FE = "freedman-lane-node-fe"
#: Method label of the iid likelihood-ratio test (model-based; not what conclusions rest on).
METHOD_LR = "model-based-lr"

SET_TEST_COLUMNS = ["reduced", "full", "stat", "df", "p", "method", "headline", "permutations", "n_langs", "n"]


@dataclass
class PermutationDesign:
    """Rows of a transfer design that form complete matrices, and their node-permutation row maps.

    Attributes
    ----------
    data : DataFrame
        The rows used (every ordered pair of ``langs`` in every task).
    langs : list of str
    maps : ndarray of int, shape (permutations, n_rows)
    dropped : list of str
        Languages left out to make the matrices complete.
    """

    data: pd.DataFrame
    langs: list[str]
    maps: np.ndarray
    dropped: list[str]
    groups: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def permutations(self) -> int:
        return int(self.maps.shape[0])


def permutation_design(df: pd.DataFrame, *, permutations: int = 999,
                       seed: int | np.random.Generator | None = 0) -> PermutationDesign:
    """Restrict a pair design to complete matrices and draw the node permutations.

    Parameters
    ----------
    df : DataFrame
        One row per (task, src, tgt) with no missing values in the columns
        that will be tested.
    permutations : int, default=999
        Language permutations; the same permutation is applied to every task.
    seed : int or Generator

    Returns
    -------
    PermutationDesign
    """
    if not isinstance(permutations, (int, np.integer)) or permutations < 1:
        raise ConfigError(f"permutations must be a positive integer, got {permutations!r}.")
    block = df["task"].astype(str) if "task" in df.columns else pd.Series("all", index=df.index)
    all_langs = sorted(set(df["src"].astype(str)) | set(df["tgt"].astype(str)))
    langs = complete_languages(df["src"], df["tgt"], block)
    if len(langs) < 4:
        raise DataError(
            f"Node-permutation tests need complete transfer matrices over at least 4 languages; only {langs} "
            "have every ordered pair in every task. Add the missing pairs or test fewer tasks."
        )
    keep = df["src"].astype(str).isin(langs) & df["tgt"].astype(str).isin(langs)
    d = df[keep].reset_index(drop=True)
    perm = NodePermuter(d["src"].to_numpy(), d["tgt"].to_numpy(), block[keep].to_numpy())
    rng = np.random.default_rng(seed)
    maps = perm.row_maps(perm.random_perms(int(permutations), rng))
    return PermutationDesign(d, langs, maps, sorted(set(all_langs) - set(langs)), perm.groups())


def _zdesign(d: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    center, scale = _standardise(d, features) if features else (pd.Series(dtype=float), pd.Series(dtype=float))
    return _design(d, features, center, scale, _tasks_of(d))


def language_effects(d: pd.DataFrame) -> np.ndarray:
    """Dummy columns of the source and target effects, one set per task.

    Parameters
    ----------
    d : DataFrame
        Pairs with ``src``, ``tgt`` (and ``task`` for a pooled table).

    Returns
    -------
    ndarray, shape (n_rows, 2 * n_tasks * n_langs)
        Indicator of ``(task, source)`` and of ``(task, target)``; the columns
        are collinear with the intercept and task dummies (the tests use the
        column space, so that does not matter).
    """
    task = d["task"].astype(str).to_numpy() if "task" in d.columns else np.zeros(len(d), dtype=str)
    cols = []
    for role in ("src", "tgt"):
        key = pd.Series(task).str.cat(d[role].astype(str).to_numpy(), sep="\x1f")
        codes, uniq = pd.factorize(key)
        m = np.zeros((len(d), len(uniq)))
        m[np.arange(len(d)), codes] = 1.0
        cols.append(m)
    return np.hstack(cols)


#: A feature is pair-level when at least this share of its variance is left after the
#: source and target effects (a data size of the source alone leaves 0).
PAIR_LEVEL_SHARE = 1e-6


def pair_level(X: np.ndarray, effects: np.ndarray) -> np.ndarray:
    """Which columns of ``X`` vary within languages (not spanned by the source/target effects).

    Returns
    -------
    ndarray of bool, shape (n_columns,)
        True where the share of the column's variance left after projecting
        out ``effects`` exceeds :data:`PAIR_LEVEL_SHARE`.
    """
    Q = np.linalg.svd(effects, full_matrices=False)[0][:, : np.linalg.matrix_rank(effects)]
    Xc = X - X.mean(0)
    left = Xc - Q @ (Q.T @ Xc)
    tot = np.einsum("ij,ij->j", Xc, Xc)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(tot > 0, np.einsum("ij,ij->j", left, left) / tot, 0.0)
    return share > PAIR_LEVEL_SHARE


def qap_coefficients(
    df: pd.DataFrame,
    features: Sequence[str],
    *,
    response: str = "score",
    permutations: int = 999,
    seed: int | np.random.Generator | None = 0,
    design: PermutationDesign | None = None,
    robust: bool = False,
    fixed_effects: bool = True,
) -> pd.DataFrame:
    """MRQAP coefficient tests (Dekker et al. 2007 double semi-partialling).

    Parameters
    ----------
    df : DataFrame
        Pairs with ``src``, ``tgt``, ``response``, ``features`` (and ``task``
        for a pooled fit).
    features : list of str
        Predictors, z-scored as in :func:`analysis.stats.fit_ols`.
    permutations : int, default=999
    design : PermutationDesign, optional
        Reuse drawn permutations (``df`` is then ignored).
    robust : bool, default=False
        Studentise with the dyadic-robust standard error instead of the
        classical one (see :func:`analysis.stats._qap.mrqap_dsp`). A paired pilot
        (500 simulated tables, 10 languages) showed no gain in size, at twice
        the cost, so the default is the classical t.
    fixed_effects : bool, default=True
        Test pair-level features (those that vary within languages, e.g.
        distances) in the model with source and target effects per task
        (:func:`language_effects`) as nuisance: ``beta`` and ``t`` are then
        the within-language ones and ``method`` is ``"mrqap-dsp-fe"``. A
        language's general quality as a source or target is thereby removed
        from the residual the permutation reshuffles, which is what keeps
        the size at 10 languages (docs/calibration.md). Features that vary
        only with one language of the pair (data size of the source) are
        spanned by those effects and are tested without them
        (``"mrqap-dsp"``). False: every feature without them. Where every
        permutation reproduces the observed t (too few languages for the
        feature's within-language part to vary, e.g. 4 languages), ``p`` is
        NaN and a warning says so.

    Returns
    -------
    DataFrame
        ``term, beta, t, p, method, permutations, n_langs, n``: one row per
        feature (OLS coefficient per SD on the complete-matrix rows, its
        classical t and the node-permutation p of that t).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> L = list("abcdefghij")
    >>> d = pd.DataFrame([(s, t) for s in L for t in L if s != t], columns=["src", "tgt"])
    >>> d["x"] = rng.normal(size=len(d)); d["score"] = 0.3 * d["x"] + rng.normal(size=len(d))
    >>> float(qap_coefficients(d, ["x"], permutations=199)["p"].iloc[0]) < 0.05
    True
    """
    if design is None:
        d0 = _check(df, features, response)
        design = permutation_design(d0, permutations=permutations, seed=seed)
    d = design.data
    X = _zdesign(d, features)
    Xn = X.to_numpy(float)
    y = d[response].astype(float).to_numpy()
    cols = np.array([X.columns.get_loc(f) for f in features], dtype=int)
    groups = design.groups if robust else None
    n_f = len(cols)
    beta, t, p = np.full(n_f, np.nan), np.full(n_f, np.nan), np.full(n_f, np.nan)
    method = np.array([METHOD_MRQAP] * n_f, dtype=object)
    within = np.zeros(n_f, dtype=bool)
    if fixed_effects and n_f:
        E = language_effects(d)
        within = pair_level(Xn[:, cols], E)
    if within.any():
        XE = np.hstack([Xn, E])
        b = np.linalg.lstsq(XE, y, rcond=None)[0]
        tw, pw = mrqap_dsp(y, XE, design.maps, cols[within], groups=groups)
        beta[within], t[within], p[within] = b[cols[within]], tw, pw
        method[within] = METHOD_MRQAP_FE
    if (~within).any():
        b = np.linalg.lstsq(Xn, y, rcond=None)[0]
        tb, pb = mrqap_dsp(y, Xn, design.maps, cols[~within], groups=groups)
        beta[~within], t[~within], p[~within] = b[cols[~within]], tb, pb
    return pd.DataFrame({"term": list(features), "beta": beta, "t": t, "p": p, "method": method,
                         "permutations": design.permutations, "n_langs": len(design.langs), "n": len(d)})


def default_set_groups(features: Sequence[str]) -> dict[str, list[str]]:
    """The compared feature sets: ``lexical``, ``typology`` (syntax + morphology
    + phonology), ``lexical+typology`` and ``all``; empty or duplicate sets are dropped."""
    g = default_feature_groups(features)
    typ = g["syntax"] + g["morphology"] + g["phonology"]
    cand = {"lexical": g["lexical"], "typology": typ, "lexical+typology": g["lexical"] + typ,
            "all": list(features)}
    out: dict[str, list[str]] = {}
    for name, feats in cand.items():
        if feats and all(set(feats) != set(v) for v in out.values()):
            out[name] = list(feats)
    return out


def set_tests(
    df: pd.DataFrame,
    groups: Mapping[str, Sequence[str]] | None = None,
    *,
    features: Sequence[str] | None = None,
    response: str = "score",
    permutations: int = 999,
    seed: int | np.random.Generator | None = 0,
    design: PermutationDesign | None = None,
    include_lr: bool = True,
    robust: bool = False,
    fixed_effects: bool = True,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Nested comparisons of feature sets by Freedman-Lane node permutation (+ model-based LR).

    Every pair of sets where one is a strict subset of the other is compared
    (the intercept-only ``null`` set included): does the larger set explain
    transfer beyond the smaller one?

    Parameters
    ----------
    groups : mapping name -> features, optional
        Default :func:`default_set_groups` of ``features``.
    permutations : int, default=999
        Node permutations (ignored when ``design`` is given); 0: only the
        model-based LR rows (used when no complete matrices over 4+
        languages exist).
    include_lr : bool, default=True
        Also add the iid-OLS likelihood-ratio test of each comparison, with
        ``method = "model-based-lr"`` and ``headline = False`` (it does not
        keep its level when languages have effects of their own; see
        docs/calibration.md).
    robust : bool, default=False
        Use the dyadic-robust Wald statistic instead of the classical F
        (see :func:`analysis.stats._qap.freedman_lane`).
    fixed_effects : bool, default=True
        When every added feature is pair-level (:func:`pair_level`), the
        reduced model of the permutation test also holds the source and
        target effects per task (``method = "freedman-lane-node-fe"``): the
        test asks whether the added block explains transfer within
        languages, and keeps its size when languages have effects of their
        own (docs/calibration.md). A comparison that adds a language-level
        feature (data size) is tested without them (``"freedman-lane-node"``),
        as is a block whose within-language part is collinear with the
        reduced model (few languages); a block that adds nothing at all gets
        ``p = NaN``.
    pairs : list of (reduced, full), optional
        Only these comparisons, in this order (names from ``groups`` or
        ``"null"``; each ``reduced`` must be a strict subset of its ``full``).
        Default: every nested pair.

    Returns
    -------
    DataFrame
        ``reduced, full, stat, df, p, method, headline, permutations,
        n_langs, n``. ``stat`` is the F-statistic (Freedman-Lane) or the LR
        statistic.
    """
    if groups is None:
        if features is None:
            raise ConfigError("set_tests needs `groups` or `features`.")
        groups = default_set_groups(features)
    groups = {k: list(v) for k, v in groups.items() if len(v) > 0}
    if not groups:
        raise DataError("No non-empty feature set to compare; check the feature names or pass `groups`.")
    union = sorted({f for v in groups.values() for f in v})
    if design is None and permutations == 0:
        d, n_langs, n_perm = _check(df, union, response).reset_index(drop=True), 0, 0
    else:
        if design is None:
            design = permutation_design(_check(df, union, response), permutations=permutations, seed=seed)
        d, n_langs, n_perm = design.data, len(design.langs), design.permutations
    y = d[response].astype(float).to_numpy()
    Xall = _zdesign(d, union)
    base = [c for c in Xall.columns if c == "const" or c.startswith("task[")]
    sets = {"null": [], **groups}
    E = language_effects(d) if fixed_effects else None
    within = dict(zip(union, pair_level(Xall[union].to_numpy(float), E))) if E is not None else {}
    if pairs is None:
        todo = [(a, b) for a, b in itertools.permutations(sets, 2) if set(sets[a]) < set(sets[b])]
    else:
        todo = _check_set_pairs(pairs, sets)
    rows = []
    for a, b in todo:
        fa, fb = sets[a], sets[b]
        added = [f for f in fb if f not in fa]
        Xr = Xall[base + list(fa)].to_numpy(float)
        Xa = Xall[added].to_numpy(float)
        common = {"reduced": a, "full": b, "permutations": n_perm, "n_langs": n_langs, "n": len(d)}
        q = np.linalg.matrix_rank(np.hstack([Xr, Xa])) - np.linalg.matrix_rank(Xr)
        if n_perm:
            fe = E is not None and all(within[f] for f in added) and _adds_within(Xr, E, Xa)
            Xr_test = np.hstack([Xr, E]) if fe else Xr
            method = METHOD_FREEDMAN_LANE_FE if fe else METHOD_FREEDMAN_LANE
            if q < 1:  # the added block is collinear with the reduced one: nothing to test
                rows.append({**common, "stat": np.nan, "df": 0, "p": np.nan, "headline": True, "method": method})
            else:
                F, p, q_fl = freedman_lane(y, Xr_test, Xa, design.maps, groups=design.groups if robust else None)
                rows.append({**common, "stat": F, "df": q_fl, "p": p, "headline": True, "method": method})
        if include_lr:
            rr = _rss(y, Xr)
            rf = _rss(y, np.hstack([Xr, Xa]))
            lr = max(0.0, len(y) * np.log(rr / rf))
            rows.append({**common, "stat": lr, "df": q, "p": float(sps.chi2.sf(lr, q)), "method": METHOD_LR,
                         "headline": False, "permutations": 0})
    return pd.DataFrame(rows, columns=SET_TEST_COLUMNS)


def _adds_within(Xr: np.ndarray, E: np.ndarray, Xa: np.ndarray) -> bool:
    """Whether the added block still adds columns, and leaves residual df, once the language effects are in.

    With few languages the within-language part of several distances can be
    spanned by fewer directions than the block has columns; the block is then
    tested without the effects (and labelled so) instead of failing.
    """
    r_red = np.linalg.matrix_rank(np.hstack([Xr, E]))
    r_full = np.linalg.matrix_rank(np.hstack([Xr, E, Xa]))
    return r_full - r_red == np.linalg.matrix_rank(np.hstack([Xr, Xa])) - np.linalg.matrix_rank(Xr) \
        and r_full < Xr.shape[0]


def _check_set_pairs(pairs: Sequence[tuple[str, str]], sets: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ConfigError(f"The 'pairs' parameter takes (reduced, full) name pairs, got {pair!r}; "
                              f"for example pairs=[('lexical', 'lexical+typology')].")
        a, b = pair
        unknown = [x for x in (a, b) if x not in sets]
        if unknown:
            raise ConfigError(f"The 'pairs' parameter names unknown feature set(s) {unknown}; "
                              f"known: {sorted(sets)}.")
        if not set(sets[a]) < set(sets[b]):
            raise ConfigError(f"The 'pairs' parameter has ({a!r}, {b!r}), but set {a!r} is not a strict subset "
                              f"of {b!r}, so they cannot be compared as nested models; swap or drop the pair.")
        out.append((str(a), str(b)))
    return out


def _rss(y: np.ndarray, X: np.ndarray) -> float:
    r = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    return float(r @ r)


def _fold_sse(y: np.ndarray, base: np.ndarray, Z: np.ndarray, folds) -> np.ndarray:
    """Per-fold SSE of OLS on ``[base, z-scored Z]`` refitted (and re-standardised) without the fold."""
    out = np.empty(len(folds))
    for i, (_, tr, te) in enumerate(folds):
        mu, sd = Z[tr].mean(0), Z[tr].std(0)
        sd[sd == 0] = 1.0
        X = np.column_stack([base, (Z - mu) / sd])
        beta = np.linalg.lstsq(X[tr], y[tr], rcond=None)[0]
        r = y[te] - X[te] @ beta
        out[i] = r @ r
    return out


def compare_lolo(
    df: pd.DataFrame,
    groups: Mapping[str, Sequence[str]] | None = None,
    *,
    features: Sequence[str] | None = None,
    response: str = "score",
    pairs: Sequence[tuple[str, str]] | None = None,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Difference in leave-one-language-out CV error between feature sets, with a language-level CI.

    Every set is fitted by OLS in each LOLO fold; both held-out predictions of
    a pair are pooled. The per-language fold sums of squared errors of the two
    sets are paired; languages are resampled with replacement (paired
    bootstrap, ``n_boot`` draws) and the percentile interval of the pooled
    RMSE difference is reported; ``p`` is a paired sign-flip permutation test
    over languages of the per-language MSE differences.

    Parameters
    ----------
    groups : mapping name -> features, optional
        Default :func:`default_set_groups` (plus the intercept-only ``null``).
    pairs : list of (a, b), optional
        Which differences ``a - b``; default every pair of sets, in order.

    Returns
    -------
    DataFrame
        ``set_a, set_b, cv_rmse_a, cv_rmse_b, diff_rmse, ci_low, ci_high,
        p, n_langs, n_boot, method`` (negative ``diff_rmse``: ``set_a``
        predicts unseen languages better).
    """
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha!r}.")
    if groups is None:
        if features is None:
            raise ConfigError("compare_lolo needs `groups` or `features`.")
        groups = default_set_groups(features)
    sets = {"null": [], **{k: list(v) for k, v in groups.items() if len(v) > 0}}
    union = sorted({f for v in sets.values() for f in v})
    d = _check(df, union, response).reset_index(drop=True)
    folds = lolo_folds(d)
    if len(folds) < 3:
        raise DataError(f"LOLO comparison needs at least 3 languages; the table has {len(folds)}.")
    langs = [f[0] for f in folds]
    y = d[response].astype(float).to_numpy()
    base = _design(d, [], pd.Series(dtype=float), pd.Series(dtype=float), _tasks_of(d)).to_numpy(float)
    nn = np.array([len(te) for _, _, te in folds], float)
    sse = {name: _fold_sse(y, base, d[feats].to_numpy(float), folds) for name, feats in sets.items()}
    if pairs is None:
        pairs = list(itertools.combinations(sets, 2))
    unknown = sorted({x for pr in pairs for x in pr} - set(sets))
    if unknown:
        raise ConfigError(f"Unknown feature set(s) {unknown} in pairs; available: {sorted(sets)}.")
    rng = np.random.default_rng(seed)
    L = len(langs)
    idx = rng.integers(0, L, size=(n_boot, L))
    signs = rng.choice([-1.0, 1.0], size=(n_boot, L))
    rows = []
    for a, b in pairs:
        ra = np.sqrt(sse[a].sum() / nn.sum())
        rb = np.sqrt(sse[b].sum() / nn.sum())
        boot = np.sqrt(sse[a][idx].sum(1) / nn[idx].sum(1)) - np.sqrt(sse[b][idx].sum(1) / nn[idx].sum(1))
        lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
        dm = sse[a] / nn - sse[b] / nn
        obs = dm.mean()
        null = (signs * dm[None, :]).mean(1)
        p = float((1 + np.sum(np.abs(null) >= abs(obs) * (1 - 1e-12))) / (1 + n_boot))
        rows.append({"set_a": a, "set_b": b, "cv_rmse_a": float(ra), "cv_rmse_b": float(rb),
                     "diff_rmse": float(ra - rb), "ci_low": float(lo), "ci_high": float(hi), "p": p,
                     "n_langs": L, "n_boot": int(n_boot), "method": "lolo-language-bootstrap"})
    return pd.DataFrame(rows)
