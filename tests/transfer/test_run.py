"""The runner on synthetic features: complete table, resume, hashing, backends, CLI errors."""

import dataclasses

import pandas as pd
import pytest

from crossling.config import load_config
from crossling.errors import ConfigError
from transfer.execution.jobs import Cell, CellStore, RunSpec, make_grid
from transfer.run import TABLE_COLUMNS, TransferConfig, main, run

SYN = {"n_train": 40, "n_test": 20, "words": 6, "dim": 16, "n_layers": 2, "noise": 2.0}
N_METRICS = {"pos": 1, "ner": 3, "nli": 1, "paws": 1}


def cfg_for(tmp_path, **kw):
    base = dict(features="synthetic", synthetic=SYN, tasks=["pos", "ner", "nli"], langs=["en", "de", "fr"],
                shots=[0, 5, 10], seeds=[0, 1], layer="last", backend="serial", out=str(tmp_path / "run"),
                progress=False, figures=False, train_cap=30)
    base.update(kw)
    return load_config(TransferConfig, None, base)


def expected_rows(cfg):
    per = len(cfg.langs) ** 2 * len(set(cfg.shots)) * len(cfg.seeds)
    return sum(per * N_METRICS[t] for t in cfg.tasks)


def test_complete_tidy_table(tmp_path):
    cfg = cfg_for(tmp_path, figures=True)
    df = run(cfg, log=lambda m: None)
    assert list(df.columns[: len(TABLE_COLUMNS)]) == TABLE_COLUMNS
    assert len(df) == expected_rows(cfg)
    assert df["value"].notna().all() and df["value"].between(0, 1).all()
    cells = df.drop_duplicates("cell")
    assert len(cells) == 3 * 9 * 3 * 2
    # every (task, src, tgt, k, seed) exactly once
    assert not cells.duplicated(["task", "src", "tgt", "k", "seed"]).any()
    # n_train = equal source size + shots
    assert set(df[df["k"] == 0]["n_train"]) == {30}
    assert set(df[df["k"] == 10]["n_train"]) == {40}
    out = tmp_path / "run"
    for name in ("transfer.parquet", "transfer.csv", "config.yaml"):
        assert (out / name).is_file()
    back = pd.read_parquet(out / "transfer.parquet")
    pd.testing.assert_frame_equal(back, df.reset_index(drop=True), check_dtype=False)
    assert (out / "figures" / "matrix-pos.png").is_file() and (out / "figures" / "fewshot-ner.png").is_file()
    # diagonal (in-language) beats off-diagonal zero-shot on synthetic data with a language shift
    z = df[(df["k"] == 0) & (df["metric"] == "accuracy") & (df["task"] == "pos")]
    assert z[z.src == z.tgt]["value"].mean() > z[z.src != z.tgt]["value"].mean()


def test_rerun_skips_finished_cells_and_extends_grid(tmp_path):
    cfg = cfg_for(tmp_path, tasks=["pos"], shots=[0, 5])
    df1 = run(cfg, log=lambda m: None)
    store = CellStore(tmp_path / "run")
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "run" / "cells").glob("*/*.json")}
    logs = []
    df2 = run(cfg, log=logs.append)
    assert any("36 cells" in m and "36 already done" in m for m in logs)
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    pd.testing.assert_frame_equal(df1, df2)
    # a larger shot grid reuses the finished cells and adds only the new ones
    cfg3 = dataclasses.replace(cfg, shots=[0, 5, 10])
    logs = []
    df3 = run(cfg3, log=logs.append)
    assert any("54 cells" in m and "36 already done" in m for m in logs)
    assert len(df3) == 54 and len(store.done_set()) == 54


def test_cell_hash_is_content_addressed():
    spec = RunSpec(model="m", regime="head", layer="8")
    c = Cell("pos", "en", "de", 10, 0)
    assert c.hash(spec) == Cell("pos", "en", "de", 10, 0).hash(RunSpec(model="m", regime="head", layer="8"))
    changed = [Cell("pos", "en", "de", 50, 0).hash(spec), Cell("pos", "en", "de", 10, 1).hash(spec),
               c.hash(dataclasses.replace(spec, layer="7")), c.hash(dataclasses.replace(spec, head_params={"alpha": 1})),
               c.hash(dataclasses.replace(spec, features="other")), c.hash(dataclasses.replace(spec, n_src={"pos": 5}))]
    assert len({c.hash(spec), *changed}) == 7
    assert len(make_grid(["pos", "ner", "nli"], [f"l{i}" for i in range(10)], [0, 10, 50, 100, 250, 500, 1000],
                         [0, 1, 2])) == 3 * 100 * 7 * 3


