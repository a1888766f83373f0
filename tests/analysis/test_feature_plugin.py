"""A pair-feature source and a corpus from modules outside the repository (``module:name``)."""

from __future__ import annotations

import textwrap

import pandas as pd

from analysis.typology import main
from crossling.cli import run_main
from probes.readers.corpora import load_corpus

SOURCE = textwrap.dedent('''
    """A user's pair feature: 1 when the two codes share their first letter."""
    import pandas as pd

    def same_initial(langs, *, data_dir=None, include_self=False):
        rows = [{"lang_a": a, "lang_b": b, "feature": "same_initial", "value": float(a[0] == b[0]),
                 "source": "user", "note": ""} for a in langs for b in langs if include_self or a != b]
        return pd.DataFrame(rows)
''')

CORPUS = textwrap.dedent('''
    """A user's corpus: the bundled sample under another name."""
    from probes.readers.corpora import SampleCorpus

    class MySample(SampleCorpus):
        name = "my_sample"
        description = "the sample, as a user's corpus"
''')


def test_typology_runs_a_source_from_outside_the_repository(tmp_path, monkeypatch):
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "user_source_mod.py").write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path / "plug"))
    out = tmp_path / "typ"
    code = run_main(main, ["--langs", "en,es,et", "--sources", "user_source_mod:same_initial", "--out", str(out),
                           "--data-dir", str(tmp_path), "--quiet"])
    assert code == 0
    table = pd.read_parquet(out / "pair_features.parquet")
    wide = table.pivot(index=["lang_a", "lang_b"], columns="feature", values="value")["same_initial"]
    assert wide[("en", "es")] == 1.0 and wide[("es", "en")] == 1.0 and len(wide) == 6
    assert "user_source_mod:same_initial" in (out / "pair_features.config.yaml").read_text()


def test_corpus_from_outside_the_repository(tmp_path, monkeypatch):
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "user_corpus_mod.py").write_text(CORPUS)
    monkeypatch.syspath_prepend(str(tmp_path / "plug"))
    corpus = load_corpus("user_corpus_mod:MySample", langs=["en", "de"], max_sentences=2)
    assert corpus.langs == ["en", "de"] and corpus.n_sentences() == {"en": 2, "de": 2}
