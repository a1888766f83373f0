"""Lexical similarity: PanLex Swadesh lists and subword-vocabulary overlap (private).

See analysis.features and docs/typology.md for the definitions.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.features._common import lang_codes, pair_grid, resolve_data_dir
from crossling.errors import ConfigError, DataError
from crossling.types import Sentence

__all__ = [
    "SUBWORD_FEATURES",
    "SWADESH_FEATURES",
    "SwadeshLists",
    "levenshtein",
    "normalise_word",
    "subword_overlap",
    "swadesh_distances",
    "swadesh_pair",
    "tokenize_parallel",
]

#: Output feature names of the ``swadesh`` source.
SWADESH_FEATURES: tuple[str, ...] = ("lex_swadesh_ldn", "lex_swadesh_ldnd")
#: Output feature names of the ``subword`` source.
SUBWORD_FEATURES: tuple[str, ...] = ("lex_subword_jaccard", "lex_subword_weighted_jaccard")

_NON_LETTER = re.compile(r"[^a-z]")
# Languages whose Han spelling anyascii romanises with the right (Mandarin) readings.
_HAN_NATIVE = frozenset({"cmn", "zho"})


def normalise_word(expr: str) -> str:
    """Romanise and normalise one expression for edit distance.

    ``anyascii`` transliteration (which also strips diacritics: ``é`` -> ``e``,
    ``я`` -> ``ya``, ``水`` -> ``shui``), lowercase, then only the letters
    ``a-z`` are kept (spaces, hyphens, digits, apostrophes and PanLex's
    ``%``/``*`` markers are dropped).

    Examples
    --------
    >>> normalise_word("Ǧurdžija-Straße")
    'gurdzijastrasse'
    >>> normalise_word("вода")
    'voda'
    """
    from anyascii import anyascii

    return _NON_LETTER.sub("", anyascii(unicodedata.normalize("NFC", expr)).lower())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions each cost 1).

    Myers' bit-parallel algorithm (Hyyrö's formulation for the global
    distance), with Python integers as bit vectors of length ``len(a)``;
    equal to the textbook dynamic programme (:func:`_levenshtein_dp`, checked
    on random strings in the tests) and faster (bench/bench_typology.py). The
    bit vectors of ``a`` are cached, as each word is compared many times.

    Examples
    --------
    >>> levenshtein("kitten", "sitting")
    3
    """
    if a == b:
        return 0
    m = len(a)
    if m == 0:
        return len(b)
    if not b:
        return m
    peq, full, top = _pattern(a)
    pv, mv, score = full, 0, m
    get = peq.get
    for c in b:
        eq = get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
    return score


@lru_cache(maxsize=65536)
def _pattern(a: str) -> tuple[dict[str, int], int, int]:
    """Myers' match bit vectors of ``a`` (cached: each Swadesh word is compared many times)."""
    peq: dict[str, int] = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | (1 << i)
    return peq, (1 << len(a)) - 1, 1 << (len(a) - 1)


