"""Read, validate and write CoNLL-U files (Universal Dependencies v2).

:func:`read_conllu` turns a CoNLL-U file into :class:`~crossling.types.Sentence`
records whose words know the character span of their surface token in
``Sentence.text``, so that subword pooling works for scripts written without
spaces (Chinese, Japanese) and for multiword tokens (French ``du`` = ``de`` +
``le``: both syntactic words get the span of ``du``). Empty nodes (``8.1``) of
enhanced graphs are skipped.

Every file is validated while it is read; any violation raises
:class:`~crossling.errors.DataError` naming the file and the 1-based line:

* the file must be UTF-8 (a UTF-8 byte-order mark is accepted and stripped;
  UTF-16 and Latin-1 files are rejected with a conversion hint); CRLF line
  ends are accepted;
* the file must hold at least one sentence;
* every token line has exactly 10 TAB-separated, non-empty columns without
  leading or trailing whitespace;
* IDs are integers ``1..n`` in order, multiword ranges ``a-b`` (``b > a``,
  starting at the next word) or empty nodes ``i.k``;
* UPOS is one of UD v2's 17 tags (:data:`crossling.types.UPOS_TAGS`); ``_`` is
  allowed only if no word of the file has a tag; the same all-or-none rule
  holds for HEAD and DEPREL;
* FEATS is ``_`` or ``Name=Value|...`` in UD's syntax, without repeated names;
* HEAD is an integer in ``0..n`` and not the word's own ID; each sentence has
  exactly one root (HEAD 0, DEPREL ``root``) and no cycle;
* ``# sent_id`` values are unique within the file; comments precede tokens.

Sentence text is the ``# text`` comment when the surface tokens can be found
in it in order (separated by whitespace only; a token that differs from the
text only by whitespace, like ``1000`` in ``1 000``, also matches). Otherwise
the text is rebuilt from the tokens honouring ``SpaceAfter=No`` (and
``SpacesAfter``); an inconsistent ``# text`` is counted in a
:class:`ReadReport` and reported once per file with a
:class:`TextRebuiltWarning`.

The token columns are parsed with the ``conllu`` package's field parsers; the
line-oriented validation, which the package does not do, is ours.

This module is over 600 lines on purpose: the reader, its line-by-line validator
(one rule per CoNLL-U column, each with its own error message) and the writer
share one set of column rules and are easier to keep consistent in one file.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from conllu.exceptions import ParseException
from conllu.models import Metadata, Token, TokenList
from conllu.parser import (
    parse_comment_line,
    parse_dict_value,
    parse_id_value,
    parse_int_value,
)

from crossling.errors import ConfigError, DataError, SuiteError, suggest
from crossling.io import atomic_write_text
from crossling.types import UPOS_TAGS, Sentence, Word

__all__ = [
    "COLUMNS",
    "ReadReport",
    "TextRebuiltWarning",
    "format_conllu",
    "lang_from_filename",
    "conllu_language",
    "parse_conllu",
    "read_conllu",
    "validate_conllu",
    "write_conllu",
]

#: The ten CoNLL-U columns, in order.
COLUMNS: tuple[str, ...] = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")

_UPOS = frozenset(UPOS_TAGS)
_WORD_ID = re.compile(r"[1-9][0-9]*")
_RANGE_ID = re.compile(r"([1-9][0-9]*)-([1-9][0-9]*)")
_EMPTY_ID = re.compile(r"(0|[1-9][0-9]*)\.([1-9][0-9]*)")
_HEAD = re.compile(r"0|[1-9][0-9]*")
# UD v2 feature syntax (as in the UD validator): Name[layer]=Value1,Value2
_FEAT = re.compile(r"([A-Z][A-Za-z0-9]*(?:\[[a-z0-9]+\])?)=([A-Z0-9][A-Za-z0-9]*(?:,[A-Z0-9][A-Za-z0-9]*)*)")
_FILE_LANG = re.compile(r"([a-z]{2,3})(?:_|$)")
_SPACES_AFTER = {"\\s": " ", "\\t": "\t", "\\n": "\n", "\\\\": "\\", "\\p": "|"}
_SPACES_AFTER_RE = re.compile(r"\\[stnp\\]")


class TextRebuiltWarning(UserWarning):
    """A ``# text`` comment did not contain the sentence's tokens; the text was rebuilt."""


