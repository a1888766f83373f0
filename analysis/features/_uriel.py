"""URIEL (lang2vec) and Grambank (URIEL+) distances (private; see analysis.features).

The URIEL vectors are read from the ``.npz`` files that the ``lang2vec`` wheel
ships (the same arrays ``lang2vec.get_features`` returns; the tests check that)
without importing ``lang2vec`` itself, which imports the deprecated
``pkg_resources`` and prints to stdout for unknown languages. Grambank values
are read from the ``grambank_data.csv`` that the ``urielplus`` wheel ships
(see docs/typology.md for why the ``URIELPlus`` class is not driven directly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from analysis.features._common import (
    cosine_distance,
    lang_codes,
    package_data_dir,
    pair_grid,
)
from crossling.errors import ConfigError, DataError

__all__ = [
    "GRAMBANK_FEATURES",
    "GRAMBANK_METRICS",
    "grambank_proxy",
    "mismatch_share",
    "URIEL_FEATURES",
    "URIEL_MORPH_FEATURES",
    "grambank_distances",
    "uriel_distances",
    "uriel_location",
    "uriel_vector",
]

#: Feature name -> (lang2vec file, lang2vec feature-name prefix or ``None``).
_URIEL_SETS: dict[str, tuple[str, str]] = {
    "syntax_knn": ("feature_predictions.npz", "S_"),
    "phonology_knn": ("feature_predictions.npz", "P_"),
    "inventory_knn": ("feature_predictions.npz", "INV_"),
    "fam": ("family_features.npz", "F_"),
    "geo": ("geocoord_features.npz", "GC_"),
}

#: URIEL's syntax features that describe morphological marking (affixes,
#: clitics, case/number/TAM/negation marking, head vs dependent marking,
#: reduplication, agreement) rather than word order. They are WALS-derived
#: values inside lang2vec's ``syntax_*`` sets.
URIEL_MORPH_FEATURES: tuple[str, ...] = (
    "S_GENDER_MARK", "S_SEX_MARK", "S_DEFINITE_AFFIX", "S_INDEFINITE_AFFIX",
    "S_POSSESSIVE_PREFIX", "S_POSSESSIVE_SUFFIX", "S_DEMONSTRATIVE_PREFIX", "S_DEMONSTRATIVE_SUFFIX",
    "S_NOMINATIVE_VS_ACCUSATIVE_MARK", "S_ERGATIVE_VS_ABSOLUTIVE_MARK",
    "S_NEGATIVE_PREFIX", "S_NEGATIVE_SUFFIX", "S_NEGATIVE_AFFIX",
    "S_PLURAL_PREFIX", "S_PLURAL_SUFFIX", "S_PLURAL_WORD",
    "S_OBJECT_HEADMARK", "S_OBJECT_DEPMARK", "S_POSSESSIVE_HEADMARK", "S_POSSESSIVE_DEPMARK",
    "S_TEND_HEADMARK", "S_TEND_DEPMARK", "S_TEND_PREFIX", "S_TEND_SUFFIX", "S_ANY_REDUP",
    "S_CASE_PREFIX", "S_CASE_SUFFIX", "S_CASE_PROCLITIC", "S_CASE_ENCLITIC", "S_CASE_MARK",
    "S_COMITATIVE_VS_INSTRUMENTAL_MARK", "S_NUMCLASS_MARK",
    "S_PERFECTIVE_VS_IMPERFECTIVE_MARK", "S_PAST_VS_PRESENT_MARK", "S_FUTURE_AFFIX",
    "S_TAM_PREFIX", "S_TAM_SUFFIX", "S_POLARQ_AFFIX", "S_SUBORDINATOR_SUFFIX",
    "S_PROSUBJECT_AFFIX", "S_PROSUBJECT_CLITIC", "S_ANY_AGREEMENT_ON_ADJECTIVES",
)

#: Output feature names of the ``uriel`` source.
URIEL_FEATURES: tuple[str, ...] = (
    "uriel_syntax", "uriel_phonology", "uriel_inventory", "uriel_featural", "uriel_morph",
    "uriel_genetic", "uriel_geographic",
)

#: Output feature names of the ``grambank`` source.
GRAMBANK_FEATURES: tuple[str, ...] = ("grambank_morph", "grambank_syntax")


def mismatch_share(u: np.ndarray, v: np.ndarray) -> float:
    """Mean absolute difference over the features observed (finite) in both vectors.

    For binary features this is the Hamming distance as a share (Gower's
    distance for categorical data): the share of shared features on which
    the two languages differ. Defined for all-zero vectors; NaN only when no
    feature is observed in both.

    Examples
    --------
    >>> mismatch_share(np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0]))
    0.3333333333333333
    """
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    ok = np.isfinite(u) & np.isfinite(v)
    if not ok.any():
        return math.nan
    return float(np.mean(np.abs(u[ok] - v[ok])))


@lru_cache(maxsize=8)
def _npz(filename: str) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """(language -> row, feature names, data[lang, feat]) of one lang2vec file."""
    path = package_data_dir("lang2vec") / filename
    if not path.is_file():
        raise DataError("lang2vec data file is missing; reinstall lang2vec (pip install 'lang2vec==1.1.2').", path=path)
    with np.load(path) as z:
        langs = [str(x) for x in z["langs"]]
        feats = np.array([str(x) for x in z["feats"]])
        data = np.asarray(z["data"][:, :, 0], dtype=float)
    return {l: i for i, l in enumerate(langs)}, feats, data


def uriel_vector(code: str, feature_set: str) -> tuple[np.ndarray, np.ndarray] | None:
    """One language's URIEL vector, as lang2vec's ``get_features`` returns it.

    Parameters
    ----------
    code : str
        ISO 639-1 or 639-3 code (resolved with lang2vec's own 639-1 table).
    feature_set : {"syntax_knn", "phonology_knn", "inventory_knn", "fam", "geo", "morph_knn"}
        ``morph_knn`` is the :data:`URIEL_MORPH_FEATURES` subset of ``syntax_knn``.

    Returns
    -------
    (names, values) : arrays of shape (n_features,), or None
        ``None`` when the language is not in URIEL or the vector is unknown
        (lang2vec's ``-1``) anywhere.
    """
    if feature_set == "morph_knn":
        got = uriel_vector(code, "syntax_knn")
        if got is None:
            return None
        names, vals = got
        keep = np.isin(names, URIEL_MORPH_FEATURES)
        return names[keep], vals[keep]
    if feature_set not in _URIEL_SETS:
        raise ConfigError(f"Unknown URIEL feature set {feature_set!r}. Available: {sorted([*_URIEL_SETS, 'morph_knn'])}.")
    filename, prefix = _URIEL_SETS[feature_set]
    index, feats, data = _npz(filename)
    row = index.get(lang_codes(code).lang2vec)
    if row is None:
        return None
    cols = np.char.startswith(feats.astype(str), prefix)
    vals = data[row, cols]
    if np.any(vals == -1.0):
        return None
    return feats[cols], vals


def _anchor_units() -> np.ndarray:
    """Unit vectors of URIEL's geographic anchor points ``GC_<lat>_<lon>``, shape (n_anchors, 3)."""
    _, feats, _ = _npz("geocoord_features.npz")
    latlon = np.array([[float(p) for p in f.split("_")[1:3]] for f in feats])
    return _unit(latlon[:, 0], latlon[:, 1])


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def uriel_location(code: str) -> tuple[float, float] | None:
    """A language's (latitude, longitude) in degrees, recovered from URIEL's ``geo`` vector.

    URIEL's ``geo`` feature ``GC_<lat>_<lon>`` is the great-circle distance
    from the language to that anchor divided by the antipodal distance, i.e.
    ``theta_i / pi``. With ``a_i`` the anchor's unit vector and ``x`` the
    language's, ``cos(pi * v_i) = a_i . x``: a linear least-squares problem
    in ``x`` (299 equations, 3 unknowns), normalised to the unit sphere.

    Returns
    -------
    (lat, lon) or None
        ``None`` when the language has no ``geo`` vector.
    """
    got = uriel_vector(code, "geo")
    if got is None:
        return None
    x = _location_unit(got[1])
    return float(np.degrees(np.arcsin(np.clip(x[2], -1, 1)))), float(np.degrees(np.arctan2(x[1], x[0])))


def _location_unit(geo: np.ndarray) -> np.ndarray:
    A = _anchor_units()
    x, *_ = np.linalg.lstsq(A, np.cos(np.pi * np.asarray(geo, dtype=float)), rcond=None)
    return x / np.linalg.norm(x)


def uriel_distances(langs: Sequence[str], *, include_self: bool = False) -> pd.DataFrame:
    """URIEL distances for every ordered pair of ``langs`` (symmetric).

    Features (all in [0, 1], 0 = identical):

    ``uriel_syntax``, ``uriel_phonology``, ``uriel_inventory``
        Cosine distance between the kNN-imputed ``syntax_knn`` (103 dims),
        ``phonology_knn`` (28) and ``inventory_knn`` (158) vectors, as URIEL's
        precomputed SYNTACTIC / PHONOLOGICAL / INVENTORY distances.
    ``uriel_featural``
        Cosine distance of the concatenation of the three (URIEL's FEATURAL).
    ``uriel_morph``
        Share of the :data:`URIEL_MORPH_FEATURES` of ``syntax_knn``
        (morphological marking, from WALS; binary) on which the two languages
        differ (Hamming / Gower distance). Unlike the cosine distance it is
        defined when a language has none of these features present (an
        isolating language), exactly the pairs that are most distant.
    ``uriel_genetic``
        Cosine distance between the ``fam`` family-membership vectors (one
        dimension per Glottolog family/subgroup): ``1 - |A & B| / sqrt(|A| |B|)``
        over the sets of groups containing each language; 1 across families.
    ``uriel_geographic``
        Great-circle distance between the two languages' locations divided by
        the antipodal distance (URIEL's GEOGRAPHIC definition); locations are
        recovered exactly from the ``geo`` vectors (:func:`uriel_location`).

    Returns
    -------
    DataFrame
        Tidy table (``lang_a, lang_b, feature, value, source="uriel", note``).
    """
    vectors: dict[tuple[str, str], np.ndarray | None] = {}
    for lang in langs:
        for fs in ("syntax_knn", "phonology_knn", "inventory_knn", "morph_knn", "fam", "geo"):
            got = uriel_vector(lang, fs)
            vectors[(lang, fs)] = None if got is None else got[1]
        g = vectors[(lang, "geo")]
        vectors[(lang, "loc")] = None if g is None else _location_unit(g)
        parts = [p for p in (vectors[(lang, s)] for s in ("syntax_knn", "phonology_knn", "inventory_knn"))
                 if p is not None]
        vectors[(lang, "featural")] = np.concatenate(parts) if len(parts) == 3 else None

    def geo(u: np.ndarray, v: np.ndarray) -> float:
        if np.array_equal(u, v):
            return 0.0
        return float(np.arccos(np.clip(np.dot(u, v), -1.0, 1.0)) / np.pi)

    spec = {
        "uriel_syntax": ("syntax_knn", cosine_distance),
        "uriel_phonology": ("phonology_knn", cosine_distance),
        "uriel_inventory": ("inventory_knn", cosine_distance),
        "uriel_featural": ("featural", cosine_distance),
        "uriel_morph": ("morph_knn", mismatch_share),
        "uriel_genetic": ("fam", cosine_distance),
        "uriel_geographic": ("loc", geo),
    }
    values: dict[tuple[str, str, str], tuple[float, str]] = {}
    for a in langs:
        for b in langs:
            if a == b and not include_self:
                continue
            for feat, (key, fn) in spec.items():
                va, vb = vectors[(a, key)], vectors[(b, key)]
                missing = [l for l, v in ((a, va), (b, vb)) if v is None]
                if va is None or vb is None:
                    why = ", ".join(f"{l!r} (lang2vec code {lang_codes(l).lang2vec!r})" for l in dict.fromkeys(missing))
                    values[(a, b, feat)] = (math.nan, f"not in URIEL {key}: {why}")
                    continue
                d = fn(va, vb)
                note = "" if math.isfinite(d) else f"empty {key} vector (no family membership recorded)"
                values[(a, b, feat)] = (d, note)
    return pair_grid(langs, URIEL_FEATURES, "uriel", values, include_self=include_self)


# --------------------------------------------------------------------------- Grambank


@lru_cache(maxsize=1)
def _grambank() -> pd.DataFrame:
    """Grambank values (URIEL+ feature names) indexed by glottocode; -1 -> NaN."""
    csv_dir = package_data_dir("urielplus").parent / "database" / "urielplus_csvs"
    path = csv_dir / "grambank_data.csv"
    if not path.is_file():
        raise DataError("urielplus's Grambank table is missing; reinstall urielplus (pip install urielplus).", path=path)
    df = pd.read_csv(path).set_index("language_id")
    return df.replace(-1, np.nan).astype(float)


@lru_cache(maxsize=1)
def _glottocodes() -> dict[str, str]:
    path = package_data_dir("urielplus").parent / "database" / "urielplus_csvs" / "uriel_glottocode_map.csv"
    if not path.is_file():
        raise DataError("urielplus's ISO -> Glottocode map is missing; reinstall urielplus.", path=path)
    m = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {r.iso_code: r.glottocode for r in m.itertuples() if r.glottocode}


def _glottocode(code: str) -> str | None:
    c = lang_codes(code)
    g = _glottocodes()
    return g.get(c.iso3) or g.get(c.individual)


#: Distances over the Grambank features both languages have a value for.
GRAMBANK_METRICS = ("hamming", "cosine")


@lru_cache(maxsize=64)
def grambank_proxy(code: str) -> tuple[str, str, float] | None:
    """The genealogically closest Grambank language of a language Grambank lacks.

    Closeness is the cosine similarity of URIEL's ``fam`` vectors (one
    dimension per Glottolog family and subgroup containing the language),
    over every Grambank language with an ISO code in URIEL+'s map; ties go to
    the candidate with the most Grambank values.

    Returns
    -------
    (iso, glottocode, genetic_distance) or None
        None when the language has no ``fam`` vector or no Grambank language
        shares a family with it.
    """
    own = uriel_vector(code, "fam")
    if own is None or not np.any(own[1]):
        return None
    index, feats, data = _npz("family_features.npz")
    fam_cols = np.char.startswith(feats.astype(str), "F_")
    gb = _grambank()
    inv: dict[str, str] = {}
    for iso, g in _glottocodes().items():
        if g in gb.index and iso in index:
            inv.setdefault(g, iso)
    if not inv:
        return None
    gcodes = list(inv)
    rows = np.array([index[inv[g]] for g in gcodes])
    M = data[rows][:, fam_cols]
    M = np.where(M < 0, 0.0, M)
    u = own[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = (M @ u) / (np.linalg.norm(M, axis=1) * np.linalg.norm(u))
    sim = np.nan_to_num(sim, nan=-1.0)
    own_g = _glottocode(code)
    n_obs = gb.loc[gcodes].notna().sum(axis=1).to_numpy()
    order = sorted(range(len(gcodes)), key=lambda i: (-sim[i], -n_obs[i], gcodes[i]))
    for i in order:
        if gcodes[i] != own_g and sim[i] > 0:
            return inv[gcodes[i]], gcodes[i], float(1 - sim[i])
    return None


def grambank_distances(
    langs: Sequence[str], *, include_self: bool = False, min_shared: int = 20, metric: str = "hamming",
    fallback: bool = True,
) -> pd.DataFrame:
    """Grambank (via URIEL+) morphological and syntactic distances, symmetric.

    ``grambank_morph`` uses URIEL+'s ``M_`` features (75 Grambank features on
    nominal and verbal morphology: case, number, TAM, person indexing,
    derivation ...); ``grambank_syntax`` its ``S_`` features (121). Grambank is
    not imputed: the distance is computed over the features both languages
    have a value for, NaN when fewer than ``min_shared`` features are shared.

    Parameters
    ----------
    metric : {"hamming", "cosine"}, default="hamming"
        ``hamming``: share of the shared features on which the languages
        differ (Gower distance for categorical values; :func:`mismatch_share`),
        defined for every pair. ``cosine``: URIEL+'s ``new_distance``, undefined
        (NaN) when a language has no feature "present" over the shared ones.
    fallback : bool, default=True
        A language Grambank lacks (German ``stan1295`` and Spanish are not in
        the URIEL+ release) is represented by its genealogically closest
        Grambank language (:func:`grambank_proxy`); the ``note`` of every pair
        that uses a proxy names it. ``False``: such pairs are NaN.

    Returns
    -------
    DataFrame
        Tidy table with ``source="grambank"``; ``note`` holds ``n_shared`` and
        any proxy.
    """
    if not isinstance(min_shared, int) or min_shared < 1:
        raise ConfigError(f"Parameter `min_shared` must be a positive integer, got {min_shared!r}.")
    if metric not in GRAMBANK_METRICS:
        raise ConfigError(f"Parameter `metric` must be one of {GRAMBANK_METRICS}, got {metric!r}.")
    dist = mismatch_share if metric == "hamming" else cosine_distance
    gb = _grambank()
    groups = {"grambank_morph": [c for c in gb.columns if c.startswith("M_")],
              "grambank_syntax": [c for c in gb.columns if c.startswith("S_")]}
    rows: dict[str, pd.Series | None] = {}
    notes: dict[str, str] = {}
    proxies: dict[str, str] = {}
    for lang in langs:
        g = _glottocode(lang)
        if g is None:
            rows[lang], notes[lang] = None, f"{lang!r}: no Glottocode for ISO {lang_codes(lang).iso3!r} in URIEL+"
        elif g not in gb.index:
            rows[lang], notes[lang] = None, f"{lang!r} (Glottocode {g}) is not in Grambank"
        else:
            rows[lang] = gb.loc[g]
        if rows[lang] is None and fallback:
            px = grambank_proxy(lang)
            if px is not None:
                rows[lang] = gb.loc[px[1]]
                proxies[lang] = (f"{notes[lang]}; proxy {px[0]} ({px[1]}), the closest Grambank language by URIEL "
                                 f"genetic distance {px[2]:.3f}")
    values: dict[tuple[str, str, str], tuple[float, str]] = {}
    for a in langs:
        for b in langs:
            if a == b and not include_self:
                continue
            ra, rb = rows[a], rows[b]
            proxy_note = "; ".join(proxies[l] for l in dict.fromkeys((a, b)) if l in proxies)
            for feat, cols in groups.items():
                if ra is None or rb is None:
                    why = "; ".join(notes[l] for l in dict.fromkeys((a, b)) if rows[l] is None)
                    values[(a, b, feat)] = (math.nan, why)
                    continue
                if a == b:
                    values[(a, b, feat)] = (0.0, proxy_note)
                    continue
                va, vb = ra[cols].to_numpy(dtype=float), rb[cols].to_numpy(dtype=float)
                shared = ~np.isnan(va) & ~np.isnan(vb)
                n = int(shared.sum())
                if n < min_shared:
                    values[(a, b, feat)] = (math.nan, f"only {n} shared Grambank features (< min_shared={min_shared})"
                                            + (f"; {proxy_note}" if proxy_note else ""))
                    continue
                d = dist(va[shared], vb[shared])
                note = f"n_shared={n}" if math.isfinite(d) else "no shared feature present (cosine undefined)"
                values[(a, b, feat)] = (d, note + (f"; {proxy_note}" if proxy_note else ""))
    return pair_grid(langs, GRAMBANK_FEATURES, "grambank", values, include_self=include_self)
