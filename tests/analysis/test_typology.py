"""Tests of analysis.typology: pair features from URIEL, Grambank, UD, PanLex, tokenizers, mC4, model tables."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import analysis.typology as T
from crossling.errors import ConfigError, DataError
from crossling.types import Sentence, Word

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "probes" / "data" / "sample"


def _value(df: pd.DataFrame, a: str, b: str, feature: str) -> float:
    sel = df[(df.lang_a == a) & (df.lang_b == b) & (df.feature == feature)]
    assert len(sel) == 1, (a, b, feature, len(sel))
    return float(sel.value.iloc[0])


def _check_grid(df: pd.DataFrame, langs, features, include_self: bool) -> None:
    assert list(df.columns) == list(T.PAIR_COLUMNS)
    n_pairs = len(langs) ** 2 - (0 if include_self else len(langs))
    assert len(df) == n_pairs * len(features)
    assert not df.duplicated(["lang_a", "lang_b", "feature"]).any()
    assert set(df.feature) == set(features)
    # every NaN says why
    assert (df.loc[df.value.isna(), "note"].str.len() > 0).all()


def _check_symmetric(df: pd.DataFrame) -> None:
    m = df.merge(df, left_on=["lang_a", "lang_b", "feature"], right_on=["lang_b", "lang_a", "feature"])
    both = m.dropna(subset=["value_x", "value_y"])
    assert len(both) > 0
    np.testing.assert_allclose(both.value_x, both.value_y, rtol=0, atol=1e-12)
    assert (m.value_x.isna() == m.value_y.isna()).all()


# --------------------------------------------------------------------------- public surface


def test_import_loads_no_model_code():
    import subprocess
    import sys

    code = ("import sys, analysis.typology; "
            "print(','.join(m for m in ('torch', 'transformers', 'lang2vec', 'urielplus') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_registry_lists_sources_and_rejects_unknown():
    assert set(T.DEFAULT_SOURCES) <= set(T.FEATURE_SOURCES.names())
    assert {"subword", "alignment", "probe_transfer"} <= set(T.FEATURE_SOURCES.names())
    with pytest.raises(ConfigError, match="Unknown feature source 'urie'.*Did you mean 'uriel'"):
        T.pair_features(["en", "de"], sources=["urie"])


def test_bad_options_and_codes_are_config_errors():
    with pytest.raises(ConfigError, match=r"Unknown option\(s\) \['colour'\] for feature source 'uriel'"):
        T.pair_features(["en", "de"], sources=["uriel"], options={"uriel": {"colour": 1}})
    with pytest.raises(ConfigError, match="not in `sources`"):
        T.pair_features(["en", "de"], sources=["uriel"], options={"mc4": {}})
    with pytest.raises(ConfigError, match="Unknown language"):
        T.pair_features(["en-GB!", "de"], sources=["uriel"])
    assert T.check_langs(["EN", "deu"]) == ["en", "de"]  # one normalisation (crossling.languages.canonical_code)
    with pytest.raises(ConfigError, match="more than once"):
        T.pair_features(["en", "en"], sources=["uriel"])
    with pytest.raises(ConfigError, match="needs option `table`"):
        T.pair_features(["en", "de"], sources=["alignment"])
    with pytest.raises(ConfigError, match="needs option `tokens`"):
        T.pair_features(["en", "de"], sources=["subword"])


def test_language_codes_resolve_through_probes_languages_or_lang2vec():
    ar = T.lang_codes("ar")
    assert (ar.iso1, ar.iso3, ar.individual) == ("ar", "ara", "arb")
    assert T.lang_codes("he").mc4 == "iw"
    unknown = T.lang_codes("qaa")  # not a language any table knows: taken as ISO 639-3
    assert (unknown.iso3, unknown.lang2vec, unknown.iso1) == ("qaa", "qaa", None)
    with pytest.raises(ConfigError, match="Cannot resolve language code 'qq'"):
        T.lang_codes("qq")


# --------------------------------------------------------------------------- URIEL


def test_uriel_identical_zero_symmetric_and_bounded():
    langs = ["en", "de", "ja"]
    df = T.uriel_distances(langs, include_self=True)
    _check_grid(df, langs, T.URIEL_FEATURES, include_self=True)
    assert df.source.eq("uriel").all()
    for lang in langs:
        for f in T.URIEL_FEATURES:
            assert _value(df, lang, lang, f) == 0.0
    _check_symmetric(df)
    assert df.value.between(0, 1).all()
    # English and German share Indo-European > Germanic > West Germanic; Japanese shares nothing
    assert _value(df, "en", "de", "uriel_genetic") < 0.6
    assert _value(df, "en", "ja", "uriel_genetic") == pytest.approx(1.0)


def test_uriel_missing_language_stays_nan_with_reason():
    # 'qaa' is ISO 639-3's reserved local-use code: valid syntax, never in URIEL
    df = T.uriel_distances(["en", "qaa"])
    assert df.value.isna().all()
    assert df.note.str.contains("not in URIEL").all()
    assert df.note.str.contains("'qaa'").all()
    assert T.uriel_vector("qaa", "syntax_knn") is None


@pytest.mark.slow
def test_uriel_vectors_match_lang2vec_api():
    l2v = pytest.importorskip("lang2vec.lang2vec")
    for fs in ("syntax_knn", "phonology_knn", "inventory_knn", "fam", "geo"):
        ref = l2v.get_features(["eng", "jpn"], fs, header=True)
        names, vals = T.uriel_vector("en", fs)
        assert [n.replace(" ", "_") for n in names] == list(ref["CODE"])  # lang2vec's header uses "_"
        np.testing.assert_allclose(vals, np.asarray(ref["eng"], dtype=float))
    names, vals = T.uriel_vector("en", "morph_knn")
    assert set(names) == set(T.URIEL_MORPH_FEATURES)


def test_uriel_location_reproduces_the_geo_vector():
    lat, lon = T.uriel_location("en")
    assert 49 < lat < 56 and -6 < lon < 3  # England
    lat_j, lon_j = T.uriel_location("ja")
    assert 30 < lat_j < 40 and 130 < lon_j < 142
    names, geo = T.uriel_vector("en", "geo")
    anchors = np.array([[float(x) for x in n.split("_")[1:3]] for n in names])

    def unit(la, lo):
        la, lo = np.radians(la), np.radians(lo)
        return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1)

    predicted = np.arccos(np.clip(unit(anchors[:, 0], anchors[:, 1]) @ unit(lat, lon), -1, 1)) / np.pi
    # anchor names give whole degrees and values 4 decimals: agreement within ~1 degree of arc
    err = np.abs(predicted - geo)
    assert err.max() < 5e-3 and err.mean() < 2e-3


def test_grambank_missing_language_nan_without_fallback_and_identity_zero():
    df = T.grambank_distances(["en", "es", "ja"], include_self=True, fallback=False)
    _check_grid(df, ["en", "es", "ja"], T.GRAMBANK_FEATURES, include_self=True)
    assert _value(df, "en", "en", "grambank_morph") == 0.0
    assert math.isnan(_value(df, "en", "es", "grambank_morph"))  # Spanish is not in this Grambank release
    assert "not in Grambank" in df[(df.lang_a == "en") & (df.lang_b == "es")].note.iloc[0]
    assert 0 < _value(df, "en", "ja", "grambank_morph") <= 1
    _check_symmetric(df)
    with pytest.raises(ConfigError, match="min_shared"):
        T.grambank_distances(["en", "ja"], min_shared=0)


def test_grambank_german_falls_back_to_its_closest_relative_with_a_note():
    """German (stan1295) is not in the URIEL+ Grambank table: its pairs use a proxy and say so."""
    df = T.grambank_distances(["de", "en", "vi", "zh"])
    de = df[(df.lang_a == "de") | (df.lang_b == "de")]
    assert de["value"].notna().all()
    assert de["note"].str.contains("proxy nld").all() and de["note"].str.contains("stan1295").all()
    assert not df[(df.lang_a == "en") & (df.lang_b == "vi")]["note"].str.contains("proxy").any()
    assert _value(df, "de", "en", "grambank_morph") < _value(df, "de", "vi", "grambank_morph")
    _check_symmetric(df)


def test_distances_defined_when_a_language_has_no_present_feature():
    """An all-absent vector has no cosine distance; the mismatch share (Hamming) is defined."""
    zero, some = np.zeros(42), np.r_[np.ones(10), np.zeros(32)]
    from analysis.features._common import cosine_distance

    assert math.isnan(cosine_distance(zero, some))
    assert T.mismatch_share(zero, some) == pytest.approx(10 / 42)
    assert T.mismatch_share(zero, zero) == 0.0
    assert T.mismatch_share(np.array([np.nan, 1.0]), np.array([0.0, 0.0])) == 1.0  # only features observed in both
    df = T.uriel_distances(["vi", "zh", "ru", "tr", "de"])
    assert df[df.feature == "uriel_morph"]["value"].notna().all()
    assert T.grambank_distances(["vi", "zh"], metric="cosine")["value"].notna().all()


@pytest.mark.slow
def test_grambank_morph_matches_the_urielplus_api():
    """Our Grambank morphology equals URIEL+'s own new_morphological_distance (cosine)."""
    import logging
    import os

    up = pytest.importorskip("urielplus.urielplus")
    folder = Path(up.__file__).parent / "database"
    if not os.access(folder, os.W_OK):
        pytest.skip(f"urielplus needs its package folder writable ({folder})")
    logging.disable(logging.INFO)
    try:
        u = up.URIELPlus()
        u.set_cache(False)
        u.integrate_grambank()
        u.set_distance_metric("cosine")
        ref = {("en", "ja"): u.new_morphological_distance("stan1293", "nucl1643"),
               ("it", "fr"): u.new_morphological_distance("ital1282", "stan1290"),
               ("ar", "hi"): u.new_morphological_distance("stan1318", "hind1269")}
    finally:
        logging.disable(logging.NOTSET)
    df = T.grambank_distances(["en", "ja", "it", "fr", "ar", "hi"], metric="cosine", fallback=False)
    for (a, b), want in ref.items():
        assert _value(df, a, b, "grambank_morph") == pytest.approx(want, abs=6e-5)  # URIEL+ rounds to 4 places


