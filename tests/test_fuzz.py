"""Property-based fuzzing of the readers and the config loader (hypothesis).

For generated and mutated inputs, every reader either returns valid records or
raises a :class:`crossling.errors.SuiteError` subclass; any other exception
(``IndexError``, ``KeyError``, ``UnicodeDecodeError``, ``RecursionError`` ...)
fails the test with the input that caused it. Runs are derandomized (the same
examples on every run); the default run tries a few thousand examples per
reader, ``-m slow`` ten times more.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossling.config import load_config, load_yaml
from probes.readers.conllu import parse_conllu, read_conllu
from crossling.errors import SuiteError
from probes.extract import ExtractConfig
from crossling.types import UPOS_TAGS, Sentence
from probes.readers.xtreme import (
    _BIO,
    NLI_LABELS,
    PAWSX_LABELS,
    read_pair_file,
    read_token_file,
)

N = int(os.environ.get("RELIABILITY_FUZZ_SCALE", "1"))


def fuzz_settings(n: int):
    return settings(max_examples=n * N, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


# --------------------------------------------------------------------------- record checks


def check_sentences(sents: list[Sentence]) -> None:
    """Invariants every parsed sentence must satisfy."""
    assert isinstance(sents, list) and sents
    for s in sents:
        assert isinstance(s, Sentence)
        assert isinstance(s.text, str) and isinstance(s.sent_id, str)
        for i, w in enumerate(s.words):
            a, b = w.span
            assert 0 <= a <= b <= len(s.text), (w, s.text)
            if w.head is not None:
                assert 0 <= w.head <= len(s.words)
            if w.upos is not None:
                assert w.upos in UPOS_TAGS


def check_outcomes(seen: dict[str, int], record_property, item: str, ok_word: str, min_ok: int, min_error: int) -> None:
    """What every fuzz run (short or ``_long``) asserts and records: both outcomes are exercised.

    Any exception other than a :class:`SuiteError` has already failed the run inside hypothesis.
    """
    record_property("category", "fuzz")
    record_property("item", item)
    record_property("count", seen["ok"] + seen["error"])
    record_property("detail", f"{seen['ok']} {ok_word}, {seen['error']} SuiteError, 0 other exceptions")
    assert seen["ok"] > min_ok and seen["error"] > min_error, seen


# --------------------------------------------------------------------------- CoNLL-U

FORMS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=6)
FEATS = st.sampled_from(["_", "Number=Sing", "Case=Nom|Number=Plur", "Gender=Fem", "Foo", "A=B|A=C", "num=sing"])
DEPRELS = st.sampled_from(["root", "nsubj", "obj", "det", "obl:tmod", "punct", "_", "Bad Rel"])


@st.composite
def conllu_sentence(draw) -> str:
    """A sentence that is often valid: a random tree plus optional damage."""
    n = draw(st.integers(1, 7))
    forms = [draw(FORMS) for _ in range(n)]
    root = draw(st.integers(1, n))
    heads = []
    for i in range(1, n + 1):
        heads.append(0 if i == root else draw(st.sampled_from([h for h in range(1, n + 1) if h != i] or [0])))
    lines = []
    if draw(st.booleans()):
        lines.append(f"# sent_id = {draw(st.sampled_from(['a', 'b', 'c', 'd']))}{draw(st.integers(0, 3))}")
    if draw(st.booleans()):
        lines.append("# text = " + " ".join(forms))
    mwt = draw(st.booleans()) and n >= 2
    for i, (f, h) in enumerate(zip(forms, heads), start=1):
        if mwt and i == 1:
            lines.append(f"1-2\t{f}{forms[1]}\t_\t_\t_\t_\t_\t_\t_\t_")
        upos = draw(st.sampled_from([*UPOS_TAGS, "_", "NOUNX"])) if draw(st.integers(0, 9)) == 0 else "NOUN"
        rel = "root" if h == 0 else draw(DEPRELS)
        misc = draw(st.sampled_from(["_", "SpaceAfter=No", "SpacesAfter=\\s\\s", "Foo"]))
        lines.append(f"{i}\t{f}\t{f.lower()}\t{upos}\t_\t{draw(FEATS)}\t{h}\t{rel}\t_\t{misc}")
        if draw(st.integers(0, 15)) == 0:
            lines.append(f"{i}.1\t{f}\t_\t_\t_\t_\t_\t_\t{i}:dep\t_")
    return "\n".join(lines) + "\n"


@st.composite
def conllu_document(draw) -> str:
    sents = draw(st.lists(conllu_sentence(), min_size=1, max_size=4))
    sep = draw(st.sampled_from(["\n", "\r\n"]))
    doc = "\n".join(sents) + "\n"
    return doc.replace("\n", sep)


def mutate(draw, data: bytes) -> bytes:
    """Byte-level damage: deletions, insertions, substitutions, duplicated or dropped lines."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["del", "ins", "sub", "dupline", "dropline", "tab", "truncate", "bom", "utf16"]))
        if not b:
            b = bytearray(draw(st.binary(max_size=8)))
            continue
        i = draw(st.integers(0, len(b) - 1))
        if op == "del":
            del b[i: i + draw(st.integers(1, 5))]
        elif op == "ins":
            b[i:i] = draw(st.sampled_from([b"\t", b"\n", b"_", b"0", b"-", b".", b"\xff", b"\x00", b"\r", b"#",
                                           "é".encode(), b"  ", b"\xe2\x80"]))
        elif op == "sub":
            b[i] = draw(st.integers(0, 255))
        elif op in ("dupline", "dropline"):
            lines = bytes(b).split(b"\n")
            j = draw(st.integers(0, len(lines) - 1))
            if op == "dupline":
                lines.insert(j, lines[j])
            else:
                del lines[j]
            b = bytearray(b"\n".join(lines))
        elif op == "tab":
            b = bytearray(bytes(b).replace(b"\t", b" ", draw(st.integers(1, 3))))
        elif op == "truncate":
            b = b[:i]
        elif op == "bom":
            b[0:0] = b"\xef\xbb\xbf"
        elif op == "utf16":
            b = bytearray(bytes(b).decode("utf-8", "replace").encode("utf-16"))
    return bytes(b)


