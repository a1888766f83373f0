"""A downstream task and a metric from a module OUTSIDE the repository, named ``module:Class`` on the CLI.

Also: the capabilities a task or metric declares are checked before any cell
runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from crossling.config import load_config
from crossling.errors import ConfigError
from transfer.run import TransferConfig

REPO = Path(__file__).resolve().parents[2]

PLUGIN = textwrap.dedent('''
    """A user's transfer extensions, nowhere near the repository."""
    from transfer.metrics import Metric
    from transfer.tasks import DownstreamTask


    class ErrorRate(Metric):
        """Share of labels predicted wrongly (a metric class)."""

        task_kinds = ("token", "pair")

        def __call__(self, gold, pred):
            n = sum(len(g) for g in gold)
            wrong = sum(a != b for g, p in zip(gold, pred) for a, b in zip(g, p))
            return {"error_rate": wrong / n if n else float("nan")}


    def label_count(gold, pred):
        """Number of scored labels (a metric function)."""
        return {"n_labels": float(sum(len(g) for g in gold))}


    class ChunkTask(DownstreamTask):
        """A made-up three-class word task scored by the plugin's own metric."""

        name = "chunk"
        kind = "token"
        labels = ("A", "B", "C")
        metric = "mytransfer:ErrorRate"
        primary = "error_rate"
        regimes = ("head",)


    class JointOnlyPairs(DownstreamTask):
        name = "jointpairs"
        kind = "pair"
        labels = ("0", "1")
        pair_encodings = ("joint",)


    class BadMetricPairs(JointOnlyPairs):
        metric = "entity_f1"
''')


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "mytransfer.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(d))
    return d


def test_task_and_metric_from_outside_the_repository(plugin_dir, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), str(REPO)])}
    cmd = [sys.executable, "-m", "transfer.run", "--tasks", "mytransfer:ChunkTask,pos",
           "--metrics", "mytransfer:label_count", "--features", "synthetic",
           "--synthetic", "{n_train: 40, n_test: 20, dim: 8}", "--langs", "en,de", "--shots", "0,5",
           "--seeds", "0", "--layer", "last", "--backend", "serial", "--out", str(out), "--quiet"]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    df = pd.read_parquet(out / "transfer.parquet")
    chunk = df[df["task"] == "mytransfer:ChunkTask"]
    pos = df[df["task"] == "pos"]
    assert set(chunk["metric"]) == {"error_rate", "n_labels"}
    assert set(pos["metric"]) == {"accuracy", "n_labels"}
    assert len(chunk) == len(pos) == 2 * 2 * 2 * 2  # pairs x shots x metrics
    err = chunk[chunk["metric"] == "error_rate"]["value"]
    assert err.between(0, 1).all()
    assert (chunk[chunk["metric"] == "n_labels"]["value"] == 20 * 12).all()  # 20 test sentences x 12 words
    # the run is resumable: a rerun finds every cell (the extra metric is part of the cell hash)
    r2 = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0 and "16 already done" in r2.stderr


def test_extra_metrics_enter_the_cell_hash_only_when_given():
    from transfer.execution.jobs import Cell, RunSpec

    plain = RunSpec(model="m", regime="head", layer="8")
    assert "metrics" not in plain.key()  # cells of runs before 0.2 keep their hashes
    cell = Cell("pos", "en", "de", 0, 0)
    assert cell.hash(plain) != cell.hash(RunSpec(model="m", regime="head", layer="8", metrics=("x:y",)))


def test_declared_capabilities_are_checked_before_any_cell(plugin_dir, tmp_path):
    base = {"features": "synthetic", "langs": ["en", "de"], "out": str(tmp_path / "o")}
    with pytest.raises(ConfigError, match="does not support regime 'finetune'"):
        load_config(TransferConfig, None, {**base, "tasks": ["mytransfer:ChunkTask"], "regime": "finetune"})
    with pytest.raises(ConfigError, match="does not support pair_encoding 'separate'"):
        load_config(TransferConfig, None, {**base, "tasks": ["mytransfer:JointOnlyPairs"],
                                           "pair_encoding": "separate"})
    load_config(TransferConfig, None, {**base, "tasks": ["mytransfer:JointOnlyPairs"]})
    with pytest.raises(ConfigError, match="scores token tasks"):
        load_config(TransferConfig, None, {**base, "tasks": ["mytransfer:BadMetricPairs"]})
    with pytest.raises(ConfigError, match="scores token tasks"):
        load_config(TransferConfig, None, {**base, "tasks": ["nli"], "metrics": ["entity_f1"]})
    with pytest.raises(ConfigError, match="no attribute 'nope'"):
        load_config(TransferConfig, None, {**base, "tasks": ["pos"], "metrics": ["mytransfer:nope"]})
    with pytest.raises(ConfigError, match="not a transfer.tasks.DownstreamTask"):
        load_config(TransferConfig, None, {**base, "tasks": ["mytransfer:label_count"]})


def test_capabilities_of_builtin_units():
    from transfer.metrics import metric_capabilities
    from transfer.tasks import TASKS, task_capabilities

    for name in TASKS.names():
        caps = task_capabilities(name)
        assert caps["kind"] in ("token", "pair") and caps["n_labels"] >= 2
        assert set(caps["regimes"]) == {"head", "finetune"}
        assert caps["kind"] in metric_capabilities(caps["metric"])["task_kinds"]
    assert task_capabilities("pos")["pair_encodings"] == ()
