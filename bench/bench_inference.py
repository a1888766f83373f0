"""Runtime of the transfer explanation with node-permutation inference (issue #15 target: < 2 min).

Builds a study-shaped input (10 languages, 90 ordered pairs, three tasks, the
study's 11 pair-feature names, source/target effects), then times what
``analysis.report`` runs: ``explain_transfer`` for each task and for the
pooled tasks, with OLS and the mixed model, 999 node permutations. It also
times the permutation tests alone (MRQAP coefficients + Freedman-Lane set
tests) against a per-permutation refitting loop (the textbook MRQAP: for every
permutation and coefficient, permute the residual and refit by least squares)
in the same process, so the ratio holds on a loaded machine.

Usage::

    python bench/bench_inference.py [--permutations 999] [--repeat 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd

from analysis.stats._qap import _basis, _resid
from analysis.stats import explain_transfer, permutation_design, qap_coefficients, set_tests

LANGS = ["ar", "de", "en", "es", "fr", "hi", "ru", "tr", "vi", "zh"]
FEATURES = ["lex_swadesh_ldn", "lex_swadesh_ldnd", "log10_tokens_src", "log10_tokens_tgt", "uriel_featural",
            "uriel_genetic", "uriel_geographic", "uriel_inventory", "uriel_morph", "uriel_phonology",
            "uriel_syntax"]


def study_shaped(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(transfer table, tidy pair features) shaped like the study's transfer grid."""
    rng = np.random.default_rng(seed)
    n = len(LANGS)
    lat = rng.normal(size=(n, 4))
    tok = rng.normal(9, 0.7, n)
    frows = []
    for i, a in enumerate(LANGS):
        for j, b in enumerate(LANGS):
            if i == j:
                continue
            for f in FEATURES:
                if f.endswith("_src"):
                    v = tok[i]
                elif f.endswith("_tgt"):
                    v = tok[j]
                else:
                    v = float(np.linalg.norm(lat[i] - lat[j]) + rng.normal(0, 0.3))
                frows.append((a, b, f, v, "sim"))
    feats = pd.DataFrame(frows, columns=["lang_a", "lang_b", "feature", "value", "source"])
    wide = feats.pivot_table(index=["lang_a", "lang_b"], columns="feature", values="value").reset_index()
    rows = []
    for t_i, task in enumerate(("pos", "ner", "nli")):
        a, b = rng.normal(0, 0.05, n), rng.normal(0, 0.05, n)
        base = 0.6 - 0.03 * (wide["uriel_syntax"] - wide["uriel_syntax"].mean()) + 0.1 * t_i
        for seed_ in range(3):
            y = base + wide["lang_a"].map(dict(zip(LANGS, a))) + wide["lang_b"].map(dict(zip(LANGS, b))) \
                + rng.normal(0, 0.02, len(wide))
            for (s, t), v in zip(wide[["lang_a", "lang_b"]].itertuples(index=False), y):
                rows.append(("sim", "head", 8, task, s, t, 0, seed_, "accuracy", float(v), 1000, 1000))
    tr = pd.DataFrame(rows, columns=["model", "regime", "layer", "task", "src", "tgt", "k", "seed", "metric",
                                     "value", "n_train", "n_test"])
    return tr, feats


def _loop_mrqap(y: np.ndarray, X: np.ndarray, maps: np.ndarray, columns) -> np.ndarray:
    """Textbook DSP: for every permutation and coefficient, refit y ~ [X_-k, e_k^pi] by lstsq."""
    out = []
    for k in columns:
        Xo = np.delete(X, k, axis=1)
        e = _resid(_basis(Xo), X[:, k])
        ts = []
        for m in maps:
            Z = np.column_stack([Xo, e[m]])
            beta, *_ = np.linalg.lstsq(Z, y, rcond=None)
            r = y - Z @ beta
            cov = (r @ r) / (len(y) - Z.shape[1]) * np.linalg.inv(Z.T @ Z)
            ts.append(beta[-1] / np.sqrt(cov[-1, -1]))
        out.append(ts)
    return np.asarray(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    tr, fe = study_shaped()
    analyses = [("pos", "pos"), ("ner", "ner"), ("nli", "nli"), ("pooled", ["pos", "ner", "nli"])]

    def full():
        for _, task in analyses:
            explain_transfer(tr, fe, task=task, kinds=("ols", "mixed"), permutations=args.permutations)

    full_s = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        full()
        full_s.append(time.perf_counter() - t0)
    # permutation tests alone, vectorised vs the per-permutation loop, on the pooled design (270 rows)
    res = explain_transfer(tr, fe, task=["pos", "ner", "nli"], kinds=("ols",), permutations=9)
    d = res["design"]
    feats = [f for f in FEATURES if f in d.columns]
    pdz = permutation_design(d, permutations=args.permutations, seed=0)
    t0 = time.perf_counter()
    qap_coefficients(d, feats, design=pdz)
    set_tests(d, features=feats, design=pdz)
    vec_s = time.perf_counter() - t0
    from analysis.stats._inference import _zdesign
    X = _zdesign(pdz.data, feats).to_numpy(float)
    y = pdz.data["score"].to_numpy(float)
    cols = list(range(1, 1 + len(feats)))
    t0 = time.perf_counter()
    loop_t = _loop_mrqap(y, X, pdz.maps, cols)
    loop_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    qap_coefficients(d, feats, design=pdz)
    vec_coef_s = time.perf_counter() - t0
    out = {"permutations": args.permutations, "cpus": os.cpu_count(),
           "full_explanation_s": full_s, "full_explanation_best_s": min(full_s),
           "target_s": 120.0, "met": min(full_s) < 120.0,
           "pooled_perm_tests_vectorised_s": vec_s, "pooled_mrqap_vectorised_s": vec_coef_s,
           "pooled_mrqap_loop_s": loop_s, "speedup_mrqap": loop_s / vec_coef_s,
           "loop_null_shape": list(loop_t.shape)}
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
