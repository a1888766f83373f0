"""Readers of the XTREME benchmark's file layout (UD-POS, PAN-X, XNLI, PAWS-X, Tatoeba).

The layout is the one XTREME's ``scripts/download_data.sh`` produces and the
shared data mirror keeps (``<data>/xtreme/``)::

    udpos/{train,dev,test}-<xx>.tsv     word<TAB>UPOS, blank line between sentences
    panx/{train,dev,test}-<xx>.tsv      word<TAB>BIO tag (raw PAN-X files prefix words with "xx:")
    xnli/{train,dev,test}-<xx>.tsv      premise<TAB>hypothesis<TAB>label
    pawsx/{train,dev,test}-<xx>.tsv     sentence1<TAB>sentence2<TAB>0|1
    tatoeba/v1/tatoeba.<xxx>-eng.{<xxx>,eng}   line i of the two files are translations

Token tasks become :class:`crossling.types.Sentence` records whose ``text`` is
the words joined by single spaces and whose words carry character spans into
it; pair tasks become sentences with ``text_b`` and ``label``. XTREME writes
the pair files with Python's ``csv`` module, so fields that contain ``"`` are
quoted (``"a ""b"" c"``); the reader undoes that quoting. XTREME ships test
splits without labels (one column for token tasks, two for pair tasks); such
files read with ``None`` labels. Anything else that is malformed raises
:class:`~crossling.errors.DataError` naming the file and line.

This module is slightly over 600 lines: five task readers that share one token
and pair reader, kept together so that the file layout table above stays true.

Examples
--------
>>> from probes.readers.xtreme import read_xtreme, available            # doctest: +SKIP
>>> sents = read_xtreme("../shared/data", "udpos", "dev", "de")  # doctest: +SKIP
>>> sents[0].words[0].upos                                       # doctest: +SKIP
"""

from __future__ import annotations

import csv
import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crossling.errors import ConfigError, DataError, suggest
from crossling.languages import find_language, from_code, get_language
from crossling.registry import Registry
from crossling.types import UPOS_TAGS, Sentence, Word

__all__ = [
    "NLI_LABELS",
    "PAWSX_LABELS",
    "SPLITS",
    "TASKS",
    "TatoebaPairs",
    "XtremeTask",
    "available",
    "read_pair_file",
    "read_tatoeba",
    "read_token_file",
    "read_xtreme",
    "tatoeba_paths",
    "xtreme_path",
    "xtreme_root",
]

#: The splits of an XTREME task file set.
SPLITS: tuple[str, ...] = ("train", "dev", "test")
#: XNLI labels, in label-id order.
NLI_LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")
#: PAWS-X labels (0 = not a paraphrase, 1 = paraphrase).
PAWSX_LABELS: tuple[str, ...] = ("0", "1")
_UPOS = frozenset(UPOS_TAGS)
_BIO = re.compile(r"\A(?:O|[BI]-[A-Za-z][A-Za-z0-9_]*)\Z")
_PANX_PREFIX = re.compile(r"\A([a-z]{2,3}):(?=.)")
_HEADER_LABELS = frozenset({"label", "gold_label", "labels"})


@dataclass(frozen=True)
class XtremeTask:
    """How one XTREME task is stored and read.

    Attributes
    ----------
    name : str
        Folder name under ``xtreme/`` (``"udpos"``).
    kind : str
        ``"token"`` (one label per word), ``"pair"`` (sentence-pair
        classification) or ``"retrieval"`` (Tatoeba).
    labels : tuple of str
        Allowed labels (empty for BIO tags, checked by pattern, and retrieval).
    reader : callable
        ``reader(path, lang, split) -> list[Sentence]``.
    description : str
        One line for listings.
    """

    name: str
    kind: str
    labels: tuple[str, ...]
    reader: Callable[[Path, str, str], list[Sentence]] | None
    description: str


#: Registry of the XTREME tasks this module reads, by folder name.
TASKS: Registry[XtremeTask] = Registry("XTREME task")


# --------------------------------------------------------------------------- helpers


