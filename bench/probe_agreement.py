"""Probe solver vs scikit-learn on languages held out from the solver's tuning (issue 20).

The held-out languages are fixed by a rule written down before any result was
seen: the four PUD languages whose ``sha256("crossling-issue20-heldout:" + code)``
sort first (``ar``, ``cs``, ``es``, ``pt`` among the 16 PUD languages of
``runs/pud-e5``). Every decision about the solver's stopping rule and
tolerance is taken on the other twelve (the *tuning* languages); the held-out
ones are measured once, with the setting chosen, and reported separately.

Cells (language, layer) are sampled with a fixed seed (tuning: ``--tune-layers``
random layers per language; held-out: ``--heldout-layers``). Only probes whose
test split has at least ``--min-test`` words are compared (the target's
condition). The scikit-learn side is the baseline of ``bench/bench_probes.py``
(``StandardScaler`` per task, ``LogisticRegression(C=1)`` with its defaults:
lbfgs, ``max_iter=100``, ``tol=1e-4``); its accuracies are cached in
``--cache`` so that several solver settings can be compared without refitting it.

Usage::

    python bench/probe_agreement.py --activations /work/shared-runs/pud-e5 --group tuning \\
        --tols 1e-3,3e-4 --cache docs/bench-probes-agreement-cache.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probes.extraction.store import ActivationStore  # noqa: E402
from probes.train import TrainConfig, _local_y, _prepare  # noqa: E402

SALT = "crossling-issue20-heldout:"


def heldout_languages(langs: list[str], k: int = 4) -> list[str]:
    """The ``k`` languages held out from tuning: the first by ``sha256(SALT + code)``."""
    return sorted(sorted(langs, key=lambda c: hashlib.sha256((SALT + c).encode()).hexdigest())[:k])


def sampled_cells(store: ActivationStore, group: str, tune_layers: int, heldout_layers: int,
                  seed: int) -> list[tuple[str, int]]:
    """The (language, layer) cells of ``group`` (``tuning`` or ``heldout``), fixed by ``seed``."""
    held = heldout_languages(store.languages)
    langs = held if group == "heldout" else [l for l in store.languages if l not in held]
    k = heldout_layers if group == "heldout" else tune_layers
    rng = np.random.default_rng(seed + (1 if group == "heldout" else 0))
    return [(lang, int(layer)) for lang in langs
            for layer in sorted(rng.choice(store.layers, k, replace=False))]


def sklearn_cell(store: ActivationStore, ld, lang: str, layer: int, names: list[str], min_test: int,
                 C: float) -> list[dict]:
    """scikit-learn's accuracy on every probe of the cell with >= ``min_test`` test words."""
    import warnings

    from sklearn.linear_model import LogisticRegression

    from probes.probing import Standardizer

    X = np.asarray(store.words(lang, layer), dtype=np.float32)
    tr, te = ld.rows(0), ld.rows(2)
    out = []
    for n in names:
        td = ld.tasks[n]
        if not td.eligible:
            continue
        ytr, yte = _local_y(td, td.y[tr]), _local_y(td, td.y[te])
        mtr, mte = ytr >= 0, yte != -1
        if int(mte.sum()) < min_test:
            continue
        t0 = time.perf_counter()
        std = Standardizer(X[tr][mtr])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = LogisticRegression(C=C, max_iter=100, tol=1e-4).fit(std.transform(X[tr][mtr]), ytr[mtr])
        pred = clf.predict(std.transform(X[te][mte]))
        out.append({"lang": lang, "layer": layer, "task": n, "n_test": int(mte.sum()),
                    "sklearn": float((pred == yte[mte]).mean()), "sklearn_n_iter": int(np.max(clf.n_iter_)),
                    "sklearn_seconds": round(time.perf_counter() - t0, 2)})
    return out