# --------------------------------------------------------------------------- UD morphology


def _sent(words) -> Sentence:
    ws = [Word(i + 1, f"w{i}", (0, 1), upos=u, feats=f) for i, (u, f) in enumerate(words)]
    return Sentence("s", "xx", "w", ws)


def test_morph_profile_distance_by_hand():
    a = T.morph_profile([_sent([("NOUN", {"Number": "Sing"}), ("NOUN", {"Number": "Plur"}), ("PUNCT", {"X": "Y"})])])
    b = T.morph_profile([_sent([("NOUN", {"Number": "Sing"}), ("VERB", {})])])
    assert a.n_words == 2 and a.feats_per_word == 1.0  # PUNCT is not counted
    assert b.presence == {"Number": 0.5}
    d = T.morph_profile_distance(a, b)
    # P_a = {Sing .5, Plur .5, absent 0}, P_b = {Sing .5, absent .5}, M = {.5, .25, .25}
    # KL(P_a||M) = .5 log2(.5/.25) = .5 = KL(P_b||M)  ->  JSD = .5
    assert d["ud_morph_jsd"] == pytest.approx(0.5)
    assert d["ud_morph_featset"] == 0.0
    assert d["ud_morph_rate"] == pytest.approx(0.5)
    assert T.morph_profile_distance(a, a) == {"ud_morph_jsd": 0.0, "ud_morph_featset": 0.0, "ud_morph_rate": 0.0}
    c = T.morph_profile([_sent([("NOUN", {"Case": "Nom"})])])
    assert T.morph_profile_distance(a, c)["ud_morph_featset"] == 1.0
    assert T.morph_profile_distance(a, c)["ud_morph_jsd"] == pytest.approx(1.0)
    with pytest.raises(DataError, match="No countable words"):
        T.morph_profile([_sent([("PUNCT", {})])])


