"""Layer numbering, pooling, the activation store and resumable extraction on tiny random models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from probes.extraction.encode import tokenize_sentences
from crossling.errors import ConfigError, LockError, ModelError, StoreError
from probes.extract import extract_sentences, main
from crossling.layers import LayerCapture, layer_names, parse_layers
from probes.models import load_model
from probes.extraction.store import ActivationStore
from crossling.types import Sentence, Word

REPO = Path(__file__).resolve().parents[2]


def mk(sid: str, lang: str, words: list[str], sep: str = " ") -> Sentence:
    text, ws = "", []
    for i, w in enumerate(words):
        if i:
            text += sep
        ws.append(Word(id=i + 1, form=w, span=(len(text), len(text) + len(w)), upos="NOUN",
                       head=0 if i == 0 else 1, deprel="root" if i == 0 else "dep", feats={"Number": "Sing"}))
        text += w
    return Sentence(sid, lang, text, ws)


GROUPS = {
    "en": [mk("s1", "en", "The cat sleeps .".split()),
           mk("s2", "en", "Antidisestablishmentarianism is unbelievably long".split()),
           mk("s3", "en", ["Hello"])],
    "zh": [mk("s1", "zh", ["猫", "在", "睡觉", "。"], sep=""),
           mk("s2", "zh", ["非常", "长", "的", "词"], sep=""),
           mk("s3", "zh", ["你好"], sep="")],
}


@pytest.fixture(scope="module")
def bert(tiny_bert_dir):
    return load_model(str(tiny_bert_dir))


@pytest.fixture(scope="module")
def mt5(tiny_mt5_dir):
    return load_model(str(tiny_mt5_dir))


def test_golden_layer_names(bert, mt5):
    assert layer_names(bert) == ["embeddings", "encoder.layer.0", "encoder.layer.1"]
    assert layer_names(mt5) == ["embeddings", "encoder.block.0", "encoder.block.1+final_layer_norm"]
    assert layer_names(mt5, "all") == ["embeddings+final_layer_norm", "encoder.block.0+final_layer_norm",
                                       "encoder.block.1+final_layer_norm"]
    assert layer_names(mt5, "none") == ["embeddings", "encoder.block.0", "encoder.block.1"]
    assert bert.arch == "bert" and mt5.arch == "t5" and bert.num_layers == 2 and mt5.num_layers == 2


def test_mt5_loads_encoder_only(mt5):
    names = [n for n, _ in mt5.model.named_parameters()]
    assert names and not any("decoder" in n for n in names)


@pytest.mark.parametrize("which", ["bert", "mt5"])
def test_capture_matches_hf_hidden_states(which, bert, mt5):
    lm = bert if which == "bert" else mt5
    enc = lm.tokenizer(["Hello world, how are you?", "Die Katze"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        ref = lm.model(**enc, output_hidden_states=True)
        got = LayerCapture(lm, [0, 1, 2]).run(**enc)
    assert len(ref.hidden_states) == 3
    for i in range(3):
        torch.testing.assert_close(got[i], ref.hidden_states[i])
    torch.testing.assert_close(got[2], ref.last_hidden_state)


def test_final_norm_all_applies_norm(mt5):
    enc = mt5.tokenizer(["Hello world"], return_tensors="pt")
    with torch.inference_mode():
        raw = LayerCapture(mt5, [1], final_norm="none").run(**enc)[1]
        normed = LayerCapture(mt5, [1], final_norm="all").run(**enc)[1]
        torch.testing.assert_close(normed, mt5.model.encoder.final_layer_norm(raw))


def test_parse_layers():
    assert parse_layers("all", 12) == list(range(13))
    assert parse_layers("0,6,12", 12) == [0, 6, 12]
    assert parse_layers("-1", 12) == [12]
    assert parse_layers("2-4", 12) == [2, 3, 4]
    with pytest.raises(ConfigError, match="out of range"):
        parse_layers("13", 12)
    with pytest.raises(ConfigError, match="Bad layer"):
        parse_layers("six", 12)


@pytest.mark.parametrize("pool", ["mean", "first", "last"])
def test_pooling_multi_piece_words(bert, pool, tmp_path):
    s = GROUPS["en"][1]  # long words split into many pieces
    toks = tokenize_sentences(bert.tokenizer, [s], max_length=64)[0]
    assert max(len(t) for t in toks.word_tokens) >= 3
    st = extract_sentences(bert, {"en": [s]}, tmp_path / pool, pool=pool, progress=False)
    enc = bert.tokenizer([s.text], return_tensors="pt")
    with torch.inference_mode():
        hs = bert.model(**enc, output_hidden_states=True).hidden_states
    for layer in (0, 2):
        h = hs[layer][0].numpy()
        X = st.words("en", layer)
        for w, tk in enumerate(toks.word_tokens):
            want = {"mean": h[tk].mean(0), "first": h[tk.min()], "last": h[tk.max()]}[pool]
            np.testing.assert_allclose(X[w], want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(st.sentences("en", layer)[0], X.mean(0), rtol=1e-5, atol=1e-5)


def test_words_cover_their_spans_without_spaces(bert):
    s = GROUPS["zh"][0]
    t = tokenize_sentences(bert.tokenizer, [s])[0]
    enc = bert.tokenizer(s.text, return_offsets_mapping=True)
    for w, tk in zip(s.words, t.word_tokens):
        assert tk.size >= 1
        covered = "".join(s.text[max(a, w.span[0]):min(b, w.span[1])] for a, b in
                          (enc["offset_mapping"][j] for j in tk))
        assert covered == w.form


def test_store_layout_and_index(bert, tmp_path):
    st = extract_sentences(bert, GROUPS, tmp_path / "st", progress=False)
    assert st.groups == ["en", "zh"] and st.layers == [0, 1, 2] and st.dim == 32
    assert st.model == bert.name
    wi = st.word_index("en")
    assert list(wi.columns[:4]) == ["row", "sentence_id", "word_index", "form"]
    assert len(wi) == st.words("en", 1).shape[0] == 9
    assert wi["feats"].iloc[0] == "Number=Sing" and wi["head"].iloc[0] == 0
    assert st.sentence_index("zh")["sentence_id"].tolist() == ["s1", "s2", "s3"]
    mf = json.loads((tmp_path / "st" / "manifest.json").read_text())
    for key in ("model", "tokenizer", "prefix", "pooling", "dtype", "layers", "corpus", "code_version",
                "config", "checksums", "layer_names"):
        assert key in mf
    assert not (tmp_path / "st" / ".work").exists()
    assert list(st.summary.columns) == ["language", "sentences", "words", "tokens", "truncated", "seconds"]


def test_prefix_shifts_spans(bert, tmp_path):
    a = extract_sentences(bert, {"en": GROUPS["en"]}, tmp_path / "p", prefix="query: ", progress=False)
    t = tokenize_sentences(bert.tokenizer, GROUPS["en"], prefix="query: ")
    toks = bert.tokenizer.convert_ids_to_tokens(t[0].ids[t[0].word_tokens[0]])
    assert "".join(toks).replace("\u2581", "") == "The"
    assert a.manifest["prefix"] == "query: "


def test_rerun_does_no_model_work(bert, tmp_path, monkeypatch):
    out = tmp_path / "again"
    extract_sentences(str(bert.name), GROUPS, out, progress=False)
    import probes.models as pm

    def boom(*a, **k):
        raise AssertionError("model loaded on a finished store")

    monkeypatch.setattr(pm, "load_model", boom)
    st = extract_sentences(str(bert.name), GROUPS, out, progress=False)
    assert st.groups == ["en", "zh"]
    with pytest.raises(AssertionError, match="model loaded"):
        extract_sentences(str(bert.name), GROUPS, out, progress=False, overwrite=True)


def test_different_config_refuses_without_overwrite(bert, tmp_path):
    extract_sentences(bert, GROUPS, tmp_path / "c", progress=False)
    with pytest.raises(StoreError, match="--overwrite"):
        extract_sentences(bert, GROUPS, tmp_path / "c", pool="first", progress=False)
    st = extract_sentences(bert, GROUPS, tmp_path / "c", pool="first", progress=False, overwrite=True)
    assert st.manifest["pooling"] == "first"


def test_truncation_is_reported(bert, tmp_path):
    long = mk("long", "en", ("word " * 80).split())
    st = extract_sentences(bert, {"en": [long, GROUPS["en"][0]]}, tmp_path / "t", max_length=16, progress=False)
    si = st.sentence_index("en")
    assert si["truncated"].tolist() == [True, False]
    wi = st.word_index("en")
    assert (~wi["in_window"]).sum() > 0
    assert st.manifest["truncated"]["en"] == ["long"]
    assert np.all(st.words("en", 1)[~wi["in_window"].to_numpy()] == 0)


def test_nan_is_an_error_naming_the_sentence(tiny_bert_dir, tmp_path):
    lm = load_model(str(tiny_bert_dir))
    with torch.no_grad():
        lm.model.encoder.layer[0].output.dense.bias[0] = float("nan")
    with pytest.raises(ModelError, match="s1"):
        extract_sentences(lm, {"en": GROUPS["en"][:1]}, tmp_path / "nan", progress=False)
    assert not (tmp_path / "nan" / "manifest.json").exists()


def test_corrupt_array_detected(bert, tmp_path):
    extract_sentences(bert, GROUPS, tmp_path / "x", progress=False)
    f = tmp_path / "x" / "arrays" / "en" / "words.L1.npy"
    b = bytearray(f.read_bytes())
    b[-3] ^= 0xFF
    f.write_bytes(bytes(b))
    with pytest.raises(StoreError, match="words.L1.npy"):
        ActivationStore(tmp_path / "x").words("en", 1)
    with pytest.raises(ConfigError, match="Layer 7"):
        ActivationStore(tmp_path / "x").words("en", 7)


def test_live_lock_refuses(bert, tmp_path):
    out = tmp_path / "locked"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".lock").write_text(json.dumps({"pid": holder.pid}))
        with pytest.raises(LockError, match=str(holder.pid)):
            extract_sentences(bert, GROUPS, out, progress=False)
    finally:
        holder.kill()
        holder.wait()
    # a dead owner's lock is taken over
    st = extract_sentences(bert, GROUPS, out, progress=False)
    assert st.groups == ["en", "zh"]


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from probes.extract import extract_sentences
    from probes.models import load_model
    from crossling.types import Sentence, Word
    words = "the quick brown fox jumps over the lazy dog again and again".split()
    groups = {}
    for lang in ("en", "de"):
        sents = []
        for i in range(60):
            ws = words[: 3 + i % 9]
            text, ww = "", []
            for j, w in enumerate(ws):
                if j: text += " "
                ww.append(Word(id=j + 1, form=w, span=(len(text), len(text) + len(w))))
                text += w
            sents.append(Sentence(f"{lang}-{i}", lang, text + f" {i}", ww))
        groups[lang] = sents
    extract_sentences(load_model(sys.argv[1]), groups, sys.argv[2], shard_size=8, max_tokens=64,
                      progress=False)
""")