@dataclass
class ReadReport:
    """What :func:`read_conllu` met in one file (pass one in to receive it).

    Attributes
    ----------
    source : str
        The file (or the name given to :func:`parse_conllu`).
    n_sentences, n_words : int
        Sentences and syntactic words read.
    n_multiword_tokens : int
        Multiword token lines (``1-2``); their words share the token's span.
    n_empty_nodes : int
        Empty-node lines (``8.1``), which are skipped.
    text_missing : list of str
        ``sent_id`` of sentences without a ``# text`` comment (text rebuilt
        from the tokens; normal for some treebanks, not warned about).
    text_rebuilt : list of str
        ``sent_id`` of sentences whose ``# text`` did not contain their tokens
        in order; their text was rebuilt from the tokens (warned about).
    fuzzy_spans : list of str
        ``sent_id`` of sentences where a token matched the text only when
        whitespace is ignored (``1000`` against ``1 000``).
    """

    source: str = ""
    n_sentences: int = 0
    n_words: int = 0
    n_multiword_tokens: int = 0
    n_empty_nodes: int = 0
    text_missing: list[str] = field(default_factory=list)
    text_rebuilt: list[str] = field(default_factory=list)
    fuzzy_spans: list[str] = field(default_factory=list)


def lang_from_filename(path: str | Path) -> str | None:
    """Language code from a file name (``en_ewt-ud-train.conllu``, ``de.conllu``).

    The code is normalised to ISO 639-1 through :mod:`crossling.languages` when
    that module knows it; ``None`` if the name starts with no 2-3 letter code.

    Examples
    --------
    >>> lang_from_filename("UD_French-PUD/fr_pud-ud-test.conllu")
    'fr'
    >>> lang_from_filename("data.conllu") is None
    True
    """
    stem = Path(path).name
    stem = stem.removesuffix(".conllu")
    m = _FILE_LANG.match(stem)
    if m is None:
        return None
    return _normalise_lang(m.group(1))


