"""The reader-facing commands on the generated command line: shared flags, dry runs that write nothing,
resolved configs without null paths (analysis.report, analysis.results, analysis.study, analysis.render_check)."""

from __future__ import annotations

import importlib

import pytest
import yaml

from crossling.cli import run_main
from crossling.errors import ConfigError

COMMANDS = ("analysis.report", "analysis.results", "analysis.study", "analysis.render_check")


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("module", COMMANDS)
def test_every_command_has_the_shared_flags(module):
    parser = importlib.import_module(module).build_parser()
    flags = {s for a in parser._actions for s in a.option_strings}
    assert {"--config", "--set", "--dry-run", "--quiet", "--no-progress", "--debug"} <= flags


def test_report_dry_run_lists_the_tables_and_writes_nothing(sim, tmp_path, capsys):
    from analysis.report import main

    run = sim.make_run(tmp_path / "run")
    before = _files(tmp_path)
    assert run_main(main, ["--run", str(run), "--dry-run", "--no-mixed", "--layer", "12"]) == 0
    out = capsys.readouterr().out
    assert _files(tmp_path) == before
    assert f"out: {run / 'report.html'}" in out  # resolved: no null output path
    assert "# would write the report" in out and "transfer" in out and "dry run" in out
    assert "mixed: false" in out and "layer: '12'" in out


def test_report_old_flag_spellings_still_parse(tmp_path):
    from analysis.report import parse_config

    cfg, _ = parse_config(["--run", str(tmp_path), "--tasks", "pos,nli", "--feature-names", "a,b", "--no-mixed",
                           "--permutations", "19", "--alpha", "0.1", "--fewshot-c", "2", "--max-rows", "5",
                           "--layer", "8", "--model", "m", "--seed", "3", "--quiet"])
    assert cfg.tasks == ["pos", "nli"] and cfg.feature_names == ["a", "b"] and cfg.mixed is False
    assert (cfg.permutations, cfg.alpha, cfg.fewshot_c, cfg.max_rows, cfg.layer, cfg.seed) == (19, 0.1, 2.0, 5, "8", 3)
    assert cfg.quiet and cfg.out == str(tmp_path / "report.html")


def test_results_dry_run_writes_nothing_and_force_is_overwrite(tmp_path, capsys):
    from analysis.results import main, parse_config

    (tmp_path / "run").mkdir()
    before = _files(tmp_path)
    args = ["--run", str(tmp_path / "run"), "--model", "m", "--out", str(tmp_path / "R.md"),
            "--figures", str(tmp_path / "fig")]
    assert run_main(main, [*args, "--dry-run"]) == 0
    assert _files(tmp_path) == before
    out = capsys.readouterr().out
    assert f"tables: {tmp_path / 'fig' / 'tables'}" in out
    assert parse_config([*args, "--force"])[0].overwrite and parse_config([*args, "--overwrite"])[0].overwrite
    assert not parse_config(args)[0].overwrite
    with pytest.raises(ConfigError, match="'model'"):
        parse_config(["--run", str(tmp_path)])


def test_study_saves_its_config_with_the_data_dir_resolved(tmp_path, monkeypatch):
    from analysis.study import StudyConfig, run_study

    monkeypatch.setenv("CROSSLING_DATA", str(tmp_path / "data"))
    cfg = StudyConfig(out=str(tmp_path / "run"), data_dir=None, stages=[], transfer_config=str(tmp_path / "t.yaml"))
    run_study(cfg)
    saved = yaml.safe_load((tmp_path / "run" / "study.config.yaml").read_text())
    assert saved["data_dir"] == str(tmp_path / "data") and saved["out"] == str(tmp_path / "run")


def test_study_flags_and_aliases(tmp_path, monkeypatch):
    from analysis.study import parse_config

    monkeypatch.setenv("CROSSLING_DATA", str(tmp_path / "data"))
    cfg, args = parse_config(["--out", str(tmp_path / "r"), "--langs", "en,de", "--stages", "extract,results",
                              "--limit", "40", "--threads", "2", "--control-model", "", "--no-progress"])
    assert cfg.pud_langs == ["en", "de"] and cfg.stages == ["extract", "results"] and cfg.limit == 40
    assert cfg.threads == 2 and cfg.control_model == "" and cfg.quiet
    assert cfg.data_dir == str(tmp_path / "data")
    assert args.config.endswith("study.yaml")  # configs/study.yaml unless --config says otherwise
    assert not (tmp_path / "r").exists()


def test_render_check_takes_the_report_as_argument_or_config_key(tmp_path, capsys):
    from analysis.render_check import main, parse_config

    page = tmp_path / "r.html"
    page.write_text("<html><body></body></html>")
    assert parse_config([str(page)])[0].report == str(page)
    conf = tmp_path / "c.yaml"
    conf.write_text(f"report: {page}\nscreenshot: {tmp_path / 'shot.png'}\ntimeout: 30\n")
    cfg, _ = parse_config(["--config", str(conf)])
    assert cfg.report == str(page) and cfg.timeout == 30.0
    before = _files(tmp_path)
    assert run_main(main, ["--config", str(conf), "--dry-run"]) == 0
    assert _files(tmp_path) == before and "would save the first screen" in capsys.readouterr().out
    assert run_main(main, []) == 2
    assert "REPORT.html" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, 0.0])
def test_render_check_timeout_is_a_declared_range(tmp_path, bad):
    from analysis.render_check import RenderCheckConfig
    from crossling.config import validate_declared

    with pytest.raises(ConfigError, match="'timeout'"):
        validate_declared(RenderCheckConfig(report="r.html", timeout=bad))