def _decode(path: Path) -> str:
    """Read ``path`` as UTF-8 (a leading BOM is dropped); DataError names the bad line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError("File does not exist. Check the data directory and the task/split/language.",
                        path=path) from None
    except IsADirectoryError:
        raise DataError("Expected a file, got a directory.", path=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"File is not valid UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start}). "
            "Re-download it or convert it to UTF-8.", path=path, line=line) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DataError("File is empty. Re-download it (python -m probes.data download).", path=path)
    return text


def _lines(text: str) -> list[str]:
    """Split into lines, accepting LF and CRLF endings; no trailing empty line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [ln.removesuffix("\r") for ln in lines]
    return lines


def _lang_of(path: Path, lang: str | None) -> str:
    """Language code for records: the given one, else ``<split>-<xx>.tsv``'s ``xx``."""
    if lang:
        known = find_language(lang)
        return known.iso1 if known is not None else lang
    stem = path.name.rsplit(".", 1)[0]
    code = stem.split("-", 1)[1] if "-" in stem else stem
    known = find_language(code)
    return known.iso1 if known is not None else code


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small records.

    Building ~10^5 :class:`Word` objects otherwise triggers repeated full
    collections that cost more than the parsing itself (2-3x slower).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------- token tasks


def read_token_file(path: str | Path, lang: str | None = None, split: str | None = None, *,
                    field: str = "upos", labels: frozenset[str] | None = _UPOS,
                    label_pattern: re.Pattern[str] | None = None,
                    strip_lang_prefix: bool = False) -> list[Sentence]:
    """Read an XTREME token-labelling file (``word<TAB>label``, blank line between sentences).

    Parameters
    ----------
    path : str or path-like
        The ``.tsv`` file.
    lang : str, optional
        Language of the records; default: from the file name (``dev-de.tsv``).
    split : str, optional
        Split name for sentence ids (``"<split>-<index>"``); default: from the
        file name.
    field : {"upos", "tag"}, default="upos"
        The :class:`~crossling.types.Word` attribute the label goes to.
    labels : frozenset of str or None, default=the 17 UPOS tags
        Allowed labels; ``None`` to accept any that matches ``label_pattern``.
    label_pattern : re.Pattern, optional
        A pattern every label must match (used for BIO tags).
    strip_lang_prefix : bool, default=False
        Raw PAN-X releases write ``en:word``; if the first word carries such a
        prefix, it is removed from every word (and required on every word).

    Returns
    -------
    list of Sentence
        ``sent_id = "<split>-<index>"`` (0-based), ``text`` = words joined by
        single spaces, ``Word.span`` the word's ``(start, end)`` in ``text``.
        Labels are ``None`` if the file is unlabelled (one column throughout,
        as XTREME ships test splits).

    Raises
    ------
    DataError
        Non-UTF-8 or empty file, a line with more than two columns, an empty
        word or label, a label outside ``labels`` or not matching
        ``label_pattern``, or a file that mixes labelled and unlabelled lines.
    """
    path = Path(path)
    if field not in ("upos", "tag"):
        raise ConfigError(f"field must be 'upos' or 'tag', got {field!r}.")
    lang_code = _lang_of(path, lang)
    split_name = split or path.name.split("-", 1)[0]
    lines = _lines(_decode(path))
    with _gc_paused():
        return _parse_token_lines(lines, path, lang, lang_code, split_name, field, labels, label_pattern,
                                  strip_lang_prefix)


