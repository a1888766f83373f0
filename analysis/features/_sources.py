"""The feature-source registry and the pair-feature tables (public via :mod:`analysis.features`).

Every feature source is registered in :data:`FEATURE_SOURCES` and returns one
tidy table, one row per **ordered** pair ``(lang_a, lang_b)`` with
``lang_a != lang_b`` (``lang_a`` = transfer source, ``lang_b`` = target) and
feature:

=========  =================================================================
column     meaning
=========  =================================================================
lang_a     first (source) language, as the caller spelled it
lang_b     second (target) language
feature    feature name (``uriel_syntax``, ``cka_debiased@L6``, ...)
value      float; ``NaN`` when unknown, never a silent 0
source     where it comes from (``uriel``, ``panlex``, ``alignment:<model>``)
note       why a value is NaN, or provenance (varieties, counts)
=========  =================================================================

Distances are symmetric, so both orders carry the same value; the data-size
features (``log10_tokens_src`` / ``_tgt``) and probe transfer are ordered.
docs/typology.md defines every feature, its formula, coverage and gaps.

The sources are listed in :mod:`analysis.features`. The command line is :mod:`analysis.typology`.

Add a source with ``@FEATURE_SOURCES.register("name")`` on a function
``fn(langs, *, data_dir, include_self, **options) -> DataFrame`` returning
:data:`PAIR_COLUMNS`; :func:`pair_features` then accepts ``"name"``.

Examples
--------
>>> df = pair_features(["en", "de", "ja"], sources=["uriel"])      # doctest: +SKIP
>>> wide = wide_features(df)                                         # doctest: +SKIP
>>> wide.set_index(["lang_a", "lang_b"]).loc[("en", "de"), "uriel_syntax"]  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from analysis.features._common import (
    PAIR_COLUMNS,
    check_langs,
    resolve_data_dir,
)
from analysis.features._data import (
    alignment_features,
    mc4_features,
    probe_transfer_features,
)
from analysis.features._lexical import (
    subword_overlap,
    swadesh_distances,
    tokenize_parallel,
)
from analysis.features._morph import (
    MorphProfile,
    ud_morph_distances,
)
from analysis.features._uriel import (
    grambank_distances,
    uriel_distances,
)
from crossling.errors import ConfigError, DataError
from crossling.registry import Registry
from crossling.tables import require_columns

__all__ = ["DEFAULT_SOURCES", "FEATURE_SOURCES", "FeatureSource", "feature_matrix", "pair_features", "wide_features"]

#: A feature source: ``fn(langs, *, data_dir, include_self, **options) -> DataFrame``.
FeatureSource = Callable[..., pd.DataFrame]

#: Registry of pair-feature sources (see the module docstring).
FEATURE_SOURCES: Registry[FeatureSource] = Registry("feature source")

#: Sources that need nothing but the data directory.
DEFAULT_SOURCES: tuple[str, ...] = ("uriel", "grambank", "ud_morph", "swadesh", "mc4")


@FEATURE_SOURCES.register("uriel")
def _src_uriel(langs: Sequence[str], *, data_dir: Path | None = None, include_self: bool = False) -> pd.DataFrame:
    """URIEL distances (lang2vec data; no data_dir needed)."""
    return uriel_distances(langs, include_self=include_self)


@FEATURE_SOURCES.register("grambank")
def _src_grambank(
    langs: Sequence[str], *, data_dir: Path | None = None, include_self: bool = False, min_shared: int = 20
) -> pd.DataFrame:
    """Grambank distances (urielplus data; no data_dir needed)."""
    return grambank_distances(langs, include_self=include_self, min_shared=min_shared)


@FEATURE_SOURCES.register("ud_morph")
def _src_ud_morph(
    langs: Sequence[str],
    *,
    data_dir: Path | None = None,
    include_self: bool = False,
    treebanks: Mapping[str, Sequence[str | Path]] | None = None,
    profiles: Mapping[str, MorphProfile] | None = None,
    min_share: float = 0.01,
) -> pd.DataFrame:
    """UD morphological-profile distances (``<data_dir>/ud``)."""
    return ud_morph_distances(langs, data_dir=data_dir, treebanks=treebanks, profiles=profiles,
                              min_share=min_share, include_self=include_self)


@FEATURE_SOURCES.register("swadesh")
def _src_swadesh(
    langs: Sequence[str],
    *,
    data_dir: Path | None = None,
    include_self: bool = False,
    path: str | Path | None = None,
    concepticon: str = "207",
    varieties: Mapping[str, str] | None = None,
    min_concepts: int = 40,
    shifts: int = 10,
) -> pd.DataFrame:
    """PanLex Swadesh distances (``<data_dir>/typology/panlex_swadesh.zip``)."""
    return swadesh_distances(langs, data_dir=data_dir, path=path, concepticon=concepticon, varieties=varieties,
                             min_concepts=min_concepts, shifts=shifts, include_self=include_self)


@FEATURE_SOURCES.register("subword")
def _src_subword(
    langs: Sequence[str],
    *,
    data_dir: Path | None = None,
    include_self: bool = False,
    tokens: Mapping | None = None,
    sentences: Mapping | None = None,
    tokenizer: object | None = None,
    model: str | None = None,
    min_sentences: int = 10,
) -> pd.DataFrame:
    """Subword overlap from ``tokens`` or from ``sentences`` + a caller-loaded ``tokenizer``."""
    if tokens is None:
        if sentences is None or tokenizer is None:
            raise ConfigError(
                "The 'subword' feature source needs option `tokens` ({lang: {sent_id: [token, ...]}}) or both "
                "`sentences` ({lang: [Sentence, ...]}, parallel) and `tokenizer` (loaded by the caller)."
            )
        tokens = tokenize_parallel(sentences, tokenizer)
    return subword_overlap(tokens, langs=langs, model=model, min_sentences=min_sentences, include_self=include_self)


@FEATURE_SOURCES.register("mc4")
def _src_mc4(
    langs: Sequence[str], *, data_dir: Path | None = None, include_self: bool = False, path: str | Path | None = None
) -> pd.DataFrame:
    """log10 pre-training tokens of source and target (``<data_dir>/typology/mc4_tokens_billions.csv``)."""
    return mc4_features(langs, data_dir=data_dir, path=path, include_self=include_self)


@FEATURE_SOURCES.register("alignment")
def _src_alignment(
    langs: Sequence[str],
    *,
    data_dir: Path | None = None,
    include_self: bool = False,
    table: pd.DataFrame | str | Path | None = None,
    model: str | None = None,
    metrics: Sequence[str] | None = None,
    layers: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Alignment-table similarities per layer (option `table` required)."""
    if table is None:
        raise ConfigError("The 'alignment' feature source needs option `table` (a representations.align table or its path).")
    return alignment_features(table, langs=langs, model=model, metrics=metrics, layers=layers, include_self=include_self)