def _levenshtein_dp(a: str, b: str) -> int:
    """Reference edit distance by the O(|a||b|) dynamic programme."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _ldn(a: str, b: str) -> float:
    """Levenshtein distance normalised by the longer length (LDN), in [0, 1]."""
    n = max(len(a), len(b))
    return levenshtein(a, b) / n if n else 0.0


def _min_ldn(xs: Sequence[str], ys: Sequence[str]) -> float:
    return min(_ldn(x, y) for x in xs for y in ys)


class SwadeshLists:
    """Reader of the PanLex Swadesh corpus, read from its zip file directly.

    Parameters
    ----------
    path : path
        ``panlex_swadesh.zip`` (``panlex_swadesh/swadesh{110,207}/<uid>.txt``,
        one concept per line, synonyms TAB-separated; ``langs{110,207}.txt``
        lists the varieties: UID, ISO 639-3, type, scripts, name, name UID).
    concepticon : {"207", "110"}
        Which list: Swadesh 207 (fewer varieties, more concepts) or
        Swadesh-Yakhontov 110.
    """

    def __init__(self, path: str | Path, concepticon: str = "207"):
        self.path = Path(path)
        self.concepticon = str(concepticon)
        if self.concepticon not in ("110", "207"):
            raise ConfigError(f"Parameter `concepticon` must be '110' or '207', got {concepticon!r}.")
        if not self.path.is_file():
            raise DataError(
                "PanLex Swadesh zip not found; expected <data_dir>/typology/panlex_swadesh.zip.", path=self.path
            )
        try:
            self._zip = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile as exc:
            raise DataError(f"Not a readable zip file ({exc}).", path=self.path) from None
        names = self._zip.namelist()
        prefix = next((n.split("/")[0] + "/" for n in names if n.endswith(f"langs{self.concepticon}.txt")), None)
        if prefix is None:
            raise DataError(
                f"The zip has no langs{self.concepticon}.txt; is it the PanLex Swadesh corpus (Jan 2017)?",
                path=self.path,
            )
        self._prefix = prefix
        self.varieties = self._read_varieties()

    def _read_varieties(self) -> pd.DataFrame:
        name = f"{self._prefix}langs{self.concepticon}.txt"
        rows = []
        for i, line in enumerate(self._zip.read(name).decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 4:
                raise DataError(f"expected >= 4 TAB-separated fields (uid, iso, type, scripts), got {len(parts)}",
                                path=f"{self.path}!{name}", line=i)
            rows.append((parts[0], parts[1], parts[3], parts[4] if len(parts) > 4 else ""))
        return pd.DataFrame(rows, columns=["uid", "iso3", "scripts", "name"])

    def variety(self, iso3: str, preferred: str | None = None) -> str | None:
        """The variety UID used for an ISO 639-3 code, or None.

        ``preferred`` (e.g. :mod:`crossling.languages`' ``panlex`` code) if the
        list has it, else PanLex's primary variety (lowest number,
        ``xxx-000``); in both cases a variety written in Han characters is
        replaced by another variety of the language that is not, outside
        Chinese: ``anyascii`` reads Han with Mandarin readings, which is wrong
        for Japanese (``jpn-000`` -> ``jpn-001``, romaji).
        """
        cand = self.varieties[self.varieties.iso3 == iso3].sort_values("uid")
        if cand.empty:
            return None
        chosen = cand[cand.uid == preferred]
        row = chosen.iloc[0] if not chosen.empty else cand.iloc[0]
        non_han = cand[~cand.scripts.str.contains("Han")]
        if "Han" in row.scripts and iso3 not in _HAN_NATIVE and not non_han.empty:
            return str(non_han.iloc[0].uid)
        return str(row.uid)

    def words(self, uid: str) -> list[list[str]]:
        """Normalised synonyms per concept (an empty list where the concept is unknown)."""
        return _words(self.path, self._prefix, self.concepticon, uid)


@lru_cache(maxsize=512)
def _words(path: Path, prefix: str, concepticon: str, uid: str) -> list[list[str]]:
    name = f"{prefix}swadesh{concepticon}/{uid}.txt"
    with zipfile.ZipFile(path) as z:
        try:
            raw = z.read(name).decode("utf-8")
        except KeyError:
            raise DataError(f"variety {uid!r} has no list {name} in the zip.", path=path) from None
    out = []
    for line in raw.split("\n")[: int(concepticon)]:
        syn = [w for w in (normalise_word(x) for x in line.split("\t")) if w]
        out.append(list(dict.fromkeys(syn)))
    out += [[] for _ in range(int(concepticon) - len(out))]
    return out


def swadesh_pair(wa: list[list[str]], wb: list[list[str]], *, shifts: int = 10) -> tuple[float, float, int]:
    """(LDN, LDND, number of shared concepts) of two normalised lists.

    ``LDN`` is the mean over concepts both lists express of the minimum, over
    synonym pairs, of ``lev(x, y) / max(|x|, |y|)``. ``LDND`` divides it by the
    same quantity on mismatched concepts (concept ``i`` against ``i + s`` for
    ``s = 1..shifts``, cyclically), which corrects for chance similarity due
    to word length and phonotactics (Wichmann et al. 2010); ``LDND`` can
    exceed 1 slightly for unrelated languages.
    """
    shared = [i for i in range(len(wa)) if wa[i] and wb[i]]
    if not shared:
        return math.nan, math.nan, 0
    ldn = float(np.mean([_min_ldn(wa[i], wb[i]) for i in shared]))
    off = [
        _min_ldn(wa[i], wb[j])
        for k, i in enumerate(shared)
        for s in range(1, shifts + 1)
        for j in [shared[(k + s) % len(shared)]]
        if j != i
    ]
    base = float(np.mean(off)) if off else math.nan
    ldnd = ldn / base if base and base > 0 else math.nan
    return ldn, ldnd, len(shared)


def swadesh_distances(
    langs: Sequence[str],
    *,
    data_dir: str | Path | None = None,
    path: str | Path | None = None,
    concepticon: str = "207",
    varieties: Mapping[str, str] | None = None,
    min_concepts: int = 40,
    shifts: int = 10,
    include_self: bool = False,
) -> pd.DataFrame:
    """Lexical distances from PanLex Swadesh lists for every ordered pair (symmetric).

    Parameters
    ----------
    langs : sequence of str
    data_dir, path : path, optional
        The zip is ``path`` or ``<data_dir>/typology/panlex_swadesh.zip``.
    concepticon : {"207", "110"}
    varieties : mapping lang -> PanLex UID, optional
        Override the variety choice (see :meth:`SwadeshLists.variety`).
    min_concepts : int
        Pairs sharing fewer concepts get NaN.
    shifts : int
        Mismatched-concept offsets for the LDND baseline.

    Returns
    -------
    DataFrame
        ``lex_swadesh_ldn`` and ``lex_swadesh_ldnd`` (``source="panlex"``);
        the note records the varieties and the number of shared concepts.
    """
    if not isinstance(min_concepts, int) or min_concepts < 1:
        raise ConfigError(f"Parameter `min_concepts` must be a positive integer, got {min_concepts!r}.")
    if not isinstance(shifts, int) or shifts < 1:
        raise ConfigError(f"Parameter `shifts` must be a positive integer, got {shifts!r}.")
    zpath = Path(path) if path is not None else resolve_data_dir(data_dir) / "typology" / "panlex_swadesh.zip"
    lists = SwadeshLists(zpath, concepticon)
    varieties = dict(varieties or {})
    uid: dict[str, str | None] = {}
    for lang in langs:
        if lang in varieties:
            uid[lang] = varieties[lang]
        else:
            c = lang_codes(lang)
            pref_iso = c.panlex.split("-")[0] if c.panlex else None
            uid[lang] = next((u for u in (lists.variety(i, c.panlex) for i in (pref_iso, c.iso3, c.individual) if i)
                              if u is not None), None)
    words = {l: lists.words(u) for l, u in uid.items() if u is not None}
    values: dict[tuple[str, str, str], tuple[float, str]] = {}
    cache: dict[tuple[str, str], tuple[float, float, int]] = {}
    for a in langs:
        for b in langs:
            if a == b and not include_self:
                continue
            absent = [l for l in dict.fromkeys((a, b)) if uid[l] is None]
            if absent:
                why = ", ".join(f"{l!r} (ISO {lang_codes(l).iso3})" for l in absent)
                for f in SWADESH_FEATURES:
                    values[(a, b, f)] = (math.nan, f"no PanLex Swadesh-{concepticon} list for {why}")
                continue
            key = (a, b) if a <= b else (b, a)
            if key not in cache:
                cache[key] = swadesh_pair(words[key[0]], words[key[1]], shifts=shifts)
            ldn, ldnd, n = cache[key]
            note = f"{uid[a]}~{uid[b]} n_concepts={n}"
            if n < min_concepts:
                ldn = ldnd = math.nan
                note += f" (< min_concepts={min_concepts})"
            values[(a, b, "lex_swadesh_ldn")] = (ldn, note)
            values[(a, b, "lex_swadesh_ldnd")] = (ldnd, note)
    return pair_grid(langs, SWADESH_FEATURES, "panlex", values, include_self=include_self)


# --------------------------------------------------------------------------- subword overlap


def tokenize_parallel(
    sentences: Mapping[str, Sequence[Sentence]],
    tokenizer: Callable[[str], Sequence[str]] | object,
) -> dict[str, dict[str, list[str]]]:
    """Tokenise parallel sentences per language with a caller-supplied tokenizer.

    Parameters
    ----------
    sentences : mapping lang -> sequence of Sentence
        Parallel sentences (joined across languages by ``sent_id``).
    tokenizer : HF tokenizer or callable
        An object with ``tokenize(text) -> list[str]`` (any Hugging Face
        tokenizer, loaded by the caller: analysis never loads models) or a
        function ``text -> list[str]``. Special tokens are not added.

    Returns
    -------
    dict
        ``{lang: {sent_id: [token, ...]}}``, the input of :func:`subword_overlap`.
    """
    if hasattr(tokenizer, "tokenize"):
        fn = tokenizer.tokenize
    elif callable(tokenizer):
        fn = tokenizer
    else:
        raise ConfigError(
            f"Parameter `tokenizer` must have a .tokenize(text) method or be a callable, got {type(tokenizer).__name__}."
        )
    out: dict[str, dict[str, list[str]]] = {}
    for lang, sents in sentences.items():
        toks: dict[str, list[str]] = {}
        for s in sents:
            got = fn(s.text)
            if isinstance(got, str) or not all(isinstance(t, str) for t in got):
                raise ConfigError(
                    f"The tokenizer returned {type(got).__name__} for sentence {s.sent_id!r} ({lang}); "
                    "it must return a list of token strings."
                )
            toks[s.sent_id] = list(got)
        out[lang] = toks
    return out


def _as_id_map(lang: str, toks: Mapping[str, Sequence[str]] | Sequence[Sequence[str]]) -> dict[str, list[str]]:
    if isinstance(toks, Mapping):
        return {str(k): list(v) for k, v in toks.items()}
    if isinstance(toks, (str, bytes)):
        raise ConfigError(f"Tokens of {lang!r} must be a list of token lists or a mapping sent_id -> tokens, got a string.")
    return {str(i): list(v) for i, v in enumerate(toks)}


def subword_overlap(
    tokens: Mapping[str, Mapping[str, Sequence[str]] | Sequence[Sequence[str]]],
    *,
    langs: Sequence[str] | None = None,
    model: str | None = None,
    min_sentences: int = 10,
    include_self: bool = False,
) -> pd.DataFrame:
    """Subword-vocabulary overlap of language pairs on the same parallel sentences.

    Parameters
    ----------
    tokens : mapping lang -> tokens
        Per language either ``{sent_id: [token, ...]}`` (pairs use the
        sentence ids both languages have) or a list of token lists in parallel
        order (then all languages must have the same number of sentences).
    langs : sequence of str, optional
        Output languages (default: those in ``tokens``); a language without
        tokens gets NaN rows.
    model : str, optional
        Tokenizer label; the ``source`` column becomes ``subword:<model>``.
    min_sentences : int
        Pairs with fewer common sentences get NaN.

    Returns
    -------
    DataFrame
        ``lex_subword_jaccard`` = ``|T_a & T_b| / |T_a | T_b|`` over the sets of
        subword types; ``lex_subword_weighted_jaccard`` = ``sum_t min(p_a(t),
        p_b(t)) / sum_t max(p_a(t), p_b(t))`` over relative token frequencies.
        Both are similarities in [0, 1] (1 = same vocabulary use).

    Examples
    --------
    >>> df = subword_overlap({"xx": [["a", "b"]], "yy": [["b", "c"]]}, min_sentences=1)
    >>> float(df.query("feature == 'lex_subword_jaccard'").value.iloc[0])
    0.3333333333333333
    """
    if not isinstance(min_sentences, int) or min_sentences < 1:
        raise ConfigError(f"Parameter `min_sentences` must be a positive integer, got {min_sentences!r}.")
    maps = {l: _as_id_map(l, t) for l, t in tokens.items()}
    ordered = [not isinstance(t, Mapping) for t in tokens.values()]
    if any(ordered):
        sizes = {l: len(m) for l, m in maps.items()}
        if len(set(sizes.values())) > 1:
            raise DataError(
                f"Token lists given in parallel order must have the same number of sentences per language; got {sizes}. "
                "Pass {sent_id: tokens} mappings to join by sentence id instead."
            )
    out_langs = list(langs) if langs is not None else list(maps)
    values: dict[tuple[str, str, str], tuple[float, str]] = {}
    for a in out_langs:
        for b in out_langs:
            if a == b and not include_self:
                continue
            absent = [l for l in dict.fromkeys((a, b)) if l not in maps]
            if absent:
                for f in SUBWORD_FEATURES:
                    values[(a, b, f)] = (math.nan, f"no tokens for {absent}")
                continue
            ids = sorted(set(maps[a]) & set(maps[b]))
            if len(ids) < min_sentences:
                for f in SUBWORD_FEATURES:
                    values[(a, b, f)] = (math.nan, f"only {len(ids)} common sentences (< min_sentences={min_sentences})")
                continue
            ca = Counter(t for i in ids for t in maps[a][i])
            cb = Counter(t for i in ids for t in maps[b][i])
            ta, tb = set(ca), set(cb)
            union = ta | tb
            jac = len(ta & tb) / len(union) if union else math.nan
            na, nb = sum(ca.values()), sum(cb.values())
            if na and nb:
                num = sum(min(ca[t] / na, cb[t] / nb) for t in union)
                den = sum(max(ca[t] / na, cb[t] / nb) for t in union)
                wj = num / den
            else:
                wj = math.nan
            note = f"n_sentences={len(ids)}"
            values[(a, b, "lex_subword_jaccard")] = (jac, note if union else "no tokens")
            values[(a, b, "lex_subword_weighted_jaccard")] = (wj, note if na and nb else "no tokens")
    source = f"subword:{model}" if model else "subword"
    return pair_grid(out_langs, SUBWORD_FEATURES, source, values, include_self=include_self)