def test_sigkill_resume_identical(tiny_bert_dir, tmp_path):
    script = tmp_path / "job.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    ref = tmp_path / "ref"
    subprocess.run([sys.executable, str(script), str(tiny_bert_dir), str(ref)], check=True, env=env)
    out = tmp_path / "killed"
    kills = 0
    for target_shards in (2, 9):  # kill inside the first language, then inside the second
        p = subprocess.Popen([sys.executable, str(script), str(tiny_bert_dir), str(out)], env=env)
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:
            n = len(list((out / ".work").glob("*/shard-*"))) + 8 * len(list((out / ".work").glob("*/DONE.json")))
            if n >= target_shards:
                p.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.02)
        p.wait()
    assert kills >= 1
    assert not (out / "manifest.json").exists() or kills < 2
    subprocess.run([sys.executable, str(script), str(tiny_bert_dir), str(out)], check=True, env=env)
    a, b = ActivationStore(ref), ActivationStore(out)
    for g in ("en", "de"):
        for layer in a.layers:
            np.testing.assert_array_equal(a.words(g, layer), b.words(g, layer))
            np.testing.assert_array_equal(a.sentences(g, layer), b.sentences(g, layer))
        assert a.word_index(g).equals(b.word_index(g))
    assert not list(out.rglob("*.tmp*"))


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert "--layer" in capsys.readouterr().out


