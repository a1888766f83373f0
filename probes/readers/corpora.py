"""Corpora: named sources of per-language CoNLL-U sentences, aligned when parallel.

A corpus is a small class registered in :data:`CORPORA`; :func:`load_corpus`
looks it up by name, checks its options, and returns a
:class:`ParallelCorpus`:

==========  ===========================================================  ========
name        what                                                         parallel
==========  ===========================================================  ========
``sample``  the demo sample bundled in ``probes/data/sample/<lang>.conllu``  yes
``pud``     Parallel UD treebanks ``<data_dir>/ud/UD_*-PUD/*_pud-ud-test``   yes
``ud``      any UD release directory (``UD_<Language>-<TB>/...conllu``)     no
``conllu``  CoNLL-U files given by path, one language each              optional
==========  ===========================================================  ========

Parallel corpora are joined by ``# sent_id``, never by position: every
language gets the sentences whose id occurs in all requested languages, in one
common order (that of the first requested language, or sorted ids with
``order="sorted"``); ids absent from some language are listed in
:attr:`ParallelCorpus.missing` and reported with a :class:`CorpusWarning`.

Register your own corpus with ``@CORPORA.register("name")`` on a
:class:`Corpus` subclass, or name it as ``"package.module:Class"``.

This module is over 600 lines on purpose: the five corpus classes share the
alignment, fingerprint and option-checking code of :class:`Corpus` and read
best side by side.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from probes.readers.conllu import conllu_language, lang_from_filename, read_conllu
from crossling.paths import default_data_dir, resolve_data_dir
from crossling.errors import ConfigError, DataError, SuiteError, suggest
from crossling.io import sha256_file
from crossling.registry import Registry
from crossling.types import Sentence

__all__ = [
    "CORPORA",
    "ORDERS",
    "SAMPLE_DIR",
    "ConlluCorpus",
    "Corpus",
    "CorpusWarning",
    "PUDCorpus",
    "ParallelCorpus",
    "SampleCorpus",
    "UDCorpus",
    "UDTreebank",
    "align_by_sent_id",
    "default_data_dir",
    "discover_ud",
    "load_corpus",
]

#: Registered corpus classes (``sample``, ``ud``, ``pud``, ``conllu``).
CORPORA: Registry[type[Corpus]] = Registry("corpus")

#: Where the bundled demo sample lives.
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"

#: Orders a parallel corpus can put its sentences in.
ORDERS = ("first", "sorted")

_SPLITS = ("train", "dev", "test")
_UD_DIR = re.compile(r"UD_([^-]+)-(.+)")
_UD_FILE = re.compile(r"([a-z]{2,3})_([a-z0-9]+)-ud-(train|dev|test)(?:-[A-Za-z0-9-]+)?\.conllu")


class CorpusWarning(UserWarning):
    """Sentences of a parallel corpus are missing in some languages (they are dropped)."""




def _download_hint(path: Path, what: str) -> str:
    pud = f"`python -m probes.data download --what ud-pud --out {path}`"
    if what == "pud":
        return (f"Get the PUD treebanks with {pud}, or point to an existing copy with data_dir= / "
                "--data-dir / $CROSSLING_DATA.")
    return ("Point data_dir at an unpacked UD release (ud-treebanks-v2.x from "
            f"https://universaldependencies.org/#download), or get the PUD treebanks with {pud}.")


# --------------------------------------------------------------------------- records


@dataclass
class ParallelCorpus:
    """Sentences per language, with what was dropped and where they came from.

    Attributes
    ----------
    name : str
        Registry name of the corpus (``"pud"``).
    sentences : dict of str to list of Sentence
        Per language code, in the requested language order. For a parallel
        corpus every list has the same length and ``sentences[a][i]`` and
        ``sentences[b][i]`` share a ``sent_id``.
    missing : dict of str to list of str
        Per language, ids present in another requested language but absent
        here (so dropped everywhere). Empty lists when nothing is missing.
    description : str
        One human-readable line: source, split, counts; says "demo" for demos.
    files : dict of str to list of Path
        The files read, per language.
    parallel : bool
        Whether the languages were aligned by ``sent_id``.
    is_demo : bool
        True for the bundled demo sample (not for research conclusions).
    options : dict
        The corpus options used (for provenance).
    """

    name: str
    sentences: dict[str, list[Sentence]]
    missing: dict[str, list[str]] = field(default_factory=dict)
    description: str = ""
    files: dict[str, list[Path]] = field(default_factory=dict)
    parallel: bool = False
    is_demo: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    _fingerprint: str | None = field(default=None, repr=False, compare=False)

    @property
    def langs(self) -> list[str]:
        """Language codes, in the order they were requested."""
        return list(self.sentences)

    def sent_ids(self, lang: str | None = None) -> list[str]:
        """Sentence ids of ``lang`` (default: the first language; the common order if parallel)."""
        if not self.sentences:
            return []
        lang = self.langs[0] if lang is None else lang
        if lang not in self.sentences:
            raise ConfigError(f"Corpus {self.name!r} has no language {lang!r}; it has {', '.join(self.langs)}.")
        return [s.sent_id for s in self.sentences[lang]]

    def n_sentences(self) -> dict[str, int]:
        """Number of sentences per language."""
        return {lang: len(v) for lang, v in self.sentences.items()}

    def fingerprint(self) -> str:
        """SHA-256 over the files read (their bytes) and the sentence ids selected.

        Equal fingerprints mean the same file contents and the same selection
        and order of sentences, wherever the files lie on disk.
        """
        if self._fingerprint is None:
            payload = {
                "name": self.name,
                "files": {lang: [sha256_file(p) for p in paths] for lang, paths in sorted(self.files.items())},
                "ids": {lang: hashlib.sha256("\n".join(s.sent_id for s in sents).encode()).hexdigest()
                        for lang, sents in self.sentences.items()},
                "langs": self.langs,
            }
            self._fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return self._fingerprint


@dataclass(frozen=True)
class UDTreebank:
    """One treebank folder of a UD release.

    Attributes
    ----------
    directory : Path
        ``.../UD_<Language>-<Treebank>``.
    language : str
        Language name from the folder (``"Old_French"``).
    treebank : str
        Treebank name from the folder (``"PUD"``, ``"EWT"``).
    code : str
        The code the files start with (``"en"``, ``"grc"``).
    lang : str
        ``code`` normalised to ISO 639-1 where one exists.
    files : dict of str to tuple of Path
        Per split (``train``, ``dev``, ``test``), its files (large treebanks
        split ``train`` into several).
    """

    directory: Path
    language: str
    treebank: str
    code: str
    lang: str
    files: dict[str, tuple[Path, ...]]

    def size(self, split: str) -> int:
        """Bytes of the ``split`` files (0 if the split is absent)."""
        return sum(p.stat().st_size for p in self.files.get(split, ()))


# --------------------------------------------------------------------------- helpers


def _lang_aliases(code: str) -> set[str]:
    """Lower-case names under which ``code`` can be requested (code, ISO 639-1/3, name)."""
    out = {code.lower()}
    try:
        from crossling.languages import get_language
    except ImportError:  # pragma: no cover - the module ships with the suite
        return out
    try:
        info = get_language(code)
    except (SuiteError, LookupError):
        return out
    names = [getattr(info, a, None) for a in ("iso1", "iso3", "name", "ud_name", "ud_code")]
    names += list(getattr(info, "aliases", ()) or ())
    for v in names:
        if isinstance(v, str) and v:
            out.add(v.lower())
            out.add(v.lower().replace("_", " "))
    return out


def _resolve_langs(requested: Sequence[str] | str | None, available: dict[str, set[str]], corpus: str,
                   where: str) -> list[str]:
    """Map requested codes/names onto the corpus's language codes (order kept, duplicates dropped).

    ``available`` maps each corpus language code to its aliases (lower-case).
    """
    if requested is None:
        return sorted(available)
    if isinstance(requested, str):
        requested = [r.strip() for r in requested.split(",") if r.strip()]
    if not requested:
        return sorted(available)
    index: dict[str, str] = {}
    for lang_code, aliases in available.items():
        for a in aliases | {lang_code.lower()}:
            index.setdefault(a, lang_code)
    out: list[str] = []
    for req in requested:
        if not isinstance(req, str) or not req.strip():
            raise ConfigError(f"The 'langs' parameter must hold language codes, got {req!r}.")
        key = req.strip().lower()
        code: str | None = index.get(key)
        if code is None:
            for alias in _lang_aliases(req.strip()):
                code = index.get(alias)
                if code is not None:
                    break
        if code is None:
            raise ConfigError(
                f"Corpus {corpus!r} has no language {req!r} in {where}.{suggest(key, sorted(available))} "
                f"Available: {', '.join(sorted(available)) or '(none)'}."
            )
        if code not in out:
            out.append(code)
    return out


def align_by_sent_id(per_lang: dict[str, list[Sentence]], order: str = "first"
                     ) -> tuple[dict[str, list[Sentence]], dict[str, list[str]]]:
    """Align parallel sentences by ``sent_id`` (never by position).

    Parameters
    ----------
    per_lang : dict of str to list of Sentence
        Sentences per language, ids unique within each language.
    order : {"first", "sorted"}, default="first"
        Common order: that of the first language in ``per_lang``, or sorted ids.

    Returns
    -------
    aligned : dict of str to list of Sentence
        Same keys; every list holds the ids shared by all languages, in one order.
    missing : dict of str to list of str
        Per language, ids found in another language but not in this one
        (in order of first appearance over the languages).

    Raises
    ------
    ConfigError
        If ``order`` is unknown.
    DataError
        If a language repeats an id, or no id is shared by all languages.

    Examples
    --------
    >>> from crossling.types import Sentence
    >>> a = [Sentence("s1", "en", "a"), Sentence("s2", "en", "b")]
    >>> b = [Sentence("s2", "de", "B"), Sentence("s1", "de", "A")]
    >>> aligned, missing = align_by_sent_id({"en": a, "de": b})
    >>> [s.text for s in aligned["de"]]
    ['A', 'B']
    """
    if order not in ORDERS:
        raise ConfigError(f"The 'order' parameter must be one of {list(ORDERS)}, got {order!r}.")
    if not per_lang:
        return {}, {}
    maps: dict[str, dict[str, Sentence]] = {}
    for lang, sents in per_lang.items():
        m: dict[str, Sentence] = {}
        for s in sents:
            if s.sent_id in m:
                raise DataError(
                    f"sent_id {s.sent_id!r} occurs twice in language {lang!r} "
                    f"({m[s.sent_id].source} and {s.source}); parallel sentences are joined by sent_id, "
                    "which must be unique per language."
                )
            m[s.sent_id] = s
        maps[lang] = m
    langs = list(per_lang)
    common = set(maps[langs[0]]).intersection(*(set(m) for m in maps.values()))
    union_order: list[str] = []
    seen: set[str] = set()
    for lang in langs:
        for s in per_lang[lang]:
            if s.sent_id not in seen:
                seen.add(s.sent_id)
                union_order.append(s.sent_id)
    missing = {lang: [i for i in union_order if i not in maps[lang]] for lang in langs}
    if not common:
        sources = {lang: (per_lang[lang][0].source if per_lang[lang] else "(no sentences)") for lang in langs}
        raise DataError(
            "no sentence id is shared by all requested languages "
            f"({', '.join(f'{k}: {v}' for k, v in sources.items())}); parallel corpora are joined by "
            "'# sent_id'. Check that the files are translations of one another with the same ids."
        )
    if order == "first":
        ids = [s.sent_id for s in per_lang[langs[0]] if s.sent_id in common]
    else:
        ids = sorted(common)
    aligned = {lang: [maps[lang][i] for i in ids] for lang in langs}
    return aligned, missing


def discover_ud(root: str | Path, *, what: str = "ud") -> list[UDTreebank]:
    """Find the treebanks of a UD release directory.

    Parameters
    ----------
    root : str or Path
        A directory holding ``UD_<Language>-<Treebank>/`` folders, or one
        whose ``ud/`` sub-folder does (the suite's data-directory layout).

    Returns
    -------
    list of UDTreebank
        Sorted by folder name; folders without ``*-ud-<split>.conllu`` files
        are skipped.

    Raises
    ------
    DataError
        If ``root`` does not exist or holds no UD treebank folder; the
        message says how to get the data (``what`` names the download).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data directory does not exist. {_download_hint(root, what)}", root)
    base = root
    if not any(p.is_dir() and p.name.startswith("UD_") for p in root.iterdir()):
        base = root / "ud"
        if not base.is_dir() or not any(p.is_dir() and p.name.startswith("UD_") for p in base.iterdir()):
            raise DataError(
                f"holds no UD treebank folders (UD_<Language>-<Treebank>/), neither directly nor under "
                f"'ud/'. {_download_hint(root, what)}",
                root,
            )
    out: list[UDTreebank] = []
    for d in sorted(p for p in base.iterdir() if p.is_dir()):
        m = _UD_DIR.fullmatch(d.name)
        if m is None:
            continue
        files: dict[str, list[Path]] = {}
        code = None
        for f in sorted(d.iterdir()):
            fm = _UD_FILE.fullmatch(f.name)
            if fm is None or not f.is_file():
                continue
            code = code or fm.group(1)
            files.setdefault(fm.group(3), []).append(f)
        if code is None:
            continue
        lang = lang_from_filename(f"{code}.conllu") or code
        out.append(UDTreebank(d, m.group(1), m.group(2), code, lang,
                              {k: tuple(v) for k, v in files.items()}))
    return out


# --------------------------------------------------------------------------- corpus classes


class Corpus:
    """Base class of a corpus: find files per language, read them, align if parallel.

    Subclasses set the class attributes, implement :meth:`languages` and
    :meth:`files`, and take their own options as keyword-only ``__init__``
    arguments (which :func:`load_corpus` checks by name).

    Parameters
    ----------
    data_dir : str or Path, optional
        The data directory (default :func:`default_data_dir`).
    max_sentences : int, optional
        Keep only the first N sentences (after alignment) per language.
    order : {"first", "sorted"}, default="first"
        Common order of a parallel corpus (see :func:`align_by_sent_id`).
    """

    #: Registry name.
    name: ClassVar[str] = ""
    #: One line describing the corpus (shown by listings).
    description: ClassVar[str] = ""
    #: True for a demo corpus that must not support research conclusions.
    is_demo: ClassVar[bool] = False
    #: Whether languages are aligned by ``sent_id``.
    parallel: ClassVar[bool] = False

    def __init__(self, data_dir: str | Path | None = None, *, max_sentences: int | None = None,
                 order: str = "first"):
        self.data_dir = resolve_data_dir(data_dir)
        if max_sentences is not None and (isinstance(max_sentences, bool) or not isinstance(max_sentences, int)
                                          or max_sentences < 1):
            raise ConfigError(f"The 'max_sentences' option must be a positive integer, got {max_sentences!r}.")
        if order not in ORDERS:
            raise ConfigError(f"The 'order' option must be one of {list(ORDERS)}, got {order!r}.")
        self.max_sentences = max_sentences
        self.order = order

    def languages(self) -> list[str]:
        """Language codes this corpus can load, sorted."""
        return sorted(self._aliases())

    def _aliases(self) -> dict[str, set[str]]:
        """Language code -> lower-case aliases accepted in ``langs``."""
        raise NotImplementedError

    def files(self, langs: Sequence[str]) -> dict[str, list[Path]]:
        """The files to read for each (resolved) language code."""
        raise NotImplementedError

    def _where(self) -> str:
        return str(self.data_dir)

    def _describe(self, langs: list[str], n: dict[str, int], dropped: int) -> str:
        return self.description

    def options(self) -> dict[str, Any]:
        """Options of this instance, for provenance."""
        return {"max_sentences": self.max_sentences, "order": self.order}

    def load(self, langs: Sequence[str] | str | None = None) -> ParallelCorpus:
        """Read (and align, if parallel) the sentences of ``langs`` (default: all).

        Raises
        ------
        ConfigError
            If a language is not in the corpus (the available ones are listed).
        DataError
            If a file is missing or malformed, or ids repeat.
        """
        codes = _resolve_langs(langs, self._aliases(), self.name, self._where())
        files = self.files(codes)
        per_lang: dict[str, list[Sentence]] = {}
        for lang in codes:
            sents: list[Sentence] = []
            for f in files[lang]:
                sents.extend(read_conllu(f, lang=lang))
            per_lang[lang] = sents
        missing: dict[str, list[str]] = {lang: [] for lang in codes}
        if self.parallel:
            per_lang, missing = align_by_sent_id(per_lang, self.order)
            dropped = {lang: ids for lang, ids in missing.items() if ids}
            if dropped:
                parts = ", ".join(f"{lang}: {len(ids)} (e.g. {ids[0]!r})" for lang, ids in dropped.items())
                warnings.warn(
                    f"corpus {self.name!r}: sentence ids missing in some languages were dropped from all "
                    f"languages ({parts}); {len(per_lang[codes[0]])} aligned sentences remain.",
                    CorpusWarning,
                    stacklevel=3,
                )
        else:
            for lang, sents in per_lang.items():
                _check_unique(lang, sents)
        if self.max_sentences is not None:
            per_lang = {lang: v[: self.max_sentences] for lang, v in per_lang.items()}
        n = {lang: len(v) for lang, v in per_lang.items()}
        n_dropped = len({i for ids in missing.values() for i in ids})
        return ParallelCorpus(
            name=self.name,
            sentences=per_lang,
            missing=missing,
            description=self._describe(codes, n, n_dropped),
            files={lang: list(files[lang]) for lang in codes},
            parallel=self.parallel,
            is_demo=self.is_demo,
            options=self.options(),
        )


def _check_unique(lang: str, sents: list[Sentence]) -> None:
    seen: dict[str, str | None] = {}
    for s in sents:
        if s.sent_id in seen:
            raise DataError(
                f"sent_id {s.sent_id!r} of language {lang!r} occurs in two places ({seen[s.sent_id]} and "
                f"{s.source}); sent_id must be unique per language."
            )
        seen[s.sent_id] = s.source


def _counts(n: dict[str, int]) -> str:
    vals = set(n.values())
    if len(vals) == 1:
        return f"{vals.pop()} sentences x {len(n)} languages ({', '.join(n)})"
    return ", ".join(f"{k}: {v}" for k, v in n.items())


@CORPORA.register("sample")
class SampleCorpus(Corpus):
    """The demo sample bundled with the suite (``probes/data/sample/<lang>.conllu``).

    A handful of parallel sentences per language, aligned by ``# sent_id``,
    for running every command offline. It is a demo: results on it are not
    evidence of anything. ``data_dir`` is ignored.
    """

    name = "sample"
    description = "DEMO sample bundled with the suite (tiny; for trying the commands, not for conclusions)"
    is_demo = True
    parallel = True

    def __init__(self, data_dir: str | Path | None = None, *, max_sentences: int | None = None,
                 order: str = "first"):
        super().__init__(data_dir, max_sentences=max_sentences, order=order)
        self.sample_dir = SAMPLE_DIR

    def _where(self) -> str:
        return str(self.sample_dir)

    def _paths(self) -> dict[str, Path]:
        if not self.sample_dir.is_dir():
            raise DataError(
                "the bundled demo sample is missing; reinstall the package (it ships probes/data/sample/).",
                self.sample_dir,
            )
        out: dict[str, Path] = {}
        for p in sorted(self.sample_dir.glob("*.conllu")):
            out[lang_from_filename(p) or p.stem] = p
        if not out:
            raise DataError(
                "the bundled demo sample holds no <lang>.conllu file; reinstall the package.", self.sample_dir
            )
        return out

    def _aliases(self) -> dict[str, set[str]]:
        return {code: _lang_aliases(code) for code in self._paths()}

    def files(self, langs: Sequence[str]) -> dict[str, list[Path]]:
        paths = self._paths()
        return {lang: [paths[lang]] for lang in langs}

    def _describe(self, langs: list[str], n: dict[str, int], dropped: int) -> str:
        return (f"DEMO sample bundled with the suite ({_counts(n)}, aligned by sent_id"
                f"{f'; {dropped} ids missing in some language dropped' if dropped else ''}); "
                "for trying the commands only, not for research conclusions.")


@CORPORA.register("ud")
class UDCorpus(Corpus):
    """Treebanks of a Universal Dependencies release directory.

    Parameters
    ----------
    data_dir : str or Path, optional
        A UD release (``ud-treebanks-v2.x/``) or a data directory with a
        ``ud/`` folder of ``UD_<Language>-<Treebank>/`` folders.
    split : {"train", "dev", "test"}, default="test"
        Which split to read (every UD treebank has a test split).
    treebank : str or dict of str to str, optional
        Treebank name (``"EWT"``, case-insensitive) for every language, or
        per language (``{"en": "EWT", "fr": "GSD"}``). Default: for each
        language the treebank with the largest ``split`` file; the choice is
        stated in the corpus description.
    max_sentences, order
        See :class:`Corpus`.
    """

    name = "ud"
    description = "Universal Dependencies treebanks from a UD release directory (one treebank per language)"
    parallel = False

    def __init__(self, data_dir: str | Path | None = None, *, split: str = "test",
                 treebank: str | dict[str, str] | None = None, max_sentences: int | None = None,
                 order: str = "first"):
        super().__init__(data_dir, max_sentences=max_sentences, order=order)
        if split not in _SPLITS:
            raise ConfigError(
                f"The 'split' option must be one of {list(_SPLITS)}, got {split!r}.{suggest(str(split), _SPLITS)}"
            )
        if treebank is not None and not isinstance(treebank, (str, dict)):
            raise ConfigError(
                f"The 'treebank' option must be a treebank name or a mapping language -> name, got {treebank!r}."
            )
        self.split = split
        self.treebank = treebank
        self._treebanks: list[UDTreebank] | None = None
        self._chosen: dict[str, UDTreebank] = {}

    def options(self) -> dict[str, Any]:
        return {**super().options(), "split": self.split, "treebank": self.treebank}

    def _where(self) -> str:
        return f"{self.data_dir} (treebanks with a {self.split!r} split)"

    def treebanks(self) -> list[UDTreebank]:
        """The treebanks found under ``data_dir`` that have the split (discovered once)."""
        if self._treebanks is None:
            self._treebanks = [tb for tb in self._discover() if self.split in tb.files]
            if not self._treebanks:
                raise DataError(
                    f"holds UD treebanks but none has a {self.split!r} split matching this corpus. "
                    f"{_download_hint(self.data_dir, self.name)}",
                    self.data_dir,
                )
        return self._treebanks

    def _discover(self) -> list[UDTreebank]:
        return discover_ud(self.data_dir)

    def _aliases(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for tb in self.treebanks():
            aliases = out.setdefault(tb.lang, set())
            aliases |= {tb.code.lower(), tb.language.lower(), tb.language.lower().replace("_", " ")}
            aliases |= _lang_aliases(tb.lang)
        return out

    def _wanted(self, lang: str) -> str | None:
        if isinstance(self.treebank, dict):
            for key, value in self.treebank.items():
                if key == lang or key.lower() in _lang_aliases(lang):
                    return str(value)
            return None
        return self.treebank

    def files(self, langs: Sequence[str]) -> dict[str, list[Path]]:
        out: dict[str, list[Path]] = {}
        for lang in langs:
            cands = [tb for tb in self.treebanks() if tb.lang == lang]
            wanted = self._wanted(lang)
            if wanted is not None:
                match = [tb for tb in cands if tb.treebank.lower() == wanted.lower()]
                if not match:
                    names = [tb.treebank for tb in cands]
                    raise ConfigError(
                        f"No {lang!r} treebank named {wanted!r} with a {self.split!r} split in "
                        f"{self.data_dir}.{suggest(wanted, names)} Available for {lang!r}: {', '.join(names)}."
                    )
                cands = match
            chosen = max(cands, key=lambda tb: (tb.size(self.split), tb.treebank))
            self._chosen[lang] = chosen
            out[lang] = list(chosen.files[self.split])
        return out

    def _describe(self, langs: list[str], n: dict[str, int], dropped: int) -> str:
        tbs = ", ".join(f"{lang}: {self._chosen[lang].directory.name}" for lang in langs)
        return f"UD {self.split} split from {self.data_dir} ({tbs}; {_counts(n)}; not parallel)"


@CORPORA.register("pud")
class PUDCorpus(UDCorpus):
    """The Parallel Universal Dependencies treebanks (1000 sentences per language).

    Reads ``<data_dir>/ud/UD_<Language>-PUD/<code>_pud-ud-test.conllu`` (or
    ``<data_dir>/UD_<Language>-PUD/...``) and joins languages by
    ``# sent_id``; sentences missing in a requested language are dropped from
    all and listed in :attr:`ParallelCorpus.missing`.

    Parameters
    ----------
    data_dir : str or Path, optional
        Data directory (default :func:`default_data_dir`).
    max_sentences, order
        See :class:`Corpus`.
    """

    name = "pud"
    description = "Parallel Universal Dependencies (PUD) test treebanks, aligned by sent_id"
    parallel = True

    def __init__(self, data_dir: str | Path | None = None, *, max_sentences: int | None = None,
                 order: str = "first"):
        super().__init__(data_dir, split="test", treebank="PUD", max_sentences=max_sentences, order=order)

    def options(self) -> dict[str, Any]:
        return {"max_sentences": self.max_sentences, "order": self.order}

    def _discover(self) -> list[UDTreebank]:
        tbs = [tb for tb in discover_ud(self.data_dir, what='pud') if tb.treebank == "PUD"]
        if not tbs:
            raise DataError(
                f"holds no PUD treebank (UD_<Language>-PUD/<code>_pud-ud-test.conllu). "
                f"{_download_hint(self.data_dir, 'pud')}",
                self.data_dir,
            )
        return tbs

    def _describe(self, langs: list[str], n: dict[str, int], dropped: int) -> str:
        extra = f"; {dropped} ids missing in some language were dropped" if dropped else ""
        return f"PUD test treebanks from {self.data_dir} ({_counts(n)}, aligned by sent_id{extra})"


@CORPORA.register("conllu")
class ConlluCorpus(Corpus):
    """CoNLL-U files given by path, one language per file.

    Parameters
    ----------
    data_dir : str or Path, optional
        Ignored (paths are used as given, relative to the working directory).
    paths : str, Path or list of them
        The files (a comma-separated string is split). Several files of one
        language are concatenated (their ``sent_id`` must stay unique).
    lang : str or list of str, optional
        Language of each file (one code for all, or one per path). Default:
        from each file name (``de.conllu``, ``de_gsd-ud-train.conllu``).
    align : bool, default=False
        Treat the files as parallel: join languages by ``sent_id``.
    max_sentences, order
        See :class:`Corpus`.
    """

    name = "conllu"
    description = "CoNLL-U files given by path (one language per file)"

    def __init__(self, data_dir: str | Path | None = None, *, paths: str | Path | Iterable[str | Path] | None = None,
                 lang: str | Sequence[str] | None = None, align: bool = False, max_sentences: int | None = None,
                 order: str = "first"):
        super().__init__(data_dir, max_sentences=max_sentences, order=order)
        if paths is None:
            raise ConfigError("Corpus 'conllu' needs the 'paths' option: one or more CoNLL-U files "
                              "(e.g. paths=['de.conllu', 'en.conllu'] or --paths de.conllu,en.conllu).")
        if isinstance(paths, (str, Path)):
            plist = [Path(p.strip()) for p in str(paths).split(",") if p.strip()] if isinstance(paths, str) \
                else [paths]
        else:
            plist = [Path(p) for p in paths]
        if not plist:
            raise ConfigError("The 'paths' option of corpus 'conllu' is empty; give at least one CoNLL-U file.")
        if lang is None:
            langs: list[str | None] = [None] * len(plist)
        elif isinstance(lang, str):
            langs = [lang] * len(plist)
        else:
            langs = list(lang)
            if len(langs) != len(plist):
                raise ConfigError(
                    f"The 'lang' option gives {len(langs)} codes for {len(plist)} paths; give one code for all "
                    "files or one per file."
                )
        self.paths = plist
        self.align = bool(align)
        self.parallel = self.align  # type: ignore[misc]
        self._by_lang: dict[str, list[Path]] = {}
        for p, code in zip(plist, langs):
            if not p.is_file():
                raise DataError("no such CoNLL-U file (option 'paths'); check the path.", p)
            code = conllu_language(p, code)
            self._by_lang.setdefault(code, []).append(p)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "paths": [str(p) for p in self.paths], "align": self.align}

    def _where(self) -> str:
        return ", ".join(str(p) for p in self.paths)

    def _aliases(self) -> dict[str, set[str]]:
        return {code: _lang_aliases(code) for code in self._by_lang}

    def files(self, langs: Sequence[str]) -> dict[str, list[Path]]:
        return {lang: list(self._by_lang[lang]) for lang in langs}

    def _describe(self, langs: list[str], n: dict[str, int], dropped: int) -> str:
        how = "aligned by sent_id" if self.align else "not aligned"
        extra = f"; {dropped} ids missing in some language were dropped" if dropped else ""
        return f"CoNLL-U files {self._where()} ({_counts(n)}, {how}{extra})"


# --------------------------------------------------------------------------- entry point


def _option_names(cls: type) -> list[str]:
    sig = inspect.signature(cls)
    return [p.name for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY]


def load_corpus(name: str, data_dir: str | Path | None = None, langs: Sequence[str] | str | None = None,
                **options: Any) -> ParallelCorpus:
    """Load a registered corpus by name.

    Parameters
    ----------
    name : str
        A name in :data:`CORPORA` (``sample``, ``pud``, ``ud``, ``conllu``)
        or ``"package.module:Class"`` naming a :class:`Corpus` subclass.
    data_dir : str or Path, optional
        Data directory (default ``$CROSSLING_DATA`` or ``../shared/data``).
    langs : list of str or str, optional
        Language codes or names (``"en"``, ``"eng"``, ``"English"``, or
        ``"en,de"``); default: every language of the corpus, sorted.
    **options
        The corpus's own options (``split``, ``treebank``, ``paths``,
        ``lang``, ``align``, ``max_sentences``, ``order``).

    Returns
    -------
    ParallelCorpus
        ``sentences[lang]`` lists in the order of ``langs``.

    Raises
    ------
    ConfigError
        Unknown corpus (available ones listed), unknown option, bad value or
        unknown language.
    DataError
        Missing data directory (with how to get the data), malformed files.

    Examples
    --------
    >>> c = load_corpus("sample", langs=["en", "de"], max_sentences=2)
    >>> c.is_demo, c.langs, c.n_sentences()
    (True, ['en', 'de'], {'en': 2, 'de': 2})
    >>> c.sent_ids("en") == c.sent_ids("de")
    True
    """
    cls = CORPORA.get(name)
    if not (isinstance(cls, type) and issubclass(cls, Corpus)):
        raise ConfigError(f"Corpus {name!r} resolves to {cls!r}, which is not a probes.readers.Corpus subclass.")
    allowed = _option_names(cls)
    for key in options:
        if key not in allowed:
            raise ConfigError(
                f"Unknown option {key!r} for corpus {name!r}.{suggest(key, allowed)} "
                f"Its options are: {', '.join(allowed) or '(none)'}."
            )
    corpus = cls(data_dir, **options)
    return corpus.load(langs)
