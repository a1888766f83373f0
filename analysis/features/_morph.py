"""Morphological profiles of languages from UD treebanks (private; see analysis.features).

A language's profile is computed from the FEATS column of its CoNLL-U
treebank(s): which features it marks, how many per word, and the distribution
over each feature's values. Two profiles are compared with a Jensen-Shannon
divergence per feature (docs/typology.md gives the formulas).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.features._common import pair_grid, resolve_data_dir
from crossling.errors import ConfigError, DataError
from crossling.types import Sentence

__all__ = [
    "UD_MORPH_FEATURES",
    "MorphProfile",
    "find_treebanks",
    "morph_profile",
    "morph_profile_distance",
    "ud_morph_distances",
]

#: Output feature names of the ``ud_morph`` source.
UD_MORPH_FEATURES: tuple[str, ...] = ("ud_morph_jsd", "ud_morph_featset", "ud_morph_rate")

_ABSENT = "\x00absent"


@dataclass
class MorphProfile:
    """A language's inflectional profile from annotated words.

    Attributes
    ----------
    lang : str
        Language code.
    n_words : int
        Words counted (syntactic words whose UPOS is not excluded).
    feats_per_word : float
        Mean number of FEATS entries per counted word.
    presence : dict of str to float
        Share of counted words that carry each feature (``"Case"`` -> 0.31).
    values : dict of str to dict of str to float
        For each feature, the distribution over its values among the words
        that carry it (sums to 1). Multi-values (``"Fem,Masc"``) are one value.
    sources : list of str
        Files or corpus names the profile was computed from.
    """

    lang: str
    n_words: int
    feats_per_word: float
    presence: dict[str, float] = field(default_factory=dict)
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def marked(self, min_share: float) -> set[str]:
        """Features carried by at least ``min_share`` of the counted words."""
        return {f for f, s in self.presence.items() if s >= min_share}

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``lang, feature, value, share_of_words`` (one row per feature value)."""
        rows = [
            (self.lang, f, v, self.presence[f] * p)
            for f in sorted(self.values)
            for v, p in sorted(self.values[f].items())
        ]
        return pd.DataFrame(rows, columns=["lang", "feature", "value", "share_of_words"])


def morph_profile(
    sentences: Iterable[Sentence],
    *,
    lang: str | None = None,
    exclude_upos: Sequence[str] = ("PUNCT", "SYM", "X"),
    sources: Sequence[str] = (),
) -> MorphProfile:
    """Compute a :class:`MorphProfile` from annotated sentences.

    Parameters
    ----------
    sentences : iterable of Sentence
        Sentences with UD words (``Word.feats``), e.g. from
        :func:`probes.readers.conllu.read_conllu`.
    lang : str, optional
        Label; default the first sentence's ``lang``.
    exclude_upos : sequence of str
        Words with these UPOS tags are not counted (punctuation, symbols and
        foreign/unanalysable words carry no inflection of the language).

    Raises
    ------
    DataError
        If no word is left to count.

    Examples
    --------
    >>> from crossling.types import Sentence, Word
    >>> s = Sentence("1", "xx", "a b", [Word(1, "a", (0, 1), upos="NOUN", feats={"Number": "Sing"}),
    ...                                 Word(2, "b", (2, 3), upos="VERB")])
    >>> p = morph_profile([s])
    >>> p.feats_per_word, p.presence, p.values
    (0.5, {'Number': 0.5}, {'Number': {'Sing': 1.0}})
    """
    excluded = set(exclude_upos)
    counts: dict[str, Counter] = {}
    n_words = 0
    n_feats = 0
    label = lang
    for sent in sentences:
        if label is None:
            label = sent.lang
        for w in sent.words:
            if w.upos in excluded:
                continue
            n_words += 1
            n_feats += len(w.feats)
            for f, v in w.feats.items():
                counts.setdefault(f, Counter())[v] += 1
    if n_words == 0:
        raise DataError(
            f"No countable words for a morphological profile of {label!r} (sources {list(sources)}): "
            f"the sentences have no words outside UPOS {sorted(excluded)}. Pass UD-annotated sentences."
        )
    presence = {f: sum(c.values()) / n_words for f, c in sorted(counts.items())}
    values = {f: {v: k / sum(c.values()) for v, k in sorted(c.items())} for f, c in sorted(counts.items())}
    return MorphProfile(str(label), n_words, n_feats / n_words, presence, values, list(sources))