def _parse_token_lines(lines: list[str], path: Path, lang: str | None, lang_code: str, split_name: str,
                       field: str, labels: frozenset[str] | None, label_pattern: re.Pattern[str] | None,
                       strip_lang_prefix: bool) -> list[Sentence]:
    """The loop of :func:`read_token_file` (see there)."""
    src = str(path)
    sentences: list[Sentence] = []
    forms: list[str] = []
    tags: list[str | None] = []
    first_line = 0
    labelled: bool | None = None  # decided by the first word line
    mode_line = 0
    prefix: str | None = None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            if forms:
                sentences.append(_make_sentence(split_name, len(sentences), lang_code, forms, tags, field,
                                                f"{src}:{first_line}"))
                forms, tags = [], []
            continue
        cols = line.split("\t")
        ncol = len(cols)
        if ncol > 2:
            raise DataError(
                f"Expected 'word<TAB>label' (2 columns) but found {ncol} columns: {line[:80]!r}. "
                "Words may not contain tabs; check that this is an XTREME token-task file.",
                path=path, line=lineno)
        has_label = ncol == 2
        if labelled is None:
            labelled, mode_line = has_label, lineno
            if strip_lang_prefix:
                prefix = _lang_prefix(cols[0].strip(), lang_code)
        elif has_label != labelled:
            raise DataError(
                f"File mixes labelled and unlabelled lines: line {mode_line} has "
                f"{'a label' if labelled else 'no label'} but this line {'has one' if has_label else 'has none'} "
                f"({line[:80]!r}). The file is corrupt (e.g. re-written with CSV quoting); re-download it "
                "or use another split.", path=path, line=lineno)
        word = cols[0].strip()
        if prefix is not None:
            if not word.startswith(prefix):
                raise DataError(
                    f"Word {word[:40]!r} lacks the language prefix {prefix!r} that the file's first word "
                    "carries (raw PAN-X format). Every word must have it, or none.", path=path, line=lineno)
            word = word[len(prefix):].strip()  # 'en: b' -> 'b' (no space may lead a word form)
        if not word:
            raise DataError(f"Empty word in {line[:80]!r}. Each line must be 'word<TAB>label'.",
                            path=path, line=lineno)
        tag: str | None = None
        if has_label:
            tag = cols[1].strip()
            if labels is not None and tag not in labels:
                raise DataError(
                    f"Unknown label {tag!r} for word {word[:40]!r}.{suggest(tag, labels)} "
                    f"Allowed: {', '.join(sorted(labels))}.", path=path, line=lineno)
            if label_pattern is not None and label_pattern.match(tag) is None:
                raise DataError(
                    f"Malformed tag {tag!r} for word {word[:40]!r}: expected 'O', 'B-<TYPE>' or 'I-<TYPE>'.",
                    path=path, line=lineno)
        if not forms:
            first_line = lineno
        forms.append(word)
        tags.append(tag)
    if forms:
        sentences.append(_make_sentence(split_name, len(sentences), lang_code, forms, tags, field,
                                        f"{src}:{first_line}"))
    if not sentences:
        raise DataError("File holds no sentences (only blank lines).", path=path)
    return sentences


def _lang_prefix(word: str, lang_code: str) -> str | None:
    """``"en:"`` if ``word`` starts with the prefix of ``lang_code`` (raw PAN-X), else ``None``."""
    m = _PANX_PREFIX.match(word)
    if m is None:
        return None
    known = find_language(m.group(1))
    code = known.iso1 if known is not None else m.group(1)
    return m.group(1) + ":" if code == lang_code else None


def _make_sentence(split: str, index: int, lang: str, forms: list[str], tags: list[str | None],
                   field: str, source: str) -> Sentence:
    words: list[Word] = []
    start = 0
    upos_field = field == "upos"
    for i, (form, tag) in enumerate(zip(forms, tags)):
        end = start + len(form)
        # positional arguments (id, form, span, upos, xpos, lemma, feats, head, deprel, tag) are ~40%
        # faster than keywords; the tests pin the field order through the labels they check
        if upos_field:
            words.append(Word(i + 1, form, (start, end), tag))
        else:
            words.append(Word(i + 1, form, (start, end), None, None, None, {}, None, None, tag))
        start = end + 1
    return Sentence(sent_id=f"{split}-{index}", lang=lang, text=" ".join(forms), words=words, source=source)


def _read_udpos(path: Path, lang: str, split: str) -> list[Sentence]:
    return read_token_file(path, lang, split, field="upos", labels=_UPOS)


def _read_panx(path: Path, lang: str, split: str) -> list[Sentence]:
    return read_token_file(path, lang, split, field="tag", labels=None, label_pattern=_BIO,
                           strip_lang_prefix=True)


# --------------------------------------------------------------------------- pair tasks


def _split_fields(line: str, path: Path, lineno: int) -> list[str]:
    """Split one TSV line written by ``csv.writer(delimiter='\\t')``."""
    if '"' not in line:
        return line.split("\t")
    try:
        rows = list(csv.reader([line], delimiter="\t", quotechar='"', strict=True))
    except csv.Error as exc:
        raise DataError(f"Malformed CSV quoting ({exc}) in {line[:80]!r}.", path=path, line=lineno) from None
    return rows[0] if rows else [""]


