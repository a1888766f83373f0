"""Fixtures of the representations tests: random data and a tiny real activation store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path) -> Path:
    """An activation store of the bundled parallel sample (4 languages x 40 sentences)
    through the tiny random BERT, made by the suite's extractor."""
    from crossling.config import load_config
    from probes.extract import ExtractConfig, extract

    out = tmp_path_factory.mktemp("store") / "sample-tiny"
    cfg = load_config(ExtractConfig, None, {
        "model": str(tiny_bert_dir), "corpus": "sample", "langs": "en,de,fr,zh", "layers": "all",
        "out": str(out), "threads": 1,
    })
    extract(cfg, progress=False)
    return out