@st.composite
def conllu_bytes(draw) -> bytes:
    doc = draw(conllu_document()).encode("utf-8")
    return mutate(draw, doc) if draw(st.booleans()) else doc


def _parse_conllu_or_suite_error(data: str | bytes) -> str:
    try:
        sents = parse_conllu(data, source="fuzz.conllu", lang="en")
    except SuiteError:
        return "error"
    check_sentences(sents)
    return "ok"


def _fuzz_conllu(n_generated: int, n_mutated: int, tmp: Path) -> dict[str, int]:
    seen = {"ok": 0, "error": 0}

    @fuzz_settings(n_generated)
    @given(conllu_document())
    def generated(doc: str) -> None:
        seen[_parse_conllu_or_suite_error(doc)] += 1

    @fuzz_settings(n_mutated)
    @given(conllu_bytes())
    def mutated(data: bytes) -> None:
        seen[_parse_conllu_or_suite_error(data)] += 1
        p = tmp / "en.conllu"
        p.write_bytes(data)
        try:
            check_sentences(read_conllu(p))
        except SuiteError:
            pass

    generated()
    mutated()
    return seen


CONLLU_ITEM = "CoNLL-U reader (parse_conllu, read_conllu): generated + mutated documents"


def test_fuzz_conllu(tmp_path, record_property):
    check_outcomes(_fuzz_conllu(1200, 1200, tmp_path), record_property, CONLLU_ITEM, "parsed", 100, 100)


@pytest.mark.slow
def test_fuzz_conllu_long(tmp_path, record_property):
    seen = _fuzz_conllu(15000, 15000, tmp_path)
    check_outcomes(seen, record_property, CONLLU_ITEM + ", long run", "parsed", 100, 100)


