"""The command line of ``python -m transfer.attribute``, generated from its two configs (no model runs)."""

from __future__ import annotations

import pytest
import yaml

from crossling.cli import run_main
from transfer import attribute as A


def _dry(capsys, argv):
    assert A.main(argv) == 0
    text = capsys.readouterr().out
    assert "# dry run: nothing was computed or written" in text
    return yaml.safe_load("\n".join(l for l in text.splitlines() if not l.startswith("#")))


def test_units_old_spellings_and_resolved_out(capsys, tmp_path):
    store = tmp_path / "store"
    cfg = _dry(capsys, ["units", "--activations", str(store), "--layer", "2", "--no-figures", "--C", "0.5",
                        "--k", "4,8", "--n-perm", "50", "--max-attr-words", "none", "--quiet", "--dry-run",
                        "--languages", "en,de"])
    assert cfg["out"] == str(store / "attribution")  # resolved: no null path in the saved config
    assert cfg["layers"] == "2" and cfg["figures"] is False and cfg["C"] == 0.5 and cfg["k"] == [4, 8]
    assert cfg["n_perm"] == 50 and cfg["max_attr_words"] is None and cfg["progress"] is False
    assert cfg["langs"] == ["en", "de"]
    cfg = _dry(capsys, ["units", "--activations", str(store), "--layers", "0-2", "--out", str(tmp_path / "o"),
                        "--set", "n_random=7", "--dry-run"])
    assert cfg["layers"] == "0-2" and cfg["out"] == str(tmp_path / "o") and cfg["n_random"] == 7


def test_tokens_flags_config_and_epochs(capsys, tmp_path):
    conf = tmp_path / "tok.yaml"
    conf.write_text("model: m\ntask: ner\nn_steps: 9\n")
    cfg = _dry(capsys, ["tokens", "--config", str(conf), "--out", str(tmp_path / "o"), "--epochs", "2",
                        "--regime", "finetune", "--data", str(tmp_path / "d"), "--langs", "en,de", "--dry-run"])
    assert cfg["model"] == "m" and cfg["task"] == "ner" and cfg["n_steps"] == 9
    assert cfg["finetune"] == {"epochs": 2} and cfg["data_dir"] == str(tmp_path / "d")
    cfg = _dry(capsys, ["tokens", "--model", "m", "--out", str(tmp_path / "o"), "--dry-run"])
    assert cfg["data_dir"]  # resolved from $CROSSLING_DATA or the default


def test_every_subcommand_has_the_shared_flags(capsys):
    for command in A.COMMANDS:
        with pytest.raises(SystemExit):
            A.main([command, "--help"])
        text = capsys.readouterr().out
        for flag in ("--config", "--set", "--dry-run", "--debug", "--out"):
            assert flag in text, (command, flag)
    assert "--quiet" in A.build_parser("units").format_help()
    assert "--data-dir" in A.build_parser("tokens").format_help()
    with pytest.raises(SystemExit):
        A.main(["--help"])
    assert "units" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys, tmp_path):
    assert run_main(A.main, []) == 2
    assert run_main(A.main, ["unitz"]) == 2
    assert run_main(A.main, ["units", "--activations", str(tmp_path), "--k", "0", "--dry-run"]) == 2
    assert run_main(A.main, ["tokens", "--model", "m", "--out", str(tmp_path), "--task", "posx", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "'units' or 'tokens'" in err and "posx" in err
