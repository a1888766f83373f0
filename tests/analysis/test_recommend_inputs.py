"""analysis.recommend on tables without usable scores: the error names the file and its column."""

from __future__ import annotations

import numpy as np

from analysis.recommend import main
from crossling.cli import run_main
from crossling.tables import write_table


def _args(tmp_path, task="xnli"):
    return ["--transfer", str(tmp_path / "t.csv"), "--features", str(tmp_path / "f.parquet"), "--task", task,
            "--target", "sw"]


def test_all_nan_scores_name_the_table_and_column(sim, tmp_path, capsys):
    tr, fe, _ = sim.simulate()
    write_table(fe, tmp_path / "f")
    tr.assign(value=np.nan).to_csv(tmp_path / "t.csv", index=False)
    assert run_main(main, _args(tmp_path)) == 3
    err = capsys.readouterr().err
    assert "t.csv" in err and "'value'" in err and "xnli" in err and "Traceback" not in err


def test_non_numeric_and_infinite_scores_count_as_missing(sim, tmp_path, capsys):
    tr, fe, _ = sim.simulate()
    write_table(fe, tmp_path / "f")
    tr = tr.astype({"value": object})
    tr.loc[::2, "value"] = "n/a"
    tr.loc[1::2, "value"] = np.inf
    tr.to_csv(tmp_path / "t.csv", index=False)
    assert run_main(main, _args(tmp_path)) == 3
    assert "t.csv" in capsys.readouterr().err


def test_nan_scores_of_another_task_do_not_block(sim, tmp_path, capsys):
    tr, fe, _ = sim.simulate(tasks=("xnli", "pawsx"), noise=0.003)
    write_table(fe, tmp_path / "f")
    tr.loc[tr["task"] == "pawsx", "value"] = np.nan
    tr.to_csv(tmp_path / "t.csv", index=False)
    assert run_main(main, _args(tmp_path, "xnli")) == 0
    assert "sources for target 'sw'" in capsys.readouterr().out
    assert run_main(main, _args(tmp_path, "pawsx")) == 3
    assert "pawsx" in capsys.readouterr().err