def test_ud_morph_from_real_conllu_files():
    langs = ["de", "en", "ru", "sw"]
    tb = {l: [SAMPLE / f"{l}.conllu"] for l in ("de", "en", "ru")}
    df = T.ud_morph_distances(langs, treebanks=tb, include_self=True)
    _check_grid(df, langs, T.UD_MORPH_FEATURES, include_self=True)
    for lang in ("de", "en", "ru"):
        assert _value(df, lang, lang, "ud_morph_jsd") == 0.0
    _check_symmetric(df)
    assert math.isnan(_value(df, "de", "sw", "ud_morph_jsd"))
    # English marks far fewer features per word than German and Russian
    assert _value(df, "de", "ru", "ud_morph_rate") < _value(df, "en", "ru", "ud_morph_rate")
    with pytest.raises(DataError, match="does not exist"):
        T.ud_morph_distances(["de", "en"], treebanks={"de": ["/nonexistent/x.conllu"]})


# --------------------------------------------------------------------------- lexical


def test_levenshtein_and_normalisation():
    assert T.levenshtein("kitten", "sitting") == 3
    assert T.levenshtein("", "abc") == 3
    assert T.levenshtein("abc", "abc") == 0
    assert T.normalise_word("Été") == "ete"
    assert T.normalise_word("вода") == "voda"
    assert T.normalise_word("ice-cream %2") == "icecream"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcé水", max_size=12), st.text(alphabet="abcdé", max_size=12))
