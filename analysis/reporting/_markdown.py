"""Markdown building blocks of ``docs/RESULTS.md``: tables, the document, figure copies, table readers.

Private to :mod:`analysis.reporting`; the section writers (``_sections_*``) share these helpers.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossling.errors import DataError

__all__ = ["md_table", "MAX_FIGURE_BYTES"]


def md_table(df: pd.DataFrame | None, floatfmt: str = "{:.3f}", max_rows: int = 40) -> str:
    """Render a DataFrame as a GitHub Markdown table (numbers formatted).

    Parameters
    ----------
    df : DataFrame or None
        The table; ``None`` or an empty frame gives ``_(empty)_``.
    floatfmt : str
        Format of float cells; NaN cells stay empty.
    max_rows : int
        Rows shown; a note counts the rest.

    Returns
    -------
    str
        The Markdown table, ending with a newline.

    Examples
    --------
    >>> print(md_table(pd.DataFrame({"a": [1], "b": [0.5]})), end="")
    | a | b |
    |---|---|
    | 1 | 0.500 |
    """
    if df is None or df.empty:
        return "_(empty)_\n"
    d = df.head(max_rows)

    def fmt(v: object) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else floatfmt.format(v)
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, d.columns)) + " |", "|" + "---|" * len(d.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in d.itertuples(index=False)]
    more = f"\n_({len(df) - max_rows} more rows in the table file)_" if len(df) > max_rows else ""
    return "\n".join(lines) + more + "\n"


def _read(path: Path) -> pd.DataFrame | None:
    """Read a table if the file exists (``None`` otherwise); unreadable files are a DataError naming them."""
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem
        raise DataError(f"Cannot read table ({type(exc).__name__}: {exc}). Rerun the stage that writes it.",
                        path=path) from None


def _concat(paths: Sequence[Path]) -> pd.DataFrame | None:
    parts = [t for t in (_read(p) for p in paths) if t is not None]
    return pd.concat(parts, ignore_index=True) if parts else None


def _slug(spec: str) -> str:
    """Directory-name form of a model spec, as ``analysis.study`` names its folders."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in spec.split("/")[-1].replace(":", "-"))


def _safe(name: str) -> str:
    """File-name form of a task or model, as ``probes.probing`` names its figures."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _f(v: float, fmt: str = "{:.2f}") -> str:
    return "n/a" if v is None or not np.isfinite(v) else fmt.format(v)


def _pct(v: float) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.0%}"


def _models(df: pd.DataFrame | None) -> list[str]:
    if df is None or "model" not in df.columns:
        return []
    return list(dict.fromkeys(df["model"].astype(str)))


def _names(models: Sequence[str]) -> str:
    return ", ".join(f"`{m}`" for m in models) if models else "no model label"


def _task_order(task: str) -> tuple[int, str]:
    """UPOS and deprel first, then the other tasks alphabetically."""
    return ({"upos": 0, "deprel": 1}.get(task, 2), task)


def _by_layer(rows: pd.DataFrame) -> pd.Series:
    """Mean value by layer (sorted)."""
    return rows.groupby("layer")["value"].mean().sort_index()


def _at(series: pd.Series, key: Any) -> float:
    return float(series.get(key, np.nan)) if len(series) else float("nan")


class _Doc:
    def __init__(self, fig_dir: Path, md_path: Path):
        self.parts: list[str] = []
        self.fig_dir = fig_dir
        self.md_path = md_path

    def add(self, text: str) -> None:
        self.parts.append(text.rstrip() + "\n\n")

    def source(self, text: str) -> None:
        """The line that names the model(s) whose rows produced a section's numbers."""
        self.add(f"_Numbers in this section: {text}._")

    def figure(self, src: Path, name: str, caption: str) -> bool:
        if not src.is_file():
            return False
        self.fig_dir.mkdir(parents=True, exist_ok=True)
        dst = self.fig_dir / name
        _small_png(src, dst)
        try:
            rel = dst.resolve().relative_to(self.md_path.parent.resolve())
        except ValueError:
            rel = dst.resolve()
        self.add(f"![{caption}]({rel.as_posix()})\n\n_{caption}_")
        return True


#: Figures copied next to RESULTS.md are committed with it: larger PNGs are shrunk to about this size.
MAX_FIGURE_BYTES = 400_000


def _small_png(src: Path, dst: Path, max_bytes: int = MAX_FIGURE_BYTES) -> None:
    """Copy a PNG, re-encoding it (256-colour palette, then smaller if needed) when it exceeds ``max_bytes``."""
    if src.stat().st_size <= max_bytes or src.suffix.lower() != ".png":
        shutil.copyfile(src, dst)
        return
    from PIL import Image

    with Image.open(src) as im:
        img = im.convert("RGB")
    scale = 1.0
    while True:
        size = (max(1, int(img.width * scale)), max(1, int(img.height * scale)))
        out = img if scale == 1.0 else img.resize(size, Image.Resampling.LANCZOS)
        out.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(dst, format="PNG", optimize=True)
        if dst.stat().st_size <= max_bytes or scale < 0.3:
            return
        scale *= 0.8




def _rel(path: Path, md_path: Path) -> str:
    try:
        return path.resolve().relative_to(md_path.parent.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()

