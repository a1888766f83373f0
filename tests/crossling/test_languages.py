"""Tests of crossling.languages: lookups, validation, and every code checked against the real resources."""

from __future__ import annotations

import csv
import dataclasses
import doctest
import re
import zipfile
from pathlib import Path

import pytest

import crossling.languages as L
from crossling.errors import ConfigError


@pytest.mark.parametrize("spelling", ["de", "DE", "deu", "German", " german ", "ger"])
def test_get_language_accepts_codes_names_and_aliases(spelling: str) -> None:
    lang = L.get_language(spelling)
    assert lang.iso1 == "de" and lang.iso3 == "deu" and lang.name == "German"


@pytest.mark.parametrize(("spelling", "iso1"), [
    ("cmn", "zh"), ("Mandarin", "zh"), ("arb", "ar"), ("pes", "fa"), ("Farsi", "fa"), ("swh", "sw"),
    ("iw", "he"), ("fil", "tl"), ("nb", "no"), ("Scottish_Gaelic", "gd"), ("scottish gaelic", "gd"),
])
def test_resource_codes_and_aliases_resolve(spelling: str, iso1: str) -> None:
    assert L.get_language(spelling).iso1 == iso1


def test_get_language_returns_language_unchanged() -> None:
    de = L.get_language("de")
    assert L.get_language(de) is de


def test_unknown_language_suggests_close_matches() -> None:
    with pytest.raises(ConfigError, match=r"Unknown language 'Germn'\. Did you mean 'german'"):
        L.get_language("Germn")
    with pytest.raises(ConfigError, match="ISO 639-1"):
        L.get_language("xx")
    assert L.find_language("xx") is None
    assert L.find_language(3) is None  # type: ignore[arg-type]


def test_resolve_langs_string_list_order_and_duplicates() -> None:
    assert L.resolve_langs("en,de,tr") == ["en", "de", "tr"]
    assert L.resolve_langs(" en , German,deu ,TUR") == ["en", "de", "tr"]
    assert L.resolve_langs(["zh", "cmn,ja"]) == ["zh", "ja"]
    assert L.resolve_langs([L.get_language("fi")]) == ["fi"]


@pytest.mark.parametrize("spec", ["", " , ", [], None])
def test_resolve_langs_empty_is_an_error(spec: object) -> None:
    with pytest.raises(ConfigError, match=r"Parameter 'langs' names no language"):
        L.resolve_langs(spec)  # type: ignore[arg-type]


def test_resolve_langs_names_parameter_and_bad_value() -> None:
    with pytest.raises(ConfigError, match=r"Parameter 'target'.*'klingon'"):
        L.resolve_langs("en,klingon", param="target")


def test_resolve_langs_restricted_to_available() -> None:
    assert L.resolve_langs("de", available=["deu", "en"]) == ["de"]
    with pytest.raises(ConfigError, match=r"'sw' \(sw\) is not available here; available: de, en"):
        L.resolve_langs("sw", available=["German", "en"])


def test_code_for_each_resource() -> None:
    assert L.code_for("zh", "ud") == "zh"
    assert L.code_for("zh", "ud_name") == "Chinese"
    assert L.code_for("zh", "xtreme") == "zh"
    assert L.code_for("zh", "lang2vec") == "cmn"
    assert L.code_for("zh", "tatoeba") == "cmn"
    assert L.code_for("zh", "panlex") == "cmn-000"
    assert L.code_for("he", "mc4") == "iw"
    assert L.code_for("tl", "mc4") == "fil"
    assert L.code_for("Arabic", "iso3") == "ara"
    assert L.ud_treebank("en") == ("UD_English-PUD", "en_pud-ud-test.conllu")
    assert L.ud_treebank("de", "GSD", "train") == ("UD_German-GSD", "de_gsd-ud-train.conllu")


def test_code_for_errors_name_resource_and_language() -> None:
    with pytest.raises(ConfigError, match=r"Unknown language resource 'lang2vek'\. Did you mean 'lang2vec'"):
        L.code_for("en", "lang2vek")
    with pytest.raises(ConfigError, match=r"Swahili \(sw\) has no ud code"):
        L.code_for("sw", "ud")
    with pytest.raises(ConfigError, match="Unknown language resource"):
        L.from_code("x", "wals")
    with pytest.raises(ConfigError, match="Unknown language resource"):
        L.languages_with("wals")


def test_language_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        L.get_language("en").iso1 = "xx"  # type: ignore[misc]


def test_table_is_well_formed() -> None:
    assert len(L.LANGUAGES) >= 60
    for iso1, lang in L.LANGUAGES.items():
        assert iso1 == lang.iso1 and re.fullmatch(r"[a-z]{2}", iso1), lang
        assert re.fullmatch(r"[a-z]{3}", lang.iso3), lang
        assert lang.scripts and all(re.fullmatch(r"[A-Z][a-z]{3}", s) for s in lang.scripts), lang
        assert lang.family and lang.genus and lang.name
        assert lang.script == lang.scripts[0]
        for res in ("lang2vec", "tatoeba"):
            code = getattr(lang, res)
            assert code is None or re.fullmatch(r"[a-z]{3}", code), (lang, res)
        assert lang.panlex is None or re.fullmatch(r"[a-z]{3}-\d{3}", lang.panlex), lang
    rows = L.language_table()
    assert len(rows) == len(L.LANGUAGES) and set(rows[0]) >= {"iso1", "iso3", "lang2vec", "panlex", "mc4"}


