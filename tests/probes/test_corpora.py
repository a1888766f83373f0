"""Corpus registry, UD discovery, alignment by sent_id (never by position), fingerprints."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest

from probes.readers.corpora import (
    CORPORA,
    Corpus,
    CorpusWarning,
    ParallelCorpus,
    align_by_sent_id,
    discover_ud,
    load_corpus,
)
from crossling.errors import ConfigError, DataError
from crossling.types import Sentence

PUD_LANGS = ["ar", "cs", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr", "zh"]


def conllu_sentence(sent_id: str, words: list[str]) -> str:
    """A valid CoNLL-U sentence whose words are ``words`` (first word is the root)."""
    lines = [f"# sent_id = {sent_id}", f"# text = {' '.join(words)}"]
    for i, w in enumerate(words, start=1):
        head, rel = (0, "root") if i == 1 else (1, "dep")
        lines.append("\t".join([str(i), w, "_", "X", "_", "_", str(head), rel, "_", "_"]))
    return "\n".join(lines) + "\n\n"


def parallel_file(path: Path, lang: str, ids: list[str]) -> Path:
    """A file whose sentence ``sid`` reads ``<lang> <sid> words`` (so alignment is checkable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(conllu_sentence(i, [lang, i, "words"]) for i in ids), encoding="utf-8")
    return path


@pytest.fixture()
def pud_dir(tmp_path: Path) -> Path:
    """A PUD-style data directory: three languages, shuffled orders, one sentence missing in French."""
    ud = tmp_path / "data" / "ud"
    parallel_file(ud / "UD_English-PUD" / "en_pud-ud-test.conllu", "en", ["s1", "s2", "s3", "s4", "s5"])
    parallel_file(ud / "UD_German-PUD" / "de_pud-ud-test.conllu", "de", ["s5", "s3", "s1", "s4", "s2"])
    parallel_file(ud / "UD_French-PUD" / "fr_pud-ud-test.conllu", "fr", ["s2", "s1", "s5", "s4"])
    # another treebank of the same release that 'pud' must ignore
    parallel_file(ud / "UD_English-EWT" / "en_ewt-ud-test.conllu", "en", ["e1"])
    return tmp_path / "data"


def texts(corpus: ParallelCorpus, lang: str) -> list[str]:
    return [s.text for s in corpus.sentences[lang]]


# --------------------------------------------------------------------------- registry


def test_registry_lists_the_corpora() -> None:
    assert CORPORA.names() == ["conllu", "pud", "sample", "ud"]
    with pytest.raises(ConfigError, match=r"Unknown corpus 'pudd'\. Did you mean 'pud'.*Available: conllu, pud, sample, ud"):
        load_corpus("pudd")


def test_unknown_option_is_named_with_the_valid_ones(pud_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"Unknown option 'max_sentence' for corpus 'pud'\. Did you mean 'max_sentences'"):
        load_corpus("pud", data_dir=pud_dir, max_sentence=3)


def test_object_that_is_not_a_corpus_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"not a probes\.readers\.Corpus subclass"):
        load_corpus("crossling.types:Sentence")


def test_bad_option_values(pud_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"'max_sentences' option must be a positive integer, got 0"):
        load_corpus("pud", data_dir=pud_dir, max_sentences=0)
    with pytest.raises(ConfigError, match=r"'order' option must be one of \['first', 'sorted'\], got 'random'"):
        load_corpus("pud", data_dir=pud_dir, order="random")
    with pytest.raises(ConfigError, match=r"'split' option .* got 'tset'\. Did you mean 'test'"):
        load_corpus("ud", data_dir=pud_dir, split="tset")


def test_missing_data_directory_says_how_to_get_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=re.escape(str(missing)) + r": data directory does not exist\. "
                       r"Get the PUD treebanks with `python -m probes\.data download --what ud-pud --out "):
        load_corpus("pud", data_dir=missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"holds no UD treebank folders.*unpacked UD release.*--what ud-pud"):
        load_corpus("ud", data_dir=tmp_path / "empty")
    with pytest.raises(DataError, match=r"empty: holds no UD treebank folders.*Get the PUD treebanks"):
        load_corpus("pud", data_dir=tmp_path / "empty")
    parallel_file(tmp_path / "other" / "UD_English-EWT" / "en_ewt-ud-test.conllu", "en", ["a"])
    with pytest.raises(DataError, match=r"other: holds no PUD treebank.*--what ud-pud"):
        load_corpus("pud", data_dir=tmp_path / "other")


# --------------------------------------------------------------------------- alignment


