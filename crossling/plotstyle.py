"""One figure style for every package of the suite (probes, representations, transfer, analysis).

It lives in ``probes`` because every other package may import ``probes`` but not the
reverse. It imports only matplotlib (no pyplot), numpy and pandas.

What it fixes, so that every figure reads the same way:

* **colours**: the Okabe-Ito palette (colour-blind safe) for categories, ``viridis`` for
  sequential scales and ``RdBu_r`` for diverging scales (both readable with the common
  colour-vision deficiencies and in greyscale for viridis);
* **scales**: similarities and accuracies on a fixed ``[0, 1]`` scale
  (:func:`unit_norm`), differences on a symmetric scale around a null
  (:func:`diverging_norm`), never stretched to the data range;
* **language order**: one order for every figure (:func:`language_order`), grouped by
  family, so a heatmap at layer 4 and one at layer 8 put the same language in the same row;
* **labels**: the model and the data size on every figure (:func:`stamp`), legends inside
  the canvas (:func:`legend_inside`), the chance level drawn where a task is scored against
  one (:func:`draw_chance`);
* **files**: PNG under a size budget (:func:`save_png`, :data:`MAX_PNG_BYTES`).

Examples
--------
>>> language_order(["zh", "en", "xx", "de"])
['en', 'de', 'zh', 'xx']
>>> diverging_norm([0.2, -0.5], center=0.0).vmin
-0.5
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure

from crossling.io import atomic_save

__all__ = [
    "OKABE_ITO",
    "SEQUENTIAL",
    "DIVERGING",
    "MAX_PNG_BYTES",
    "LANGUAGE_ORDER",
    "colour",
    "language_order",
    "unit_norm",
    "diverging_norm",
    "new_figure",
    "small_multiples",
    "annotate_cells",
    "stamp",
    "legend_inside",
    "draw_chance",
    "save_png",
]

#: Okabe & Ito (2008) colour-blind-safe qualitative palette (black last: reserved for references).
OKABE_ITO: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                              "#000000")
#: Sequential colour map (perceptually uniform, colour-blind safe).
SEQUENTIAL = "viridis"
#: Diverging colour map, centred on a null value by :func:`diverging_norm`.
DIVERGING = "RdBu_r"
#: PNGs written by :func:`save_png` are shrunk (lower resolution) until they fit in this many bytes.
MAX_PNG_BYTES = 350_000

#: Languages in a fixed order, grouped by family (Germanic, Romance, Slavic, other Indo-European,
#: Semitic, Turkic, Uralic, Austronesian, Austroasiatic, Japonic, Koreanic, Sinitic, ...); languages not
#: listed follow alphabetically.
LANGUAGE_ORDER: tuple[str, ...] = (
    "en", "de", "nl", "sv", "is", "fr", "es", "it", "pt", "ro", "ru", "cs", "pl", "uk", "bg", "el", "hi", "ur",
    "bn", "mr", "fa", "ar", "he", "am", "tr", "kk", "fi", "et", "hu", "eu", "ka", "id", "ms", "tl", "vi", "th",
    "ja", "ko", "zh", "yo", "sw", "ta", "te", "ml",
)


def colour(i: int) -> str:
    """The ``i``-th category colour (cycles through :data:`OKABE_ITO` without black)."""
    return OKABE_ITO[i % (len(OKABE_ITO) - 1)]


def language_order(langs: Iterable[object]) -> list[str]:
    """``langs`` (deduplicated, as strings) in the suite's fixed order, unknown codes last, alphabetically."""
    seen = list(dict.fromkeys(str(x) for x in langs))
    rank = {code: i for i, code in enumerate(LANGUAGE_ORDER)}
    return sorted(seen, key=lambda c: (rank.get(c, len(rank)), c))


def unit_norm() -> Normalize:
    """The fixed ``[0, 1]`` scale of similarities, accuracies and F1."""
    return Normalize(vmin=0.0, vmax=1.0)


