"""``probes.train --backend ray`` on a real local Ray cluster started by the test."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from probes.readers.conllu import read_conllu
from crossling.errors import ConfigError
from probes.extract import extract_sentences
from probes.models import load_model
from probes.extraction.store import ActivationStore
from probes.train import TrainConfig, train_grid

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "probes" / "data" / "sample"


@pytest.fixture(scope="module")
def store_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    groups = {lang: read_conllu(SAMPLE / f"{lang}.conllu", lang) for lang in ("de", "en", "fr")}
    out = tmp_path_factory.mktemp("store") / "sample-tiny"
    extract_sentences(load_model(str(tiny_bert_dir)), groups, out, progress=False)
    return out


def _cfg(store_dir: Path, **kw) -> TrainConfig:
    base = dict(activations=str(store_dir), tasks=["upos", "deprel", "morph:all", "language-id"], layers="all",
                min_examples=10, cross_lingual=True, control=True, figures=False)
    base.update(kw)
    cfg = TrainConfig(**base)
    cfg.validate()
    return cfg


def test_backend_is_validated(store_dir):
    with pytest.raises(ConfigError, match="'backend' parameter must be one of"):
        _cfg(store_dir, backend="spark")


@pytest.mark.integration
@pytest.mark.slow  # two Ray starts and four grids: about a minute
def test_ray_grid_identical_to_local_and_cells_reused(store_dir, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RAY_worker_niceness", "0")  # Ray's default 15 starves the workers on a loaded machine
    local = train_grid(_cfg(store_dir), progress=False, out=tmp_path / "local")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        stats: dict[str, int] = {}
        on_ray = train_grid(_cfg(store_dir, backend="ray"), progress=False, out=tmp_path / "ray", stats=stats)
        assert ray.is_initialized()  # a cluster the run did not start is left running
        assert stats["reused"] == 0 and stats["cells"] == 3 * len(ActivationStore(store_dir).layers)
        pd.testing.assert_frame_equal(local, on_ray)
        # the cells the Ray workers saved are the cells a rerun reuses (locally or on Ray)
        again: dict[str, int] = {}
        rerun = train_grid(_cfg(store_dir), progress=False, out=tmp_path / "ray", stats=again)
        assert again["reused"] == again["cells"]
        pd.testing.assert_frame_equal(local, rerun)
    finally:
        ray.shutdown()
    # a run without a cell directory (the Python API) and its own local Ray
    own = train_grid(_cfg(store_dir, backend="ray", workers=1, cross_lingual=False, control=False), progress=False)
    assert not ray.is_initialized()
    ref = train_grid(_cfg(store_dir, cross_lingual=False, control=False), progress=False)
    pd.testing.assert_frame_equal(ref, own)