def _jsd(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two discrete distributions."""
    keys = sorted(set(p) | set(q))
    a = np.array([p.get(k, 0.0) for k in keys])
    b = np.array([q.get(k, 0.0) for k in keys])
    m = 0.5 * (a + b)

    def kl(x: np.ndarray) -> float:
        nz = x > 0
        return float(np.sum(x[nz] * np.log2(x[nz] / m[nz])))

    return float(min(1.0, max(0.0, 0.5 * kl(a) + 0.5 * kl(b))))


def _with_absent(profile: MorphProfile, feat: str) -> dict[str, float]:
    share = profile.presence.get(feat, 0.0)
    dist = {v: share * p for v, p in profile.values.get(feat, {}).items()}
    dist[_ABSENT] = 1.0 - share
    return dist


def morph_profile_distance(p: MorphProfile, q: MorphProfile, *, min_share: float = 0.01) -> dict[str, float]:
    """Distances between two morphological profiles (symmetric, 0 for equal profiles).

    Parameters
    ----------
    p, q : MorphProfile
    min_share : float, default=0.01
        A feature counts as *marked* by a language when at least this share of
        its words carry it (filters stray annotations).

    Returns
    -------
    dict
        ``ud_morph_jsd``: mean over the features marked by either language of
        the Jensen-Shannon divergence (base 2) between the two distributions
        over ``values + {absent}`` on all counted words, i.e.
        ``P_f(v) = presence_f * P(v | f)`` and ``P_f(absent) = 1 - presence_f``;
        in [0, 1]. ``ud_morph_featset``: Jaccard distance between the sets of
        marked features. ``ud_morph_rate``: absolute difference of the mean
        number of features per word. Two profiles that mark nothing are at 0.
    """
    if not (0.0 <= min_share < 1.0):
        raise ConfigError(f"Parameter `min_share` must be in [0, 1), got {min_share!r}.")
    ma, mb = p.marked(min_share), q.marked(min_share)
    union = sorted(ma | mb)
    jsd = float(np.mean([_jsd(_with_absent(p, f), _with_absent(q, f)) for f in union])) if union else 0.0
    featset = 1.0 - len(ma & mb) / len(union) if union else 0.0
    return {
        "ud_morph_jsd": jsd,
        "ud_morph_featset": featset,
        "ud_morph_rate": abs(p.feats_per_word - q.feats_per_word),
    }


def find_treebanks(data_dir: str | Path | None = None) -> dict[str, list[Path]]:
    """CoNLL-U files per language under ``<data_dir>/ud`` (UD release layout).

    The language of a file comes from its name (``fr_pud-ud-test.conllu`` ->
    ``fr``, via :func:`probes.readers.conllu.lang_from_filename`).
    """
    from probes.readers.conllu import lang_from_filename

    root = resolve_data_dir(data_dir) / "ud"
    if not root.is_dir():
        raise DataError(
            "UD folder not found; expected <data_dir>/ud/UD_<Language>-<Treebank>/*.conllu. "
            "Set data_dir (or $CROSSLING_DATA) or pass `treebanks` explicitly.",
            path=root,
        )
    out: dict[str, list[Path]] = {}
    for path in sorted(root.glob("UD_*/*.conllu")):
        lang = lang_from_filename(path)
        if lang:
            out.setdefault(lang, []).append(path)
    return out


@lru_cache(maxsize=64)
def _profile_of_files(lang: str, files: tuple[str, ...], mtimes: tuple[float, ...]) -> MorphProfile:
    from probes.readers.conllu import read_conllu

    sents: list[Sentence] = []
    for f in files:
        sents.extend(read_conllu(f, lang=lang))
    return morph_profile(sents, lang=lang, sources=files)


def _profile_for(lang: str, files: Sequence[str | Path]) -> MorphProfile:
    paths = tuple(str(Path(f)) for f in files)
    for p in paths:
        if not Path(p).is_file():
            raise DataError(f"Treebank for language {lang!r} does not exist; check `treebanks`.", path=p)
    return _profile_of_files(lang, paths, tuple(Path(p).stat().st_mtime for p in paths))


def ud_morph_distances(
    langs: Sequence[str],
    *,
    data_dir: str | Path | None = None,
    treebanks: Mapping[str, Sequence[str | Path]] | None = None,
    profiles: Mapping[str, MorphProfile] | None = None,
    min_share: float = 0.01,
    include_self: bool = False,
) -> pd.DataFrame:
    """Data-driven morphological distances between the UD profiles of ``langs``.

    Parameters
    ----------
    langs : sequence of str
    data_dir : path, optional
        Searched for ``ud/UD_*/*.conllu`` when ``treebanks`` is not given.
    treebanks : mapping lang -> list of CoNLL-U paths, optional
        Explicit files per language (overrides the search).
    profiles : mapping lang -> MorphProfile, optional
        Precomputed profiles (override both).
    min_share : float
        See :func:`morph_profile_distance`.

    Returns
    -------
    DataFrame
        Tidy table with ``source="ud_morph"``; NaN (with the reason) for a
        language without a treebank. The note names the treebank files.
    """
    if profiles is None:
        profiles = {}
    profiles = dict(profiles)
    if treebanks is None:
        missing = [l for l in langs if l not in profiles]
        treebanks = find_treebanks(data_dir) if missing else {}
    have: dict[str, MorphProfile] = {}
    for lang in langs:
        if lang in profiles:
            have[lang] = profiles[lang]
        elif treebanks.get(lang):
            have[lang] = _profile_for(lang, treebanks[lang])
    values: dict[tuple[str, str, str], tuple[float, str]] = {}
    for a in langs:
        for b in langs:
            if a == b and not include_self:
                continue
            absent = [l for l in dict.fromkeys((a, b)) if l not in have]
            if absent:
                for f in UD_MORPH_FEATURES:
                    values[(a, b, f)] = (math.nan, f"no UD treebank with FEATS for {absent}")
                continue
            d = morph_profile_distance(have[a], have[b], min_share=min_share)
            note = f"n_words={have[a].n_words}/{have[b].n_words}"
            for f in UD_MORPH_FEATURES:
                values[(a, b, f)] = (d[f], note)
    return pair_grid(langs, UD_MORPH_FEATURES, "ud_morph", values, include_self=include_self)