def test_fewshot_sources_keep_every_zero_shot_cell():
    langs = ["en", "de", "fr"]
    cells = make_grid(["pos"], langs, [0, 10, 100], [0], fewshot_sources=["en"])
    assert {(c.src, c.tgt) for c in cells if c.k == 0} == {(a, b) for a in langs for b in langs}
    assert {c.src for c in cells if c.k > 0} == {"en"} and len(cells) == 9 + 3 * 2
    # the cells are the same cells (same hashes) as in the full grid: a later full run reuses them
    spec = RunSpec(model="m", regime="finetune", layer="last")
    full = {c.hash(spec) for c in make_grid(["pos"], langs, [0, 10, 100], [0])}
    assert {c.hash(spec) for c in cells} <= full


def test_failures_are_recorded_and_grid_continues(tmp_path, monkeypatch):
    import transfer.regimes.head as R

    real = R.evaluate_predictions

    def flaky(task, units, pred, *metrics):
        if task.name == "nli":
            raise RuntimeError("boom in nli")
        return real(task, units, pred, *metrics)

    monkeypatch.setattr(R, "evaluate_predictions", flaky)
    cfg = cfg_for(tmp_path, tasks=["pos", "nli"], shots=[0], seeds=[0])
    df = run(cfg, log=lambda m: None)
    assert set(df["task"]) == {"pos"} and len(df) == 9
    fails = pd.read_csv(tmp_path / "run" / "failures.csv")
    assert len(fails) == 9 and fails["error"].str.contains("boom in nli").all()
    monkeypatch.setattr(R, "evaluate_predictions", real)
    df = run(cfg, log=lambda m: None)  # failed cells are retried
    assert set(df["task"]) == {"pos", "nli"}
    assert not (tmp_path / "run" / "failures").exists() or not list((tmp_path / "run" / "failures").glob("*.json"))


def test_process_backend_matches_serial(tmp_path):
    a = run(cfg_for(tmp_path / "a", tasks=["ner", "nli"], seeds=[0]), log=lambda m: None)
    b = run(cfg_for(tmp_path / "b", tasks=["ner", "nli"], seeds=[0], backend="process", workers=2),
            log=lambda m: None)
    pd.testing.assert_frame_equal(a, b)


def test_softmax_mix_head(tmp_path):
    cfg = cfg_for(tmp_path, tasks=["nli"], langs=["en", "de"], shots=[0, 5], seeds=[0], layer="mix", head="softmax",
                  head_params={"steps": 50, "warm_steps": 20})
    df = run(cfg, log=lambda m: None)
    assert len(df) == 8 and set(df["layer"]) == {"mix"}


@pytest.mark.parametrize("over,match", [
    ({"tasks": ["pso"]}, "Did you mean 'pos'"),
    ({"layer": "mix", "head": "ridge"}, "layer: mix needs"),
    ({"shots": [-1]}, "non-negative"),
    ({"backend": "mpi"}, "Unknown execution backend"),
    ({"langs": ["en", "en"]}, "twice"),
    ({"test_fraction": 1.5}, "test_fraction"),
    ({"fewshot_sources": ["sw"]}, "'fewshot_sources' parameter names"),
])
def test_config_errors(tmp_path, over, match):
    with pytest.raises(ConfigError, match=match):
        cfg_for(tmp_path, **over)


def test_cli_dry_run_and_overrides(tmp_path, capsys):
    assert main(["--dry-run", "--langs", "en,de", "--tasks", "pos", "--shots", "0,10", "--seeds", "0",
                 "--set", "train_cap=50"]) == 0
    out = capsys.readouterr().out
    assert "train_cap: 50" in out and "# 8 cells" in out
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        main(["--dry-run", "--set", "oops"])
    with pytest.raises(ConfigError, match="Unknown config key"):
        main(["--dry-run", "--set", "trian_cap=5"])


def test_yaml_config_loads():
    from pathlib import Path

    cfg = load_config(TransferConfig, Path(__file__).resolve().parents[2] / "configs" / "transfer-xtreme.yaml")
    assert cfg.tasks == ["pos", "ner", "nli"] and len(cfg.langs) == 10
    assert len(cfg.langs) * (len(cfg.langs) - 1) == 90


def test_real_data_missing_language_is_reported(tmp_path, xtreme_dir):
    from crossling.errors import DataError

    cfg = load_config(TransferConfig, None, {"langs": ["en", "ja"], "tasks": ["nli"], "data_dir": str(xtreme_dir),
                                              "out": str(tmp_path / "o")})
    with pytest.raises(DataError, match=r"no data for language\(s\) \['ja'\]"):
        run(cfg, log=lambda m: None)