@FEATURE_SOURCES.register("probe_transfer")
def _src_probe_transfer(
    langs: Sequence[str],
    *,
    data_dir: Path | None = None,
    include_self: bool = False,
    table: pd.DataFrame | str | Path | None = None,
    model: str | None = None,
    tasks: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Cross-lingual probe scores per layer (option `table` required)."""
    if table is None:
        raise ConfigError("The 'probe_transfer' feature source needs option `table` (a probes.train table or its path).")
    return probe_transfer_features(table, langs=langs, model=model, tasks=tasks, include_self=include_self)


def _call_source(name: str, fn: FeatureSource, langs: list[str], data_dir: Path | None, include_self: bool,
                 opts: Mapping[str, object]) -> pd.DataFrame:
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        allowed = [p for p in params if p not in ("langs", "data_dir", "include_self")]
        unknown = [k for k in opts if k not in params or k in ("langs", "data_dir", "include_self")]
        if unknown:
            raise ConfigError(
                f"Unknown option(s) {unknown} for feature source {name!r}. Its options are: {allowed or 'none'}."
            )
    df = fn(langs, data_dir=data_dir, include_self=include_self, **opts)
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"Feature source {name!r} returned {type(df).__name__}, not a DataFrame.")
    missing = [c for c in PAIR_COLUMNS if c not in df.columns]
    if missing:
        if missing == ["note"]:
            df = df.assign(note="")
        else:
            raise DataError(f"Feature source {name!r} returned a table without column(s) {missing}; "
                            f"it must have {list(PAIR_COLUMNS)}.")
    return df[list(PAIR_COLUMNS)]


def pair_features(
    langs: Sequence[str] | str,
    sources: Sequence[str] | str = DEFAULT_SOURCES,
    *,
    data_dir: str | Path | None = None,
    options: Mapping[str, Mapping[str, object]] | None = None,
    include_self: bool = False,
) -> pd.DataFrame:
    """Compute pair features of ``langs`` from several registered sources.

    Parameters
    ----------
    langs : sequence of str or str
        Language codes (ISO 639-1 or 639-3; ``"en,de"`` also accepted).
    sources : sequence of str
        Names in :data:`FEATURE_SOURCES` (or ``"module:function"``); default
        :data:`DEFAULT_SOURCES`.
    data_dir : path, optional
        Data directory (default ``$CROSSLING_DATA`` or ``../shared/data``).
    options : mapping source -> mapping, optional
        Keyword options per source, e.g. ``{"alignment": {"table": df}}``.
    include_self : bool
        Also emit ``(a, a)`` pairs (distance 0 for every distance feature).

    Returns
    -------
    DataFrame
        Columns :data:`PAIR_COLUMNS`; for each source, every ordered pair x
        feature (NaN with a note where unknown).

    Raises
    ------
    ConfigError
        Unknown source or option, bad language code.
    DataError
        A source's data file is missing or malformed; two sources emit the
        same feature name.
    """
    lang_list = check_langs(langs)
    if isinstance(sources, str):
        sources = [s for s in sources.replace(",", " ").split() if s]
    sources = list(sources)
    if not sources:
        raise ConfigError(f"Parameter `sources` is empty; choose from {FEATURE_SOURCES.names()}.")
    options = dict(options or {})
    stray = [k for k in options if k not in sources]
    if stray:
        raise ConfigError(f"`options` given for source(s) {stray} that are not in `sources` {sources}.")
    ddir = resolve_data_dir(data_dir) if data_dir is not None else None
    frames = []
    owner: dict[str, str] = {}
    for name in sources:
        fn = FEATURE_SOURCES.get(name)
        df = _call_source(name, fn, lang_list, ddir, include_self, dict(options.get(name, {})))
        for f in df["feature"].unique():
            if f in owner:
                raise DataError(f"Feature {f!r} is produced by both source {owner[f]!r} and {name!r}; rename one.")
            owner[f] = name
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["value"].astype(float)
    return out


def wide_features(table: pd.DataFrame, *, features: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per ordered pair, one column per feature (for the statistics).

    Parameters
    ----------
    table : DataFrame
        A pair-feature table (``lang_a, lang_b, feature, value``).
    features : sequence of str, optional
        Columns to keep, in order (default: all, sorted).

    Returns
    -------
    DataFrame
        Columns ``lang_a, lang_b, <feature>...``; NaN stays NaN.

    Raises
    ------
    DataError
        If a (lang_a, lang_b, feature) appears twice.
    """
    require_columns(table, ("lang_a", "lang_b", "feature", "value"), "pair-feature table")
    dup = table[table.duplicated(["lang_a", "lang_b", "feature"], keep=False)]
    if not dup.empty:
        r = dup.iloc[0]
        raise DataError(f"The pair-feature table has several rows for ({r['lang_a']}, {r['lang_b']}, {r['feature']}); "
                        "each (lang_a, lang_b, feature) must appear once.")
    wide = table.pivot(index=["lang_a", "lang_b"], columns="feature", values="value")
    if features is not None:
        missing = [f for f in features if f not in wide.columns]
        if missing:
            raise ConfigError(f"Feature(s) {missing} are not in the table; it has {sorted(wide.columns)}.")
        wide = wide[list(features)]
    else:
        wide = wide[sorted(wide.columns)]
    wide = wide.reset_index()
    wide.columns.name = None
    return wide


def feature_matrix(table: pd.DataFrame, feature: str, langs: Sequence[str] | None = None) -> pd.DataFrame:
    """A square language x language matrix of one feature (rows = lang_a).

    The diagonal is the table's ``(a, a)`` value when present, else NaN.

    Examples
    --------
    >>> t = pd.DataFrame({"lang_a": ["x", "y"], "lang_b": ["y", "x"], "feature": "d", "value": [0.5, 0.5]})
    >>> feature_matrix(t, "d").to_numpy().tolist()
    [[nan, 0.5], [0.5, nan]]
    """
    require_columns(table, ("lang_a", "lang_b", "feature", "value"), "pair-feature table")
    sub = table[table["feature"] == feature]
    if sub.empty:
        raise ConfigError(f"Feature {feature!r} is not in the table; it has {sorted(table['feature'].unique())}.")
    if langs is None:
        langs = sorted(set(sub["lang_a"]) | set(sub["lang_b"]))
    m = sub.pivot_table(index="lang_a", columns="lang_b", values="value", aggfunc="first", dropna=False)
    m = m.reindex(index=list(langs), columns=list(langs)).astype(float)
    m.index.name, m.columns.name = "lang_a", "lang_b"
    return m
