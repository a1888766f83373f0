"""Tests of probes.readers.xtreme: the XTREME readers on small files, mutated files and the real data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crossling.errors import ConfigError, DataError
from crossling.types import UPOS_TAGS
from probes.readers.xtreme import (
    TASKS,
    available,
    read_pair_file,
    read_tatoeba,
    read_token_file,
    read_xtreme,
    tatoeba_paths,
    xtreme_path,
)

UDPOS = "The\tDET\ncat\tNOUN\nsat\tVERB\n.\tPUNCT\n\nHi\tINTJ\n"
PANX = "R.H.\tB-ORG\nSaunders\tI-ORG\n(\tO\nSt.\tB-LOC\n)\tO\n\nBob\tB-PER\n"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def read_panx(path: Path, lang: str | None = None) -> list:
    return TASKS.get("panx").reader(path, lang or "en", "train")  # type: ignore[misc]


# --------------------------------------------------------------------------- token files


def test_udpos_records_words_spans_ids(tmp_path: Path) -> None:
    sents = read_token_file(write(tmp_path / "dev-en.tsv", UDPOS))
    assert [s.sent_id for s in sents] == ["dev-0", "dev-1"]
    s = sents[0]
    assert s.lang == "en" and s.text == "The cat sat ."
    assert [w.form for w in s.words] == ["The", "cat", "sat", "."]
    assert [w.upos for w in s.words] == ["DET", "NOUN", "VERB", "PUNCT"]
    assert [w.id for w in s.words] == [1, 2, 3, 4]
    assert [w.span for w in s.words] == [(0, 3), (4, 7), (8, 11), (12, 13)]
    assert all(w.tag is None for w in s.words)
    assert s.source == f"{tmp_path / 'dev-en.tsv'}:1" and sents[1].source.endswith(":6")


def test_crlf_bom_blank_runs_and_missing_final_newline(tmp_path: Path) -> None:
    text = "\ufeff" + UDPOS.replace("\n", "\r\n").replace("\r\n\r\n", "\r\n\r\n\r\n  \r\n\t\r\n") + "x\tX"
    sents = read_token_file(write(tmp_path / "train-de.tsv", text), split="train")
    assert [len(s.words) for s in sents] == [4, 2]
    assert sents[0].words[0].form == "The" and sents[1].words[-1].form == "x"
    assert sents[0].lang == "de" and sents[1].sent_id == "train-1"


def test_unlabelled_file_reads_with_none_labels(tmp_path: Path) -> None:
    sents = read_token_file(write(tmp_path / "test-en.tsv", "What\nif\n\nGoogle\n"))
    assert [[w.upos for w in s.words] for s in sents] == [[None, None], [None]]


@pytest.mark.parametrize(("text", "line", "match"), [
    ("a\tNOUN\nb\tVERB\tX\n", 2, r"found 3 columns"),
    ("a\tNOUN\nb\tVRB\n", 2, r"Unknown label 'VRB' for word 'b'\. Did you mean 'VERB'"),
    ("a\tNOUN\nb\n", 2, r"mixes labelled and unlabelled lines: line 1 has a label"),
    ("a\n\nb\tNOUN\n", 3, r"mixes labelled and unlabelled"),
    ("a\tNOUN\n\tPUNCT\n", 2, r"Empty word"),
    ("a\tNOUN\nb\t\n", 2, r"Unknown label ''"),
])
def test_malformed_token_lines_name_file_and_line(tmp_path: Path, text: str, line: int, match: str) -> None:
    path = write(tmp_path / "dev-en.tsv", text)
    with pytest.raises(DataError, match=match) as info:
        read_token_file(path)
    assert info.value.line == line and info.value.path == str(path)
    assert str(info.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize("text", ["", "\n\n", " \n\t\n"])
def test_empty_file_is_a_data_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(DataError, match="empty"):
        read_token_file(write(tmp_path / "dev-en.tsv", text))


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "dev-en.tsv", b"a\tNOUN\n\nb\tNOUN\nc\xff\tNOUN\n")
    with pytest.raises(DataError, match=r"not valid UTF-8 \(byte 0xff") as info:
        read_token_file(path)
    assert info.value.line == 4


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_token_file(tmp_path / "dev-en.tsv")


def test_panx_tags_and_iob_tolerance(tmp_path: Path) -> None:
    # real WikiANN has I- tags after O (about 2.9k of 5M tokens): the tag format is checked, not the sequence
    sents = read_panx(write(tmp_path / "train-en.tsv", PANX + "\nx\tO\ny\tI-LOC\n"))
    assert [w.tag for w in sents[0].words] == ["B-ORG", "I-ORG", "O", "B-LOC", "O"]
    assert all(w.upos is None for w in sents[0].words)
    assert [w.tag for w in sents[2].words] == ["O", "I-LOC"]


@pytest.mark.parametrize("tag", ["B_PER", "X-LOC", "B-", "o", "PER"])
def test_panx_malformed_bio_tag(tmp_path: Path, tag: str) -> None:
    with pytest.raises(DataError, match=rf"Malformed tag '{tag}'") as info:
        read_panx(write(tmp_path / "train-en.tsv", f"a\tO\nb\t{tag}\n"))
    assert info.value.line == 2


def test_panx_language_prefix_is_stripped(tmp_path: Path) -> None:
    raw = "".join(f"en:{line}\n" if line else "\n" for line in PANX.splitlines())
    plain = read_panx(write(tmp_path / "a" / "train-en.tsv", PANX))
    prefixed = read_panx(write(tmp_path / "b" / "train-en.tsv", raw))
    assert [s.text for s in prefixed] == [s.text for s in plain]
    assert [[w.tag for w in s.words] for s in prefixed] == [[w.tag for w in s.words] for s in plain]
    # the prefix must be the file's language and on every word
    other = read_panx(write(tmp_path / "c" / "train-de.tsv", raw), lang="de")
    assert other[0].words[0].form == "en:R.H."
    with pytest.raises(DataError, match=r"lacks the language prefix 'en:'") as info:
        read_panx(write(tmp_path / "d" / "train-en.tsv", raw.replace("en:Saunders", "Saunders")))
    assert info.value.line == 2


def test_colon_words_in_udpos_are_kept(tmp_path: Path) -> None:
    sents = read_token_file(write(tmp_path / "dev-fi.tsv", "tv:stä\tNOUN\n"))
    assert sents[0].words[0].form == "tv:stä"


# --------------------------------------------------------------------------- pair files


def test_pair_file_records(tmp_path: Path) -> None:
    path = write(tmp_path / "dev-de.tsv", "A b.\tC d.\tentailment\nE.\tF.\tneutral\n")
    sents = read_pair_file(path)
    assert [(s.sent_id, s.text, s.text_b, s.label, s.lang) for s in sents] == [
        ("0", "A b.", "C d.", "entailment", "de"), ("1", "E.", "F.", "neutral", "de")]
    assert sents[1].source == f"{path}:2" and sents[0].words == []


def test_pair_file_header_csv_quoting_and_unlabelled(tmp_path: Path) -> None:
    text = 'sentence1\tsentence2\tlabel\n"Say ""hi"" now"\tplain "quote\t1\nx\ty\t0\n'
    sents = read_pair_file(write(tmp_path / "dev-fr.tsv", text), labels=("0", "1"))
    assert [s.sent_id for s in sents] == ["0", "1"]  # the header is not an example
    assert sents[0].text == 'Say "hi" now' and sents[0].text_b == 'plain "quote' and sents[0].label == "1"
    test = read_pair_file(write(tmp_path / "test-fr.tsv", "a\tb\nc\td\n"), labels=("0", "1"))
    assert [s.label for s in test] == [None, None]


@pytest.mark.parametrize(("text", "line", "match"), [
    ("a\tb\tentailment\nc\td\tcontradictory\n", 2, r"Unknown label 'contradictory'\. Did you mean 'contradiction'"),
    ("a\tb\tneutral\nc\td\te\tneutral\n", 2, r"found 4"),
    ("a\tb\tneutral\nc\n", 2, r"found 1"),
    ("a\tb\tneutral\n\nc\td\tneutral\n", 2, r"Blank line"),
    ("a\tb\tneutral\nc\td\n", 2, r"mixes labelled and unlabelled"),
    ("a\t \tneutral\n", 1, r"Empty second sentence"),
    ('"a\tb\tneutral\n', 1, r"Malformed CSV quoting"),
])
def test_malformed_pair_lines(tmp_path: Path, text: str, line: int, match: str) -> None:
    with pytest.raises(DataError, match=match) as info:
        read_pair_file(write(tmp_path / "dev-en.tsv", text))
    assert info.value.line == line


def test_header_only_pair_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no examples"):
        read_pair_file(write(tmp_path / "dev-en.tsv", "premise\thypo\tlabel\n"))


# --------------------------------------------------------------------------- paths, listing, Tatoeba


def test_xtreme_path_and_available(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write(root / "xtreme" / "udpos" / "dev-de.tsv", UDPOS)
    write(root / "xtreme" / "udpos" / "train-de.tsv", UDPOS)
    write(root / "xtreme" / "udpos" / "test-xx.tsv", UDPOS)
    write(root / "xtreme" / "udpos" / "notes.txt", "ignored")
    write(root / "xtreme" / "tatoeba" / "v1" / "tatoeba.deu-eng.deu", "Hallo\n")
    write(root / "xtreme" / "tatoeba" / "v1" / "tatoeba.deu-eng.eng", "Hello\n")
    write(root / "xtreme" / "tatoeba" / "v1" / "tatoeba.ang-eng.ang", "Hwæt\n")  # no .eng side
    assert xtreme_path(root, "udpos", "dev", "German") == root / "xtreme" / "udpos" / "dev-de.tsv"
    assert xtreme_path(root / "xtreme", "pawsx", "test", "zh") == root / "xtreme" / "pawsx" / "test-zh.tsv"
    assert xtreme_path(root, "tatoeba", "test", "de").name == "tatoeba.deu-eng.deu"
    assert available(root, "udpos") == [("de", "dev"), ("de", "train"), ("xx", "test")]
    assert available(root, "xnli") == []
    assert available(root, "tatoeba") == [("de", "test")]
    sents = read_xtreme(root, "udpos", "dev", "deu")
    assert sents[0].lang == "de" and sents[0].words[1].upos == "NOUN"
    with pytest.raises(DataError, match=r"No udpos test file for 'de'\. Present: de/dev, de/train, xx/test"):
        read_xtreme(root, "udpos", "test", "de")
    with pytest.raises(ConfigError, match=r"Unknown XTREME task 'udpso'\. Did you mean 'udpos'"):
        xtreme_path(root, "udpso", "dev", "de")
    with pytest.raises(ConfigError, match=r"Unknown split 'valid'"):
        xtreme_path(root, "udpos", "valid", "de")
    with pytest.raises(ConfigError, match="only a 'test' split"):
        xtreme_path(root, "tatoeba", "dev", "de")
    with pytest.raises(ConfigError, match="Unknown language 'Germna'"):
        xtreme_path(root, "udpos", "dev", "Germna")


def test_tatoeba_reader(tmp_path: Path) -> None:
    base = tmp_path / "xtreme" / "tatoeba" / "v1"
    write(base / "tatoeba.cmn-eng.cmn", "你好\n我们\n")
    write(base / "tatoeba.cmn-eng.eng", "Hello\nWe\n")
    pairs = read_tatoeba(tmp_path, "zh")
    assert (pairs.lang, pairs.code, len(pairs)) == ("zh", "cmn", 2)
    assert pairs.pairs() == [("你好", "Hello"), ("我们", "We")]
    assert read_tatoeba(tmp_path, "Mandarin").source == pairs.source
    sents = read_xtreme(tmp_path, "tatoeba", "test", "cmn")
    assert [(s.sent_id, s.text, s.text_b) for s in sents] == [("0", "你好", "Hello"), ("1", "我们", "We")]
    write(base / "tatoeba.ang-eng.ang", "a\n")
    write(base / "tatoeba.ang-eng.eng", "b\nc\n")
    with pytest.raises(DataError, match=r"not line-aligned: 1 lines here but 2"):
        read_tatoeba(tmp_path, "ang")
    with pytest.raises(ConfigError, match="no Tatoeba test set for English"):
        tatoeba_paths(tmp_path, "en")
    with pytest.raises(ConfigError, match="no Tatoeba test set for Yoruba"):
        tatoeba_paths(tmp_path, "yo")


# --------------------------------------------------------------------------- property tests

_WORD = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=8)
_SENT = st.lists(st.tuples(_WORD, st.sampled_from(UPOS_TAGS)), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sents=st.lists(_SENT, min_size=1, max_size=5))
def test_valid_files_round_trip(tmp_path: Path, sents: list[list[tuple[str, str]]]) -> None:
    text = "\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sents) + "\n"
    got = read_token_file(write(tmp_path / "dev-en.tsv", text))
    assert [[(w.form, w.upos) for w in s.words] for s in got] == [[(w.strip(), t) for w, t in s] for s in sents]
    for s in got:
        assert all(s.text[a:b] == w.form for w, (a, b) in ((w, w.span) for w in s.words))


_PIECES = st.sampled_from([b"\t", b"\n", b"\r\n", b"\n\n", b" ", b"\xff", b"\xc3", b"en:", b"B-", b"I-PER",
                           b"NOUN", b"O", b"\xe2\x80\x8c", b"x", b"\t\t", b'"', b"\x00"])


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    base = bytearray(draw(st.sampled_from([UDPOS.encode(), PANX.encode(), b"en:a\tO\nen:b\tB-LOC\n"])))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        pos = draw(st.integers(0, len(base)))
        if op == "insert":
            base[pos:pos] = draw(_PIECES)
        elif op == "delete":
            del base[pos:pos + draw(st.integers(1, 5))]
        else:
            base[pos:pos + 1] = draw(_PIECES)
    return bytes(base)


@pytest.fixture(scope="module")
def prop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xtreme-prop")


@settings(max_examples=300, deadline=None)
@given(data=_mutated())
@example(data=b"en:a\tO\nen: b\tB-LOC\n")  # found in session 10: a space after the PAN-X prefix
def test_mutated_token_files_parse_or_raise_data_error(prop_dir: Path, data: bytes) -> None:
    path = prop_dir / "train-en.tsv"
    path.write_bytes(data)
    for reader in (read_token_file, read_panx):
        try:
            sents = reader(path)
        except DataError as exc:
            assert exc.path == str(path)
            continue
        assert sents
        for s in sents:
            assert s.words and s.text == " ".join(w.form for w in s.words)
            assert all(s.text[a:b] == w.form and w.form.strip() == w.form for w in s.words
                       for (a, b) in [w.span])


# --------------------------------------------------------------------------- the real data


@pytest.mark.integration
def test_real_pair_tasks_and_tatoeba(data_dir: Path) -> None:
    xnli = {lang: read_xtreme(data_dir, "xnli", "dev", lang) for lang, _ in available(data_dir, "xnli")}
    assert len(xnli) == 15 and {"sw", "th", "ur"} <= set(xnli)
    en = xnli["en"]
    assert len(en) == 2490 and Counter(s.label for s in en) == {"entailment": 830, "neutral": 830,
                                                                 "contradiction": 830}
    for lang, sents in xnli.items():  # line i is the same example in every language
        assert [s.label for s in sents] == [s.label for s in en], lang
        assert [s.sent_id for s in sents] == [str(i) for i in range(2490)]
    pawsx = {lang: read_xtreme(data_dir, "pawsx", "dev", lang) for lang, _ in available(data_dir, "pawsx")}
    assert sorted(pawsx) == ["de", "en", "es", "fr", "ja", "ko", "zh"]
    assert all(len(v) == 2000 and {s.label for s in v} == {"0", "1"} for v in pawsx.values())
    assert any('"' in s.text for s in pawsx["fr"])  # CSV-quoted fields were unquoted
    assert not any(s.text.startswith('"') and s.text.endswith('"') for v in pawsx.values() for s in v)
    tat = available(data_dir, "tatoeba")
    assert len(tat) == 112
    sizes = [len(read_tatoeba(data_dir, lang)) for lang, _ in tat]
    assert all(0 < n <= 1000 for n in sizes) and sum(sizes) > 80_000


@pytest.mark.integration
def test_real_token_files_sample(data_dir: Path) -> None:
    en = read_xtreme(data_dir, "udpos", "dev", "en")
    assert 3900 < len(en) < 4100
    assert {w.upos for s in en for w in s.words} <= set(UPOS_TAGS)
    hi = read_xtreme(data_dir, "panx", "dev", "hi")
    assert len(hi) == 1000 and {w.tag for s in hi for w in s.words} <= {
        "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"}
    ja = read_xtreme(data_dir, "udpos", "test", "ja")  # XTREME ships test splits unlabelled
    assert len(ja) > 2000 and all(w.upos is None for s in ja[:50] for w in s.words)


# UD-POS test files of these languages are corrupt in the mirror: punctuation forms are lost
# ("\tPUNCT") and, after a quote character, labelled and unlabelled lines interleave (CSV damage).
CORRUPT_UDPOS_TEST = {"ar", "bg", "el", "es", "fi", "fr", "hi", "id", "it"}


@pytest.mark.integration
@pytest.mark.slow
def test_every_real_xtreme_file_reads(data_dir: Path) -> None:
    """Every XTREME file the data README lists parses (or, for the known-corrupt files, raises DataError)."""
    counts: dict[tuple[str, str, str], int] = {}
    for task in ("udpos", "panx", "xnli", "pawsx"):
        for lang, split in available(data_dir, task):
            if task == "udpos" and split == "test" and lang in CORRUPT_UDPOS_TEST:
                with pytest.raises(DataError, match=r"test-\w+\.tsv:\d+: "):
                    read_xtreme(data_dir, task, split, lang)
                continue
            sents = read_xtreme(data_dir, task, split, lang)
            counts[(task, split, lang)] = len(sents)
            for s in sents[:200]:
                assert all(s.text[a:b] == w.form for w in s.words for (a, b) in [w.span])
    panx_langs = {lang for (t, _, lang) in counts if t == "panx"}
    assert len(panx_langs) == 19
    for lang in panx_langs:
        assert counts[("panx", "train", lang)] == (5000 if lang == "hi" else 20000)
        assert counts[("panx", "dev", lang)] == (1000 if lang in ("hi", "ur") else 10000)
    assert 21000 < counts[("udpos", "train", "en")] < 21500
    assert len({lang for (t, _, lang) in counts if t == "udpos"}) == 19