def test_pud_aligns_by_sent_id_not_by_position(pud_dir: Path) -> None:
    with pytest.warns(CorpusWarning, match=r"fr: 1 \(e\.g\. 's3'\).*4 aligned sentences remain"):
        c = load_corpus("pud", data_dir=pud_dir, langs=["de", "en", "fr"])
    assert c.langs == ["de", "en", "fr"] and c.parallel and not c.is_demo
    # the order of the first requested language (German), restricted to the shared ids
    assert c.sent_ids() == ["s5", "s1", "s4", "s2"]
    for lang in c.langs:
        assert c.sent_ids(lang) == c.sent_ids()
        assert texts(c, lang) == [f"{lang} {i} words" for i in c.sent_ids()]
        assert {s.lang for s in c.sentences[lang]} == {lang}
    assert c.missing == {"de": [], "en": [], "fr": ["s3"]}
    assert "aligned by sent_id" in c.description and "1 ids missing" in c.description
    assert c.files["en"] == [pud_dir / "ud" / "UD_English-PUD" / "en_pud-ud-test.conllu"]


def test_sorted_order_and_language_order(pud_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorpusWarning)
        c = load_corpus("pud", data_dir=pud_dir, langs="fr,en", order="sorted")
        c2 = load_corpus("pud", data_dir=pud_dir, langs=["en", "fr"], order="sorted")
    assert c.sent_ids() == ["s1", "s2", "s4", "s5"] == c2.sent_ids()
    assert c.langs == ["fr", "en"] and c2.langs == ["en", "fr"]
    assert texts(c, "en") == texts(c2, "en")


def test_all_languages_by_default_and_no_missing(pud_dir: Path) -> None:
    with pytest.warns(CorpusWarning):
        c = load_corpus("pud", data_dir=pud_dir)
    assert c.langs == ["de", "en", "fr"]
    c2 = load_corpus("pud", data_dir=pud_dir, langs=["en", "de"])
    assert c2.missing == {"en": [], "de": []} and len(c2.sentences["en"]) == 5


def test_languages_by_name_or_code(pud_dir: Path) -> None:
    c = load_corpus("pud", data_dir=pud_dir, langs=["English", "DE", "en"])
    assert c.langs == ["en", "de"]
    with pytest.raises(ConfigError, match=r"Corpus 'pud' has no language 'sv'.*Available: de, en, fr"):
        load_corpus("pud", data_dir=pud_dir, langs=["sv"])


def test_max_sentences_after_alignment(pud_dir: Path) -> None:
    c = load_corpus("pud", data_dir=pud_dir, langs=["en", "de"], max_sentences=2)
    assert c.sent_ids("de") == ["s1", "s2"] and texts(c, "de") == ["de s1 words", "de s2 words"]


def test_duplicate_sent_id_in_a_pud_file_is_a_data_error(pud_dir: Path) -> None:
    f = pud_dir / "ud" / "UD_German-PUD" / "de_pud-ud-test.conllu"
    with f.open("a", encoding="utf-8") as fh:
        fh.write(conllu_sentence("s1", ["again"]))
    with pytest.raises(DataError, match=re.escape(f"{f}:31: duplicate sent_id 's1' (first at line 13)")):
        load_corpus("pud", data_dir=pud_dir, langs=["en", "de"])


def test_no_shared_ids_is_a_data_error(tmp_path: Path) -> None:
    a = parallel_file(tmp_path / "en.conllu", "en", ["a1", "a2"])
    b = parallel_file(tmp_path / "de.conllu", "de", ["b1"])
    with pytest.raises(DataError, match=r"no sentence id is shared by all requested languages"):
        load_corpus("conllu", paths=[a, b], align=True)