@pytest.mark.parametrize("resource", sorted(L.RESOURCES))
def test_codes_are_unique_per_resource_and_reverse_lookup(resource: str) -> None:
    """from_code inverts code_for: no two languages share a resource code."""
    langs = L.languages_with(resource)
    assert langs, resource
    for lang in langs:
        assert L.from_code(L.code_for(lang, resource), resource) is lang
    assert L.from_code("not-a-code", resource) is None


def test_required_languages_are_covered() -> None:
    required = ["ar", "cs", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr",
                "zh", "bg", "el", "ur", "vi", "sw", "th", "he", "fa", "nl", "pl", "sv", "uk"]
    for code in required:
        assert code in L.LANGUAGES, code
    # every XTREME language with an ISO 639-1 code is marked as such
    assert {lg.iso1 for lg in L.languages_with("xtreme")} >= set(required) - {"cs", "sv"}


def test_module_doctests() -> None:
    result = doctest.testmod(L, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0


# --------------------------------------------------------------------------- against the real resources


def _lang2vec_languages_from_files() -> set[str]:
    """lang2vec.available_languages() computed from its own data files (importing lang2vec takes ~10 s)."""
    import ast
    import importlib.util

    import numpy as np

    spec = importlib.util.find_spec("lang2vec")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lang2vec is not installed")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    with np.load(data / "family_features.npz") as db:  # the "fam" set, as available_uriel_languages()
        mask = np.all(db["data"] != -1.0, axis=0)
        uriel = {str(lang) for lang, m in zip(db["langs"], mask) if np.sum(m) > 0}
    # a Python set literal, the same as lang2vec.LEARNED_LETTER_CODES
    learned = set(ast.literal_eval((data / "learned_letter_codes.json").read_text()))
    return uriel | learned


def test_lang2vec_data_knows_every_lang2vec_code() -> None:
    available = _lang2vec_languages_from_files()
    missing = [(lg.iso1, lg.lang2vec) for lg in L.languages_with("lang2vec") if lg.lang2vec not in available]
    assert not missing


@pytest.mark.slow
def test_lang2vec_api_accepts_every_lang2vec_code() -> None:
    pytest.importorskip("lang2vec")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lang2vec.lang2vec as l2v

        available = l2v.available_languages()
    assert available == _lang2vec_languages_from_files()
    missing = [(lg.iso1, lg.lang2vec) for lg in L.languages_with("lang2vec") if lg.lang2vec not in available]
    assert not missing


@pytest.mark.integration
def test_every_shared_data_language_is_known(data_dir: Path) -> None:
    from probes.readers.xtreme import TASKS, available

    seen: set[str] = set()
    for task in TASKS:
        if task == "tatoeba":
            continue
        for lang, _split in available(data_dir, task):
            assert L.find_language(lang) is not None, (task, lang)
            seen.add(lang)
    for folder in (data_dir / "ud").glob("UD_*-PUD"):
        name = folder.name[3:-4]
        (conllu,) = folder.glob("*_pud-ud-test.conllu")
        lang = L.from_code(conllu.name.split("_")[0], "ud")
        assert lang is not None and lang.ud_name == name, folder
        assert L.ud_treebank(lang) == (folder.name, conllu.name)
        seen.add(lang.iso1)
    assert len(seen) >= 22


@pytest.mark.integration
def test_tatoeba_codes_match_file_names(data_dir: Path) -> None:
    folder = data_dir / "xtreme" / "tatoeba" / "v1"
    codes = {p.name.split(".")[1].split("-")[0] for p in folder.glob("tatoeba.*-eng.eng")}
    assert len(codes) == 112
    for lang in L.languages_with("tatoeba"):
        if lang.iso1 == "en":
            assert lang.tatoeba == "eng"  # the English side of every pair
            continue
        assert lang.tatoeba in codes, lang


@pytest.mark.integration
def test_mc4_codes_match_the_table(data_dir: Path) -> None:
    with open(data_dir / "typology" / "mc4_tokens_billions.csv", encoding="utf-8", newline="") as fh:
        codes = {row["Language"] for row in csv.DictReader(fh)}
    for lang in L.languages_with("mc4"):
        assert lang.mc4 in codes, lang
    assert len(L.languages_with("mc4")) >= 60


@pytest.mark.integration
def test_panlex_varieties_exist_in_the_swadesh_zip(data_dir: Path) -> None:
    with zipfile.ZipFile(data_dir / "typology" / "panlex_swadesh.zip") as zf:
        varieties = {Path(n).stem for n in zf.namelist() if re.search(r"/swadesh(110|207)/[^/]+\.txt$", n)}
    for lang in L.languages_with("panlex"):
        assert lang.panlex in varieties, lang


def test_docs_language_table_is_current() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text(encoding="utf-8")
    begin, end = "<!-- language-table:begin -->\n", "<!-- language-table:end -->"
    assert begin in docs and end in docs
    table = docs.split(begin, 1)[1].split(end, 1)[0]
    assert table == L.language_table_markdown(), "regenerate the table in docs/data.md"