_META_LANG = re.compile(r"^#\s*(?:lang|language)\s*=\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
_UD_FOLDER = re.compile(r"^UD_([A-Za-z_]+)-[A-Za-z0-9]+$")


def conllu_language(path: str | Path, explicit: str | None = None) -> str:
    """The language of a CoNLL-U file, in the suite's code (:func:`crossling.languages.canonical_code`).

    In order: ``explicit`` (the user's argument); a ``# lang = xx`` (or
    ``# language = xx``) comment in the file's first 64 KiB; the UD treebank
    folder the file sits in (``UD_French-PUD``); only then the file name,
    when it is unambiguous (``fr.conllu``, ``fr_pud-ud-test.conllu``; not
    ``my_en.conllu``, which starts with Burmese's code but names English too).

    Raises
    ------
    ConfigError
        If nothing tells the language, or the name is ambiguous: the message
        asks for the explicit language.

    Examples
    --------
    >>> conllu_language("UD_French-PUD/whatever.conllu")
    'fr'
    >>> conllu_language("x.conllu", "ENG")
    'en'
    """
    from crossling.languages import canonical_code, find_language

    p = Path(path)
    if explicit:
        return canonical_code(explicit, param="lang")
    try:
        with open(p, "rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", "replace")
    except OSError:
        head = ""
    m = _META_LANG.search(head)
    if m:
        return canonical_code(m.group(1), param=f"# lang comment of {p.name}")
    folder = _UD_FOLDER.match(p.parent.name)
    if folder:
        lang = find_language(folder.group(1).replace("_", " "))
        if lang is not None:
            return lang.iso1
    stem = p.name.removesuffix(".conllu")
    code = lang_from_filename(p)
    parts = re.split(r"[_\-.]", stem)
    others = [t for t in parts[1:] if 2 <= len(t) <= 3 and t.isalpha() and find_language(t) is not None
              and t not in ("ud",)]
    if code is not None and others and not re.fullmatch(r"[a-z]{2,3}_[A-Za-z0-9]+-ud-[a-z]+", stem):
        first = find_language(parts[0])
        raise ConfigError(
            f"Cannot tell the language of {str(p)!r}: its name starts with {parts[0]!r}"
            f"{f' ({first.name})' if first else ''} but also names {others[0]!r} ({find_language(others[0]).name}). "
            "Pass the language explicitly (lang=[...], one code per path), or add a '# lang = xx' comment."
        )
    if code is None:
        raise ConfigError(
            f"Cannot tell the language of {str(p)!r}: no '# lang = xx' comment, no UD_<Language>-<Treebank> folder, "
            "and its name is not '<code>.conllu' or '<code>_<treebank>-ud-<split>.conllu'; pass lang=[...] with one "
            "code per path."
        )
    return code


def _normalise_lang(code: str) -> str:
    """ISO 639-1 for ``code`` if :mod:`crossling.languages` knows one, else ``code``."""
    try:
        from crossling.languages import get_language
    except ImportError:  # pragma: no cover - the module ships with the suite
        return code
    try:
        lang = get_language(code)
    except SuiteError:
        return code
    return getattr(lang, "iso1", None) or code


# --------------------------------------------------------------------------- reading


def _decode(data: bytes, source: str) -> str:
    """Bytes -> text, insisting on UTF-8; strips a UTF-8 BOM."""
    if not data:
        raise DataError("the file is empty; a CoNLL-U file needs at least one sentence.", source)
    nul = data.find(b"\x00")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (nul >= 0 and data.count(b"\x00") * 4 >= len(data)):
        raise DataError(
            "the file is not UTF-8: it looks like UTF-16 (byte-order mark or NUL bytes). CoNLL-U files "
            "must be UTF-8; convert it, e.g. `iconv -f UTF-16 -t UTF-8 IN > OUT`.",
            source,
            data.count(b"\n", 0, max(nul, 0)) + 1,
        )
    if nul >= 0:
        col = nul - (data.rfind(b"\n", 0, nul) + 1) + 1
        raise DataError(
            f"NUL byte at column {col}; CoNLL-U files must be UTF-8 text without NUL characters.",
            source,
            data.count(b"\n", 0, nul) + 1,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(
            f"byte 0x{data[exc.start]:02x} at column {col} is not valid UTF-8; the file must be UTF-8 "
            "(it may be Latin-1/cp1252: convert it, e.g. `iconv -f LATIN1 -t UTF-8 IN > OUT`).",
            source,
            line,
        ) from None
    text = text.removeprefix("\ufeff")
    return text


@dataclass
class _Tok:
    """One surface token: a plain word or a multiword token, with its words."""

    form: str
    misc: dict[str, str | None]
    words: list[Word]
    line: int


class _FileState:
    """File-level bookkeeping for the all-or-none rules and sent_id uniqueness."""

    def __init__(self) -> None:
        self.first_with: dict[str, int] = {}
        self.first_without: dict[str, int] = {}
        self.sent_ids: dict[str, int] = {}
        self.feats: dict[str, dict[str, str]] = {}  # validated FEATS strings -> parsed

    def note(self, column: str, present: bool, line: int) -> None:
        d = self.first_with if present else self.first_without
        d.setdefault(column, line)

    def check(self, source: str) -> None:
        for column in ("UPOS", "HEAD", "DEPREL"):
            if column in self.first_with and column in self.first_without:
                raise DataError(
                    f"{column} is '_' here, but other words of the file have a {column} "
                    f"(first at line {self.first_with[column]}). '_' is allowed only when no word of the "
                    f"file is annotated with {column}; annotate this word.",
                    source,
                    self.first_without[column],
                )


def _err(msg: str, source: str, line: int) -> DataError:
    return DataError(msg, source, line)


def _parse_feats(raw: str, source: str, line: int) -> dict[str, str]:
    if raw == "_":
        return {}
    seen: set[str] = set()
    for part in raw.split("|"):
        m = _FEAT.fullmatch(part)
        if m is None:
            raise _err(
                f"malformed FEATS {raw!r}: {part!r} is not 'Name=Value' in UD syntax (Name like 'Number', "
                "Value like 'Sing' or 'Fem,Masc', features separated by '|'); write '_' for no features.",
                source,
                line,
            )
        if m.group(1) in seen:
            raise _err(f"malformed FEATS {raw!r}: feature {m.group(1)!r} is given twice.", source, line)
        seen.add(m.group(1))
    parsed = parse_dict_value(raw) or {}
    return {k: v for k, v in parsed.items() if v is not None}


def _parse_misc(raw: str) -> dict[str, str | None]:
    if raw == "_":
        return {}
    try:
        return parse_dict_value(raw) or {}
    except (ParseException, IndexError, ValueError):  # pragma: no cover - parse_dict_value is total
        return {}


def _space_after(misc: dict[str, str | None]) -> str:
    spaces = misc.get("SpacesAfter")
    if spaces:
        return _SPACES_AFTER_RE.sub(lambda m: _SPACES_AFTER[m.group(0)], spaces)
    return "" if misc.get("SpaceAfter") == "No" else " "


def _rebuild(toks: list[_Tok]) -> tuple[str, list[tuple[int, int]]]:
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for i, t in enumerate(toks):
        spans.append((pos, pos + len(t.form)))
        parts.append(t.form)
        pos += len(t.form)
        if i + 1 < len(toks):
            sep = _space_after(t.misc)
            parts.append(sep)
            pos += len(sep)
    return "".join(parts), spans


def _locate(text: str, forms: list[str]) -> tuple[list[tuple[int, int]] | None, bool]:
    """Spans of ``forms`` found in order in ``text`` with only whitespace between them.

    Returns ``(spans, fuzzy)``; ``spans`` is None when the forms are not in the
    text; ``fuzzy`` is True when a form matched only ignoring whitespace.
    """
    spans: list[tuple[int, int]] = []
    pos, n, fuzzy = 0, len(text), False
    for form in forms:
        while pos < n and text[pos].isspace():
            pos += 1
        if text.startswith(form, pos):
            spans.append((pos, pos + len(form)))
            pos += len(form)
            continue
        chars = [c for c in form if not c.isspace()]
        if not chars:
            return None, fuzzy
        m = re.compile(r"\s*".join(re.escape(c) for c in chars)).match(text, pos)
        if m is None:
            return None, fuzzy
        spans.append(m.span())
        pos = m.end()
        fuzzy = True
    if text[pos:].strip():
        return None, fuzzy
    return spans, fuzzy


def _sentence(
    block: list[tuple[int, str]],
    index: int,
    source: str,
    name: str,
    lang: str,
    state: _FileState,
    report: ReadReport,
) -> Sentence:
    """Validate one sentence block (``(line number, line)`` pairs) and build its record."""
    first_line = block[0][0]
    meta: dict[str, str] = {}
    words: list[Word] = []
    word_lines: list[int] = []
    toks: list[_Tok] = []
    mwt: _Tok | None = None  # the open multiword token
    mwt_end = 0
    seen_token = False
    for lineno, line in block:
        if line.startswith("#"):
            if seen_token:
                raise _err(
                    "comment line after token lines; comments must come before the first token of a "
                    "sentence (or separate sentences with a blank line).",
                    source,
                    lineno,
                )
            for key, value in parse_comment_line(line):
                if value is not None:
                    meta[key] = value
            continue
        seen_token = True
        cols = line.split("\t")
        if len(cols) != 10:
            hint = " (columns must be separated by TAB characters, not spaces)" if len(cols) < 10 and "  " in line else ""
            raise _err(
                f"expected 10 TAB-separated columns ({' '.join(COLUMNS)}), found {len(cols)}{hint}.",
                source,
                lineno,
            )
        for ci, val in enumerate(cols):
            if val == "":
                raise _err(f"column {ci + 1} ({COLUMNS[ci]}) is empty; write '_' for an unknown value.", source, lineno)
            if val[0].isspace() or val[-1].isspace():
                raise _err(
                    f"column {ci + 1} ({COLUMNS[ci]}) value {val!r} starts or ends with whitespace, which UD "
                    "does not allow; remove it.",
                    source,
                    lineno,
                )
        raw_id = cols[0]
        expected = len(words) + 1
        if _EMPTY_ID.fullmatch(raw_id):
            major = parse_id_value(raw_id)[0]  # type: ignore[index]
            if major != len(words):
                raise _err(
                    f"empty node {raw_id!r} must follow word {major}, but the last word is {len(words)}.",
                    source,
                    lineno,
                )
            report.n_empty_nodes += 1
            continue
        m = _RANGE_ID.fullmatch(raw_id)
        if m is not None:
            a, b = int(m.group(1)), int(m.group(2))
            if mwt is not None and len(words) < mwt_end:
                raise _err(
                    f"multiword token {raw_id!r} starts inside the previous multiword token "
                    f"(which covers words up to {mwt_end}).",
                    source,
                    lineno,
                )
            if a != expected or b <= a:
                raise _err(
                    f"multiword token range {raw_id!r} is invalid here: it must be 'a-b' with a = {expected} "
                    f"(the next word ID) and b > a.",
                    source,
                    lineno,
                )
            mwt = _Tok(cols[1], _parse_misc(cols[9]), [], lineno)
            mwt_end = b
            toks.append(mwt)
            report.n_multiword_tokens += 1
            continue
        if not _WORD_ID.fullmatch(raw_id):
            raise _err(
                f"ID {raw_id!r} is not a word ID (a positive integer), a multiword range 'a-b' or an "
                "empty node 'i.k'.",
                source,
                lineno,
            )
        wid = parse_id_value(raw_id)
        if wid != expected:
            raise _err(
                f"word IDs must run 1..n in order: expected {expected}, found {raw_id}.", source, lineno
            )
        upos_raw = cols[3]
        if upos_raw != "_" and upos_raw not in _UPOS:
            raise _err(
                f"unknown UPOS {upos_raw!r}.{suggest(upos_raw, UPOS_TAGS)} UD v2 has 17 tags: "
                f"{', '.join(UPOS_TAGS)}; write '_' only if no word of the file is tagged.",
                source,
                lineno,
            )
        state.note("UPOS", upos_raw != "_", lineno)
        cached = state.feats.get(cols[5])
        if cached is None:
            cached = state.feats[cols[5]] = _parse_feats(cols[5], source, lineno)
        feats = dict(cached)
        head_raw = cols[6]
        if head_raw != "_" and not _HEAD.fullmatch(head_raw):
            raise _err(f"HEAD {head_raw!r} is not a non-negative integer (or '_').", source, lineno)
        head = parse_int_value(head_raw)
        deprel = None if cols[7] == "_" else cols[7]
        if (head is None) != (deprel is None):
            raise _err(
                f"HEAD {head_raw!r} and DEPREL {cols[7]!r} must both be given or both be '_'.", source, lineno
            )
        state.note("HEAD", head is not None, lineno)
        state.note("DEPREL", deprel is not None, lineno)
        word = Word(
            id=wid,  # type: ignore[arg-type]
            form=cols[1],
            span=(0, 0),
            upos=None if upos_raw == "_" else upos_raw,
            xpos=None if cols[4] == "_" else cols[4],
            lemma=None if cols[2] == "_" else cols[2],
            feats=feats,
            head=head,
            deprel=deprel,
        )
        misc = _parse_misc(cols[9])
        tag = misc.get("Tag")
        if tag:
            word.tag = tag
        words.append(word)
        word_lines.append(lineno)
        if mwt is not None and wid <= mwt_end:  # type: ignore[operator]
            mwt.words.append(word)
        else:
            toks.append(_Tok(cols[1], misc, [word], lineno))
    n = len(words)
    if n == 0:
        raise _err("sentence without word lines (only comments, multiword or empty-node lines).", source, first_line)
    if mwt is not None and mwt_end > n:
        raise _err(
            f"multiword token covers words up to {mwt_end} but the sentence has only {n} words.", source, mwt.line
        )
    _check_tree(words, word_lines, source)

    sent_id = meta.get("sent_id") or f"{name}:{index}"
    if "\t" in sent_id or "\r" in sent_id:
        raise _err(
            f"sent_id {sent_id!r} contains a TAB or carriage return; a sent_id is one field without them "
            "(fix the '# sent_id' comment).",
            source,
            first_line,
        )
    if sent_id in state.sent_ids:
        raise _err(
            f"duplicate sent_id {sent_id!r} (first at line {state.sent_ids[sent_id]}); sent_id must be "
            "unique within a file.",
            source,
            first_line,
        )
    state.sent_ids[sent_id] = first_line

    forms = [t.form for t in toks]
    given = meta.get("text")
    spans: list[tuple[int, int]] | None = None
    if given is not None:
        spans, fuzzy = _locate(given, forms)
        if spans is not None:
            text = given
            if fuzzy:
                report.fuzzy_spans.append(sent_id)
        else:
            report.text_rebuilt.append(sent_id)
    else:
        report.text_missing.append(sent_id)
    if spans is None:
        text, spans = _rebuild(toks)
    for t, span in zip(toks, spans):
        for w in t.words:
            w.span = span
    report.n_sentences += 1
    report.n_words += n
    return Sentence(
        sent_id=sent_id,
        lang=lang,
        text=text,
        words=words,
        text_b=meta.get("text_b"),
        label=meta.get("label"),
        source=f"{source}:{first_line}",
    )


def _check_tree(words: list[Word], lines: list[int], source: str) -> None:
    """UD tree rules: HEAD in range, one root with DEPREL root, no cycle."""
    heads = [w.head for w in words]
    if all(h is None for h in heads):
        return
    n = len(words)
    for w, line in zip(words, lines):
        if w.head is None:
            raise _err("HEAD is '_' but other words of the sentence have heads.", source, line)
        if w.head > n:
            raise _err(f"HEAD {w.head} is out of range: the sentence has {n} words (valid: 0..{n}).", source, line)
        if w.head == w.id:
            raise _err(f"word {w.id} is its own HEAD; a word's head must be another word or 0.", source, line)
        is_root_rel = w.deprel is not None and w.deprel.split(":")[0] == "root"
        if w.head == 0 and w.deprel is not None and not is_root_rel:
            raise _err(f"HEAD is 0 but DEPREL is {w.deprel!r}; the root's DEPREL must be 'root'.", source, line)
        if w.head != 0 and is_root_rel:
            raise _err(
                f"DEPREL is 'root' but HEAD is {w.head}; only the word with HEAD 0 may be 'root'.", source, line
            )
    roots = [i for i, w in enumerate(words) if w.head == 0]
    if not roots:
        raise _err(
            "no root: no word has HEAD 0; UD requires exactly one root per sentence.", source, lines[0]
        )
    if len(roots) > 1:
        ids = ", ".join(str(words[i].id) for i in roots)
        raise _err(
            f"multiple roots: words {ids} have HEAD 0; UD allows exactly one root per sentence "
            "(attach the others to it, e.g. with 'parataxis').",
            source,
            lines[roots[1]],
        )
    state = [0] * (n + 1)  # 0 unvisited, 1 on the current path, 2 reaches the root
    state[0] = 2
    for start in range(1, n + 1):
        path: list[int] = []
        node = start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = words[node - 1].head  # type: ignore[assignment]
        if state[node] == 1:
            cyc = path[path.index(node):]
            chain = " -> ".join(str(i) for i in cyc + [node])
            raise _err(
                f"HEAD cycle {chain}: these words never reach the root; fix their HEAD values.",
                source,
                lines[cyc[0] - 1],
            )
        for p in path:
            state[p] = 2


def parse_conllu(
    data: str | bytes,
    *,
    source: str = "<string>",
    lang: str | None = None,
    report: ReadReport | None = None,
) -> list[Sentence]:
    """Validate CoNLL-U content and return its sentences.

    Parameters
    ----------
    data : str or bytes
        The file content; bytes must be UTF-8 (an optional BOM is stripped).
    source : str, default="<string>"
        Name used in error messages and ``Sentence.source`` (``"source:line"``).
    lang : str, optional
        Language code given to every sentence; default: from ``source``'s
        file name (:func:`lang_from_filename`), else ``"und"``.
    report : ReadReport, optional
        Filled with counts (sentences, words, multiword tokens, rebuilt texts).

    Returns
    -------
    list of Sentence
        In file order, each with ``len(words)`` syntactic words.

    Raises
    ------
    DataError
        On any violation of the rules in this module's docstring; the message
        starts with ``source:line:``.

    Examples
    --------
    >>> s = parse_conllu("1\\tdu\\t_\\tADP\\t_\\t_\\t0\\troot\\t_\\t_\\n", lang="fr")
    >>> s[0].text, s[0].words[0].span
    ('du', (0, 2))
    """
    rep = report if report is not None else ReadReport()
    sentences = _parse(data, source, lang, rep)
    _warn_rebuilt(rep)
    return sentences


def _parse(data: str | bytes, source: str, lang: str | None, rep: ReadReport) -> list[Sentence]:
    """:func:`parse_conllu` without the warning."""
    rep.source = source
    text = _decode(data, source) if isinstance(data, bytes) else (data.removeprefix("\ufeff"))
    if not text.strip():
        raise DataError("the file is empty; a CoNLL-U file needs at least one sentence.", source)
    if "\x00" in text:
        raise DataError("the text contains NUL characters; CoNLL-U files must be UTF-8 text.", source,
                        text.count("\n", 0, text.index("\x00")) + 1)
    if lang is None:
        lang = lang_from_filename(source) or "und"
    name = Path(source).name
    state = _FileState()
    sentences: list[Sentence] = []
    block: list[tuple[int, str]] = []
    lines = text.split("\n")
    for lineno, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if line.strip() == "":
            if block:
                sentences.append(_sentence(block, len(sentences) + 1, source, name, lang, state, rep))
                block = []
            continue
        block.append((lineno, line))
    if block:
        sentences.append(_sentence(block, len(sentences) + 1, source, name, lang, state, rep))
    state.check(source)
    return sentences


def _warn_rebuilt(rep: ReadReport) -> None:
    """One :class:`TextRebuiltWarning` per file, pointing at the public caller."""
    if rep.text_rebuilt:
        ids = rep.text_rebuilt
        warnings.warn(
            f"{rep.source}: {len(ids)} sentence(s) have a '# text' comment that does not contain their tokens "
            f"in order (first: {ids[0]!r}); their text was rebuilt from the tokens (SpaceAfter=No honoured).",
            TextRebuiltWarning,
            stacklevel=3,
        )


def read_conllu(path: str | Path, lang: str | None = None, *, report: ReadReport | None = None) -> list[Sentence]:
    """Read and validate a CoNLL-U file.

    Parameters
    ----------
    path : str or Path
        A UTF-8 CoNLL-U file.
    lang : str, optional
        Language code for ``Sentence.lang``; default: from the file name
        (``fr_pud-ud-test.conllu`` -> ``"fr"``, ``de.conllu`` -> ``"de"``),
        else ``"und"``.
    report : ReadReport, optional
        Receives counts: multiword tokens, empty nodes skipped, sentences
        whose text was rebuilt.

    Returns
    -------
    list of Sentence
        ``sent_id`` from ``# sent_id`` (else ``"<file name>:<index>"``),
        ``source`` = ``"path:line"`` of the sentence's first line, and every
        ``Word.span`` the ``(start, end)`` of its surface token in ``text``.

    Raises
    ------
    DataError
        If the file is missing or violates a rule (file and line named).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "fr.conllu")
    >>> _ = open(p, "w").write(
    ...     "# sent_id = s1\\n# text = du pain\\n1-2\\tdu\\t_\\t_\\t_\\t_\\t_\\t_\\t_\\t_\\n"
    ...     "1\\tde\\tde\\tADP\\t_\\t_\\t3\\tcase\\t_\\t_\\n2\\tle\\tle\\tDET\\t_\\t_\\t3\\tdet\\t_\\t_\\n"
    ...     "3\\tpain\\tpain\\tNOUN\\t_\\t_\\t0\\troot\\t_\\t_\\n\\n")
    >>> s = read_conllu(p)[0]
    >>> [(w.form, w.span) for w in s.words]
    [('de', (0, 2)), ('le', (0, 2)), ('pain', (3, 7))]
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(
            "no such CoNLL-U file" + (" (it is a directory)" if p.is_dir() else "") + "; check the path.", p
        )
    rep = report if report is not None else ReadReport()
    sentences = _parse(p.read_bytes(), str(p), lang, rep)
    _warn_rebuilt(rep)
    return sentences


def validate_conllu(path: str | Path) -> None:
    """Raise :class:`~crossling.errors.DataError` (file and line) if ``path`` is not valid CoNLL-U.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.conllu")
    >>> _ = open(p, "w").write("1\\tHi\\t_\\tINTJ\\t_\\t_\\t0\\troot\\t_\\t_\\n")
    >>> validate_conllu(p)
    """
    p = Path(path)
    if not p.is_file():
        read_conllu(p)  # raises the missing-file error
    _parse(p.read_bytes(), str(p), None, ReadReport())


# --------------------------------------------------------------------------- writing


def _feats_str(feats: dict[str, str]) -> dict[str, str]:
    return {k: feats[k] for k in sorted(feats, key=str.lower)}


def _check_field(value: str, what: str, sent: Sentence) -> None:
    if value == "" or "\t" in value or "\n" in value or "\r" in value:
        raise ConfigError(
            f"Cannot write sentence {sent.sent_id!r} as CoNLL-U: {what} {value!r} is empty or contains a "
            "TAB or line break."
        )


def _token_lists(sent: Sentence) -> TokenList:
    if not sent.words:
        raise ConfigError(
            f"Cannot write sentence {sent.sent_id!r} as CoNLL-U: it has no words (CoNLL-U needs at least one)."
        )
    for key, value in (("sent_id", sent.sent_id), ("text", sent.text)):
        _check_field(value, key, sent)
    meta = Metadata()
    meta["sent_id"] = sent.sent_id
    meta["text"] = sent.text
    if sent.text_b is not None:
        _check_field(sent.text_b, "text_b", sent)
        meta["text_b"] = sent.text_b
    if sent.label is not None:
        _check_field(sent.label, "label", sent)
        meta["label"] = sent.label
    # group words into surface tokens: consecutive words sharing one span
    groups: list[list[Word]] = []
    for w in sent.words:
        if groups and tuple(groups[-1][0].span) == tuple(w.span):
            groups[-1].append(w)
        else:
            groups.append([w])
    tokens: list[Token] = []
    for gi, group in enumerate(groups):
        start, end = group[0].span
        if not (0 <= start <= end <= len(sent.text)):
            raise ConfigError(
                f"Cannot write sentence {sent.sent_id!r}: word {group[0].id} has span {group[0].span} "
                f"outside its text of {len(sent.text)} characters."
            )
        nxt = groups[gi + 1][0].span[0] if gi + 1 < len(groups) else None
        misc: dict[str, str] = {}
        if nxt is not None and nxt == end:
            misc["SpaceAfter"] = "No"
        if len(group) > 1:
            surface = sent.text[start:end]
            _check_field(surface, "multiword token", sent)
            tokens.append(Token(id=(group[0].id, "-", group[-1].id), form=surface, lemma=None, upos=None,
                                xpos=None, feats=None, head=None, deprel=None, deps=None, misc=misc or None))
        for w in group:
            _check_field(w.form, "form", sent)
            wmisc = dict(misc) if len(group) == 1 else {}
            if w.tag is not None:
                _check_field(w.tag, "tag", sent)
                wmisc["Tag"] = w.tag
            tokens.append(Token(
                id=w.id, form=w.form, lemma=w.lemma, upos=w.upos, xpos=w.xpos,
                feats=_feats_str(w.feats) or None, head=w.head, deprel=w.deprel, deps=None,
                misc=wmisc or None,
            ))
    return TokenList(tokens, meta)


def format_conllu(sentences: Iterable[Sentence]) -> str:
    """Serialise sentences as CoNLL-U text (``# sent_id``, ``# text``, tokens).

    Words that share a span become a multiword token whose surface form is the
    span's text; ``SpaceAfter=No`` is written where the next token starts at
    the end of this one; ``Word.tag``, ``text_b`` and ``label`` go to MISC
    ``Tag=``, ``# text_b`` and ``# label`` (read back by :func:`read_conllu`).
    """
    return "".join(_token_lists(s).serialize() for s in sentences)


def write_conllu(sentences: Iterable[Sentence], path: str | Path) -> None:
    """Write sentences to a CoNLL-U file atomically; ``read_conllu`` reads them back unchanged.

    The output is validated before it replaces ``path``.

    Parameters
    ----------
    sentences : iterable of Sentence
        Sentences with at least one word each.
    path : str or Path
        Destination file.

    Raises
    ------
    ConfigError
        If a sentence cannot be represented (no words, TAB or newline in a
        field, a span outside the text).
    DataError
        If the result is not valid CoNLL-U (for instance a HEAD out of range).
    """
    sents = list(sentences)
    if not sents:
        raise ConfigError(f"Cannot write {str(path)!r}: no sentences given (a CoNLL-U file needs at least one).")
    text = format_conllu(sents)
    _parse(text, str(path), sents[0].lang, ReadReport())
    atomic_write_text(path, text)