def test_levenshtein_equals_the_dynamic_programme(a, b):
    from analysis.features._lexical import _levenshtein_dp

    d = T.levenshtein(a, b)
    assert d == _levenshtein_dp(a, b) == T.levenshtein(b, a)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))


def _tiny_panlex(tmp_path: Path) -> Path:
    """A PanLex-layout zip with three varieties and 207-line lists."""
    def lines(d):
        return "\n".join(d.get(i, "") for i in range(207)) + "\n"

    z = tmp_path / "panlex_swadesh.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("panlex_swadesh/README", "test")
        f.writestr("panlex_swadesh/langs207.txt",
                   "aaa-000\taaa\ti\tLatin\tAaa\taaa-000\n"
                   "bbb-000\tbbb\ti\tLatin\tBbb\tbbb-000\n"
                   "ccc-000\tccc\ti\tHan, Hiragana\tCcc\tccc-000\n"
                   "ccc-001\tccc\ti\tLatin\tCcc\tccc-001\n")
        f.writestr("panlex_swadesh/swadesh207/aaa-000.txt", lines({0: "kata", 1: "mir", 2: "Été", 3: "solo"}))
        f.writestr("panlex_swadesh/swadesh207/bbb-000.txt", lines({0: "kato", 1: "mer\tzzzz", 2: "ete"}))
        f.writestr("panlex_swadesh/swadesh207/ccc-000.txt", lines({0: "水"}))
        f.writestr("panlex_swadesh/swadesh207/ccc-001.txt", lines({0: "mizu"}))
    return z


