"""Shared shaping of the suite's tidy tables for the statistical analyses.

Everything here is pure pandas: select the rows of a transfer table that form
one analysis, pivot the pair-feature table into one row per ordered
``(src, tgt)`` pair, and turn a long pair table into a labelled square matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from crossling.errors import ConfigError, DataError, suggest
from crossling.schemas import ALIGNMENT_COLUMNS as ALIGNMENT_COLUMNS_ALL
from crossling.schemas import FEATURE_COLUMNS, PROBE_COLUMNS, TRANSFER_COLUMNS
from crossling.tables import require_columns

__all__ = [
    "TRANSFER_COLUMNS",
    "ALIGNMENT_COLUMNS",
    "PROBE_COLUMNS",
    "FEATURE_COLUMNS",
    "select_transfer",
    "features_wide",
    "pair_design",
    "square_matrix",
    "offdiag_pairs",
]

#: What an analysis requires of an alignment table: the core of :data:`crossling.schemas.ALIGNMENT_COLUMNS`
#: (tables written before the null-level columns existed still load).
ALIGNMENT_COLUMNS = ALIGNMENT_COLUMNS_ALL[:10]


def _filter_one(df: pd.DataFrame, column: str, wanted: object, what: str) -> pd.DataFrame:
    """Keep rows with ``column == wanted``; if ``wanted`` is None require a single value."""
    values = df[column].dropna().unique().tolist()
    if wanted is None:
        if len(values) > 1:
            raise ConfigError(
                f"The {what} holds several values of {column!r}: {sorted(map(str, values))}. "
                f"Choose one with the {column!r} parameter (--{column} on the command line)."
            )
        return df
    keep = df[column].astype(str) == str(wanted)
    try:
        num = float(wanted)  # "12" from the command line matches a numeric 12 or 12.0 column
    except (TypeError, ValueError):
        num = None
    if num is not None and not isinstance(wanted, bool):
        keep = keep | (pd.to_numeric(df[column], errors="coerce") == num)
    if not keep.any():
        raise ConfigError(
            f"No rows with {column}={wanted!r} in the {what}.{suggest(str(wanted), map(str, values))} "
            f"Available: {sorted(map(str, values))}."
        )
    return df[keep]


def select_transfer(
    table: pd.DataFrame,
    *,
    task: str | Sequence[str] | None = None,
    metric: str | None = None,
    model: str | None = None,
    regime: str | None = None,
    layer: object | None = None,
    k: int | None = 0,
    include_self: bool = False,
) -> pd.DataFrame:
    """Select one analysis from a transfer table and average over seeds.

    Parameters
    ----------
    table : DataFrame
        A ``transfer.run`` table (columns ``TRANSFER_COLUMNS``).
    task : str or list of str, optional
        Task(s) to keep; ``None`` keeps every task (a pooled analysis).
    metric, model, regime, layer : optional
        Filters. When ``None`` the column must hold a single value per task
        (otherwise a :class:`ConfigError` lists the choices), so that no
        analysis silently mixes metrics, models or regimes.
    k : int or None, default=0
        Number of target-language training examples; 0 selects zero-shot
        transfer. ``None`` keeps every ``k``.
    include_self : bool, default=False
        Keep ``src == tgt`` rows (in-language results).

    Returns
    -------
    DataFrame
        One row per (model, task, src, tgt, k): columns ``model, task, src,
        tgt, k, metric, score`` (mean over seeds), ``score_sd``, ``n_seeds``.
    """
    require_columns(table, ("task", "src", "tgt", "metric", "value"), "transfer table")
    df = table.copy()
    for col, default in (("model", "unknown"), ("regime", "unknown"), ("layer", -1), ("k", 0), ("seed", 0)):
        if col not in df.columns:
            df[col] = default
    if task is not None:
        tasks = [task] if isinstance(task, str) else list(task)
        have = sorted(df["task"].astype(str).unique())
        bad = [t for t in tasks if t not in have]
        if bad:
            raise ConfigError(
                f"Task {bad[0]!r} is not in the transfer table.{suggest(bad[0], have)} Available: {have}."
            )
        df = df[df["task"].astype(str).isin(tasks)]
    if k is not None:
        df = _filter_one(df, "k", k, "transfer table")
    parts = []
    for t, sub in df.groupby("task", sort=True):
        for col, wanted in (("model", model), ("regime", regime), ("layer", layer), ("metric", metric)):
            sub = _filter_one(sub, col, wanted, f"transfer table (task {t!r})")
        parts.append(sub)
    if not parts:
        raise DataError("The transfer table has no rows for the requested selection.")
    df = pd.concat(parts)
    if not include_self:
        df = df[df["src"].astype(str) != df["tgt"].astype(str)]
    df = df.assign(value=pd.to_numeric(df["value"], errors="coerce")).dropna(subset=["value"])
    if df.empty:
        raise DataError("No finite transfer scores left after selection (and dropping src == tgt).")
    out = (
        df.groupby(["model", "task", "src", "tgt", "k", "metric"], sort=True)["value"]
        .agg(score="mean", score_sd="std", n_seeds="count")
        .reset_index()
    )
    out["src"] = out["src"].astype(str)
    out["tgt"] = out["tgt"].astype(str)
    return out


def features_wide(
    features: pd.DataFrame,
    names: Sequence[str] | None = None,
    *,
    mirror: bool = True,
) -> pd.DataFrame:
    """Pivot a tidy pair-feature table into one row per ordered pair.

    Parameters
    ----------
    features : DataFrame
        Columns ``lang_a, lang_b, feature, value`` (``source`` optional).
    names : list of str, optional
        Features to keep (default: all).
    mirror : bool, default=True
        Fill the missing ordered pair ``(b, a)`` of a feature from ``(a, b)``
        when the feature is symmetric. A feature counts as asymmetric (and is
        never mirrored) when the table gives both orders for some pair with
        different values; symmetric sources that list each pair once are thus
        completed, directional ones (source size vs target size) are not.

    Returns
    -------
    DataFrame
        Columns ``src, tgt`` and one float column per feature; missing values
        stay NaN.
    """
    require_columns(features, ("lang_a", "lang_b", "feature", "value"), "pair-feature table")
    df = features[["lang_a", "lang_b", "feature", "value"]].copy()
    df["lang_a"] = df["lang_a"].astype(str)
    df["lang_b"] = df["lang_b"].astype(str)
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    if names is not None:
        have = sorted(df["feature"].unique())
        bad = [n for n in names if n not in have]
        if bad:
            raise ConfigError(
                f"Feature {bad[0]!r} is not in the pair-feature table.{suggest(bad[0], have)} Available: {have}."
            )
        df = df[df["feature"].isin(list(names))]
    df = df.groupby(["lang_a", "lang_b", "feature"], sort=True)["value"].mean().reset_index()
    if mirror:
        rev = df.rename(columns={"lang_a": "lang_b", "lang_b": "lang_a"})
        both = df.merge(rev, on=["lang_a", "lang_b", "feature"], suffixes=("", "_rev"))
        diff = both["value"].notna() & both["value_rev"].notna() & ~np.isclose(both["value"], both["value_rev"])
        asym = set(both.loc[diff, "feature"])
        add = rev[~rev["feature"].isin(asym)]
        df = pd.concat([df, add]).drop_duplicates(["lang_a", "lang_b", "feature"], keep="first")
    wide = df.pivot_table(index=["lang_a", "lang_b"], columns="feature", values="value", aggfunc="mean", dropna=False)
    wide = wide.reset_index().rename(columns={"lang_a": "src", "lang_b": "tgt"})
    wide.columns.name = None
    return wide


def pair_design(
    scores: pd.DataFrame,
    wide: pd.DataFrame,
    features: Sequence[str],
    *,
    dropna: bool = True,
) -> pd.DataFrame:
    """Join selected transfer scores with wide pair features.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`select_transfer` (columns ``task, src, tgt, score``).
    wide : DataFrame
        Output of :func:`features_wide` (columns ``src, tgt`` + features).
    features : list of str
        Feature columns the model uses.
    dropna : bool, default=True
        Drop pairs with a missing feature (complete-case analysis).

    Returns
    -------
    DataFrame
        ``scores`` columns plus one column per feature.
    """
    missing = [f for f in features if f not in wide.columns]
    if missing:
        have = [c for c in wide.columns if c not in ("src", "tgt")]
        raise ConfigError(
            f"Feature {missing[0]!r} is not a pair feature.{suggest(missing[0], have)} Available: {have}."
        )
    out = scores.merge(wide[["src", "tgt", *features]], on=["src", "tgt"], how="left")
    if dropna:
        out = out.dropna(subset=list(features))
    if out.empty:
        raise DataError(
            f"No (src, tgt) pair of the transfer table has all of the features {list(features)}; "
            "check that both tables use the same language codes."
        )
    return out.reset_index(drop=True)


def square_matrix(
    df: pd.DataFrame,
    value: str = "value",
    *,
    a: str = "lang_a",
    b: str = "lang_b",
    langs: Sequence[str] | None = None,
    symmetric: bool = True,
) -> pd.DataFrame:
    """A labelled square matrix (languages x languages) from a long pair table.

    Parameters
    ----------
    df : DataFrame
        One row per pair with columns ``a``, ``b``, ``value``.
    langs : list of str, optional
        Row/column order (default: sorted union of languages).
    symmetric : bool, default=True
        Fill a missing ``(b, a)`` cell from ``(a, b)``.

    Returns
    -------
    DataFrame, shape (n_langs, n_langs)
        Index and columns are language codes; the diagonal is NaN unless given.
    """
    d = df[[a, b, value]].copy()
    d[a] = d[a].astype(str)
    d[b] = d[b].astype(str)
    m = d.pivot_table(index=a, columns=b, values=value, aggfunc="mean")
    if langs is None:
        langs = sorted(set(m.index) | set(m.columns))
    m = m.reindex(index=list(langs), columns=list(langs)).astype(float)
    if symmetric:
        m = m.combine_first(m.T)
    m.index.name = None
    m.columns.name = None
    return m


def offdiag_pairs(langs: Sequence[str]) -> pd.DataFrame:
    """All ordered pairs ``(src, tgt)`` with ``src != tgt``."""
    return pd.DataFrame([(s, t) for s in langs for t in langs if s != t], columns=["src", "tgt"])
