"""The Ray backend against a real local Ray instance."""

import pandas as pd
import pytest

from crossling.config import load_config
from transfer.run import TransferConfig, run

SYN = {"n_train": 30, "n_test": 15, "words": 5, "dim": 8, "n_layers": 1}


def _cfg(out, **kw):
    base = dict(features="synthetic", synthetic=SYN, tasks=["pos", "nli"], langs=["en", "de"], shots=[0, 5],
                seeds=[0], layer="last", out=str(out), progress=False, figures=False, train_cap=20)
    base.update(kw)
    return load_config(TransferConfig, None, base)


@pytest.mark.integration
def test_ray_backend_local_cluster_matches_serial(tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        df_ray = run(_cfg(tmp_path / "ray", backend="ray"), log=lambda m: None)
        assert ray.is_initialized()  # a cluster the run did not start is left running
    finally:
        ray.shutdown()
    df_serial = run(_cfg(tmp_path / "serial", backend="serial"), log=lambda m: None)
    assert df_ray["cell"].nunique() == 2 * 4 * 2
    pd.testing.assert_frame_equal(df_ray, df_serial)


@pytest.mark.integration
def test_ray_backend_starts_and_stops_its_own_local_ray(tmp_path):
    ray = pytest.importorskip("ray")
    df = run(_cfg(tmp_path / "own", backend="ray", workers=1, tasks=["nli"]), log=lambda m: None)
    assert df["cell"].nunique() == 8
    assert not ray.is_initialized()


@pytest.mark.integration
@pytest.mark.slow
def test_ray_shards_extraction_and_cells(tmp_path, tiny_bert_dir, xtreme_dir):
    pytest.importorskip("ray")
    cfg = load_config(TransferConfig, None, {
        "model": str(tiny_bert_dir), "tasks": ["nli", "ner"], "langs": ["en", "de"], "shots": [0, 3],
        "seeds": [0], "layer": "2", "data_dir": str(xtreme_dir), "features_dir": str(tmp_path / "feats"),
        "out": str(tmp_path / "run"), "backend": "ray", "workers": 2, "progress": False, "figures": False,
        "train_cap": 8, "test_cap": 8, "max_length": 48,
    })
    logs = []
    df = run(cfg, log=logs.append)
    assert sum("on Ray" in m for m in logs) == 4  # one extraction task per (task, language)
    assert df["cell"].nunique() == 2 * 4 * 2 and df.attrs["n_failed"] == 0
    from probes.extraction.store import ActivationStore

    st = ActivationStore(next(p for p in (tmp_path / "feats").glob("*/nli-en-*") if p.is_dir()))
    assert st.layers == [2]  # extract_layers: auto keeps only the run's layer
