"""The bundled demo sample (``probes/data/sample/<lang>.conllu``) is valid and parallel.

Every file is loaded through the suite's own reader, :func:`probes.readers.conllu.read_conllu`,
which validates the CoNLL-U format (columns, IDs, UPOS, FEATS syntax, one root,
no cycles, multiword ranges) and raises :class:`crossling.errors.DataError` on any
violation. The tests here add what the demo promises on top of that: the same
40 sentence ids in nine languages, morphology in every sentence, and
character spans that point at the right surface tokens.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from probes.readers.conllu import ReadReport, read_conllu
from crossling.types import UPOS_TAGS, Sentence

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "probes" / "data" / "sample"
LANGS = ("en", "de", "fr", "ru", "ar", "hi", "tr", "zh", "ja")
SENT_IDS = [f"sample-{i:03d}" for i in range(1, 41)]
#: Languages whose sample uses multiword tokens (du = de + le, im = in + dem, ...).
MWT_LANGS = ("de", "fr", "ar", "tr")
#: Languages written without spaces between words.
NO_SPACE_LANGS = ("zh", "ja")
QUESTION_MARKS = ("?", "？", "؟")
#: Japanese marks questions with the particle か before the full stop.
JA_QUESTION_END = "か。"


@pytest.fixture(scope="module")
def sample() -> dict[str, tuple[list[Sentence], ReadReport]]:
    """Every sample file read once with the suite's reader, with its read report."""
    out = {}
    for lang in LANGS:
        report = ReadReport()
        out[lang] = (read_conllu(SAMPLE_DIR / f"{lang}.conllu", report=report), report)
    return out


def test_sample_holds_exactly_the_nine_languages():
    found = sorted(p.stem for p in SAMPLE_DIR.glob("*.conllu"))
    assert found == sorted(LANGS)


@pytest.mark.parametrize("lang", LANGS)
def test_forty_sentences_with_the_shared_ids(sample, lang):
    sents, report = sample[lang]
    assert [s.sent_id for s in sents] == SENT_IDS
    assert {s.lang for s in sents} == {lang}
    assert report.n_sentences == 40
    # '# text' must agree with the tokens and SpaceAfter=No (else the reader rebuilds and warns).
    assert report.text_rebuilt == []
    assert report.fuzzy_spans == []
    assert report.text_missing == []


def test_sent_id_sets_identical_across_languages(sample):
    id_sets = {lang: frozenset(s.sent_id for s in sample[lang][0]) for lang in LANGS}
    assert len(set(id_sets.values())) == 1, {k: len(v) for k, v in id_sets.items()}


@pytest.mark.parametrize("lang", LANGS)
def test_morphology_is_rich_enough(sample, lang):
    sents, _ = sample[lang]
    names = Counter(name for s in sents for w in s.words for name in w.feats)
    assert len(names) >= 5, f"{lang}: only {sorted(names)}"
    bare = [s.sent_id for s in sents if not any(w.feats for w in s.words)]
    assert bare == [], f"{lang}: sentences without any FEATS: {bare}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_word_fully_annotated(sample, lang):
    for s in sample[lang][0]:
        assert 3 <= len(s.words) <= 20, (lang, s.sent_id, len(s.words))
        roots = [w for w in s.words if w.head == 0]
        assert len(roots) == 1 and roots[0].deprel == "root", (lang, s.sent_id)
        for w in s.words:
            assert w.upos in UPOS_TAGS, (lang, s.sent_id, w.form, w.upos)
            assert w.lemma, (lang, s.sent_id, w.form)
            assert w.deprel and w.head is not None, (lang, s.sent_id, w.form)
            assert (w.upos == "PUNCT") == (w.deprel == "punct"), (lang, s.sent_id, w.form)
            # FEATS as the reader returns them: UD-style names and values.
            for name, value in w.feats.items():
                assert name[0].isupper() and value[0].isalnum(), (lang, s.sent_id, w.form, name, value)


@pytest.mark.parametrize("lang", LANGS)
def test_spans_point_at_surface_tokens(sample, lang):
    n_shared = 0
    for s in sample[lang][0]:
        span_count = Counter(w.span for w in s.words)
        for w in s.words:
            start, end = w.span
            assert 0 <= start < end <= len(s.text), (lang, s.sent_id, w.form, w.span)
            if span_count[w.span] == 1:
                assert s.text[start:end] == w.form, (lang, s.sent_id, w.form, s.text[start:end])
            else:
                n_shared += 1
        starts = [w.span[0] for w in s.words]
        assert starts == sorted(starts), (lang, s.sent_id)
        if lang in NO_SPACE_LANGS:
            assert " " not in s.text, (lang, s.sent_id)
        else:
            assert " " in s.text and not s.text.endswith(" "), (lang, s.sent_id)
    if lang in MWT_LANGS:
        assert n_shared > 0, f"{lang}: expected multiword tokens (words sharing one surface token)"
    else:
        assert n_shared == 0, f"{lang}: unexpected multiword tokens"


def test_french_and_german_contractions_split_as_in_ud(sample):
    def mwt_words(lang: str, surface: str) -> set[tuple[str, ...]]:
        found = set()
        for s in sample[lang][0]:
            by_span: dict[tuple[int, int], list[str]] = {}
            for w in s.words:
                by_span.setdefault(w.span, []).append(w.form)
            for (a, b), forms in by_span.items():
                if len(forms) > 1 and s.text[a:b] == surface:
                    found.add(tuple(forms))
        return found

    assert mwt_words("fr", "au") == {("à", "le")}
    assert mwt_words("fr", "aux") == {("à", "les")}
    assert mwt_words("de", "im") == {("in", "dem")}
    assert mwt_words("de", "zum") == {("zu", "dem")}


def _is_question(text: str) -> bool:
    return text.endswith(QUESTION_MARKS) or text.endswith(JA_QUESTION_END)


def test_questions_are_parallel(sample):
    questions = {lang: {s.sent_id for s in sample[lang][0] if _is_question(s.text)} for lang in LANGS}
    assert len(questions["en"]) >= 5
    for lang in LANGS:
        assert questions[lang] == questions["en"], lang


def test_readme_documents_the_sample():
    text = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "CC0" in text
    assert "conclusions" in text.lower()
    for lang in LANGS:
        assert f"`{lang}`" in text, lang