def read_pair_file(path: str | Path, lang: str | None = None, split: str | None = None, *,
                   labels: tuple[str, ...] = NLI_LABELS) -> list[Sentence]:
    """Read an XTREME sentence-pair file (``a<TAB>b<TAB>label``, one example per line).

    A header row (last column ``label``/``gold_label``) is skipped; files
    without labels (two columns throughout, as XTREME ships test splits) give
    ``label=None``.

    Parameters
    ----------
    path : str or path-like
        The ``.tsv`` file.
    lang, split : str, optional
        Default: from the file name (``dev-de.tsv``).
    labels : tuple of str, default=NLI_LABELS
        Allowed labels.

    Returns
    -------
    list of Sentence
        ``Sentence(sent_id=str(i), text=a, text_b=b, label=...)`` where ``i``
        is the 0-based example index; for XNLI example ``i`` is the same
        example in every language.

    Raises
    ------
    DataError
        Non-UTF-8 or empty file, a blank line, wrong column count, an empty
        sentence, an unknown label, or mixed labelled/unlabelled lines.
    """
    path = Path(path)
    lang_code = _lang_of(path, lang)
    lines = _lines(_decode(path))
    allowed = frozenset(labels)
    src = str(path)
    out: list[Sentence] = []
    ncols: int | None = None
    start = 0
    if lines:
        head = _split_fields(lines[0], path, 1)
        if len(head) in (3, 4) and head[-1].strip().lower() in _HEADER_LABELS:
            start = 1
    for idx in range(start, len(lines)):
        lineno = idx + 1
        line = lines[idx]
        if not line.strip():
            raise DataError("Blank line inside a sentence-pair file; every line must be one example "
                            "(a blank line would shift the parallel example indices).", path=path, line=lineno)
        cols = _split_fields(line, path, lineno)
        if len(cols) not in (2, 3):
            raise DataError(
                f"Expected 'sentence_a<TAB>sentence_b<TAB>label' (3 columns, or 2 for unlabelled test files) "
                f"but found {len(cols)}: {line[:80]!r}.", path=path, line=lineno)
        if ncols is None:
            ncols = len(cols)
        elif len(cols) != ncols:
            raise DataError(f"Line has {len(cols)} columns but earlier lines have {ncols}; the file mixes "
                            "labelled and unlabelled examples.", path=path, line=lineno)
        a, b = cols[0].strip(), cols[1].strip()
        if not a or not b:
            raise DataError(f"Empty {'first' if not a else 'second'} sentence in {line[:80]!r}.",
                            path=path, line=lineno)
        label = None
        if len(cols) == 3:
            label = cols[2].strip()
            if label not in allowed:
                raise DataError(f"Unknown label {label!r}.{suggest(label, allowed)} Allowed: "
                                f"{', '.join(labels)}.", path=path, line=lineno)
        out.append(Sentence(sent_id=str(len(out)), lang=lang_code, text=a, text_b=b, label=label,
                            source=f"{src}:{lineno}"))
    if not out:
        raise DataError("File holds no examples (only a header).", path=path)
    return out


def _read_xnli(path: Path, lang: str, split: str) -> list[Sentence]:
    return read_pair_file(path, lang, split, labels=NLI_LABELS)


def _read_pawsx(path: Path, lang: str, split: str) -> list[Sentence]:
    return read_pair_file(path, lang, split, labels=PAWSX_LABELS)


# --------------------------------------------------------------------------- Tatoeba


@dataclass(frozen=True)
class TatoebaPairs:
    """A Tatoeba test set: ``source[i]`` and ``english[i]`` are translations.

    Attributes
    ----------
    lang : str
        ISO 639-1 code if known, else the Tatoeba code.
    code : str
        The Tatoeba 3-letter code in the file names.
    source, english : tuple of str
        The aligned sentences.
    source_path, english_path : str
        The files they came from.
    """

    lang: str
    code: str
    source: tuple[str, ...]
    english: tuple[str, ...]
    source_path: str
    english_path: str

    def __len__(self) -> int:
        return len(self.source)

    def pairs(self) -> list[tuple[str, str]]:
        """``[(source_i, english_i), ...]``."""
        return list(zip(self.source, self.english))