# --------------------------------------------------------------------------- XTREME

WORD = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=6)


@st.composite
def token_file(draw, labels: list[str]) -> bytes:
    sents = []
    for _ in range(draw(st.integers(1, 4))):
        rows = []
        for _ in range(draw(st.integers(1, 5))):
            w = draw(WORD).replace("\t", "")
            if not w.strip():
                w = "x"
            lab = draw(st.sampled_from(labels))
            rows.append(f"{w}\t{lab}" if draw(st.integers(0, 20)) else w)
        sents.append("\n".join(rows))
    text = "\n\n".join(sents) + "\n"
    data = text.replace("\n", draw(st.sampled_from(["\n", "\r\n"]))).encode()
    return mutate(draw, data) if draw(st.booleans()) else data


@st.composite
def pair_file(draw, labels: list[str]) -> bytes:
    rows = []
    if draw(st.integers(0, 5)) == 0:
        rows.append("premise\thypo\tlabel")
    for _ in range(draw(st.integers(1, 6))):
        a = draw(st.text(max_size=12)).replace("\t", " ").replace("\n", " ").replace("\r", " ")
        b = draw(st.text(max_size=12)).replace("\t", " ").replace("\n", " ").replace("\r", " ")
        if draw(st.integers(0, 6)) == 0:
            a = '"' + a + '"'
        rows.append(f"{a}\t{b}\t{draw(st.sampled_from(labels))}")
    data = ("\n".join(rows) + "\n").encode()
    return mutate(draw, data) if draw(st.booleans()) else data


