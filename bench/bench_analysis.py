"""Speed of the vectorised Mantel permutations against a per-permutation loop, and of the analysis steps.

The Mantel comparison runs both implementations with the same matrices and
the same number of permutations in one process, so the ratio holds on a
loaded machine where absolute times do not. The baseline is the textbook
loop: for each permutation, reindex the matrix and call ``np.corrcoef`` on
its upper triangle. Target: ratio (vectorised / loop) <= 0.5. Wall times of
the other analysis steps on a simulated 20-language table (380 ordered
pairs) are reported for information.

Usage::

    python bench/bench_analysis.py [--langs 20] [--permutations 999] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from analysis.stats import fit_laws
from analysis.stats import mantel
from analysis.stats import best_subsets, fit_mixed, fit_ols, lolo_cv

TARGET_RATIO = 0.5


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _loop_mantel(A: np.ndarray, B: np.ndarray, permutations: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(len(A), 1)
    b = B[iu]
    r = np.corrcoef(A[iu], b)[0, 1]
    hits = 0
    for _ in range(permutations):
        p = rng.permutation(len(A))
        hits += abs(np.corrcoef(A[np.ix_(p, p)][iu], b)[0, 1]) >= abs(r) - 1e-12
    return (1 + hits) / (1 + permutations)


def _pairs(n: int, rng) -> pd.DataFrame:
    langs = [f"l{i}" for i in range(n)]
    d = pd.DataFrame([(s, t) for s in langs for t in langs if s != t], columns=["src", "tgt"])
    for j in range(6):
        d[f"f{j}"] = rng.normal(size=len(d))
    u = dict(zip(langs, rng.normal(0, 0.05, n)))
    d["score"] = 0.5 + 0.1 * d["f0"] - 0.05 * d["f1"] + d["src"].map(u) + rng.normal(0, 0.02, len(d))
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--langs", type=int, default=20)
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.langs
    pts = rng.normal(size=(n, 3))
    A = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    B = A + rng.normal(0, 0.5, (n, n))
    B = (B + B.T) / 2
    np.fill_diagonal(B, 0)
    labels = [f"l{i}" for i in range(n)]
    Adf, Bdf = pd.DataFrame(A, labels, labels), pd.DataFrame(B, labels, labels)
    t_vec = _best(lambda: mantel(Adf, Bdf, permutations=args.permutations), args.repeat)
    t_loop = _best(lambda: _loop_mantel(A, B, args.permutations), args.repeat)
    ratio = t_vec / t_loop
    print(f"mantel {n} langs, {args.permutations} permutations: vectorised {t_vec * 1e3:.1f} ms, "
          f"loop {t_loop * 1e3:.1f} ms, ratio {ratio:.3f} (target <= {TARGET_RATIO})")
    d = _pairs(n, rng)
    feats = [f"f{j}" for j in range(6)]
    steps = {
        "fit_ols (two-way cluster)": lambda: fit_ols(d, feats),
        "fit_mixed (crossed)": lambda: fit_mixed(d, feats),
        "lolo_cv (ols)": lambda: lolo_cv(d, feats),
        "best_subsets (2-4 of 6)": lambda: best_subsets(d, feats),
    }
    k = np.repeat([0, 10, 30, 100, 300, 1000], 3)
    fs = pd.DataFrame({"task": "t", "src": "en", "tgt": np.repeat([f"l{i}" for i in range(n)], len(k)),
                       "k": np.tile(k, n), "value": 0.4 + 0.05 * np.log(np.tile(k, n) + 1)})
    steps[f"fit_laws ({n} targets)"] = lambda: fit_laws(fs)
    print(f"analysis steps on {len(d)} ordered pairs (best of {args.repeat}):")
    for name, fn in steps.items():
        print(f"  {name:<28s} {_best(fn, args.repeat) * 1e3:8.1f} ms")
    ok = ratio <= TARGET_RATIO
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