def test_swadesh_hand_computed(tmp_path):
    z = _tiny_panlex(tmp_path)
    df = T.swadesh_distances(["aaa", "bbb", "zzz"], path=z, min_concepts=1, shifts=1, include_self=True)
    _check_grid(df, ["aaa", "bbb", "zzz"], T.SWADESH_FEATURES, include_self=True)
    # shared concepts 0..2: kata~kato 1/4, mir~{mer,zzzz} min(1/3, 1) = 1/3, Été~ete 0
    ldn = (1 / 4 + 1 / 3 + 0) / 3
    assert _value(df, "aaa", "bbb", "lex_swadesh_ldn") == pytest.approx(ldn)
    # mismatched (shift 1): kata~{mer,zzzz} 1, mir~ete 1, ete~kato 3/4
    assert _value(df, "aaa", "bbb", "lex_swadesh_ldnd") == pytest.approx(ldn / ((1 + 1 + 0.75) / 3))
    assert _value(df, "aaa", "aaa", "lex_swadesh_ldn") == 0.0
    _check_symmetric(df)
    assert math.isnan(_value(df, "aaa", "zzz", "lex_swadesh_ldn"))
    assert "no PanLex Swadesh-207 list" in df[(df.lang_a == "aaa") & (df.lang_b == "zzz")].note.iloc[0]
    assert "n_concepts=3" in df[(df.lang_a == "aaa") & (df.lang_b == "bbb")].note.iloc[0]
    # too few shared concepts -> NaN, not a number from 3 words
    df2 = T.swadesh_distances(["aaa", "bbb"], path=z, min_concepts=40)
    assert df2.value.isna().all() and df2.note.str.contains("min_concepts=40").all()


def test_swadesh_variety_avoids_han_romanisation(tmp_path):
    lists = T.SwadeshLists(_tiny_panlex(tmp_path))
    assert lists.variety("ccc") == "ccc-001"
    assert lists.variety("aaa") == "aaa-000"
    assert lists.variety("qqq") is None
    assert lists.variety("ccc", preferred="ccc-000") == "ccc-001"  # a preferred Han variety is still avoided
    assert lists.variety("aaa", preferred="aaa-009") == "aaa-000"  # unknown preference -> primary
    with pytest.raises(DataError, match="not found"):
        T.SwadeshLists(tmp_path / "missing.zip")
    with pytest.raises(ConfigError, match="concepticon"):
        T.SwadeshLists(_tiny_panlex(tmp_path), concepticon="100")


def test_subword_overlap_by_hand():
    toks = {"xx": {"1": ["a", "b", "b"], "2": ["c"], "9": ["q"]}, "yy": {"1": ["b", "c"], "2": ["d"]}}
    df = T.subword_overlap(toks, langs=["xx", "yy", "zz"], min_sentences=2, model="tok", include_self=True)
    _check_grid(df, ["xx", "yy", "zz"], T.SUBWORD_FEATURES, include_self=True)
    # common sentences 1, 2: xx types {a,b,c}, yy {b,c,d} -> 2/4
    assert _value(df, "xx", "yy", "lex_subword_jaccard") == pytest.approx(0.5)
    # freqs xx a .25 b .5 c .25; yy b 1/3 c 1/3 d 1/3 -> mins 0+1/3+1/4, maxs .25+.5+1/3+1/3
    assert _value(df, "xx", "yy", "lex_subword_weighted_jaccard") == pytest.approx((1 / 3 + 1 / 4) / (0.25 + 0.5 + 2 / 3))
    assert _value(df, "xx", "xx", "lex_subword_jaccard") == 1.0
    assert math.isnan(_value(df, "xx", "zz", "lex_subword_jaccard"))
    assert df.source.eq("subword:tok").all()
    _check_symmetric(df)
    with pytest.raises(DataError, match="same number of sentences"):
        T.subword_overlap({"xx": [["a"]], "yy": [["a"], ["b"]]})


