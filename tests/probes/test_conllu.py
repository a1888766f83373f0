"""CoNLL-U reading, validation (file and line in every error), spans, and round trips."""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes.readers.conllu import (
    ReadReport,
    TextRebuiltWarning,
    format_conllu,
    lang_from_filename,
    parse_conllu,
    read_conllu,
    validate_conllu,
    write_conllu,
)
from crossling.errors import ConfigError, DataError
from crossling.types import UPOS_TAGS, Sentence, Word

PUD_LANGS = ["ar", "cs", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr", "zh"]


def row(i: object, form: str, upos: str = "NOUN", head: object = 0, deprel: str = "root", feats: str = "_",
        misc: str = "_", lemma: str = "_") -> str:
    """One CoNLL-U token line."""
    return "\t".join([str(i), form, lemma, upos, "_", feats, str(head), deprel, "_", misc])


def sent(*lines: str) -> str:
    return "\n".join(lines) + "\n\n"


def put(tmp_path: Path, content: str | bytes, name: str = "xx.conllu") -> Path:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_bytes(content.encode("utf-8"))
    return p


GOOD = sent(
    "# sent_id = s1",
    "# text = The cat sleeps.",
    row(1, "The", "DET", 2, "det"),
    row(2, "cat", "NOUN", 3, "nsubj"),
    row(3, "sleeps", "VERB", 0, "root", misc="SpaceAfter=No"),
    row(4, ".", "PUNCT", 3, "punct"),
)

FR_MWT = sent(
    "# sent_id = fr1",
    "# text = Il parle du pain.",
    row(1, "Il", "PRON", 2, "nsubj"),
    row(2, "parle", "VERB", 0, "root"),
    row("3-4", "du", "_", "_", "_"),
    row(3, "de", "ADP", 5, "case"),
    row(4, "le", "DET", 5, "det"),
    row(5, "pain", "NOUN", 2, "obl", misc="SpaceAfter=No"),
    row(6, ".", "PUNCT", 2, "punct"),
)


# --------------------------------------------------------------------------- reading


def test_reads_words_spans_and_provenance(tmp_path: Path) -> None:
    p = put(tmp_path, "# newdoc id = d1\n" + GOOD + GOOD.replace("s1", "s2"), "en_test-ud-test.conllu")
    sents = read_conllu(p)
    assert [s.sent_id for s in sents] == ["s1", "s2"]
    s = sents[0]
    assert s.lang == "en" and s.text == "The cat sleeps."
    assert [w.id for w in s.words] == [1, 2, 3, 4]
    assert [s.text[a:b] for a, b in (w.span for w in s.words)] == ["The", "cat", "sleeps", "."]
    assert s.words[0].upos == "DET" and s.words[0].head == 2 and s.words[0].deprel == "det"
    assert s.words[0].lemma is None and s.words[0].feats == {}
    assert s.source == f"{p}:1"
    assert sents[1].source == f"{p}:9"


def test_fields_and_features(tmp_path: Path) -> None:
    p = put(tmp_path, sent(row(1, "Katzen", "NOUN", 0, "root", feats="Case=Nom|Gender=Fem|Number=Plur",
                               lemma="Katze")))
    w = read_conllu(p, lang="de")[0].words[0]
    assert w.feats == {"Case": "Nom", "Gender": "Fem", "Number": "Plur"}
    assert w.lemma == "Katze" and w.xpos is None


def test_sent_id_defaults_to_file_and_index(tmp_path: Path) -> None:
    body = sent(row(1, "a", "X")) + sent(row(1, "b", "X"))
    sents = read_conllu(put(tmp_path, body, "de.conllu"))
    assert [s.sent_id for s in sents] == ["de.conllu:1", "de.conllu:2"]
    assert sents[0].lang == "de"


def test_language_from_file_name() -> None:
    assert lang_from_filename("UD_French-PUD/fr_pud-ud-test.conllu") == "fr"
    assert lang_from_filename("/x/zh.conllu") == "zh"
    assert lang_from_filename("qtd_sagt-ud-test.conllu") == "qtd"
    assert lang_from_filename("treebank.conllu") is None


def test_multiword_token_words_share_the_surface_span(tmp_path: Path) -> None:
    s = read_conllu(put(tmp_path, FR_MWT, "fr.conllu"), report=(rep := ReadReport()))[0]
    spans = {w.form: w.span for w in s.words}
    assert spans["de"] == spans["le"] == (9, 11)
    assert s.text[9:11] == "du"
    assert s.text[slice(*spans["pain"])] == "pain"
    assert rep.n_multiword_tokens == 1 and rep.n_words == 6


def test_multiword_token_without_text_comment_uses_its_space_after(tmp_path: Path) -> None:
    body = sent(
        row("1-2", "du", "_", "_", "_", misc="SpaceAfter=No"),
        row(1, "de", "ADP", 3, "case"),
        row(2, "le", "DET", 3, "det", misc="SpaceAfter=No"),  # ignored: inside the multiword token
        row(3, "pain", "NOUN", 0, "root"),
    )
    s = read_conllu(put(tmp_path, body, "fr.conllu"))[0]
    assert s.text == "dupain"
    assert [w.span for w in s.words] == [(0, 2), (0, 2), (2, 6)]


def test_space_after_no_rebuilds_text(tmp_path: Path) -> None:
    body = sent(
        row(1, "Hello", "INTJ", 0, "root", misc="SpaceAfter=No"),
        row(2, ",", "PUNCT", 1, "punct"),
        row(3, "world", "NOUN", 1, "vocative", misc="SpaceAfter=No"),
        row(4, "!", "PUNCT", 1, "punct"),
    )
    rep = ReadReport()
    s = read_conllu(put(tmp_path, body, "en.conllu"), report=rep)[0]
    assert s.text == "Hello, world!"
    assert [s.text[a:b] for a, b in (w.span for w in s.words)] == ["Hello", ",", "world", "!"]
    assert rep.text_missing == ["en.conllu:1"] and rep.text_rebuilt == []


def test_spaces_after_is_honoured(tmp_path: Path) -> None:
    body = sent(row(1, "a", "X", 0, "root", misc="SpacesAfter=\\s\\s"), row(2, "b", "X", 1, "dep"))
    assert read_conllu(put(tmp_path, body))[0].text == "a  b"


def test_chinese_without_spaces(tmp_path: Path) -> None:
    body = sent(
        "# text = 我爱北京。",
        row(1, "我", "PRON", 2, "nsubj", misc="SpaceAfter=No"),
        row(2, "爱", "VERB", 0, "root", misc="SpaceAfter=No"),
        row(3, "北京", "PROPN", 2, "obj", misc="SpaceAfter=No"),
        row(4, "。", "PUNCT", 2, "punct", misc="SpaceAfter=No"),
    )
    s = read_conllu(put(tmp_path, body, "zh.conllu"))[0]
    assert s.text == "我爱北京。"
    assert [w.span for w in s.words] == [(0, 1), (1, 2), (2, 4), (4, 5)]
    # the same without the text comment: rebuilt without spaces
    s2 = read_conllu(put(tmp_path, body.replace("# text = 我爱北京。\n", ""), "zh2.conllu"), lang="zh")[0]
    assert s2.text == "我爱北京。" and [w.span for w in s2.words] == [w.span for w in s.words]


def test_inconsistent_text_comment_is_rebuilt_and_reported(tmp_path: Path) -> None:
    body = GOOD.replace("# text = The cat sleeps.", "# text = A dog barks.")
    rep = ReadReport()
    with pytest.warns(TextRebuiltWarning, match=r"1 sentence\(s\).*'s1'"):
        s = read_conllu(put(tmp_path, body), report=rep)[0]
    assert s.text == "The cat sleeps."
    assert rep.text_rebuilt == ["s1"]
    # tokens present but separated by other characters is inconsistent too
    body2 = GOOD.replace("# text = The cat sleeps.", "# text = The big cat sleeps.")
    with pytest.warns(TextRebuiltWarning):
        assert read_conllu(put(tmp_path, body2, "b.conllu"))[0].text == "The cat sleeps."


def test_token_matching_the_text_up_to_whitespace(tmp_path: Path) -> None:
    body = sent("# text = It costs 1 000 euros", row(1, "It", "PRON", 2, "nsubj"), row(2, "costs", "VERB"),
                row(3, "1000", "NUM", 4, "nummod"), row(4, "euros", "NOUN", 2, "obj"))
    rep = ReadReport()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = read_conllu(put(tmp_path, body), report=rep)[0]
    assert s.text == "It costs 1 000 euros"
    assert s.words[2].span == (9, 14) and rep.fuzzy_spans == ["xx.conllu:1"]
    assert s.words[3].span == (15, 20)


def test_empty_nodes_are_skipped(tmp_path: Path) -> None:
    body = sent(
        "# text = Sue likes coffee and Bill tea",
        row(1, "Sue", "PROPN", 2, "nsubj"), row(2, "likes", "VERB"), row(3, "coffee", "NOUN", 2, "obj"),
        row(4, "and", "CCONJ", 5, "cc"), row(5, "Bill", "PROPN", 3, "conj"),
        "5.1\tlikes\tlike\tVERB\t_\t_\t_\t_\t2:conj\t_",
        row(6, "tea", "NOUN", 5, "orphan"),
    )
    rep = ReadReport()
    s = read_conllu(put(tmp_path, body), report=rep)[0]
    assert [w.form for w in s.words] == ["Sue", "likes", "coffee", "and", "Bill", "tea"]
    assert s.words[-1].span == (26, 29) and rep.n_empty_nodes == 1


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    plain = read_conllu(put(tmp_path, GOOD, "a.conllu"), lang="en")
    bom = read_conllu(put(tmp_path, "\ufeff" + GOOD.replace("\n", "\r\n"), "b.conllu"), lang="en")
    strip = [dataclasses.replace(s, source=None) for s in plain]
    assert [dataclasses.replace(s, source=None) for s in bom] == strip
    assert bom[0].text == "The cat sleeps."


def test_upos_may_be_absent_from_the_whole_file(tmp_path: Path) -> None:
    body = sent(row(1, "a", "_", 0, "root"), row(2, "b", "_", 1, "dep"))
    assert [w.upos for w in read_conllu(put(tmp_path, body))[0].words] == [None, None]


def test_unannotated_trees_are_accepted(tmp_path: Path) -> None:
    body = sent(row(1, "a", "X", "_", "_"), row(2, "b", "X", "_", "_"))
    assert [w.head for w in read_conllu(put(tmp_path, body))[0].words] == [None, None]


# --------------------------------------------------------------------------- validation errors

ROOT = row(1, "a", "NOUN", 0, "root")

# (name, content, line of the error, message pattern)
BROKEN: list[tuple[str, str, int, str]] = [
    ("nine columns", sent("# text = a", "1\ta\t_\tNOUN\t_\t_\t0\troot\t_"), 2, r"expected 10 TAB-separated columns.*found 9"),
    ("eleven columns", sent(ROOT + "\textra"), 1, r"found 11"),
    ("spaces not tabs", sent("1  a  _  NOUN  _  _  0  root  _  _"), 1, r"found 1 .*TAB characters, not spaces"),
    ("empty column", sent(ROOT.replace("\troot\t", "\t\t")), 1, r"column 8 \(DEPREL\) is empty"),
    ("trailing space", sent(ROOT + " "), 1, r"column 10 \(MISC\) value '_ ' starts or ends with whitespace"),
    ("form with leading space", sent(row(1, " a")), 1, r"column 2 \(FORM\) value ' a'"),
    ("non-integer id", sent(row("one", "a")), 1, r"ID 'one' is not a word ID"),
    ("zero id", sent(row(0, "a")), 1, r"ID '0' is not a word ID"),
    ("ids skip", sent(ROOT, row(3, "b", "NOUN", 1, "dep")), 2, r"expected 2, found 3"),
    ("ids start at 2", sent(row(2, "a")), 1, r"expected 1, found 2"),
    ("ids repeat", sent(ROOT, row(1, "b", "NOUN", 1, "dep")), 2, r"expected 2, found 1"),
    ("head out of range", sent(ROOT, row(2, "b", "NOUN", 3, "dep")), 2, r"HEAD 3 is out of range.*0\.\.2"),
    ("head not integer", sent(ROOT, row(2, "b", "NOUN", "x", "dep")), 2, r"HEAD 'x' is not"),
    ("head negative", sent(ROOT, row(2, "b", "NOUN", -1, "dep")), 2, r"HEAD '-1' is not"),
    ("own head", sent(ROOT, row(2, "b", "NOUN", 2, "dep")), 2, r"word 2 is its own HEAD"),
    ("cycle", sent(ROOT, row(2, "b", "NOUN", 3, "dep"), row(3, "c", "NOUN", 2, "dep")), 2, r"HEAD cycle 2 -> 3 -> 2"),
    ("no root", sent(row(1, "a", "NOUN", 2, "dep"), row(2, "b", "NOUN", 1, "dep")), 1, r"no root"),
    ("two roots", sent(ROOT, row(2, "b", "NOUN", 0, "root")), 2, r"multiple roots: words 1, 2"),
    ("root deprel", sent(row(1, "a", "NOUN", 0, "nsubj")), 1, r"HEAD is 0 but DEPREL is 'nsubj'"),
    ("root label elsewhere", sent(ROOT, row(2, "b", "NOUN", 1, "root")), 2, r"DEPREL is 'root' but HEAD is 1"),
    ("head without deprel", sent(row(1, "a", "NOUN", 0, "_")), 1, r"must both be given"),
    ("unknown upos", sent(row(1, "a", "NOUNS")), 1, r"unknown UPOS 'NOUNS'\. Did you mean 'NOUN'"),
    ("lower-case upos", sent(row(1, "a", "noun")), 1, r"unknown UPOS 'noun'"),
    ("upos _ in a tagged file", sent(ROOT) + sent(row(1, "b", "_")), 3, r"UPOS is '_' here.*first at line 1"),
    ("head _ in an annotated file", sent(ROOT) + sent(row(1, "b", "X", "_", "_")), 3, r"HEAD is '_' here"),
    ("feats colon", sent(row(1, "a", feats="Number:Sing")), 1, r"malformed FEATS 'Number:Sing'"),
    ("feats lower-case", sent(row(1, "a", feats="number=sing")), 1, r"malformed FEATS"),
    ("feats no value", sent(row(1, "a", feats="Number=")), 1, r"malformed FEATS 'Number='"),
    ("feats empty part", sent(row(1, "a", feats="Number=Sing||Case=Nom")), 1, r"'' is not 'Name=Value'"),
    ("feats repeated", sent(row(1, "a", feats="Number=Sing|Number=Plur")), 1, r"'Number' is given twice"),
    ("comment after tokens", sent(ROOT, "# text = a"), 2, r"comment line after token lines"),
    ("duplicate sent_id", sent("# sent_id = x", ROOT) + sent("# sent_id = x", ROOT), 4,
     r"duplicate sent_id 'x' \(first at line 1\)"),
    ("only comments", sent("# sent_id = x", "# text = a"), 1, r"sentence without word lines"),
    ("mwt reversed", sent(row("2-1", "du", "_", "_", "_"), ROOT), 1, r"range '2-1' is invalid"),
    ("mwt not at next word", sent(ROOT, row("3-4", "du", "_", "_", "_")), 2, r"range '3-4' is invalid.*a = 2"),
    ("mwt past the end", sent(row("1-3", "dul", "_", "_", "_"), ROOT, row(2, "b", "NOUN", 1, "dep")), 1,
     r"covers words up to 3 but the sentence has only 2"),
    ("mwt inside mwt", sent(row("1-3", "abc", "_", "_", "_"), ROOT, row("2-3", "bc", "_", "_", "_")), 3,
     r"starts inside the previous multiword token"),
    ("empty node misplaced", sent(ROOT, "3.1\tx\t_\t_\t_\t_\t_\t_\t_\t_"), 2,
     r"empty node '3.1' must follow word 3"),
]


@pytest.mark.parametrize("name,content,line,pattern", BROKEN, ids=[b[0] for b in BROKEN])
def test_validator_names_file_and_line(tmp_path: Path, name: str, content: str, line: int, pattern: str) -> None:
    p = put(tmp_path, content, "bad.conllu")
    with pytest.raises(DataError, match=re.escape(f"{p}:{line}: ") + ".*" + pattern) as info:
        validate_conllu(p)
    assert info.value.path == str(p) and info.value.line == line
    with pytest.raises(DataError):
        read_conllu(p)


def test_empty_file(tmp_path: Path) -> None:
    p = put(tmp_path, b"")
    with pytest.raises(DataError, match=re.escape(str(p)) + r": the file is empty"):
        read_conllu(p)
    p2 = put(tmp_path, "\n\n  \n", "blank.conllu")
    with pytest.raises(DataError, match=r"blank\.conllu: the file is empty"):
        read_conllu(p2)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_rejected(tmp_path: Path, encoding: str) -> None:
    p = put(tmp_path, GOOD.encode(encoding))
    with pytest.raises(DataError, match=re.escape(f"{p}:1: ") + r"the file is not UTF-8: it looks like UTF-16"):
        read_conllu(p)


def test_stray_nul_byte_is_rejected_with_line(tmp_path: Path) -> None:
    p = put(tmp_path, GOOD.replace("\tcat\t", "\tc\x00at\t").encode("utf-8"))
    with pytest.raises(DataError, match=re.escape(f"{p}:4: ") + r"NUL byte at column 4; .*UTF-8"):
        read_conllu(p)


def test_latin1_is_rejected_with_line(tmp_path: Path) -> None:
    body = GOOD.replace("The cat", "Thé cat").replace("\tThe\t", "\tThé\t")
    p = put(tmp_path, body.encode("latin-1"))
    with pytest.raises(DataError, match=re.escape(f"{p}:2: ") + r"byte 0xe9 at column 12 .*must be UTF-8"):
        read_conllu(p)
    # the same text in UTF-8 is fine
    assert read_conllu(put(tmp_path, body, "ok.conllu"))[0].text == "Thé cat sleeps."


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.conllu: no such CoNLL-U file"):
        read_conllu(tmp_path / "nope.conllu")


# --------------------------------------------------------------------------- writing


def _strip(sents: list[Sentence]) -> list[Sentence]:
    return [dataclasses.replace(s, source=None) for s in sents]


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    body = FR_MWT + sent(
        "# sent_id = fr2",
        row(1, "Bonjour", "INTJ", 0, "root", feats="Polarity=Pos", lemma="bonjour", misc="SpaceAfter=No"),
        row(2, "!", "PUNCT", 1, "punct"),
    )
    first = read_conllu(put(tmp_path, body, "fr.conllu"))
    first[1].label = "greeting"
    first[1].text_b = "Salut !"
    first[1].words[0].tag = "B-MISC"
    out = tmp_path / "out" / "fr.conllu"
    write_conllu(first, out)
    again = read_conllu(out)
    assert _strip(again) == _strip(first)
    assert "3-4\tdu\t" in out.read_text(encoding="utf-8")
    # writing what was read back gives identical bytes
    write_conllu(again, tmp_path / "out2.conllu")
    assert (tmp_path / "out2.conllu").read_bytes() == out.read_bytes()


def test_write_rejects_unrepresentable_sentences(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'e' .*has no words"):
        write_conllu([Sentence("e", "en", "text")], tmp_path / "x.conllu")
    bad = Sentence("t", "en", "a\tb", [Word(1, "a", (0, 1), "X", head=0, deprel="root")])
    with pytest.raises(ConfigError, match=r"TAB or line break"):
        write_conllu([bad], tmp_path / "x.conllu")
    loop = Sentence("c", "en", "a b", [Word(1, "a", (0, 1), "X", head=2, deprel="dep"),
                                      Word(2, "b", (2, 3), "X", head=1, deprel="dep")])
    with pytest.raises(DataError, match=r"no root"):
        write_conllu([loop], tmp_path / "x.conllu")
    assert not (tmp_path / "x.conllu").exists()


def test_format_sorts_features_and_marks_space_after() -> None:
    s = Sentence("z", "zh", "我爱", [Word(1, "我", (0, 1), "PRON", feats={"b": "X", "A": "Y"}, head=2, deprel="nsubj"),
                                    Word(2, "爱", (1, 2), "VERB", head=0, deprel="root")])
    lines = format_conllu([s]).splitlines()
    assert lines[:2] == ["# sent_id = z", "# text = 我爱"]
    assert lines[2].split("\t")[5] == "A=Y|b=X" and lines[2].endswith("SpaceAfter=No")


# --------------------------------------------------------------------------- property test

_BASE_LINES = (
    FR_MWT
    + sent(
        "# sent_id = zh1",
        "# text = 我爱北京",
        row(1, "我", "PRON", 2, "nsubj", misc="SpaceAfter=No"),
        row(2, "爱", "VERB", 0, "root", misc="SpaceAfter=No"),
        "2.1\tx\t_\t_\t_\t_\t_\t_\t_\t_",
        row(3, "北京", "PROPN", 2, "obj", feats="Case=Nom|Number=Sing"),
    )
    + GOOD
).split("\n")

_pieces = st.sampled_from(["\t", "\n", "\r\n", " ", "_", "-", ".", "0", "1", "3", "9", "=", "|", "#", ":", "a",
                           "NOUN", "root", "SpaceAfter=No", "é", "北", "\ufeff", "1-2", "2.1", "Number=Sing"])
_text = st.lists(_pieces, max_size=6).map("".join)
_form = st.lists(st.sampled_from(["a", "b", " ", "du", "北", "京", "1", "\u3000", ".", "'"]), min_size=1,
                 max_size=4).map("".join)


@st.composite
def mutated(draw: st.DrawFn) -> str | bytes:
    lines = list(_BASE_LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "dup", "swap", "field", "insert", "cut", "replace", "form", "form"]))
        if op == "form":  # usually keeps the file valid: exercises span finding and text rebuilding
            cols = lines[i].split("\t")
            if len(cols) == 10:
                cols[1] = draw(_form)
                lines[i] = "\t".join(cols)
            elif lines[i].startswith("# text = "):
                lines[i] = "# text = " + draw(_form)
        elif op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "field":
            cols = lines[i].split("\t")
            k = draw(st.integers(0, len(cols) - 1))
            cols[k] = draw(_text)
            lines[i] = "\t".join(cols)
        elif op == "insert":
            pos = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + draw(_text) + lines[i][pos:]
        elif op == "cut":
            a = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:a] + lines[i][a + draw(st.integers(0, 5)):]
        else:
            lines[i] = draw(_text)
        if not lines:
            lines = [""]
    text = "\n".join(lines)
    if draw(st.booleans()):
        return text
    data = text.encode("utf-8")
    if draw(st.integers(0, 7)) == 0:  # an undecodable byte somewhere
        pos = draw(st.integers(0, len(data)))
        data = data[:pos] + bytes([draw(st.sampled_from([0x00, 0x80, 0xE9, 0xFF]))]) + data[pos:]
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_parse_validly_or_raise_data_error(data: str | bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TextRebuiltWarning)
        try:
            sents = parse_conllu(data, source="mut.conllu", lang="xx")
        except DataError as exc:
            assert str(exc).startswith("mut.conllu")
            return
    assert sents
    assert len({s.sent_id for s in sents}) == len(sents)
    for s in sents:
        n = len(s.words)
        assert n > 0 and [w.id for w in s.words] == list(range(1, n + 1))
        for w in s.words:
            a, b = w.span
            assert 0 <= a < b <= len(s.text)
            assert w.upos is None or w.upos in UPOS_TAGS
            assert w.head is None or 0 <= w.head <= n
        heads = [w.head for w in s.words]
        if heads[0] is not None:
            assert heads.count(0) == 1
    # what was read can be written and read back unchanged
    if all("\n" not in s.text and "\t" not in s.text for s in sents):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TextRebuiltWarning)
            back = parse_conllu(format_conllu(sents), source="back.conllu", lang="xx")
        assert _strip(back) == _strip(sents)