def suite_sweep(store: ActivationStore, tasks: list[str], by_lang: dict[str, list[int]],
                settings: list[tuple[float, int]]) -> dict[tuple[float, int], tuple[pd.DataFrame, float]]:
    """The suite's in-language test accuracies on the cells for each ``(tol, max_iter)``, and its
    seconds per setting (labels and features prepared once per cell, as in a grid run)."""
    from dataclasses import replace

    from probes.probing._threads import _single_blas
    from probes.train import COLUMNS, _cell_input, _lang_cell

    out: dict[tuple[float, int], tuple[list, float]] = {s: ([], 0.0) for s in settings}
    for lang, layers in by_lang.items():
        cfg = TrainConfig(activations=str(store.path), tasks=tasks, langs=[lang],
                          figures=False)
        lds, objs, _, _ = _prepare(store, [lang], cfg)
        clf = [t.task_name for t in objs if t.level == "word" and t.kind == "classification"]
        for layer in layers:
            with _single_blas():
                inp = _cell_input(store, lds[lang], layer, lambda: True)
                for tol, mi in settings:
                    t0 = time.perf_counter()
                    rows, _, _ = _lang_cell(store, replace(cfg, tol=tol, max_iter=mi), lds[lang], layer,
                                            {"classification": clf}, inp)
                    rows_, secs = out[(tol, mi)]
                    out[(tol, mi)] = (rows_ + rows, secs + time.perf_counter() - t0)
                    print(f"  suite {lang} L{layer} tol={tol:g} max_iter={mi}: {time.perf_counter() - t0:.1f}s",
                          flush=True)
    res = {}
    for key, (rows, secs) in out.items():
        df = pd.DataFrame(rows, columns=list(COLUMNS))
        df = df[(df.probe == "linear") & (df.metric == "accuracy")].rename(columns={"value": "suite"})
        res[key] = (df[["lang", "layer", "task", "n_test", "suite"]].reset_index(drop=True), secs)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activations", default="runs/pud-e5")
    ap.add_argument("--group", choices=["tuning", "heldout"], required=True)
    ap.add_argument("--tasks", default="upos,deprel,morph:all")
    ap.add_argument("--tune-layers", type=int, default=1)
    ap.add_argument("--heldout-layers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--min-test", type=int, default=300)
    ap.add_argument("--tols", default="", help="comma list of solver tolerances to compare (empty: baseline only)")
    ap.add_argument("--max-iters", default="", help="comma list of max_iter, one per tol (default 100)")
    ap.add_argument("--cache", required=True, help="JSON of scikit-learn accuracies (read and extended)")
    ap.add_argument("--out", default="", help="JSON of the comparison")
    ap.add_argument("--reference-tol", type=float, default=0.0,
                    help="compare with the suite at this tolerance instead of scikit-learn (tuning without sklearn)")
    ap.add_argument("--reference-max-iter", type=int, default=1000)
    ap.add_argument("--langs", default="", help="only these languages of the group (a smaller sample)")
    ap.add_argument("--no-sklearn", action="store_true", help="compare only the cells already in --cache")
    args = ap.parse_args()

    store = ActivationStore(args.activations)
    cells = sampled_cells(store, args.group, args.tune_layers, args.heldout_layers, args.seed)
    if args.langs:
        cells = [c for c in cells if c[0] in args.langs.split(",")]
    cache_p = Path(args.cache)
    cache = json.loads(cache_p.read_text()) if cache_p.is_file() else {"rows": [], "cells": []}
    have = {tuple(c) for c in cache["cells"]}
    print(f"{args.group}: {len(cells)} cells {cells}", flush=True)
    by_lang: dict[str, list[int]] = {}
    for lang, layer in cells:
        by_lang.setdefault(lang, []).append(layer)
    base = TrainConfig(activations=args.activations, tasks=args.tasks.split(","), figures=False)
    # one layer of every language before the next layer of any (a run cut short still covers every language)
    order = sorted(cells, key=lambda c: (by_lang[c[0]].index(c[1]), c[0]))
    lds_of: dict = {}
    for lang, layer in order:
        if (lang, layer) in have or args.no_sklearn:
            continue
        if lang not in lds_of:
            one = TrainConfig(activations=args.activations, tasks=base.tasks, langs=[lang], figures=False)
            lds, objs, _, _ = _prepare(store, [lang], one)
            names = [t.task_name for t in objs if t.level == "word" and t.kind == "classification"]
            lds_of[lang] = (lds[lang], names)
        ld, names = lds_of[lang]
        t0 = time.perf_counter()
        rows = sklearn_cell(store, ld, lang, layer, names, args.min_test, base.C[0])
        cache["rows"] += rows
        cache["cells"].append([lang, layer])
        cache_p.write_text(json.dumps(cache, indent=1) + "\n")
        print(f"sklearn {lang} L{layer}: {len(rows)} probes in {time.perf_counter() - t0:.1f}s", flush=True)
    sk = pd.DataFrame(cache["rows"], columns=["lang", "layer", "task", "n_test", "sklearn", "sklearn_n_iter",
                                              "sklearn_seconds"])
    sk = sk[sk.set_index(["lang", "layer"]).index.isin(cells)]
    results = []
    tols = [float(t) for t in args.tols.split(",") if t]
    iters = [int(m) for m in args.max_iters.split(",") if m] or [100] * len(tols)
    ref = None
    settings = list(zip(tols, iters))
    rkey = (args.reference_tol, args.reference_max_iter)
    sweep = suite_sweep(store, base.tasks, by_lang, settings + ([rkey] if args.reference_tol else []))
    if args.reference_tol:  # the suite itself, converged: a reference that costs no scikit-learn fit
        ref = sweep[rkey][0]
        ref = ref[ref.n_test >= args.min_test].rename(columns={"suite": "reference"})
    for tol, mi in settings:
        suite, secs = sweep[(tol, mi)]
        if ref is not None:
            m = ref.merge(suite.drop(columns="n_test"), on=["lang", "layer", "task"])
            d = (m.suite - m.reference) * 100
            versus = f"suite tol={args.reference_tol:g} max_iter={args.reference_max_iter}"
        else:
            m = sk.merge(suite.drop(columns="n_test"), on=["lang", "layer", "task"])
            d = (m.suite - m.sklearn) * 100
            versus = "sklearn LogisticRegression defaults"
        res = {"group": args.group, "versus": versus, "tol": tol, "max_iter": mi, "n_cells": len(set(zip(m.lang, m.layer))),
               "n_probes": len(m), "suite_seconds": round(secs, 1),
               "mean_abs_diff_points": round(float(d.abs().mean()), 3),
               "max_abs_diff_points": round(float(d.abs().max()), 3),
               "mean_signed_diff_points": round(float(d.mean()), 3),
               "n_above_1.5": int((d.abs() > 1.5).sum()),
               "per_lang_mean_abs": {k: round(float(v), 3) for k, v in d.abs().groupby(m.lang).mean().items()},
               "worst": m.assign(diff=d.round(2)).reindex(d.abs().sort_values(ascending=False).index)
               .head(5)[["lang", "layer", "task", "n_test", "diff"]].to_dict("records")}
        results.append(res)
        print(json.dumps(res), flush=True)
    if args.out:
        prev = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else []
        Path(args.out).write_text(json.dumps(prev + results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