def _tatoeba_code(lang: str) -> str:
    """Tatoeba file code for a language (a raw 3-letter Tatoeba code passes through)."""
    known = find_language(lang)
    if known is not None and known.tatoeba is not None and known.iso1 != "en":
        return known.tatoeba
    if known is not None:
        raise ConfigError(f"There is no Tatoeba test set for {known.name} ({known.iso1}).")
    if re.fullmatch(r"[a-z]{3}", lang):
        return lang
    return get_language(lang).iso1  # raises ConfigError with suggestions


def tatoeba_paths(data_dir: str | Path, lang: str) -> tuple[Path, Path]:
    """``(tatoeba.<xxx>-eng.<xxx>, tatoeba.<xxx>-eng.eng)`` for ``lang`` under ``data_dir``."""
    code = _tatoeba_code(lang)
    base = xtreme_root(data_dir) / "tatoeba" / "v1"
    return base / f"tatoeba.{code}-eng.{code}", base / f"tatoeba.{code}-eng.eng"


def read_tatoeba(data_dir: str | Path, lang: str) -> TatoebaPairs:
    """Read the Tatoeba test set of ``lang`` (ISO code, name or Tatoeba code).

    Raises
    ------
    DataError
        A file is missing, empty or not UTF-8, or the two files have
        different numbers of lines.
    """
    src_path, eng_path = tatoeba_paths(data_dir, lang)
    return _read_tatoeba_files(src_path, eng_path)


def _read_tatoeba_files(src_path: Path, eng_path: Path) -> TatoebaPairs:
    src = _lines(_decode(src_path))
    eng = _lines(_decode(eng_path))
    if len(src) != len(eng):
        raise DataError(
            f"Tatoeba files are not line-aligned: {len(src)} lines here but {len(eng)} in "
            f"{str(eng_path)!r}. Re-download both files.", path=src_path)
    code = src_path.name.split(".")[-1]
    known = from_code(code, "tatoeba")
    return TatoebaPairs(lang=known.iso1 if known else code, code=code, source=tuple(src), english=tuple(eng),
                        source_path=str(src_path), english_path=str(eng_path))


def _read_tatoeba_as_sentences(path: Path, lang: str, split: str) -> list[Sentence]:
    eng_path = path.with_name(path.name.rsplit(".", 1)[0] + ".eng")
    pairs = _read_tatoeba_files(path, eng_path)
    return [Sentence(sent_id=str(i), lang=pairs.lang, text=s, text_b=e, source=f"{path}:{i + 1}")
            for i, (s, e) in enumerate(zip(pairs.source, pairs.english))]


# --------------------------------------------------------------------------- registry and paths

TASKS.register("udpos")(XtremeTask("udpos", "token", UPOS_TAGS, _read_udpos,
                                   "UD part-of-speech tagging (word<TAB>UPOS)"))
TASKS.register("panx")(XtremeTask("panx", "token", (), _read_panx,
                                  "WikiANN / PAN-X named entities (word<TAB>BIO tag)"))
TASKS.register("xnli")(XtremeTask("xnli", "pair", NLI_LABELS, _read_xnli,
                                  "XNLI natural language inference (premise<TAB>hypothesis<TAB>label)"))
TASKS.register("pawsx")(XtremeTask("pawsx", "pair", PAWSX_LABELS, _read_pawsx,
                                   "PAWS-X paraphrase identification (s1<TAB>s2<TAB>0|1)"))
TASKS.register("tatoeba")(XtremeTask("tatoeba", "retrieval", (), _read_tatoeba_as_sentences,
                                     "Tatoeba bitext retrieval (two line-aligned files per language)"))


def xtreme_root(data_dir: str | Path) -> Path:
    """The ``xtreme`` folder: ``data_dir/xtreme`` if it exists, else ``data_dir`` itself."""
    d = Path(data_dir)
    return d / "xtreme" if (d / "xtreme").is_dir() else d


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ConfigError(f"Unknown split {split!r}.{suggest(split, SPLITS)} Available: {', '.join(SPLITS)}.")


