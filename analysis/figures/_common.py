"""Shared helpers of the figure functions: pyplot-free figures in the suite's style, atomic PNG + PDF output.

Figures are built as :class:`matplotlib.figure.Figure` objects, never through
``pyplot``, so they need no GUI backend, leave the caller's backend alone and
hold no global state. Style (palette, scales, language order, the model/data
stamp, the PNG size budget) comes from :mod:`crossling.plotstyle`, shared by every
package's figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.summary import SETTING_METRICS
from crossling import plotstyle as S
from crossling.errors import ConfigError, DataError
from crossling.io import atomic_save
from crossling.registry import Registry

__all__ = ["FIGURES", "SETTING_METRICS", "save_figure", "subplots", "require_rows", "model_label", "data_label",
           "reject_settings", "control_label"]

#: Every figure function, by name. A figure function takes tidy tables and an
#: output stem and returns the written ``(png, pdf)`` paths.
FIGURES: Registry = Registry("figure")



def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (6.0, 4.0), **kwargs):
    """A new :class:`Figure` and its axes in the suite's style (constrained layout, no pyplot)."""
    return S.new_figure(nrows, ncols, figsize=figsize, **kwargs)


def save_figure(fig: Figure, stem: str | Path, *, dpi: int = 130) -> tuple[Path, Path]:
    """Write ``<stem>.png`` (under :data:`crossling.plotstyle.MAX_PNG_BYTES`) and ``<stem>.pdf`` atomically."""
    stem = Path(stem)
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    S.save_png(fig, png, dpi=dpi)
    atomic_save(pdf, lambda tmp: fig.savefig(tmp, format="pdf"))
    return png, pdf


def require_rows(df, what: str) -> None:
    """Raise :class:`DataError` when a table has no rows to plot."""
    if df is None or len(df) == 0:
        raise DataError(f"Nothing to plot: the {what} is empty after filtering.")


def reject_settings(metric: str, what: str) -> None:
    """Raise :class:`ConfigError` when ``metric`` is a setting (e.g. probe C), not a result."""
    if str(metric) in SETTING_METRICS:
        raise ConfigError(f"The {what} metric {metric!r} is a setting chosen by the fitting code, not a result; "
                          f"settings ({', '.join(sorted(SETTING_METRICS))}) are not plotted. Pick a result metric.")


def model_label(*tables: pd.DataFrame | None) -> list[str]:
    """The model labels of the tables (``model`` column), in order of appearance."""
    out: list[str] = []
    for t in tables:
        if t is not None and "model" in t.columns:
            out += [str(m) for m in t["model"].dropna().unique()]
    return list(dict.fromkeys(out))


def control_label(models: Sequence[str], model: str | None) -> str | None:
    """The random-initialised control among ``models``: a label other than ``model`` that names ``random``."""
    return next((m for m in models if m != model and "random" in str(m).lower()), None)


def _span(values: pd.Series) -> str:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return ""
    lo, hi = int(v.min()), int(v.max())
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def data_label(df: pd.DataFrame, *, langs: Sequence[str] = ("lang", "lang_a", "lang_b", "src", "tgt"),
               sizes: Sequence[str] = ("n_train", "n_test", "n")) -> str:
    """A short description of how much data a table's rows rest on (languages, n per cell)."""
    parts = []
    names: set[str] = set()
    for c in langs:
        if c in df.columns:
            names |= set(df[c].astype(str))
    names.discard("all")
    if names:
        parts.append(f"{len(names)} languages")
    for c in sizes:
        if c in df.columns:
            s = _span(df[c])
            if s:
                parts.append(f"{c}={s}")
    return ", ".join(parts)


def finite(values) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The finite entries of ``values`` as a float array."""
    a = np.asarray(values, float).ravel()
    return a[np.isfinite(a)]
