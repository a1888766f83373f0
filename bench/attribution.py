"""Benchmark of unit attribution: the grid on a real store, and the two shortcuts it relies on.

1. ``ablation``: the causal check's linear fast path (update the logits by the
   ablated units' contribution) against re-predicting ablated copies of the
   features (the naive way), on the real shapes of a PUD cell (4000 test words,
   384 units, 17 classes, k = 20, 51 ablations per language pair); ratio
   naive / fast, answers checked equal.
2. ``overlap``: permutation tests with the permutations drawn once and reused
   for every language pair against drawing them per pair (ratio).
3. ``grid`` (with ``--store``): wall time of
   :func:`transfer.attribute.unit_attribution_grid` over the store's languages
   and ``--layers``, per (layer, task) and in total, and the overlap summary.

Writes ``bench.json`` and ``bench.md`` to ``--out``.

Example::

    python bench/attribution.py --store runs/pud-e5 --layers 0,4,8,12 --out runs/bench-attribution
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_ablation(n: int = 4000, d: int = 384, K: int = 17, k: int = 20, n_random: int = 50) -> dict:
    from transfer.attribute import FittedProbe, ablation_test

    rng = np.random.default_rng(0)
    W = rng.standard_normal((d, K)).astype(np.float32) * 0.1
    probe = FittedProbe("linear", np.zeros(d, np.float32), np.ones(d, np.float32),
                        {"W": W, "b": np.zeros(K, np.float32)}, [str(i) for i in range(K)])
    Z = rng.standard_normal((n, d)).astype(np.float32)
    y = probe.predict(Z + 0.5 * rng.standard_normal((n, d)).astype(np.float32))
    units = np.arange(k)

    def naive() -> dict:
        fill = probe.ablation_values("mean")
        base = float((probe.predict(Z) == y).mean())
        out = []
        r = np.random.default_rng(0)
        for u in [units] + [r.choice(d, k, replace=False) for _ in range(n_random)]:
            Za = Z.copy()
            Za[:, u] = fill[u]
            out.append(base - float((probe.predict(Za) == y).mean()))
        return {"drop": out[0], "null_mean": float(np.mean(out[1:]))}

    def fast() -> dict:
        return ablation_test(probe, Z, y, units, n_random=n_random, seed=0)

    a, b = fast(), naive()
    if not (np.isclose(a["drop"], b["drop"]) and np.isclose(a["null_mean"], b["null_mean"])):
        raise SystemExit(f"fast and naive ablation disagree: {a} vs {b}")
    t_fast, t_naive = _best(fast), _best(naive)
    return {"fast_s": t_fast, "naive_s": t_naive, "ratio": t_naive / t_fast, "shape": [n, d, K, k, n_random]}


def bench_overlap(d: int = 384, n_pairs: int = 36, n_perm: int = 1000) -> dict:
    from transfer.attribution import _stats as U

    rng = np.random.default_rng(0)
    vecs = [rng.random(d) for _ in range(9)]
    pairs = [(i, j) for i in range(9) for j in range(i + 1, 9)][:n_pairs]

    def cached() -> None:
        for i, j in pairs:
            U.overlap_tests(vecs[i], vecs[j], 20, n_perm=n_perm, seed=0)

    def uncached() -> None:
        for i, j in pairs:
            U._permutations.cache_clear()
            U.overlap_tests(vecs[i], vecs[j], 20, n_perm=n_perm, seed=0)

    t_c, t_u = _best(cached), _best(uncached)
    return {"cached_s": t_c, "per_pair_s": t_u, "ratio": t_u / t_c, "n_pairs": n_pairs, "n_perm": n_perm}


def bench_grid(store: str, layers: str, tasks: list[str], methods: list[str], k: list[int]) -> dict:
    from transfer.attribute import UnitAttributionConfig, unit_attribution_grid

    cfg = UnitAttributionConfig(activations=store, layers=layers, tasks=tasks, methods=methods, k=k, figures=False)
    cfg.validate()
    t0 = time.perf_counter()
    tables = unit_attribution_grid(cfg, progress=True)
    secs = time.perf_counter() - t0
    ov, ab = tables["overlap"], tables["ablation"]
    summary = (ov.groupby(["task", "method", "metric", "k", "layer"])
               .agg(mean=("value", "mean"), null=("null_mean", "mean"), sig=("p_adj", lambda p: float((p < 0.05).mean())))
               .reset_index())
    drops = ab[ab["metric"] == "ablation_drop"].assign(same=lambda d: d["lang_a"] == d["lang_b"])
    abl = (drops.groupby(["task", "method", "k", "layer", "same"])
           .agg(drop=("value", "mean"), random=("null_mean", "mean"), sig=("p_adj", lambda p: float((p < 0.05).mean())))
           .reset_index())
    acc = tables["probes"].query("metric == 'refit_accuracy'").groupby(["task", "layer"])["value"].mean()
    n_cells = len(tables["probes"].query("metric == 'refit_accuracy'"))
    return {"seconds": secs, "cells": n_cells, "seconds_per_cell": secs / max(1, n_cells),
            "overlap": summary.to_dict("records"), "ablation": abl.to_dict("records"),
            "accuracy": {f"{t}@L{l}": v for (t, l), v in acc.items()}, "model": str(ov["model"].iloc[0]) if len(ov) else ""}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", help="activation store for the grid timing (optional)")
    p.add_argument("--layers", default="0,4,8,12")
    p.add_argument("--tasks", default="upos")
    p.add_argument("--methods", default="integrated_gradients,feature_ablation")
    p.add_argument("--k", default="20")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/bench-attribution")
    a = p.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    res: dict = {"machine": {"python": platform.python_version(), "torch": torch.__version__,
                             "threads": a.threads, "cpu": platform.processor() or platform.machine()}}
    res["ablation"] = bench_ablation()
    res["overlap"] = bench_overlap()
    if a.store:
        res["grid"] = bench_grid(a.store, a.layers, a.tasks.split(","), a.methods.split(","),
                                 [int(x) for x in a.k.split(",")])
        import pandas as pd

        tables = {n: pd.DataFrame(res["grid"][n]) for n in ("overlap", "ablation")}
        for n, df in tables.items():
            df.to_csv(out / f"{n}-summary.csv", index=False)
    (out / "bench.json").write_text(json.dumps(res, indent=1, default=float))
    lines = ["# Attribution benchmark", "",
             (f"- ablation (4000 words x 384 units, 51 ablations): fast {res['ablation']['fast_s']:.3f}s, "
              f"naive {res['ablation']['naive_s']:.3f}s, ratio {res['ablation']['ratio']:.1f}x"),
             (f"- overlap tests (36 pairs, 1000 permutations): cached {res['overlap']['cached_s']:.3f}s, "
              f"per pair {res['overlap']['per_pair_s']:.3f}s, ratio {res['overlap']['ratio']:.1f}x")]
    if "grid" in res:
        g = res["grid"]
        lines.append(f"- grid on {a.store} ({g['model']}), layers {a.layers}, tasks {a.tasks}, methods {a.methods}: "
                     f"{g['seconds']:.0f}s for {g['cells']} (layer, task, language) cells "
                     f"({g['seconds_per_cell']:.1f}s per cell)")
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
