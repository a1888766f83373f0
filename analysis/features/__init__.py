"""Pair features of languages: typology, lexicon, data size and model similarity.

Every feature source is registered in :data:`FEATURE_SOURCES` and returns one
tidy table, one row per **ordered** pair ``(lang_a, lang_b)`` with
``lang_a != lang_b`` (``lang_a`` = transfer source, ``lang_b`` = target) and
feature; the columns are :data:`PAIR_COLUMNS` (``lang_a, lang_b, feature,
value, source, note``; ``value`` is NaN with a note where unknown, never a
silent 0). Distances are symmetric, so both orders carry the same value; the
data-size features (``log10_tokens_src`` / ``_tgt``) and probe transfer are
ordered. docs/typology.md defines every feature, its formula, coverage and gaps.

Sources
-------
``uriel``         syntactic, phonological, inventory, featural, morphological
                  (WALS marking subset), genetic and geographic distances
``grambank``      Grambank (through URIEL+) morphological and syntactic distances
``ud_morph``      data-driven morphological distance from UD treebank profiles
``swadesh``       PanLex Swadesh lexical distance (LDN, LDND) after romanisation
``subword``       tokenizer subword-vocabulary overlap on parallel text
``mc4``           log pre-training tokens of source and target (mT5's mC4)
``alignment``     the model's CKA / SVCCA ... per layer (``representations.align``)
``probe_transfer`` cross-lingual probe accuracy per layer (``probes.train``)

Add a source with ``@FEATURE_SOURCES.register("name")`` on a function
``fn(langs, *, data_dir, include_self, **options) -> DataFrame`` returning
:data:`PAIR_COLUMNS`, or name a function outside the suite as
``"module:function"`` (also on the command line, ``python -m analysis.typology
--sources uriel,mymod:my_source``). The command line lives in
:mod:`analysis.typology`.

Layout (private modules behind this surface): ``_sources`` (registry,
:func:`pair_features`, :func:`wide_features`, :func:`feature_matrix`),
``_uriel`` (URIEL, Grambank), ``_morph`` (UD morphological profiles),
``_lexical`` (Swadesh, subword overlap), ``_data`` (mC4 sizes, model tables),
``_common`` (language codes, pair grid).

Examples
--------
>>> from analysis.features import pair_features, wide_features           # doctest: +SKIP
>>> df = pair_features(["en", "de", "ja"], sources=["uriel"])             # doctest: +SKIP
>>> wide_features(df).set_index(["lang_a", "lang_b"]).loc[("en", "de"), "uriel_syntax"]  # doctest: +SKIP
"""

from __future__ import annotations

from analysis.features._common import PAIR_COLUMNS, lang_codes
from analysis.features._data import (
    MC4_FEATURES,
    alignment_features,
    mc4_features,
    probe_transfer_features,
    read_mc4_tokens,
)
from analysis.features._lexical import (
    SUBWORD_FEATURES,
    SWADESH_FEATURES,
    SwadeshLists,
    levenshtein,
    normalise_word,
    subword_overlap,
    swadesh_distances,
    swadesh_pair,
    tokenize_parallel,
)
from analysis.features._morph import (
    UD_MORPH_FEATURES,
    MorphProfile,
    find_treebanks,
    morph_profile,
    morph_profile_distance,
    ud_morph_distances,
)
from analysis.features._sources import (
    DEFAULT_SOURCES,
    FEATURE_SOURCES,
    FeatureSource,
    feature_matrix,
    pair_features,
    wide_features,
)
from analysis.features._uriel import (
    GRAMBANK_FEATURES,
    URIEL_FEATURES,
    URIEL_MORPH_FEATURES,
    grambank_distances,
    grambank_proxy,
    mismatch_share,
    uriel_distances,
    uriel_location,
    uriel_vector,
)

__all__ = [
    "DEFAULT_SOURCES",
    "FEATURE_SOURCES",
    "GRAMBANK_FEATURES",
    "MC4_FEATURES",
    "PAIR_COLUMNS",
    "SUBWORD_FEATURES",
    "SWADESH_FEATURES",
    "UD_MORPH_FEATURES",
    "URIEL_FEATURES",
    "URIEL_MORPH_FEATURES",
    "FeatureSource",
    "MorphProfile",
    "SwadeshLists",
    "alignment_features",
    "feature_matrix",
    "find_treebanks",
    "grambank_distances",
    "grambank_proxy",
    "lang_codes",
    "levenshtein",
    "mc4_features",
    "mismatch_share",
    "morph_profile",
    "morph_profile_distance",
    "normalise_word",
    "pair_features",
    "probe_transfer_features",
    "read_mc4_tokens",
    "subword_overlap",
    "swadesh_distances",
    "swadesh_pair",
    "tokenize_parallel",
    "ud_morph_distances",
    "uriel_distances",
    "uriel_location",
    "uriel_vector",
    "wide_features",
]