def test_cli_bad_key_is_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("modle: x\n")
    r = subprocess.run([sys.executable, "-m", "probes.extract", "--config", str(cfg)], capture_output=True,
                       text=True, cwd=REPO)
    assert r.returncode == 2
    assert "Did you mean 'model'" in r.stderr and "Traceback" not in r.stderr


def test_cli_real_small_run(tiny_mt5_dir, tmp_path):
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "probes.extract", "--model", str(tiny_mt5_dir), "--corpus", "sample",
           "--langs", "en,zh,ar", "--layer", "all", "--limit", "5", "--out", str(out), "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert str(out) in r.stdout and "language" in r.stdout and "truncated" in r.stdout
    st = ActivationStore(out)
    assert st.groups == ["ar", "en", "zh"] and st.layers == [0, 1, 2]
    assert st.manifest["config"]["corpus_is_demo"] is True
    wi = st.word_index("en")
    assert wi["upos"].notna().all() and len(wi) == st.words("en", 2).shape[0]
    r2 = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert r2.returncode == 0 and "Reused finished store" in r2.stdout


def test_cli_unknown_language_and_corpus(tmp_path):
    for args, needle in ((["--langs", "xx-bogus"], "xx-bogus"), (["--corpus", "pudd"], "pud")):
        r = subprocess.run([sys.executable, "-m", "probes.extract", "--out", str(tmp_path / "o"), *args],
                           capture_output=True, text=True, cwd=REPO)
        assert r.returncode == 2, r.stderr
        assert needle in r.stderr and "Traceback" not in r.stderr