# --------------------------------------------------------------------------- real PUD files


@pytest.fixture(scope="module")
def pud_files(data_dir: Path) -> dict[str, Path]:
    files = {p.name.split("_")[0]: p for p in sorted((data_dir / "ud").glob("UD_*-PUD/*_pud-ud-test.conllu"))}
    if not files:
        pytest.skip(f"no PUD files under {data_dir / 'ud'}")
    return files


@pytest.mark.integration
def test_all_pud_files_read_with_exact_spans(pud_files: dict[str, Path]) -> None:
    assert sorted(pud_files) == PUD_LANGS
    for lang, path in pud_files.items():
        rep = ReadReport()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sents = read_conllu(path, report=rep)
        assert len(sents) == 1000 and rep.n_sentences == 1000
        assert rep.text_missing == [] and rep.text_rebuilt == [], lang
        assert {s.lang for s in sents} == {lang}
        for s in sents:
            for i, w in enumerate(s.words):
                a, b = w.span
                surface = s.text[a:b]
                shared = (i > 0 and s.words[i - 1].span == w.span) or (
                    i + 1 < len(s.words) and s.words[i + 1].span == w.span)
                assert surface == w.form or shared, (lang, s.sent_id, w.form, surface)
                if i:
                    assert a >= s.words[i - 1].span[0]


