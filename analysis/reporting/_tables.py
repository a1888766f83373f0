"""The report's inputs: find the tidy tables under a run directory and recognise each by its columns."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from crossling.errors import DataError
from crossling.io import sha256_file
from crossling.tables import read_table

__all__ = ["TABLE_KINDS", "discover_tables"]

#: Table kind -> columns that identify it (checked in this order).
TABLE_KINDS: dict[str, tuple[str, ...]] = {
    "transfer": ("task", "src", "tgt", "k", "metric", "value"),
    "probe": ("layer", "lang", "task", "probe", "metric", "value"),
    # transfer.attribute's overlap/ablation tables also have alignment-like columns: recognise them first
    "unit_attribution": ("task", "lang_a", "lang_b", "metric", "value", "k"),
    "alignment": ("layer", "lang_a", "lang_b", "metric", "value"),
    "features": ("lang_a", "lang_b", "feature", "value"),
}


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
    for p in table_files(run, skip):
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


def table_files(run: Path, skip: Sequence[str]) -> list[Path]:
    """``.parquet``/``.csv`` files under ``run``, sorted; symlinked folders are followed (once each).

    Folders named in ``skip`` and hidden names (a killed writer's temporary files, resume state
    under ``.work/``) are left out. ``Path.rglob`` does not follow symlinked folders before
    Python 3.13, so a run that links in another run's subfolder would lose its tables.
    """
    out: list[Path] = []
    seen: set[str] = set()
    for root, dirs, files in os.walk(run, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link cycle, or the same folder reached twice
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if d not in skip and not d.startswith(".")]
        out += [Path(root) / f for f in files
                if not f.startswith(".") and Path(f).suffix in (".parquet", ".csv") and (Path(root) / f).is_file()]
    return sorted(out)


def _load(run: Path, found: pd.DataFrame, kind: str) -> pd.DataFrame | None:
    paths = found.loc[found["kind"] == kind, "path"].tolist()
    if not paths:
        return None
    parts = [read_table(run / p, TABLE_KINDS[kind]) for p in paths]
    df = pd.concat(parts, ignore_index=True)
    return df.drop_duplicates(ignore_index=True) if not df.empty else None