def test_tokenize_parallel_with_a_real_tokenizer(xlmr_tokenizer_dir):
    from transformers import AutoTokenizer

    from probes.readers.conllu import read_conllu

    tok = AutoTokenizer.from_pretrained(xlmr_tokenizer_dir)
    sents = {l: read_conllu(SAMPLE / f"{l}.conllu", lang=l) for l in ("de", "en", "fr", "ru")}
    tokens = T.tokenize_parallel(sents, tok)
    assert set(tokens) == {"de", "en", "fr", "ru"}
    assert tokens["en"][sents["en"][0].sent_id] == tok.tokenize(sents["en"][0].text)
    df = T.pair_features(["de", "en", "fr", "ru"], sources=["subword"],
                         options={"subword": {"sentences": sents, "tokenizer": tok, "model": "xlm-r"}})
    assert df.value.notna().all()
    # Latin-script languages share more subwords with each other than with Russian (Cyrillic)
    assert _value(df, "en", "fr", "lex_subword_jaccard") > _value(df, "en", "ru", "lex_subword_jaccard")
    with pytest.raises(ConfigError, match="tokenizer"):
        T.tokenize_parallel(sents, 42)


# --------------------------------------------------------------------------- data size and model tables


def test_read_mc4_tokens_and_features(tmp_path):
    p = tmp_path / "mc4.csv"
    p.write_text("Language,Tokens (Billions)\nen,2733\nde,347\nsw,1.0\nund,\n")
    s = T.read_mc4_tokens(p)
    assert s.to_dict() == {"en": 2733.0, "de": 347.0, "sw": 1.0}
    df = T.mc4_features(["en", "sw", "xh"], path=p)
    _check_grid(df, ["en", "sw", "xh"], T.MC4_FEATURES, include_self=False)
    assert _value(df, "en", "sw", "log10_tokens_src") == pytest.approx(math.log10(2733e9))
    assert _value(df, "en", "sw", "log10_tokens_tgt") == pytest.approx(9.0)
    assert _value(df, "sw", "en", "log10_tokens_src") == pytest.approx(9.0)
    assert math.isnan(_value(df, "en", "xh", "log10_tokens_tgt"))
    assert not math.isnan(_value(df, "en", "xh", "log10_tokens_src"))
    bad = tmp_path / "bad.csv"
    bad.write_text("Language,Tokens (Billions)\nen,2733\nde,lots\n")
    with pytest.raises(DataError, match=r"bad.csv:3: 'Tokens \(Billions\)' must be a positive number, got 'lots'"):
        T.read_mc4_tokens(bad)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("lang,tokens\nen,1\n")
    with pytest.raises(DataError, match="lacks required column"):
        T.read_mc4_tokens(wrong)


def _alignment_table() -> pd.DataFrame:
    rows = []
    for model in ("m1", "m2"):
        for layer in (0, 6):
            for a, b, v in (("en", "de", 0.8), ("en", "ja", 0.5), ("ja", "en", 0.5)):
                rows.append((model, layer, a, b, "cka_debiased", v + layer / 100, np.nan, np.nan, np.nan, 100))
    return pd.DataFrame(rows, columns=["model", "layer", "lang_a", "lang_b", "metric", "value", "ci_low", "ci_high",
                                       "p_value", "n"])


def test_alignment_features_named_by_layer_and_mirrored():
    tab = _alignment_table()
    with pytest.raises(ConfigError, match="holds 2 models"):
        T.alignment_features(tab)
    df = T.alignment_features(tab, model="m1", langs=["en", "de", "ja", "fr"])
    _check_grid(df, ["en", "de", "ja", "fr"], ["cka_debiased@L0", "cka_debiased@L6"], include_self=False)
    assert df.source.eq("alignment:m1").all()
    assert _value(df, "de", "en", "cka_debiased@L6") == pytest.approx(0.86)
    assert "mirrored from (en, de)" in df[(df.lang_a == "de") & (df.lang_b == "en")].note.iloc[0]
    assert math.isnan(_value(df, "en", "fr", "cka_debiased@L0"))
    with pytest.raises(DataError, match="several rows"):
        T.alignment_features(pd.concat([tab, tab]), model="m1")
    with pytest.raises(DataError, match="non-integer layer 'last'"):
        T.alignment_features(tab.assign(layer="last"), model="m1")