def _fuzz_xtreme(n: int, tmp: Path) -> dict[str, int]:
    seen = {"ok": 0, "error": 0}

    def outcome(fn, path: Path) -> None:
        try:
            sents = fn(path)
        except SuiteError:
            seen["error"] += 1
            return
        seen["ok"] += 1
        if sents:
            check_sentences([s for s in sents if s.words] or sents)

    @fuzz_settings(n)
    @given(token_file([*UPOS_TAGS, "NOUNX", "", "noun"]))
    def udpos(data: bytes) -> None:
        p = tmp / "dev-en.tsv"
        p.write_bytes(data)
        outcome(lambda q: read_token_file(q), p)

    @fuzz_settings(n // 2)
    @given(token_file(["O", "B-PER", "I-PER", "B-LOC", "I-", "X-ORG", "B-per"]))
    def panx(data: bytes) -> None:
        p = tmp / "dev-de.tsv"
        p.write_bytes(data)
        outcome(lambda q: read_token_file(q, field="tag", labels=None, label_pattern=_BIO,
                                          strip_lang_prefix=True), p)

    @fuzz_settings(n)
    @given(pair_file([*NLI_LABELS, "maybe", ""]))
    def xnli(data: bytes) -> None:
        p = tmp / "dev-fr.tsv"
        p.write_bytes(data)
        outcome(lambda q: read_pair_file(q), p)

    @fuzz_settings(n // 2)
    @given(pair_file([*PAWSX_LABELS, "2", "yes"]))
    def pawsx(data: bytes) -> None:
        p = tmp / "dev-ja.tsv"
        p.write_bytes(data)
        outcome(lambda q: read_pair_file(q, labels=PAWSX_LABELS), p)

    udpos()
    panx()
    xnli()
    pawsx()
    return seen


XTREME_ITEM = "XTREME readers (UD-POS, PAN-X, XNLI, PAWS-X files)"


def test_fuzz_xtreme(tmp_path, record_property):
    check_outcomes(_fuzz_xtreme(800, tmp_path), record_property, XTREME_ITEM, "parsed", 100, 100)


@pytest.mark.slow
def test_fuzz_xtreme_long(tmp_path, record_property):
    check_outcomes(_fuzz_xtreme(10000, tmp_path), record_property, XTREME_ITEM + ", long run", "parsed", 100, 100)


# --------------------------------------------------------------------------- configs

FIELDS = [f.name for f in dataclasses.fields(ExtractConfig)]
# Infinite floats and 2000-deep nesting are left out here: they are known failures, pinned as
# xfail tests below (test_config_infinite_integer, test_config_deep_nesting).
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=True, allow_infinity=False),
                    st.text(max_size=10), st.sampled_from(["all", "0,1", "mean", "float16", "1e400", "-inf", "nan"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=6)
KEYS = st.one_of(st.sampled_from(FIELDS), st.sampled_from(["modle", "layer", "max-tokens", "store_dtype"]),
                 st.text(max_size=8))


@st.composite
def config_text(draw) -> bytes:
    cfg = draw(st.dictionaries(KEYS, VALUES, max_size=5))
    text = yaml.safe_dump(cfg, allow_unicode=True) if draw(st.booleans()) else \
        yaml.safe_dump(draw(VALUES), allow_unicode=True)
    data = text.encode()
    if draw(st.booleans()):
        data = mutate(draw, data)
    if draw(st.integers(0, 10)) == 0:
        data = draw(st.sampled_from([b"a: !!python/object/apply:os.system ['true']\n", b"[" * 20,
                                     b"a: &x [*x]\n", b"a: !!binary AAAA\n", b"a: 2001-01-01\n", b"? [a]\n: b\n",
                                     b"a: 1\na: 2\n", b"\xff\xfe", b"- - - -\n"]))
    return data


def _fuzz_config(n: int, tmp: Path) -> dict[str, int]:
    seen = {"ok": 0, "error": 0}
    p = tmp / "c.yaml"

    @fuzz_settings(n)
    @given(config_text())
    def from_file(data: bytes) -> None:
        p.write_bytes(data)
        try:
            d = load_yaml(p)
            assert isinstance(d, dict)
            cfg = load_config(ExtractConfig, p)
        except SuiteError:
            seen["error"] += 1
            return
        assert isinstance(cfg, ExtractConfig)
        seen["ok"] += 1

    @fuzz_settings(n // 2)
    @given(st.dictionaries(KEYS, VALUES, max_size=4))
    def from_overrides(over: dict) -> None:
        try:
            cfg = load_config(ExtractConfig, None, over)
        except SuiteError:
            seen["error"] += 1
            return
        assert isinstance(cfg, ExtractConfig)
        seen["ok"] += 1

    from_file()
    from_overrides()
    return seen


CONFIG_ITEM = "config loader (load_yaml, load_config on YAML files and overrides)"


def test_fuzz_config(tmp_path, record_property):
    check_outcomes(_fuzz_config(1400, tmp_path), record_property, CONFIG_ITEM, "loaded", 50, 100)


@pytest.mark.slow
def test_fuzz_config_long(tmp_path, record_property):
    check_outcomes(_fuzz_config(14000, tmp_path), record_property, CONFIG_ITEM + ", long run", "loaded", 50, 100)


# --------------------------------------------------------------------------- findings of the fuzzer


@pytest.mark.parametrize("text", ["max_tokens: .inf\n", "max_length: -.inf\n"])
def test_config_infinite_integer(text, tmp_path, record_property):
    record_property("category", "fuzz")
    record_property("item", "finding: integer config key set to .inf")
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(SuiteError, match="max_"):
        load_config(ExtractConfig, p)


def test_config_deep_nesting(tmp_path, record_property):
    record_property("category", "fuzz")
    record_property("item", "finding: YAML nested 2000 levels deep")
    p = tmp_path / "c.yaml"
    p.write_text("a: " + "[" * 2000 + "\n")
    with pytest.raises(SuiteError, match="c.yaml"):
        load_yaml(p)


def test_config_escape_beyond_unicode_is_a_config_error(tmp_path):
    """Found by test_fuzz_config: PyYAML raises ValueError for a \\U escape above U+10FFFF."""
    from crossling.config import load_config
    from crossling.errors import ConfigError
    from probes.train import TrainConfig

    p = tmp_path / "c.yaml"
    p.write_bytes(b' "\\e\\U10010000"\n')
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(TrainConfig, str(p), {})