def test_align_function_on_records() -> None:
    en = [Sentence("x", "en", "x-en"), Sentence("y", "en", "y-en")]
    de = [Sentence("y", "de", "y-de"), Sentence("z", "de", "z-de"), Sentence("x", "de", "x-de")]
    aligned, missing = align_by_sent_id({"de": de, "en": en})
    assert [s.text for s in aligned["en"]] == ["y-en", "x-en"]
    assert missing == {"de": [], "en": ["z"]}
    with pytest.raises(DataError, match=r"sent_id 'x' occurs twice in language 'en'"):
        align_by_sent_id({"en": en + [Sentence("x", "en", "again")]})


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_follows_content_not_location(pud_dir: Path, tmp_path: Path) -> None:
    a = load_corpus("pud", data_dir=pud_dir, langs=["en", "de"])
    copy = tmp_path / "copy"
    shutil.copytree(pud_dir, copy)
    b = load_corpus("pud", data_dir=copy, langs=["en", "de"])
    assert a.fingerprint() == b.fingerprint() and len(a.fingerprint()) == 64
    assert load_corpus("pud", data_dir=copy, langs=["en", "de"], max_sentences=3).fingerprint() != a.fingerprint()
    assert load_corpus("pud", data_dir=copy, langs=["de", "en"]).fingerprint() != a.fingerprint()
    f = copy / "ud" / "UD_German-PUD" / "de_pud-ud-test.conllu"
    f.write_text("# newdoc id = d1\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_corpus("pud", data_dir=copy, langs=["en", "de"]).fingerprint() != a.fingerprint()


# --------------------------------------------------------------------------- ud


@pytest.fixture()
def ud_release(tmp_path: Path) -> Path:
    rel = tmp_path / "ud-treebanks-v2.99"
    parallel_file(rel / "UD_English-EWT" / "en_ewt-ud-train.conllu", "en", [f"t{i}" for i in range(6)])
    parallel_file(rel / "UD_English-EWT" / "en_ewt-ud-test.conllu", "en", ["e1"])
    parallel_file(rel / "UD_English-GUM" / "en_gum-ud-test.conllu", "en", ["g1", "g2", "g3"])
    parallel_file(rel / "UD_Czech-PDT" / "cs_pdt-ud-train-c.conllu", "cs", ["c1", "c2"])
    parallel_file(rel / "UD_Czech-PDT" / "cs_pdt-ud-train-v.conllu", "cs", ["v1"])
    parallel_file(rel / "UD_Czech-PDT" / "cs_pdt-ud-test.conllu", "cs", ["ct"])
    (rel / "UD_Empty-Nothing").mkdir()
    (rel / "UD_English-EWT" / "README.md").write_text("not a treebank file")
    return rel


def test_discover_ud_release(ud_release: Path) -> None:
    tbs = discover_ud(ud_release)
    assert [(tb.language, tb.treebank, tb.code, tb.lang) for tb in tbs] == [
        ("Czech", "PDT", "cs", "cs"), ("English", "EWT", "en", "en"), ("English", "GUM", "en", "en")]
    assert sorted(tbs[0].files) == ["test", "train"] and len(tbs[0].files["train"]) == 2


def test_ud_chooses_split_and_treebank(ud_release: Path) -> None:
    c = load_corpus("ud", data_dir=ud_release, langs=["en"])  # test split: GUM is the larger file
    assert c.sent_ids("en") == ["g1", "g2", "g3"] and not c.parallel
    assert "UD_English-GUM" in c.description
    c = load_corpus("ud", data_dir=ud_release, langs=["en"], treebank="ewt")
    assert c.sent_ids("en") == ["e1"]
    c = load_corpus("ud", data_dir=ud_release, split="train", treebank={"cs": "PDT"})
    assert c.langs == ["cs", "en"]
    assert c.sent_ids("cs") == ["c1", "c2", "v1"]  # the split's files concatenated
    assert c.sent_ids("en") == [f"t{i}" for i in range(6)]
    with pytest.raises(ConfigError, match=r"No 'en' treebank named 'GMU'.*Did you mean 'GUM'.*Available for 'en': EWT, GUM"):
        load_corpus("ud", data_dir=ud_release, langs=["en"], treebank="GMU")


def test_ud_reads_a_data_dir_with_a_ud_folder(pud_dir: Path) -> None:
    c = load_corpus("ud", data_dir=pud_dir, langs=["en"], treebank="PUD")
    assert len(c.sentences["en"]) == 5
    with pytest.raises(ConfigError, match=r"has no language 'cs' in .*'test' split"):
        load_corpus("ud", data_dir=pud_dir, langs=["cs"], split="test")


def test_ud_split_absent_everywhere(pud_dir: Path) -> None:
    with pytest.raises(DataError, match=r"none has a 'train' split"):
        load_corpus("ud", data_dir=pud_dir, split="train")


# --------------------------------------------------------------------------- conllu files


def test_conllu_corpus_from_paths(tmp_path: Path) -> None:
    en = parallel_file(tmp_path / "en.conllu", "en", ["a", "b"])
    de = parallel_file(tmp_path / "de_gsd-ud-dev.conllu", "de", ["b", "c", "a"])
    c = load_corpus("conllu", paths=[en, de])
    assert c.langs == ["de", "en"] and not c.parallel
    assert c.sent_ids("de") == ["b", "c", "a"]  # not aligned: file order
    with pytest.warns(CorpusWarning):
        c = load_corpus("conllu", paths=f"{en},{de}", align=True, langs=["en", "de"])
    assert c.sent_ids("de") == ["a", "b"] and c.missing == {"en": ["c"], "de": []}
    c = load_corpus("conllu", paths=str(en), lang="fr")
    assert c.langs == ["fr"] and c.sentences["fr"][0].lang == "fr"


def test_conllu_corpus_errors(tmp_path: Path) -> None:
    f = parallel_file(tmp_path / "mydata.conllu", "x", ["a"])
    with pytest.raises(ConfigError, match=r"needs the 'paths' option"):
        load_corpus("conllu")
    with pytest.raises(ConfigError, match=r"Cannot tell the language of .*mydata\.conllu.*pass lang="):
        load_corpus("conllu", paths=[f])
    with pytest.raises(ConfigError, match=r"gives 2 codes for 1 paths"):
        load_corpus("conllu", paths=[f], lang=["en", "de"])
    with pytest.raises(DataError, match=r"absent\.conllu: no such CoNLL-U file \(option 'paths'\)"):
        load_corpus("conllu", paths=[tmp_path / "absent.conllu"])
    g = parallel_file(tmp_path / "g.conllu", "x", ["a"])
    with pytest.raises(DataError, match=r"sent_id 'a' of language 'en' occurs in two places"):
        load_corpus("conllu", paths=[f, g], lang="en")


def test_custom_corpus_subclass(tmp_path: Path) -> None:
    f = parallel_file(tmp_path / "it.conllu", "it", ["q1", "q2"])

    class OneFile(Corpus):
        name = "onefile"
        parallel = True

        def _aliases(self) -> dict[str, set[str]]:
            return {"it": {"it", "italian"}}

        def files(self, langs: list[str]) -> dict[str, list[Path]]:
            return {"it": [f]}

    c = OneFile(tmp_path).load(["Italian"])
    assert c.langs == ["it"] and c.sent_ids() == ["q1", "q2"] and c.name == "onefile"


# --------------------------------------------------------------------------- bundled sample


def test_sample_is_a_labelled_demo() -> None:
    c = load_corpus("sample")
    assert c.is_demo and c.parallel and c.name == "sample"
    assert "DEMO" in c.description and "not for research conclusions" in c.description
    assert c.langs and all(re.fullmatch(r"[a-z]{2,3}", lang) for lang in c.langs)
    first = c.sent_ids()
    assert first and all(c.sent_ids(lang) == first for lang in c.langs)
    for lang in c.langs:
        for s in c.sentences[lang]:
            assert s.lang == lang and s.words
            assert all(0 <= w.span[0] < w.span[1] <= len(s.text) for w in s.words)


def test_sample_ignores_data_dir(tmp_path: Path) -> None:
    assert load_corpus("sample", data_dir=tmp_path / "nowhere").is_demo


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_pud(data_dir: Path) -> ParallelCorpus:
    if not list((data_dir / "ud").glob("UD_*-PUD")):
        pytest.skip(f"no PUD treebanks under {data_dir / 'ud'}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no sentence may be missing, no text rebuilt
        return load_corpus("pud", data_dir=data_dir)


@pytest.mark.integration
def test_real_pud_all_16_languages_align(real_pud: ParallelCorpus, data_dir: Path) -> None:
    c = real_pud
    assert c.langs == PUD_LANGS
    assert c.n_sentences() == {lang: 1000 for lang in PUD_LANGS}
    assert all(v == [] for v in c.missing.values())
    ids = c.sent_ids()
    assert len(set(ids)) == 1000 and ids[0] == "n01001011"
    for lang in PUD_LANGS:
        assert c.sent_ids(lang) == ids
        assert c.files[lang][0].name == f"{lang}_pud-ud-test.conllu"
    assert "1000 sentences x 16 languages" in c.description
    assert c.fingerprint() == c.fingerprint() and re.fullmatch(r"[0-9a-f]{64}", c.fingerprint())


@pytest.mark.integration
def test_real_pud_subset_is_aligned_in_any_language_order(real_pud: ParallelCorpus, data_dir: Path) -> None:
    sub = load_corpus("pud", data_dir=data_dir, langs=["zh", "en"], max_sentences=50)
    assert sub.langs == ["zh", "en"]
    assert sub.sent_ids("zh") == sub.sent_ids("en") == real_pud.sent_ids()[:50]
    by_id = {s.sent_id: s.text for s in real_pud.sentences["zh"]}
    assert [s.text for s in sub.sentences["zh"]] == [by_id[i] for i in sub.sent_ids()]
    # the English translation is recorded in every PUD file: check it matches the English sentence
    en = {s.sent_id: s.text for s in real_pud.sentences["en"]}
    assert en["n01001011"].startswith("“While much of the digital transition")


@pytest.mark.integration
def test_real_ud_corpus_by_language_name(data_dir: Path) -> None:
    c = load_corpus("ud", data_dir=data_dir, langs=["English", "ja"], max_sentences=10)
    assert c.langs == ["en", "ja"] and c.n_sentences() == {"en": 10, "ja": 10}
    assert "UD_English-PUD" in c.description and "UD_Japanese-PUD" in c.description
