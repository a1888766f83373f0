"""A similarity metric from a module outside the repository, named as ``module:Class`` on the command line."""

from __future__ import annotations

import textwrap

import pandas as pd

from crossling.cli import run_main
from representations.align import main

PLUGIN = textwrap.dedent('''
    """A user's metric: retrieval accuracy under its own name."""
    from representations import METRICS

    class MyRetrieval(METRICS.get("retrieval")):
        def __init__(self):
            super().__init__()
            self.name = "my_retrieval"
''')


def test_align_runs_a_metric_from_outside_the_repository(tiny_store, tmp_path, monkeypatch):
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "user_metric_mod.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path / "plug"))
    out = tmp_path / "align"
    code = run_main(main, ["--activations", str(tiny_store), "--out", str(out), "--metrics",
                           "cka,user_metric_mod:MyRetrieval", "--layers", "last", "--n-permutations", "0",
                           "--n-bootstrap", "0", "--no-figures", "--no-length-control", "--no-layer-matrices",
                           "--quiet"])
    assert code == 0
    table = pd.read_parquet(out / "alignment.parquet")
    assert set(table["metric"]) == {"cka", "my_retrieval"}
    mine = table[table["metric"] == "my_retrieval"]
    assert len(mine) == 12 and mine["value"].between(0, 1).all()  # 4 languages, ordered pairs
    saved = (out / "config.yaml").read_text()
    assert "user_metric_mod:MyRetrieval" in saved and "out: null" not in saved