def diverging_norm(values: Iterable[float] | np.ndarray, *, center: float = 0.0,
                   min_span: float = 1e-3) -> TwoSlopeNorm:
    """A symmetric scale around ``center`` (the null) that covers every finite value.

    Parameters
    ----------
    values : array-like
        The values to be drawn.
    center : float
        The null (0 for correlations and differences, the chance level for scores).
    min_span : float
        Smallest half-width, so that an all-null input still has a scale.
    """
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, float)
    v = v[np.isfinite(v)]
    span = max(float(np.max(np.abs(v - center))) if v.size else 0.0, min_span)
    return TwoSlopeNorm(vcenter=center, vmin=center - span, vmax=center + span)


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (6.0, 4.0), **kwargs):
    """A :class:`Figure` and its axes (as ``pyplot.subplots``, without pyplot or global state)."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **kwargs)


def small_multiples(n: int, *, ncol: int = 4, panel: tuple[float, float] = (3.3, 2.7), min_width: float = 6.4,
                    **kwargs):
    """A grid of ``n`` panels (at most ``ncol`` a row): the figure and the ``n`` axes used (the rest hidden)."""
    ncol = max(1, min(ncol, n))
    nrow = -(-n // ncol)
    fig, axes = new_figure(nrow, ncol, figsize=(max(panel[0] * ncol, min_width), panel[1] * nrow + 0.6),
                           squeeze=False, **kwargs)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def annotate_cells(ax, values: np.ndarray, *, fmt: str = "{:.2f}", dark_below: float = 0.6,  # type: ignore[no-untyped-def]
                   skip_diagonal: bool = False, max_cells: int = 400) -> None:
    """Write each finite value of a heatmap in its cell (white on dark cells), when the grid is small enough."""
    v = np.asarray(values, float)
    if v.size > max_cells:
        return
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            if (skip_diagonal and i == j) or not np.isfinite(v[i, j]):
                continue
            ax.text(j, i, fmt.format(v[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if v[i, j] < dark_below else "black")


def stamp(fig: Figure, *, model: str | Sequence[str] | None, data: str | None = None) -> None:
    """Write the model(s) and the data size in the figure's bottom-left corner (inside the canvas).

    Every figure of the suite carries this line, so a PNG copied out of its report still says
    which model and how much data produced it.
    """
    models = [model] if isinstance(model, str) else list(model or [])
    text = "model: " + (", ".join(str(m) for m in models) if models else "not recorded")
    if data:
        text += f"  |  data: {data}"
    # a figure-level x label: the constrained layout reserves room for it, so it never overlaps the axes
    fig.supxlabel(text, x=0.005, ha="left", fontsize=7, color="#444444")


def legend_inside(ax, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """A legend placed inside the axes (never outside the canvas), small and frameless."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    opts = {"loc": "best", "fontsize": 7, "frameon": True, "framealpha": 0.8, "edgecolor": "none"}
    opts.update(kwargs)
    ax.legend(**opts)


def draw_chance(ax, level: float | None, *, label: str = "chance", axis: str = "y") -> None:  # type: ignore[no-untyped-def]
    """Draw a chance (or null) level as a dotted black line, labelled once."""
    if level is None or not np.isfinite(level):
        return
    line = ax.axhline if axis == "y" else ax.axvline
    line(level, color="black", ls=":", lw=1.0, label=label)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_save(path, lambda tmp: Path(tmp).write_bytes(data))


def save_png(fig: Figure, path: str | Path, *, dpi: int = 130, max_bytes: int = MAX_PNG_BYTES) -> Path:
    """Write ``fig`` as a PNG of at most ``max_bytes``, atomically; returns the path.

    The image is first re-encoded with a 256-colour palette (figures have few colours), then
    the resolution is lowered (down to 50 dpi) until the file fits.
    """
    path = Path(path)
    d = dpi
    while True:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=d)
        data = buf.getvalue()
        if len(data) > max_bytes:
            data = _palette_png(data)
        if len(data) <= max_bytes or d <= 50:
            break
        d = max(50, int(d * 0.8))
    atomic_write_bytes(path, data)
    return path


def _palette_png(data: bytes) -> bytes:
    """The PNG re-encoded with an adaptive 256-colour palette (lossless for most figures)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        out = io.BytesIO()
        im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG",
                                                                                    optimize=True)
    return out.getvalue()
