"""Head regime on real extracted features, and the finetune regime, with a tiny random model (CPU)."""

import pandas as pd

from crossling.config import load_config
from probes.extraction.store import ActivationStore
from transfer.run import TABLE_COLUMNS, TransferConfig, run


def test_head_run_on_tiny_model_produces_complete_table(tmp_path, tiny_bert_dir, xtreme_dir):
    cfg = load_config(TransferConfig, None, {
        "model": str(tiny_bert_dir), "tasks": ["pos", "ner", "nli", "paws"], "langs": ["en", "de", "fr"],
        "shots": [0, 3, 8], "seeds": [0, 1], "layer": "last", "data_dir": str(xtreme_dir),
        "features_dir": str(tmp_path / "feats"), "out": str(tmp_path / "run"), "backend": "serial",
        "progress": False, "train_cap": 10, "test_cap": 10, "max_length": 64, "store_dtype": "float32",
    })
    logs = []
    df = run(cfg, log=logs.append)
    assert list(df.columns[: len(TABLE_COLUMNS)]) == TABLE_COLUMNS
    n_cells = 4 * 9 * 3 * 2
    assert df["cell"].nunique() == n_cells
    assert len(df) == (n_cells // 4) * (1 + 3 + 1 + 1)  # pos, ner (f1, precision, recall), nli, paws
    assert df.attrs["n_failed"] == 0
    assert set(df["model"]) == {str(tiny_bert_dir)}
    assert df["value"].between(0, 1).all()
    # the pools say where they came from: de/fr POS have no train file
    pos = df[df.task == "pos"]
    assert set(pos[pos.src == "de"]["src_pool"]) == {"dev[train-part]"}
    assert set(pos[pos.src == "en"]["src_pool"]) == {"train"}
    assert set(df[df.task == "nli"]["tgt_pool"]) == {"dev[test-part]"}
    # stores: one per (task, language), groups train/test, pairs pooled into sentence vectors
    stores = sorted((tmp_path / "feats").glob("*/nli-de-*"))
    st = ActivationStore([p for p in stores if p.is_dir()][0])
    assert st.groups == ["test", "train"] and st.layers == [0, 1, 2]
    assert st.sentences("train", 2).shape[0] == len(st.sentence_index("train"))
    # a second run reuses the stores without loading the model and recomputes nothing
    logs2 = []
    df2 = run(cfg, log=logs2.append)
    assert not any("loading" in m for m in logs2)
    assert any(f"{n_cells} already done" in m for m in logs2)
    pd.testing.assert_frame_equal(df, df2)


def test_finetune_regime_on_tiny_model(tmp_path, tiny_bert_dir, xtreme_dir):
    cfg = load_config(TransferConfig, None, {
        "model": str(tiny_bert_dir), "tasks": ["ner", "nli"], "langs": ["en", "de"], "shots": [0, 4],
        "seeds": [0], "regime": "finetune", "data_dir": str(xtreme_dir), "out": str(tmp_path / "ft"),
        "backend": "serial", "progress": False, "figures": False, "train_cap": 8, "test_cap": 6,
        "finetune": {"epochs": 1, "fewshot_epochs": 1, "batch_size": 4, "max_length": 48, "device": "cpu",
                     "min_steps": 2, "fewshot_min_steps": 1, "eval_every": 2},
    })
    df = run(cfg, log=lambda m: None)
    assert df.attrs["n_failed"] == 0
    assert df["cell"].nunique() == 2 * 4 * 2
    assert set(df["regime"]) == {"finetune"} and set(df["layer"]) == {"last"}
    assert set(df[df.task == "ner"]["metric"]) == {"f1", "precision", "recall"}
    assert set(df[df.k == 4]["n_train"]) == {8 + 4}


def test_finetune_actually_updates_the_encoder(tiny_bert_dir, xtreme_dir):
    import torch

    from probes.models import load_model
    from transfer.regimes.finetune import TaskModel
    from transfer.tasks import get_task

    loaded = load_model(str(tiny_bert_dir))
    task = get_task("pos")
    m = TaskModel(loaded.model, loaded.tokenizer, task, device="cpu", max_length=48, seed=0)
    before = {k: v.detach().clone() for k, v in m.encoder.named_parameters()}
    sents = task.pools(xtreme_dir, "en", pool_cap=8).train
    m.train(sents, epochs=1, lr=1e-3, head_lr=1e-2, batch_size=4, weight_decay=0.0, seed=0)
    changed = sum(not torch.equal(before[k], v) for k, v in m.encoder.named_parameters())
    assert changed > 0
    pred = m.predict(sents[:3])
    assert [len(p) for p in pred] == [len(s.words) for s in sents[:3]]
