"""Data-size and model-internal pair features (private; see analysis.features)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.features._common import lang_codes, pair_grid, resolve_data_dir
from crossling.errors import ConfigError, DataError, suggest
from crossling.tables import read_table, require_columns

__all__ = [
    "MC4_FEATURES",
    "alignment_features",
    "mc4_features",
    "probe_transfer_features",
    "read_mc4_tokens",
]

#: Output feature names of the ``mc4`` source (ordered: lang_a = source, lang_b = target).
MC4_FEATURES: tuple[str, ...] = ("log10_tokens_src", "log10_tokens_tgt")

#: Codes that the mT5 paper's table spells differently from ISO 639-1.
_MC4_ALIASES = {"he": "iw", "tl": "fil"}


def read_mc4_tokens(path: str | Path) -> pd.Series:
    """Read the mT5 paper's mC4 table: tokens (billions) per language code.

    Parameters
    ----------
    path : path
        CSV with columns ``Language,Tokens (Billions)`` (ISO 639-1 codes as in
        the mT5 paper, plus ``xx-Latn`` romanised variants and ``und``).

    Returns
    -------
    Series
        Index: language code; values: tokens in billions (float). Rows with an
        empty count (``und``) are dropped.

    Raises
    ------
    DataError
        Missing file or column, a duplicate code, or a count that is not a
        positive number (file and line named).
    """
    p = Path(path)
    df = read_table(p, required=("Language", "Tokens (Billions)"))
    df["Language"] = df["Language"].astype(str).str.strip()
    dup = df["Language"][df["Language"].duplicated()].tolist()
    if dup:
        raise DataError(f"language code(s) {dup} appear more than once; keep one row per language.", path=p)
    vals = pd.to_numeric(df["Tokens (Billions)"], errors="coerce")
    raw = df["Tokens (Billions)"]
    bad = vals.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    bad |= vals.notna() & ~(vals > 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"'Tokens (Billions)' must be a positive number, got {raw.iloc[i]!r} for {df['Language'].iloc[i]!r}.",
            path=p, line=i + 2,
        )
    out = pd.Series(vals.to_numpy(dtype=float), index=df["Language"].to_numpy(), name="tokens_billions")
    return out.dropna()


def _mc4_code(lang: str, table: pd.Series) -> str | None:
    c = lang_codes(lang)
    for cand in (lang, c.mc4, c.iso1, _MC4_ALIASES.get(c.iso1 or ""), c.iso3):
        if cand and cand in table.index:
            return cand
    return None


def mc4_features(
    langs: Sequence[str],
    *,
    data_dir: str | Path | None = None,
    path: str | Path | None = None,
    include_self: bool = False,
) -> pd.DataFrame:
    """Pre-training data size of source and target: ``log10(tokens)`` per ordered pair.

    ``log10_tokens_src`` is ``log10(tokens of lang_a)`` and
    ``log10_tokens_tgt`` is ``log10(tokens of lang_b)``, with tokens in
    absolute units (billions x 1e9), from the mC4 table of the mT5 paper
    (``<data_dir>/typology/mc4_tokens_billions.csv`` unless ``path``). This
    describes mT5's pre-training data; for another model pass its own table
    in the same format.
    """
    p = Path(path) if path is not None else resolve_data_dir(data_dir) / "typology" / "mc4_tokens_billions.csv"
    table = read_mc4_tokens(p)
    size: dict[str, float] = {}
    for lang in langs:
        code = _mc4_code(lang, table)
        size[lang] = math.log10(table[code] * 1e9) if code is not None else math.nan
    values: dict[tuple[str, str, str], tuple[float, str]] = {}
    for a in langs:
        for b in langs:
            for feat, who in (("log10_tokens_src", a), ("log10_tokens_tgt", b)):
                note = "" if math.isfinite(size[who]) else f"{who!r} is not in {p.name}"
                values[(a, b, feat)] = (size[who], note)
    return pair_grid(langs, MC4_FEATURES, "mc4", values, include_self=include_self)


def _int_layers(df: pd.DataFrame, what: str) -> pd.Series:
    """The ``layer`` column as integers, or a DataError naming the first bad value."""
    layer = pd.to_numeric(df["layer"], errors="coerce")
    bad = layer.isna() | (layer != layer.round())
    if bad.any():
        raise DataError(f"The {what} has a non-integer layer {df['layer'][bad].iloc[0]!r}; layers are 0, 1, 2, ...")
    return layer.astype(int)


def _one_model(df: pd.DataFrame, model: str | None, what: str) -> tuple[pd.DataFrame, str]:
    models = sorted(df["model"].dropna().astype(str).unique())
    if model is None:
        if len(models) != 1:
            raise ConfigError(
                f"The {what} holds {len(models)} models {models}; choose one with the `model` option."
            )
        model = models[0]
    elif model not in models:
        raise ConfigError(f"Model {model!r} is not in the {what}.{suggest(model, models)} Available: {models}.")
    return df[df["model"].astype(str) == model], model


def _table(table: pd.DataFrame | str | Path, required: Sequence[str], what: str) -> pd.DataFrame:
    if isinstance(table, (str, Path)):
        return read_table(table, required=required)
    if not isinstance(table, pd.DataFrame):
        raise ConfigError(f"The {what} must be a DataFrame or a path to a .parquet/.csv table, got {type(table).__name__}.")
    require_columns(table, required, what)
    return table


def alignment_features(
    table: pd.DataFrame | str | Path,
    *,
    langs: Sequence[str] | None = None,
    model: str | None = None,
    metrics: Sequence[str] | None = None,
    layers: Sequence[int] | None = None,
    include_self: bool = False,
) -> pd.DataFrame:
    """The model's internal cross-lingual similarity as pair features.

    Parameters
    ----------
    table : DataFrame or path
        A ``representations.align`` table (``model, layer, lang_a, lang_b,
        metric, value, ...``).
    langs : sequence of str, optional
        Output languages (default: every language in the table).
    model : str, optional
        Required when the table holds several models.
    metrics, layers : optional
        Keep only these.

    Returns
    -------
    DataFrame
        Features named ``<metric>@L<layer>`` (``cka_debiased@L6``), ``source =
        "alignment:<model>"``. A pair present in one direction only is
        mirrored (the similarity metrics are symmetric; the note says so);
        pairs absent from the table are NaN.
    """
    df = _table(table, ("model", "layer", "lang_a", "lang_b", "metric", "value"), "alignment table")
    df, model = _one_model(df, model, "alignment table")
    if metrics is not None:
        df = df[df["metric"].isin(list(metrics))]
    if layers is not None:
        df = df[df["layer"].isin([int(x) for x in layers])]
    if df.empty:
        raise DataError(f"No alignment rows left for model {model!r} after selecting metrics={metrics}, layers={layers}.")
    df = df.assign(feature=df["metric"].astype(str) + "@L" + _int_layers(df, "alignment table").astype(str))
    key = ["lang_a", "lang_b", "feature"]
    dup = df[df.duplicated(key, keep=False)]
    if not dup.empty:
        r = dup.iloc[0]
        raise DataError(
            f"The alignment table has several rows for model={model!r}, {r['lang_a']}-{r['lang_b']}, {r['feature']}; "
            "keep one row per (model, layer, lang_a, lang_b, metric)."
        )
    out_langs = list(langs) if langs is not None else sorted(set(df["lang_a"]) | set(df["lang_b"]))
    features = sorted(df["feature"].unique(), key=lambda f: (f.split("@L")[0], int(f.split("@L")[1])))
    values: dict[tuple[str, str, str], tuple[float, str]] = {}
    for r in df[key + ["value"]].itertuples(index=False):
        values[(str(r.lang_a), str(r.lang_b), r.feature)] = (float(r.value), "")
    for (a, b, f), (v, _) in list(values.items()):
        if (b, a, f) not in values:
            values[(b, a, f)] = (v, f"mirrored from ({a}, {b})")
    return pair_grid(out_langs, features, f"alignment:{model}", values, include_self=include_self,
                     default_note="pair not in the alignment table")


def probe_transfer_features(
    table: pd.DataFrame | str | Path,
    *,
    langs: Sequence[str] | None = None,
    model: str | None = None,
    tasks: Sequence[str] | None = None,
    include_self: bool = False,
) -> pd.DataFrame:
    """Cross-lingual probe transfer (train on ``lang_a``, test on ``lang_b``) as pair features.

    Parameters
    ----------
    table : DataFrame or path
        A ``probes.train`` table (``model, layer, task, probe, metric, value,
        train_lang, test_lang, ...``).

    Returns
    -------
    DataFrame
        Features ``probe_<task>_<probe>_<metric>@L<layer>``, ordered (not
        symmetric), ``source = "probe:<model>"``.
    """
    df = _table(table, ("model", "layer", "task", "probe", "metric", "value", "train_lang", "test_lang"), "probe table")
    df, model = _one_model(df, model, "probe table")
    if tasks is not None:
        df = df[df["task"].isin(list(tasks))]
    df = df.dropna(subset=["train_lang", "test_lang"])
    if df.empty:
        raise DataError(f"No cross-lingual probe rows (train_lang, test_lang) for model {model!r}, tasks={tasks}.")
    df = df.assign(feature="probe_" + df["task"].astype(str) + "_" + df["probe"].astype(str) + "_"
                   + df["metric"].astype(str) + "@L" + _int_layers(df, "probe table").astype(str))
    key = ["train_lang", "test_lang", "feature"]
    dup = df[df.duplicated(key, keep=False)]
    if not dup.empty:
        r = dup.iloc[0]
        raise DataError(
            f"The probe table has several rows for {r['train_lang']}->{r['test_lang']}, {r['feature']} "
            f"(model {model!r}); keep one row per (model, layer, task, probe, metric, train_lang, test_lang)."
        )
    out_langs = list(langs) if langs is not None else sorted(set(df["train_lang"]) | set(df["test_lang"]))
    values = {(str(r.train_lang), str(r.test_lang), r.feature): (float(r.value), "")
              for r in df[key + ["value"]].itertuples(index=False)}
    features = sorted(df["feature"].unique())
    return pair_grid(out_langs, features, f"probe:{model}", values, include_self=include_self,
                     default_note="pair not in the probe table")