def test_probe_transfer_features_are_ordered():
    rows = [("m", 3, "de", "upos", "linear", "accuracy", 0.7, 10, 10, "en", "de"),
            ("m", 3, "en", "upos", "linear", "accuracy", 0.9, 10, 10, "de", "en"),
            ("m", 3, "en", "upos", "linear", "accuracy", 0.95, 10, 10, "en", "en")]
    tab = pd.DataFrame(rows, columns=["model", "layer", "lang", "task", "probe", "metric", "value", "n_train",
                                      "n_test", "train_lang", "test_lang"])
    df = T.probe_transfer_features(tab, include_self=True)
    f = "probe_upos_linear_accuracy@L3"
    assert _value(df, "en", "de", f) == 0.7 and _value(df, "de", "en", f) == 0.9
    assert _value(df, "en", "en", f) == 0.95
    assert math.isnan(_value(df, "de", "de", f))


def test_pair_features_combines_and_widens(tmp_path):
    p = tmp_path / "typology"
    p.mkdir()
    (p / "mc4_tokens_billions.csv").write_text("Language,Tokens (Billions)\nen,2733\nde,347\nja,164\n")
    df = T.pair_features("en,de,ja", sources=["uriel", "mc4", "alignment"], data_dir=tmp_path,
                         options={"alignment": {"table": _alignment_table(), "model": "m2"}})
    assert list(df.columns) == list(T.PAIR_COLUMNS)
    assert set(df.source) == {"uriel", "mc4", "alignment:m2"}
    wide = T.wide_features(df)
    assert len(wide) == 6 and list(wide.columns[:2]) == ["lang_a", "lang_b"]
    assert wide.columns[2:].tolist() == sorted(wide.columns[2:])
    row = wide.set_index(["lang_a", "lang_b"]).loc[("en", "de")]
    assert row["uriel_syntax"] == _value(df, "en", "de", "uriel_syntax")
    assert row["log10_tokens_tgt"] == pytest.approx(math.log10(347e9))
    m = T.feature_matrix(df, "uriel_syntax", ["en", "de", "ja"])
    assert m.shape == (3, 3) and np.isnan(np.diag(m.to_numpy())).all()
    np.testing.assert_allclose(m.to_numpy(), m.to_numpy().T)
    with pytest.raises(DataError, match="several rows"):
        T.wide_features(pd.concat([df, df]))
    with pytest.raises(ConfigError, match="not in the table"):
        T.feature_matrix(df, "nope")


def test_custom_source_and_feature_name_clash():
    @T.FEATURE_SOURCES.register("test_clash_source", overwrite=True)
    def clash(langs, *, data_dir=None, include_self=False):
        return T.uriel_distances(langs, include_self=include_self).assign(source="copy")

    with pytest.raises(DataError, match="produced by both source 'uriel' and 'test_clash_source'"):
        T.pair_features(["en", "de"], sources=["uriel", "test_clash_source"])
    df = T.pair_features(["en", "de"], sources=["test_clash_source"])
    assert df.source.eq("copy").all()


# --------------------------------------------------------------------------- command line


def test_cli_writes_table_and_config(tmp_path, capsys):
    (tmp_path / "typology").mkdir()
    (tmp_path / "typology" / "mc4_tokens_billions.csv").write_text("Language,Tokens (Billions)\nen,2733\nde,347\n")
    align = tmp_path / "alignment.csv"
    _alignment_table().to_csv(align, index=False)
    out = tmp_path / "out"
    code = T.main(["--langs", "en,de", "--sources", "uriel,mc4", "--data-dir", str(tmp_path), "--out", str(out),
                   "--alignment", str(align), "--model", "m1"])
    assert code == 0
    df = pd.read_parquet(out / "pair_features.parquet")
    assert set(df.source) == {"uriel", "mc4", "alignment:m1"}
    assert list(df.columns) == list(T.PAIR_COLUMNS)
    assert pd.read_csv(out / "pair_features.csv").shape == df.shape
    cfg = (out / "pair_features.config.yaml").read_text()
    assert "model: m1" in cfg and "- en" in cfg
    assert "wrote" in capsys.readouterr().out