@pytest.mark.integration
def test_pud_scripts_without_spaces(pud_files: dict[str, Path]) -> None:
    for lang in ("zh", "ja"):
        sents = read_conllu(pud_files[lang])
        first = sents[0]
        assert " " not in first.text.strip("\"「」 ")
        # the words tile the text: each starts where the previous one ends
        for prev, w in zip(first.words, first.words[1:]):
            assert w.span[0] == prev.span[1]
        assert "".join(w.form for w in first.words) == first.text


@pytest.mark.integration
def test_pud_multiword_tokens(pud_files: dict[str, Path]) -> None:
    rep = ReadReport()
    s = read_conllu(pud_files["fr"], report=rep)[0]
    assert rep.n_multiword_tokens == 595
    words = {(w.id, w.form): s.text[w.span[0]:w.span[1]] for w in s.words}
    assert words[(15, "à")] == words[(16, "les")] == "aux"
    assert words[(22, "de")] == words[(23, "le")] == "du"
    cs = ReadReport()
    read_conllu(pud_files["cs"], report=cs)
    assert cs.n_empty_nodes == 13


@pytest.mark.integration
def test_pud_round_trip(pud_files: dict[str, Path], tmp_path: Path) -> None:
    for lang in ("fr", "ja"):
        first = read_conllu(pud_files[lang])
        write_conllu(first, tmp_path / f"{lang}.conllu")
        assert _strip(read_conllu(tmp_path / f"{lang}.conllu")) == _strip(first)


def test_sent_id_with_a_tab_is_a_data_error():
    """Found by the mutation test: a TAB in '# sent_id' parsed, then could not be written back."""
    text = "# sent_id = f\tr1\n# text = a\n1\ta\t_\tX\t_\t_\t0\troot\t_\t_\n\n"
    with pytest.raises(DataError, match="sent_id .* contains a TAB"):
        parse_conllu(text, source="mut.conllu", lang="xx")
