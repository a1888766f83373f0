"""Writing and reading the suite's tidy result tables (Parquet + CSV)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from crossling.errors import DataError, short_repr
from crossling.io import atomic_save

__all__ = ["write_table", "read_table", "require_columns", "check_values", "BOUNDED_METRICS"]

#: Metrics that are proportions: a tidy table's ``value`` of these must lie in [0, 1].
BOUNDED_METRICS = frozenset({"accuracy", "f1", "precision", "recall", "macro_f1", "micro_f1", "selectivity_acc",
                             "control_accuracy", "uas", "las"})


def write_table(df: pd.DataFrame, stem: str | Path) -> tuple[Path, Path]:
    """Write ``df`` to ``<stem>.parquet`` and ``<stem>.csv`` atomically.

    Returns
    -------
    (parquet_path, csv_path)
    """
    stem = Path(stem)
    pq = stem.with_suffix(".parquet")
    csv = stem.with_suffix(".csv")
    atomic_save(pq, lambda tmp: df.to_parquet(tmp, index=False))
    atomic_save(csv, lambda tmp: df.to_csv(tmp, index=False))
    return pq, csv


def read_table(path: str | Path, required: Sequence[str] = ()) -> pd.DataFrame:
    """Read a tidy table from Parquet or CSV and check its columns.

    Raises
    ------
    DataError
        If the file is missing, unreadable, or lacks a required column.
    """
    p = Path(path)
    if p.is_dir():
        raise DataError("Expected a table file (.parquet or .csv), got a directory.", path=p)
    if not p.is_file():
        raise DataError("Table file does not exist. Check the path.", path=p)
    try:
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem
        raise DataError(f"Cannot read table ({type(exc).__name__}: {exc}).", path=p) from None
    require_columns(df, required, p)
    check_values(df, p)
    return df


def check_values(df: pd.DataFrame, where: object = "table") -> None:
    """Range-check the numbers of a tidy table against what they mean.

    ``value`` may be missing (NaN: a cell without a score) but never infinite;
    a proportion metric (:data:`BOUNDED_METRICS`, by the ``metric`` column)
    must lie in [0, 1]. A silently dropped ``inf`` or a fitted ``-5.0``
    accuracy would make every result derived from the table wrong.

    Raises
    ------
    DataError
        Naming the file, the (1-based data) row, the metric and the value.
    """
    import numpy as np

    if "value" not in df.columns or not len(df):
        return
    v = pd.to_numeric(df["value"], errors="coerce")
    bad_text = v.isna() & df["value"].notna()
    bad = ~np.isfinite(v.to_numpy(dtype=float)) & v.notna().to_numpy()
    if "metric" in df.columns:
        metric = df["metric"].astype(str).str.lower()
        bounded = metric.isin(BOUNDED_METRICS).to_numpy()
        out = bounded & v.notna().to_numpy() & ((v < 0) | (v > 1)).to_numpy()
    else:
        out = np.zeros(len(df), dtype=bool)
    for mask, why in ((bad_text.to_numpy(), "is not a number"), (bad, "is infinite"),
                      (out, "is outside [0, 1], the range of a proportion")):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            what = f" ({df['metric'].iloc[i]})" if "metric" in df.columns else ""
            raise DataError(
                f"row {i + 1}: value {short_repr(df['value'].iloc[i])}{what} {why} ({int(mask.sum())} such row(s)). "
                "Fix or remove those rows; a score must be a finite number (NaN = missing).", path=str(where))


def require_columns(df: pd.DataFrame, required: Sequence[str], where: object = "table") -> None:
    """Raise :class:`DataError` naming the missing columns."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(
            f"Table lacks required column(s) {missing}; it has {list(df.columns)}.", path=str(where)
        )
