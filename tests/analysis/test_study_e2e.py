"""The mT5 study config runs end to end on an mT5-architecture checkpoint (real data, tiny model).

``configs/study-mt5-small.yaml`` is meant for users who can download
``google/mt5-small``. Its weights cannot be downloaded here, so this test runs
the *same config file* with only the model replaced by a tiny random mT5
checkpoint directory (same architecture class, same tokenizer family), a
random-initialised control of the same tiny shape, the transfer head on the
last layer (the config's layer 8 is mT5-small's last block; the tiny model has
two), and sizes cut down so the whole pipeline (extract, align, probes, transfer, attribution, typology,
report, results) finishes in minutes. Every stage runs as the real CLI.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from crossling.paths import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_mt5_study_config_runs_end_to_end(tiny_mt5_dir, data_dir, tmp_path):
    from analysis.study import StudyConfig, main

    cfg = yaml.safe_load((REPO_ROOT / "configs" / "study-mt5-small.yaml").read_text())
    out = tmp_path / "study"
    cfg.update(
        out=str(out),
        model=str(tiny_mt5_dir),
        pud_langs=["de", "en", "fr"],
        limit=40,
        n_permutations=9,
        n_bootstrap=9,
        probe_args=["--control", "--mdl", "--cross-lingual", "--min-examples", "20"],
        transfer_args=["--langs", "de,en,fr", "--tasks", "pos,ner", "--shots", "0,10", "--seeds", "0", "--layer", "last",
                       "--set", "train_cap=40", "--set", "test_cap=40",
                       "--set", f"features_dir={tmp_path / 'features'}"],
        attribution_layers="0,2",
        attribution_tasks="morph:Number",
        attribution_args=["--langs", "de,en,fr", "--n-perm", "20", "--n-random", "5", "--min-examples", "20"],
        report_args=["--permutations", "99", "--no-mixed"],
        results_md=str(tmp_path / "RESULTS.md"),
        results_figures=str(tmp_path / "results"),
    )
    # the control: the same tiny architecture with other random weights, saved like the model
    import torch
    from transformers import AutoTokenizer, MT5Config, MT5EncoderModel

    torch.manual_seed(1)
    ctrl = tmp_path / "tiny-mt5-control"
    MT5EncoderModel(MT5Config.from_pretrained(tiny_mt5_dir)).save_pretrained(ctrl)
    AutoTokenizer.from_pretrained(tiny_mt5_dir).save_pretrained(ctrl)
    cfg["control_model"] = str(ctrl)
    StudyConfig(**cfg).validate()
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code = main(["--config", str(path), "--data-dir", str(data_dir)])
    assert code == 0, (out / "logs").as_posix()
    stages = pd.read_csv(out / "stages.csv")
    assert set(stages["stage"]) >= {"extract", "align", "probes", "transfer", "attribution", "typology", "report"}
    assert (stages["exit_code"] == 0).all()
    probes = pd.read_parquet(out / "probes" / "probes.parquet")
    assert probes["model"].nunique() == 2  # the model and its random control
    assert (out / "report.html").stat().st_size > 10_000
    md = (tmp_path / "RESULTS.md").read_text()
    assert "Control" in md and str(tiny_mt5_dir) in md
