"""--layer is checked before any model weight is loaded: syntax always, range where the config tells."""

from __future__ import annotations

import pytest

from crossling.cli import run_main
from crossling.errors import ConfigError
from probes.extract import ExtractConfig, known_num_layers, main
from crossling.layers import check_layer_spec, parse_layers


@pytest.fixture
def config_only_dirs(tmp_path):
    """Checkpoint directories holding only config.json (no weights, no tokenizer)."""
    from transformers import BertConfig, MT5Config

    bert, mt5 = tmp_path / "bert", tmp_path / "mt5"
    BertConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=64).save_pretrained(bert)
    MT5Config(d_model=32, d_kv=8, d_ff=64, num_layers=5, num_decoder_layers=2, num_heads=4).save_pretrained(mt5)
    return bert, mt5


def test_syntax_is_checked_without_a_layer_count():
    for good in ("all", "0,6,12", "2-4", "-1", ["all"], [0, 3], 5):
        check_layer_spec(good)
    for bad, match in (("six", "six"), ("", "No layer"), ("4-2", "Empty layer range"), ("a-b", "a-b"),
                       (1.5, "1.5"), (True, "True")):
        with pytest.raises(ConfigError, match=match):
            check_layer_spec(bad)
    with pytest.raises(ConfigError, match="out of range"):
        check_layer_spec("0,13", 12)
    assert parse_layers([0, "-1"], 3) == [0, 3] and parse_layers(2, 3) == [2]


def test_config_validation_rejects_bad_syntax():
    with pytest.raises(ConfigError, match="'six'.*--layer"):
        ExtractConfig(layers="six").validate()


def test_layer_count_from_the_model_config(config_only_dirs, tmp_path):
    bert, mt5 = config_only_dirs
    assert known_num_layers(str(bert)) == 3
    assert known_num_layers(str(mt5)) == 5  # encoder blocks, not decoder
    assert known_num_layers("random:mt5-small") == 8
    assert known_num_layers("random:no-such-shape") is None
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "config.json").write_text('{"model_type": "gpt2", "n_layer": 4}')
    assert known_num_layers(str(tmp_path / "odd")) is None  # architecture whose block count we do not assume
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    assert known_num_layers(str(tmp_path / "broken")) is None  # loading reports it
    assert known_num_layers(str(tmp_path / "absent")) is None


def test_cli_rejects_out_of_range_layer_before_loading(config_only_dirs, tmp_path, capsys):
    """The directory has no weights: loading would fail with exit 4, so exit 2 proves the check came first."""
    bert, _ = config_only_dirs
    code = run_main(main, ["--model", str(bert), "--layer", "0,7", "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Layer 7" in err and "3 blocks" in err
    assert not (tmp_path / "o").exists()
    # a valid layer gets past the check and fails on the missing weights, as before
    assert run_main(main, ["--model", str(bert), "--layer", "0,3", "--out", str(tmp_path / "o2"), "--quiet",
                           "--limit", "1", "--langs", "en"]) == 4
