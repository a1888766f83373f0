"""Shared plumbing of the pair-feature sources (private; see analysis.features).

Every source returns the same tidy table, one row per ordered language pair
and feature, with missing values explicit (``NaN`` plus the reason in
``note``). The helpers here build that grid, resolve language codes through
:mod:`crossling.languages`, and find the data directory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pandas as pd

from crossling.paths import resolve_data_dir as _resolve_data_dir
from crossling.errors import ConfigError, DataError

__all__ = [
    "MACRO_TO_INDIVIDUAL",
    "PAIR_COLUMNS",
    "LangCodes",
    "check_langs",
    "cosine_distance",
    "lang_codes",
    "package_data_dir",
    "pair_grid",
    "resolve_data_dir",
]

#: Columns of every pair-feature table (``note`` says why a value is NaN).
PAIR_COLUMNS: tuple[str, ...] = ("lang_a", "lang_b", "feature", "value", "source", "note")


#: ISO 639-3 macrolanguage -> the individual language most resources mean by
#: it (used where a resource lists individual languages only: PanLex,
#: Grambank). Standard Arabic, Mandarin, Swahili, Standard Malay, Iranian
#: Persian, Standard Estonian/Latvian, Northern Uzbek, Nepali, Tosk Albanian.
MACRO_TO_INDIVIDUAL: dict[str, str] = {
    "ara": "arb", "zho": "cmn", "swa": "swh", "msa": "zsm", "fas": "pes", "est": "ekk",
    "lav": "lvs", "uzb": "uzn", "nep": "npi", "sqi": "als", "aze": "azj", "mon": "khk",
    "kur": "kmr", "pus": "pbu", "ori": "ory", "yid": "ydd", "orm": "gaz", "kon": "kng",
}


@dataclass(frozen=True)
class LangCodes:
    """The codes one language has in each resource.

    Attributes
    ----------
    code : str
        The code the caller used (the label in every output table).
    iso1 : str or None
        ISO 639-1, when the language has one.
    iso3 : str
        ISO 639-3 (individual language where possible).
    lang2vec : str
        Code in lang2vec's URIEL tables: :mod:`crossling.languages`' choice
        (the main individual language of a macrolanguage: ``arb``, ``cmn``),
        else lang2vec's own 639-1 -> 639-3 map (which keeps ``ara``, ``zho``).
    individual : str
        Individual-language ISO 639-3 code (``arb`` for ``ar``).
    mc4 : str or None
        Code in the mC4 statistics table (ISO 639-1 as in the mT5 paper).
    panlex : str or None
        PanLex variety UID that :mod:`crossling.languages` prefers (``eng-000``).
    """

    code: str
    iso1: str | None
    iso3: str
    lang2vec: str
    individual: str
    mc4: str | None
    panlex: str | None = None


@lru_cache(maxsize=1)
def _lang2vec_letter_codes() -> dict[str, str]:
    path = package_data_dir("lang2vec") / "letter_codes.json"
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _from_languages_module(code: str) -> object | None:
    """``crossling.languages.get_language(code)`` if that module exists, else None."""
    try:
        from crossling.languages import get_language
    except ImportError:
        return None
    try:
        return get_language(code)
    except (KeyError, ValueError, LookupError):
        return None


@lru_cache(maxsize=4096)
def lang_codes(code: str) -> LangCodes:
    """Resolve a language code (ISO 639-1 or 639-3) to every resource's code.

    Uses :func:`crossling.languages.get_language` when it knows the language
    (its ``iso1``, ``iso3``, ``lang2vec``, ``mc4`` and ``panlex`` codes);
    otherwise lang2vec's ISO 639-1 -> 639-3 table, and a 3-letter code is
    taken as ISO 639-3.

    Raises
    ------
    ConfigError
        If ``code`` is not a 2- or 3-letter lowercase code that can be resolved.
    """
    if not isinstance(code, str) or not code or not code.isascii() or not code.isalpha() or code != code.lower():
        raise ConfigError(f"Language code {code!r} must be a lowercase ISO 639-1 or 639-3 code such as 'en' or 'eng'.")
    letters = _lang2vec_letter_codes()
    info = _from_languages_module(code)
    iso1 = getattr(info, "iso1", None) if info is not None else None
    iso3 = getattr(info, "iso3", None) if info is not None else None
    if iso1 is None and len(code) == 2:
        iso1 = code
    if iso3 is None:
        if len(code) == 3:
            iso3 = code
        elif code in letters:
            iso3 = letters[code]
        else:
            raise ConfigError(
                f"Cannot resolve language code {code!r} to ISO 639-3: it is not in crossling.languages nor in "
                "lang2vec's ISO 639-1 table. Pass the ISO 639-3 code instead (e.g. 'swh')."
            )
    l2v = getattr(info, "lang2vec", None) if info is not None else None
    if not l2v:
        l2v = letters.get(iso1, iso3) if iso1 else iso3
    individual = MACRO_TO_INDIVIDUAL.get(iso3, iso3)
    mc4 = getattr(info, "mc4", None) if info is not None else None
    if not mc4:
        mc4 = iso1
    panlex = getattr(info, "panlex", None) if info is not None else None
    return LangCodes(code=code, iso1=iso1, iso3=iso3, lang2vec=l2v, individual=individual, mc4=mc4, panlex=panlex)


def check_langs(langs: Iterable[str], *, minimum: int = 1) -> list[str]:
    """Validate a language list and return the suite's codes (:func:`crossling.languages.canonical_codes`:
    ``eng``/``EN`` -> ``en``, so features join with every other table); no duplicates, at least ``minimum``."""
    from crossling.languages import canonical_codes

    if isinstance(langs, str):
        langs = [s for s in langs.replace(",", " ").split() if s]
    out = canonical_codes(list(langs), param="langs")
    for c in out:
        lang_codes(c)
    if len(out) < minimum:
        raise ConfigError(f"Parameter `langs` needs at least {minimum} language(s), got {out}.")
    return out


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """``data_dir``, else ``$CROSSLING_DATA``, else ``../shared/data`` (:func:`crossling.paths.resolve_data_dir`)."""
    return _resolve_data_dir(data_dir)


def package_data_dir(package: str) -> Path:
    """The ``data`` folder shipped inside an installed package, found without importing it."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"The package {package!r} is not installed; install it (pip install {package}) to use this feature source."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def pair_grid(
    langs: Sequence[str],
    features: Sequence[str],
    source: str,
    values: Mapping[tuple[str, str, str], tuple[float, str]],
    *,
    include_self: bool = False,
    default_note: str = "no value",
) -> pd.DataFrame:
    """The complete tidy grid of ordered pairs x features, NaN where absent.

    Parameters
    ----------
    langs : sequence of str
        Languages; every ordered pair ``(a, b)`` with ``a != b`` gets a row per
        feature (and ``a == b`` too when ``include_self``).
    features : sequence of str
        Feature names, in output order.
    source : str
        Value of the ``source`` column.
    values : mapping (lang_a, lang_b, feature) -> (value, note)
        Computed values; a missing key or a non-finite value becomes NaN with
        its note (or ``default_note``).

    Returns
    -------
    DataFrame
        Columns :data:`PAIR_COLUMNS`; ``n_pairs * len(features)`` rows.
    """
    rows = []
    for a in langs:
        for b in langs:
            if a == b and not include_self:
                continue
            for f in features:
                val, note = values.get((a, b, f), (math.nan, default_note))
                val = float(val) if val is not None else math.nan
                if not math.isfinite(val):
                    val = math.nan
                    note = note or default_note
                rows.append((a, b, f, val, source, note or ""))
    df = pd.DataFrame(rows, columns=list(PAIR_COLUMNS))
    df["value"] = df["value"].astype(float)
    return df


def cosine_distance(u: np.ndarray, v: np.ndarray) -> float:
    """``1 - u.v / (|u| |v|)``; NaN if either vector is all zeros (undefined).

    Examples
    --------
    >>> cosine_distance(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    0.0
    """
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if nu == 0.0 or nv == 0.0:
        return math.nan
    if np.array_equal(u, v):
        return 0.0
    cos = float(np.dot(u, v) / (nu * nv))
    return float(max(0.0, 1.0 - min(1.0, max(-1.0, cos))))
