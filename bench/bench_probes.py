"""Benchmark: the suite's probe grid vs a loop of scikit-learn LogisticRegression fits.

For every (language, layer, task) cell of a linear-probe grid, the baseline
standardises the training words of that task and fits
``sklearn.linear_model.LogisticRegression(C=C, solver="lbfgs")`` with its own
defaults (``max_iter=100``, ``tol=1e-4``), then scores the test split. The
suite runs :func:`probes.train.train_grid` (all tasks of a language/layer in
one solver call). Reported: the suite's full-grid time; then, language by
language, the suite on that language's whole layer grid and, right after it,
the baseline on ``--baseline-layers`` random layers of the same language
(extrapolated to all layers): both sides see the same machine load, whose
speed drifts here by up to 1.5x over minutes. Ratios: the sum of the
baseline's per-language times over the sum of the suite's (paired), and over
the single full-grid call; the mean / worst absolute test-accuracy difference
(points) on every baseline cell.

Usage::

    python bench/bench_probes.py --activations runs/pud-e5 [--langs en,de,...] [--layers all]
        [--baseline-layers 2] [--out docs/bench-probes.json]

``--baseline-layers 0`` runs the scikit-learn loop on every cell (about 40
minutes for the 16 x 13 PUD grid here).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probes.probing import Standardizer  # noqa: E402
from probes.extraction.store import ActivationStore  # noqa: E402
from probes.train import TrainConfig, _local_y, _prepare, train_grid  # noqa: E402


def sklearn_cell(store: ActivationStore, lds: dict, lang: str, layer: int, names: list[str], cfg: TrainConfig
                 ) -> tuple[dict[str, float], float]:
    """Fit one sklearn LogisticRegression per task on one (language, layer); returns accuracies and seconds."""
    from sklearn.linear_model import LogisticRegression

    ld = lds[lang]
    X = np.asarray(store.words(lang, layer), dtype=np.float32)
    tr, te = ld.rows(0), ld.rows(2)
    out = {}
    t0 = time.perf_counter()
    for n in names:
        td = ld.tasks[n]
        if not td.eligible:
            continue
        ytr = _local_y(td, td.y[tr])
        yte = _local_y(td, td.y[te])
        mtr, mte = ytr >= 0, yte != -1
        # a naive loop: standardise per task on its own training words, as one would with a Pipeline
        std = Standardizer(X[tr][mtr])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # scikit-learn's own defaults for the solver (lbfgs, max_iter=100, tol=1e-4), the suite's C
            clf = LogisticRegression(C=cfg.C[0], max_iter=100, tol=1e-4).fit(std.transform(X[tr][mtr]), ytr[mtr])
        pred = clf.predict(std.transform(X[te][mte]))
        out[n] = float((pred == yte[mte]).mean())
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activations", default="runs/pud-e5")
    ap.add_argument("--langs", default="")
    ap.add_argument("--layers", default="all")
    ap.add_argument("--tasks", default="upos,deprel,morph:all")
    ap.add_argument("--baseline-layers", type=int, default=2,
                    help="scikit-learn runs on this many random layers of each language (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=None,
                    help="the suite's solver tolerance (default: TrainConfig's); scikit-learn keeps its own")
    ap.add_argument("--out", default="")
    args = ap.parse_args()

    store = ActivationStore(args.activations)
    langs = [x for x in args.langs.split(",") if x] or store.languages
    solver = {} if args.tol is None else {"tol": args.tol}
    cfg = TrainConfig(activations=args.activations, tasks=args.tasks.split(","), layers=args.layers, langs=langs,
                      figures=False, **solver)
    cfg.validate()
    # 1. the whole grid in one call, as `python -m probes.train` runs it
    t0 = time.perf_counter()
    df = train_grid(cfg, progress=False)
    t_suite = time.perf_counter() - t0
    suite = df[(df.probe == "linear") & (df.metric == "accuracy") & (df.train_lang == df.test_lang)]
    layers = sorted(set(suite.layer))
    tasks = sorted(set(suite.task))
    n_cells = len(langs) * len(layers)
    print(f"suite: {len(suite)} (language, layer, task) probes over {n_cells} language/layer cells "
          f"in {t_suite:.1f}s", flush=True)

    # 2. paired per language: the suite on the language's whole layer grid, then, right after (same
    # machine load: this machine's speed drifts by up to 1.5x over minutes), scikit-learn on some of
    # its layers, extrapolated to all of them
    rng = np.random.default_rng(args.seed)
    k = args.baseline_layers if 0 < args.baseline_layers < len(layers) else len(layers)
    rows, per_lang = [], []
    for lang in langs:
        one = TrainConfig(activations=args.activations, tasks=cfg.tasks, layers=args.layers, langs=[lang],
                          figures=False, **solver)
        t1 = time.perf_counter()
        train_grid(one, progress=False)
        t_lang = time.perf_counter() - t1
        lds1, objs1, _, _ = _prepare(store, [lang], one)  # the tasks the suite fitted in this language
        names1 = [t.task_name for t in objs1 if t.level == "word" and t.kind == "classification"]
        t_sk = 0.0
        for layer in sorted(int(x) for x in rng.choice(layers, k, replace=False)):
            accs, secs = sklearn_cell(store, lds1, lang, layer, names1, cfg)
            t_sk += secs
            for n, a in accs.items():
                rows.append({"lang": lang, "layer": layer, "task": n, "sklearn": a})
        est = t_sk / k * len(layers)
        per_lang.append({"lang": lang, "suite_seconds": round(t_lang, 2), "sklearn_seconds_measured": round(t_sk, 1),
                         "sklearn_layers": k, "sklearn_seconds_all_layers": round(est, 1)})
        print(f"{lang}: suite {t_lang:.1f}s for {len(layers)} layers; sklearn {t_sk:.1f}s for {k} layers "
              f"(-> {est:.0f}s for {len(layers)}): {est / t_lang:.1f}x", flush=True)
    base = pd.DataFrame(rows)
    merged = base.merge(suite.rename(columns={"value": "suite"})[["lang", "layer", "task", "suite"]],
                        on=["lang", "layer", "task"])
    diff = (merged.suite - merged.sklearn).abs() * 100
    t_lang_sum = sum(p["suite_seconds"] for p in per_lang)
    t_sk_sum = sum(p["sklearn_seconds_all_layers"] for p in per_lang)
    result = {
        "store": args.activations, "model": store.model, "langs": langs, "layers": layers, "tasks": tasks,
        "n_probes_suite": int(len(suite)), "n_cells": n_cells, "baseline_cells": len(langs) * k,
        "n_probes_compared": int(len(merged)),
        "suite_seconds": round(t_suite, 1),
        "suite_seconds_per_language_runs": round(t_lang_sum, 1),
        "sklearn_seconds_measured": round(float(sum(p["sklearn_seconds_measured"] for p in per_lang)), 1),
        "sklearn_seconds_full_grid": round(t_sk_sum, 1),
        "speedup_paired_per_language": round(t_sk_sum / t_lang_sum, 2),
        "speedup_paired_per_language_min": round(min(p["sklearn_seconds_all_layers"] / p["suite_seconds"]
                                                     for p in per_lang), 2),
        "speedup_full_grid": round(t_sk_sum / t_suite, 2),
        "mean_abs_diff_points": round(float(diff.mean()), 3), "worst_abs_diff_points": round(float(diff.max()), 3),
        "mean_signed_diff_points": round(float(((merged.suite - merged.sklearn) * 100).mean()), 3),
        "per_language": per_lang,
        "C": cfg.C[0], "suite_max_iter": cfg.max_iter, "suite_tol_whitened": cfg.tol,
        "sklearn": "LogisticRegression(C, solver='lbfgs', max_iter=100, tol=1e-4), StandardScaler per task",
    }
    worst = merged.assign(diff=diff).sort_values("diff", ascending=False).head(5)
    print(json.dumps({k_: v for k_, v in result.items() if k_ not in ("langs", "layers", "tasks", "per_language")},
                     indent=2))
    print("worst cells:\n" + worst.to_string(index=False))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
