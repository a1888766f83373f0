"""The generated ``python -m probes.extract`` command line and model sources plugged in from outside the repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crossling.errors import ConfigError
from probes.extract import build_parser, main, parse_config
from probes.extraction import ActivationStore
from probes.readers import load_corpus
from probes.models import MODEL_SOURCES, ModelSource, known_num_layers, load_model, resolve_source

REPO = Path(__file__).resolve().parents[2]

SHARED = ("--config", "--set", "--dry-run", "--quiet", "--no-progress", "--debug", "--out", "--data-dir",
          "--langs", "--layers", "--overwrite")
#: Spellings used by the README, docs and older scripts.
OLD = ("--layer", "--languages", "--data", "--paths", "--model", "--corpus", "--limit", "--store-dtype",
       "--final-norm", "--max-tokens", "--max-length", "--shard-size", "--cache-dir", "--ray-address")


def test_help_shows_shared_and_old_flags() -> None:
    text = build_parser().format_help()
    for flag in SHARED + OLD:
        assert flag in text, flag


def test_old_spellings_parse_to_the_same_config(tmp_path: Path) -> None:
    old, _ = parse_config(["--layer", "0,2", "--languages", "en,de", "--data", str(tmp_path), "--limit", "3",
                           "--no-progress"])
    new, _ = parse_config(["--layers", "0,2", "--langs", "en,de", "--data-dir", str(tmp_path), "--set", "limit=3",
                           "--quiet"])
    assert old == new
    assert old.layers == "0,2" and old.langs == ["en", "de"] and old.limit == 3 and old.progress is False


def test_resolved_config_has_no_null_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSLING_DATA", str(tmp_path / "data"))
    cfg, _ = parse_config(["--model", "random:e5-small"])
    assert cfg.out == str(Path("runs") / "sample-random-e5-small")
    assert cfg.data_dir == str(tmp_path / "data")


def test_paths_flag_sets_corpus_options(tmp_path: Path) -> None:
    cfg, _ = parse_config(["--corpus", "conllu", "--paths", "a.conllu,b.conllu"])
    assert cfg.corpus_options == {"paths": ["a.conllu", "b.conllu"]}


def test_bad_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        parse_config(["--max-tokens", "3"])


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "store"
    assert main(["--dry-run", "--model", "random:e5-small", "--langs", "en,de", "--limit", "2", "--layers", "0-3",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "would extract 2 en sentences" in text and "would extract 2 de sentences" in text
    assert "--limit 2 of" in text and "layers [0, 1, 2, 3]" in text and "12 blocks" in text
    assert f"out: {out}" in text and "data_dir: " in text and "data_dir: null" not in text
    assert "dry run: nothing was computed or written" in text


def test_dry_run_checks_the_layers_before_anything(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="13"):
        main(["--dry-run", "--model", "random:e5-small", "--layers", "13", "--out", str(tmp_path / "o")])


def test_limit_summary_counts_what_was_extracted(tiny_bert_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "store"
    assert main(["--model", str(tiny_bert_dir), "--langs", "en,de", "--limit", "2", "--out", str(out),
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    full = len(load_corpus("sample", langs=["en"]).sentences["en"])
    assert full > 2
    assert "Extracted 4 sentences in 2 language(s) (--limit 2: the first 2 of" in text
    assert f"Extracted {2 * full} sentences" not in text
    cfg = ActivationStore(out).manifest["config"]
    assert cfg["data_dir"] and cfg["limit"] == 2  # the resolved data directory, never null


# --------------------------------------------------------------------------- model sources as plug-ins

PLUGIN = '''
"""A model source that lives outside the crossling repository."""
import os

from probes.models import LoadedModel, ModelSource


class MySource(ModelSource):
    """A tiny seeded random BERT with the tokenizer of a local directory."""

    names = ("tiny",)
    seeded = True

    def num_layers(self, name, *, cache_dir=None):
        return 2

    def load(self, name, *, spec, cache_dir=None, seed=0, local_files_only=None):
        import torch
        from transformers import AutoTokenizer, BertConfig, BertModel

        torch.manual_seed(seed)
        cfg = BertConfig(vocab_size=250037, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=64, pad_token_id=1)
        model = BertModel(cfg, add_pooling_layer=False).eval()
        tok = AutoTokenizer.from_pretrained(os.environ["MYMOD_TOKENIZER"])
        return LoadedModel(model=model, tokenizer=tok, name=spec, arch="bert",
                           info={"source": "mymod", "asked_name": name})


def make(name, *, spec, cache_dir=None, seed=0, local_files_only=None):
    return MySource().load(name, spec=spec, seed=seed)
'''


@pytest.fixture()
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xlmr_tokenizer_dir: Path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "mymod.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(d))
    monkeypatch.setenv("MYMOD_TOKENIZER", str(xlmr_tokenizer_dir))
    sys.modules.pop("mymod", None)
    return d


def test_module_class_resolves_without_registration(plugin_dir: Path) -> None:
    source, name = resolve_source("mymod:MySource:tiny")
    assert type(source).__name__ == "MySource" and name == "tiny" and source.seeded
    assert isinstance(source, ModelSource) and "mymod:MySource" not in MODEL_SOURCES.names()
    assert known_num_layers("mymod:MySource") == 2
    loaded = load_model("mymod:make", seed=1)  # a function works as a source too
    assert loaded.num_layers == 2 and loaded.name == "mymod:make"


def test_unknown_module_source_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="module:Class"):
        load_model("no_such_module_xyz:Source")


def test_cli_extracts_with_a_model_source_from_outside_the_repo(plugin_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), str(REPO)]),
           "MYMOD_TOKENIZER": os.environ["MYMOD_TOKENIZER"], "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "probes.extract", "--model", "mymod:MySource", "--langs", "en,fr",
                           "--limit", "3", "--layers", "all", "--out", str(out), "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    store = ActivationStore(out)
    assert store.model == "mymod:MySource" and store.layers == [0, 1, 2] and store.dim == 16
    assert sorted(store.manifest["groups"]) == ["en", "fr"]
    assert store.manifest["model"]["source"] == "mymod"
    assert store.manifest["corpus"]["sentences"] == {"en": 3, "fr": 3}
    x = store.sentences("en", 2)
    assert x.shape == (3, 16)
    assert json.loads((out / "manifest.json").read_text())["config"]["data_dir"]