def xtreme_path(data_dir: str | Path, task: str, split: str, lang: str) -> Path:
    """Path of one XTREME file (it need not exist).

    Parameters
    ----------
    data_dir : str or path-like
        The data directory (holding ``xtreme/``) or the ``xtreme`` folder itself.
    task : str
        ``"udpos"``, ``"panx"``, ``"xnli"``, ``"pawsx"`` or ``"tatoeba"``.
    split : str
        ``"train"``, ``"dev"`` or ``"test"`` (Tatoeba: only ``"test"``).
    lang : str
        Any spelling :func:`crossling.languages.get_language` accepts (Tatoeba
        also accepts its own 3-letter codes).

    Returns
    -------
    Path
        For Tatoeba, the non-English file (``tatoeba.<xxx>-eng.<xxx>``).

    Examples
    --------
    >>> xtreme_path("/data", "udpos", "dev", "German").as_posix()
    '/data/udpos/dev-de.tsv'
    """
    spec = TASKS.get(task)
    _check_split(split)
    if spec.name == "tatoeba":
        if split != "test":
            raise ConfigError(f"Tatoeba has only a 'test' split, got split={split!r}.")
        return tatoeba_paths(data_dir, lang)[0]
    code = _xtreme_code(lang)
    return xtreme_root(data_dir) / spec.name / f"{split}-{code}.tsv"


def _xtreme_code(lang: str) -> str:
    known = find_language(lang)
    if known is not None:
        return known.xtreme or known.iso1
    if re.fullmatch(r"[a-z]{2,3}", lang):
        return lang
    return get_language(lang).iso1  # raises ConfigError with suggestions


_SPLIT_FILE = re.compile(r"\A(train|dev|test)-([A-Za-z_]+(?:-[A-Za-z]+)?)\.tsv\Z")
_TATOEBA_FILE = re.compile(r"\Atatoeba\.([a-z]{3})-eng\.\1\Z")


def available(data_dir: str | Path, task: str) -> list[tuple[str, str]]:
    """The ``(lang, split)`` pairs present for ``task``, sorted.

    ``lang`` is the ISO 639-1 code where the module knows the language, else
    the code in the file name. Tatoeba pairs need both files.
    """
    spec = TASKS.get(task)
    root = xtreme_root(data_dir)
    out: set[tuple[str, str]] = set()
    if spec.name == "tatoeba":
        folder = root / "tatoeba" / "v1"
        if folder.is_dir():
            for p in folder.iterdir():
                m = _TATOEBA_FILE.match(p.name)
                if m and (folder / f"tatoeba.{m.group(1)}-eng.eng").is_file():
                    known = from_code(m.group(1), "tatoeba")
                    out.add((known.iso1 if known else m.group(1), "test"))
        return sorted(out)
    folder = root / spec.name
    if folder.is_dir():
        for p in folder.iterdir():
            m = _SPLIT_FILE.match(p.name)
            if m and p.is_file():
                known = find_language(m.group(2))
                out.add((known.iso1 if known else m.group(2), m.group(1)))
    return sorted(out)


def read_xtreme(data_dir: str | Path, task: str, split: str, lang: str) -> list[Sentence]:
    """Read one XTREME file into sentence records.

    Parameters
    ----------
    data_dir, task, split, lang
        As for :func:`xtreme_path`.

    Returns
    -------
    list of Sentence
        Token tasks: one sentence per line block, labels in ``Word.upos``
        (udpos) or ``Word.tag`` (panx). Pair tasks: ``text``/``text_b``/
        ``label``. Tatoeba: ``text`` = the sentence, ``text_b`` = English.

    Raises
    ------
    DataError
        If the file is missing (the message lists what is present) or malformed.
    ConfigError
        Unknown task, split or language.
    """
    spec = TASKS.get(task)
    path = xtreme_path(data_dir, spec.name, split, lang)
    if not path.is_file():
        have = available(data_dir, spec.name)
        listing = ", ".join(f"{lg}/{sp}" for lg, sp in have[:60]) or "(none)"
        raise DataError(f"No {spec.name} {split} file for {lang!r}. Present: {listing}. "
                        "Download it with 'python -m probes.data download' or pick another split/language.",
                        path=path)
    if spec.reader is None:  # pragma: no cover - every registered task has a reader
        raise ConfigError(f"Task {spec.name!r} has no reader.")
    known = find_language(lang)
    return spec.reader(path, known.iso1 if known else lang, split)