def test_cli_errors_exit_with_config_code(tmp_path, capsys):
    from crossling.cli import run_main

    assert run_main(T.main, ["--langs", "en,de", "--out", str(tmp_path), "--sources", "urie"]) == 2
    assert "Did you mean 'uriel'" in capsys.readouterr().err
    assert run_main(T.main, ["--langs", "en,de", "--out", str(tmp_path), "--sources", "alignment"]) == 2
    assert "--alignment PATH" in capsys.readouterr().err
    assert run_main(T.main, ["--langs", "en,de", "--out", str(tmp_path), "--probes", "/nope.parquet"]) == 2


# --------------------------------------------------------------------------- real shared data


INTEGRATION_LANGS = ["en", "de", "es", "fr", "it", "ru", "ar", "hi", "tr", "zh", "ja"]


@pytest.fixture(scope="module")
def real_features(data_dir):
    return T.pair_features(INTEGRATION_LANGS, data_dir=data_dir, include_self=True)


@pytest.mark.integration
def test_real_data_grid_identity_symmetry(real_features):
    df = real_features
    assert set(df.source) == {"uriel", "grambank", "ud_morph", "panlex", "mc4"}
    for src, feats in (("uriel", T.URIEL_FEATURES), ("ud_morph", T.UD_MORPH_FEATURES),
                       ("panlex", T.SWADESH_FEATURES), ("mc4", T.MC4_FEATURES), ("grambank", T.GRAMBANK_FEATURES)):
        _check_grid(df[df.source == src], INTEGRATION_LANGS, feats, include_self=True)
    dist = df[df.source != "mc4"]
    self_rows = dist[(dist.lang_a == dist.lang_b) & dist.value.notna()]
    assert (self_rows.value == 0).all()
    _check_symmetric(dist)
    # URIEL, PanLex, UD and mC4 cover all eleven languages
    assert df[df.source.isin(["uriel", "panlex", "mc4", "ud_morph"])].value.notna().all()


@pytest.mark.integration
def test_real_data_sanity_orderings(real_features):
    df = real_features

    def v(a, b, f):
        return _value(df, a, b, f)

    for f in ("uriel_syntax", "uriel_genetic", "uriel_geographic", "uriel_featural", "lex_swadesh_ldn",
              "lex_swadesh_ldnd", "ud_morph_jsd"):
        assert v("es", "it", f) < v("es", "ja", f), f
    assert v("en", "de", "uriel_genetic") < v("en", "zh", "uriel_genetic")
    assert v("es", "it", "lex_swadesh_ldn") < v("en", "de", "lex_swadesh_ldn") < v("en", "ja", "lex_swadesh_ldn")
    assert v("fr", "it", "grambank_morph") < v("fr", "ja", "grambank_morph")
    # English has the most mC4 tokens; log sizes are ordered
    assert v("en", "de", "log10_tokens_src") > v("de", "en", "log10_tokens_src")


@pytest.mark.integration
def test_real_swadesh_reads_zip_without_extracting(data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lists = T.SwadeshLists(data_dir / "typology" / "panlex_swadesh.zip")
    assert lists.variety("jpn") == "jpn-001"  # romaji, not kanji read as Mandarin
    assert lists.variety("jpn", preferred="jpn-000") == "jpn-001"
    assert lists.variety("cmn") == "cmn-000"  # Han is right for Mandarin
    assert lists.variety("arb") == "arb-000"
    words = lists.words("eng-000")
    assert len(words) == 207 and "water" in words[words.index(next(w for w in words if "water" in w))]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_real_mc4_table(data_dir):
    s = T.read_mc4_tokens(data_dir / "typology" / "mc4_tokens_billions.csv")
    assert len(s) >= 100 and s["en"] == 2733 and "und" not in s.index
    assert s.idxmax() == "en"
