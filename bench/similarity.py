"""Benchmark of the representations package (results go to docs/bench-similarity.md).

(a) The all-pairs alignment map: 16 languages x 13 layers, n = 1000 sentences
    (PUD through multilingual-e5-small with ``--activations STORE``, else
    random arrays of the same shapes), metrics cka (debiased), cka_biased,
    svcca, pwcca and retrieval, without permutations/bootstrap: the project's
    batched engine vs a straightforward loop calling textbook
    implementations pair by pair (timed on a random sample of pairs and
    extrapolated to all pairs unless ``--full-baseline``; the values of the
    sampled pairs are checked to agree).
(c) ``--compare-rev REV``: the map of (a) by this checkout's engine against the
    engine of git revision ``REV`` ("today's implementation" of issue #20),
    each in a fresh subprocess over the same store, interleaved and repeated
    (``--repeats``), without resampling and with ``--perms``/``--boots`` for
    the cheap metrics; values of both are compared cell by cell.
(b) Linear CKA at n = 100,000, width 768: ``minibatch_cka`` over memory-mapped
    arrays vs the Gram-matrix form (which needs n^2 x 8 bytes = 80 GB per Gram
    matrix), each in a fresh subprocess whose peak resident memory is read
    from ``/proc/self/status`` (VmHWM).

Usage::

    python bench/similarity.py                                   # random arrays, width 384
    python bench/similarity.py --activations runs/pud-e5         # real PUD activations
    python bench/similarity.py --width 768 --skip-minibatch

Prints a JSON summary on stdout (and ``--json PATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LANGS16 = ["ar", "cs", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "ko", "pt", "ru", "tr", "zh"]
METRIC_NAMES = ["cka", "cka_biased", "svcca", "pwcca", "retrieval"]


# ---------------------------------------------------------------------------
# Textbook implementations (what a user would write from the papers)
# ---------------------------------------------------------------------------
def tb_gram(x: np.ndarray) -> np.ndarray:
    return x @ x.T


def tb_center_gram(g: np.ndarray, unbiased: bool) -> np.ndarray:
    """Kornblith et al.'s reference ``center_gram`` (CKA colab)."""
    g = g.copy()
    n = g.shape[0]
    if unbiased:
        np.fill_diagonal(g, 0)
        means = np.sum(g, 0) / (n - 2)
        means -= np.sum(means) / (2 * (n - 1))
        g -= means[:, None]
        g -= means[None, :]
        np.fill_diagonal(g, 0)
    else:
        means = np.mean(g, 0)
        means -= np.mean(means) / 2
        g -= means[:, None]
        g -= means[None, :]
    return g


def tb_cka(x: np.ndarray, y: np.ndarray, debiased: bool) -> float:
    gx = tb_center_gram(tb_gram(x), debiased)
    gy = tb_center_gram(tb_gram(y), debiased)
    return float(np.sum(gx * gy) / (np.linalg.norm(gx) * np.linalg.norm(gy)))


def _tb_svd_reduce(x: np.ndarray, keep: float) -> np.ndarray:
    xc = x - x.mean(0)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    share = np.cumsum(s**2) / np.sum(s**2)
    k = int(np.searchsorted(share, keep) + 1)
    return u[:, :k] * s[:k]


def _tb_cca(x: np.ndarray, y: np.ndarray, eps: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """CCA via covariance matrices (as in google/svcca cca_core): rho and x's canonical directions."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    sxx = xc.T @ xc + eps * np.eye(x.shape[1])
    syy = yc.T @ yc + eps * np.eye(y.shape[1])
    sxy = xc.T @ yc

    def inv_sqrt(a: np.ndarray) -> np.ndarray:
        w, v = np.linalg.eigh(a)
        return (v / np.sqrt(np.clip(w, eps, None))) @ v.T

    ix, iy = inv_sqrt(sxx), inv_sqrt(syy)
    u, rho, _ = np.linalg.svd(ix @ sxy @ iy, full_matrices=False)
    k = min(x.shape[1], y.shape[1])
    return np.clip(rho[:k], 0, 1), ix @ u[:, :k]


def tb_svcca(x: np.ndarray, y: np.ndarray, keep: float = 0.99) -> float:
    rx, ry = _tb_svd_reduce(x, keep), _tb_svd_reduce(y, keep)
    rho, _ = _tb_cca(rx, ry)
    return float(rho.mean())


def tb_pwcca(x: np.ndarray, y: np.ndarray, keep: float = 0.99) -> float:
    """Morcos et al. (2018) projection weighting on SVD-reduced inputs."""
    rx, ry = _tb_svd_reduce(x, keep), _tb_svd_reduce(y, keep)
    rho, wx = _tb_cca(rx, ry)
    h = (rx - rx.mean(0)) @ wx  # canonical variates of x
    h /= np.linalg.norm(h, axis=0)
    xc = x - x.mean(0)
    alpha = np.abs(h.T @ xc).sum(axis=1)
    alpha /= alpha.sum()
    return float(alpha @ rho)


def tb_retrieval(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    zx = x / np.linalg.norm(x, axis=1, keepdims=True)
    zy = y / np.linalg.norm(y, axis=1, keepdims=True)
    s = zx @ zy.T
    idx = np.arange(len(x))
    return float(np.mean(np.argmax(s, 1) == idx)), float(np.mean(np.argmax(s, 0) == idx))


# ---------------------------------------------------------------------------
# (a) all-pairs map
# ---------------------------------------------------------------------------
def random_views(n_langs: int, n_layers: int, n: int, width: int, seed: int = 0) -> dict[tuple[str, int], np.ndarray]:
    """Random float32 arrays with the store's shapes: per layer a shared latent
    signal (so languages are related) plus language-specific noise."""
    rng = np.random.default_rng(seed)
    views = {}
    for layer in range(n_layers):
        z = rng.normal(size=(n, 64))
        for lang in LANGS16[:n_langs]:
            mix = rng.normal(size=(64, width)) / 8.0
            views[lang, layer] = (z @ mix + rng.normal(size=(n, width))).astype(np.float32)
    return views


def store_views(path: str) -> tuple[dict[tuple[str, int], np.ndarray], str]:
    from probes.extraction.store import ActivationStore
    from representations.align import aligned_rows

    st = ActivationStore(path)
    rows, _, _ = aligned_rows(st, st.languages)
    views = {(lang, layer): np.asarray(st.sentences(lang, layer))[rows[lang]]
             for lang in st.languages for layer in st.layers}
    return views, st.model


def bench_map(views: dict[tuple[str, int], np.ndarray], sample_pairs: int, full_baseline: bool,
              layer_matrices: bool, seed: int) -> dict[str, Any]:
    from representations import METRICS, alignment_maps

    langs = sorted({k[0] for k in views})
    layers = sorted({k[1] for k in views})
    metrics = [METRICS.get(m)() for m in METRIC_NAMES]
    t0, c0 = time.perf_counter(), time.process_time()
    table, _ = alignment_maps(lambda l, k: views[l, k], langs, layers, metrics, layer_matrices=False)
    t_project, c_project = time.perf_counter() - t0, time.process_time() - c0
    out: dict[str, Any] = {"languages": len(langs), "layers": len(layers),
                           "n": int(next(iter(views.values())).shape[0]),
                           "width": int(next(iter(views.values())).shape[1]),
                           "project_s": round(t_project, 2), "project_cpu_s": round(c_project, 2),
                           "rows": len(table)}
    if layer_matrices:
        t0, c0 = time.perf_counter(), time.process_time()
        alignment_maps(lambda l, k: views[l, k], langs, layers, [METRICS.get(m)() for m in METRIC_NAMES],
                       layer_matrices=True)
        out["project_with_layer_matrices_s"] = round(time.perf_counter() - t0, 2)
        out["project_with_layer_matrices_cpu_s"] = round(time.process_time() - c0, 2)

    # Baseline: textbook functions, pair by pair, every view recomputed per pair.
    pairs = [(layer, a, b) for layer in layers for i, a in enumerate(langs) for b in langs[i + 1:]]
    rng = np.random.default_rng(seed)
    chosen = pairs if full_baseline else [pairs[i] for i in rng.choice(len(pairs), sample_pairs, replace=False)]
    per_metric: dict[str, float] = {m: 0.0 for m in METRIC_NAMES}
    per_metric_cpu: dict[str, float] = {m: 0.0 for m in METRIC_NAMES}
    max_diff: dict[str, float] = {m: 0.0 for m in METRIC_NAMES}
    lookup = table.set_index(["layer", "lang_a", "lang_b", "metric"])["value"]
    for layer, a, b in chosen:
        x = views[a, layer].astype(np.float64)
        y = views[b, layer].astype(np.float64)
        calls = {
            "cka": lambda x, y: [tb_cka(x, y, True)],
            "cka_biased": lambda x, y: [tb_cka(x, y, False)],
            "svcca": lambda x, y: [tb_svcca(x, y)],
            "pwcca": lambda x, y: [tb_pwcca(x, y), tb_pwcca(y, x)],  # an asymmetric metric: both directions
            "retrieval": lambda x, y: list(tb_retrieval(x, y)),
        }
        for m, fn in calls.items():
            t0, c0 = time.perf_counter(), time.process_time()
            vals = fn(x, y)
            per_metric[m] += time.perf_counter() - t0
            per_metric_cpu[m] += time.process_time() - c0
            ours = [lookup[layer, a, b, m]] if len(vals) == 1 else [lookup[layer, a, b, m], lookup[layer, b, a, m]]
            max_diff[m] = max(max_diff[m], *(abs(u - v) for u, v in zip(ours, vals)))
    scale = len(pairs) / len(chosen)
    baseline = sum(per_metric.values()) * scale
    baseline_cpu = sum(per_metric_cpu.values()) * scale
    out.update({
        "baseline_cpu_s": round(baseline_cpu, 1), "speedup_cpu": round(baseline_cpu / c_project, 1),
        "pairs": len(pairs), "baseline_pairs_timed": len(chosen), "baseline_extrapolated": not full_baseline,
        "baseline_s": round(baseline, 1),
        "baseline_per_metric_s": {m: round(v * scale, 1) for m, v in per_metric.items()},
        "speedup": round(baseline / t_project, 1),
        "max_abs_diff_vs_textbook": {m: float(f"{v:.2e}") for m, v in max_diff.items()},
    })
    return out


# ---------------------------------------------------------------------------
# (b) minibatch CKA at n = 100,000 (each case in a fresh subprocess)
# ---------------------------------------------------------------------------
def _child(case: str, xpath: str, ypath: str, limit_gb: float) -> None:
    from representations import linear_cka, minibatch_cka

    if limit_gb > 0:
        lim = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    x = np.load(xpath, mmap_mode="r")
    y = np.load(ypath, mmap_mode="r")
    res: dict[str, Any] = {"case": case, "n": int(x.shape[0]), "width": int(x.shape[1])}
    t0 = time.perf_counter()
    try:
        if case == "minibatch":
            res["value"] = minibatch_cka(x, y, debiased=True, batch_size=4096)
        elif case == "minibatch_average":
            res["value"] = minibatch_cka(x, y, debiased=True, estimator="average", batch_size=4096)
        elif case == "features_in_memory":
            res["value"] = linear_cka(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64),
                                      debiased=True, method="features")
        elif case == "gram_textbook":
            res["value"] = tb_cka(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), True)
        elif case == "gram_project":
            res["value"] = linear_cka(x, y, debiased=True, method="gram")
        res["ok"] = True
    except MemoryError:
        res.update(ok=False, error=f"MemoryError under a {limit_gb:g} GB address-space limit")
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        res.update(ok=False, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    res["seconds"] = round(time.perf_counter() - t0, 2)
    res["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(res))


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM: unlike ru_maxrss on Linux, it is
    not inherited from the parent across fork + exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _run_child(case: str, xpath: str, ypath: str, limit_gb: float = 0.0) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", case, "--x", xpath, "--y", ypath,
                           "--limit-gb", str(limit_gb)], capture_output=True, text=True, timeout=3600, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    try:
        return json.loads(line)
    except ValueError:
        return {"case": case, "ok": False, "error": f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}


def bench_minibatch(n: int, width: int, tmp: Path, seed: int, small_n: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    xpath, ypath = str(tmp / "x.npy"), str(tmp / "y.npy")
    x = np.lib.format.open_memmap(xpath, mode="w+", dtype=np.float32, shape=(n, width))
    y = np.lib.format.open_memmap(ypath, mode="w+", dtype=np.float32, shape=(n, width))
    mix = rng.normal(size=(width, width)) / np.sqrt(width)
    for s in range(0, n, 10000):
        b = rng.normal(size=(min(10000, n - s), width))
        x[s : s + len(b)] = b
        y[s : s + len(b)] = b @ mix + rng.normal(size=b.shape)
    x.flush()
    y.flush()
    del x, y
    out: dict[str, Any] = {"n": n, "width": width, "gram_bytes_per_matrix": n * n * 8}
    out["minibatch"] = _run_child("minibatch", xpath, ypath)
    out["minibatch_average"] = _run_child("minibatch_average", xpath, ypath)
    out["features_in_memory"] = _run_child("features_in_memory", xpath, ypath)
    out["gram_project_guard"] = _run_child("gram_project", xpath, ypath)
    out["gram_textbook_16GB_limit"] = _run_child("gram_textbook", xpath, ypath, limit_gb=16.0)
    # The Gram form where it fits, to show its n^2 growth.
    sx, sy = str(tmp / "xs.npy"), str(tmp / "ys.npy")
    np.save(sx, np.load(xpath, mmap_mode="r")[:small_n])
    np.save(sy, np.load(ypath, mmap_mode="r")[:small_n])
    out[f"gram_textbook_n{small_n}"] = _run_child("gram_textbook", sx, sy)
    out[f"minibatch_n{small_n}"] = _run_child("minibatch", sx, sy)
    return out


# ---------------------------------------------------------------------------
# (c) this engine against the engine of an earlier git revision
# ---------------------------------------------------------------------------
def _engine_child(spec: dict[str, Any]) -> None:
    """Time ``alignment_maps`` of whichever ``representations`` is on sys.path (run in a subprocess)."""
    import inspect

    from threadpoolctl import threadpool_limits

    from representations import METRICS, alignment_maps

    views, _ = store_views(spec["activations"]) if spec.get("activations") else (
        random_views(16, 13, 1000, 384, 0), "")
    langs = sorted({k[0] for k in views})
    layers = [l for l in sorted({k[1] for k in views}) if spec.get("layers") is None or l in spec["layers"]]
    metrics = []
    for m in spec["metrics"]:
        cls = METRICS.get(m)
        kw = {"jobs": spec["jobs"]} if "jobs" in inspect.signature(cls).parameters else {}
        metrics.append(cls(**kw))
    kwargs: dict[str, Any] = dict(layer_matrices=False, n_permutations=spec["perms"], n_bootstrap=spec["boots"],
                                  resample=spec["resample"], seed=0)
    params = inspect.signature(alignment_maps).parameters
    if "null_draws" in params:
        kwargs.update(null_draws=spec["null_draws"], cca_null_draws=spec["cca_null_draws"])
    if spec.get("length_control") and "covariates" in params:
        kwargs["covariates"] = {k: np.asarray(v) for k, v in _log_lengths(spec["activations"]).items()}
    with threadpool_limits(spec["threads"]):
        t0, c0 = time.perf_counter(), time.process_time()
        table, _ = alignment_maps(lambda l, k: views[l, k], langs, layers, metrics, **kwargs)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    table.to_parquet(spec["table"])
    import representations

    print(json.dumps({"engine": str(Path(representations.__file__).parent), "wall_s": round(wall, 2),
                      "cpu_s": round(cpu, 2), "rows": len(table),
                      "layers": len(layers), "loadavg": os.getloadavg()}))


def _engine_run(src: str, spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--engine-child", json.dumps(spec)], capture_output=True,
                          text=True, timeout=7200, check=False, env={**os.environ, "PYTHONPATH": src})
    line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    try:
        return json.loads(line)
    except ValueError:
        return {"ok": False, "error": f"exit {proc.returncode}: {proc.stderr.strip()[-500:]}"}


def _log_lengths(path: str) -> dict[str, list[float]]:
    from probes.extraction.store import ActivationStore
    from representations.align import aligned_rows, sentence_log_lengths

    st = ActivationStore(path)
    _, ids, _ = aligned_rows(st, st.languages)
    return {k: v.tolist() for k, v in sentence_log_lengths(st, st.languages, ids).items()}


def bench_compare(rev: str, activations: str | None, repeats: int, threads: int, jobs: int, perms: int, boots: int,
                  layers: list[int] | None, resample_layers: list[int] | None, tmp: Path) -> dict[str, Any]:
    """Interleaved runs of both engines; returns times and the largest value differences."""
    old_src = tmp / "old"
    old_src.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "representations", "probes"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive, check=True)
    metrics = ["cka", "svcca", "pwcca", "retrieval"]
    base = {"activations": activations, "metrics": metrics, "threads": threads, "jobs": jobs, "null_draws": 0,
            "cca_null_draws": 0}
    cases = {
        "old_plain": (str(old_src), {**base, "perms": 0, "boots": 0, "resample": [], "layers": layers}),
        "new_plain": (str(REPO), {**base, "perms": 0, "boots": 0, "resample": [], "layers": layers}),
        "new_plain_null": (str(REPO), {**base, "perms": 0, "boots": 0, "resample": [], "null_draws": 10,
                                       "cca_null_draws": 1, "layers": layers}),
        "new_plain_null_lenctl": (str(REPO), {**base, "perms": 0, "boots": 0, "resample": [], "null_draws": 10,
                                              "cca_null_draws": 1, "length_control": activations is not None,
                                              "layers": layers}),
        "old_resampled": (str(old_src), {**base, "perms": perms, "boots": boots, "resample": ["cka", "retrieval"],
                                         "layers": resample_layers}),
        "new_resampled": (str(REPO), {**base, "perms": perms, "boots": boots, "resample": ["cka", "retrieval"],
                                      "null_draws": 10, "cca_null_draws": 1, "layers": resample_layers}),
    }
    out: dict[str, Any] = {"rev": rev, "threads": threads, "jobs": jobs, "perms": perms, "boots": boots,
                           "layers": layers, "resample_layers": resample_layers, "runs": {k: [] for k in cases}}
    for rep in range(repeats):
        for name, (src, spec) in cases.items():
            spec = {**spec, "table": str(tmp / f"{name}.parquet")}
            res = _engine_run(src, spec)
            out["runs"][name].append(res)
            print(f"[compare] repeat {rep} {name}: {res}", file=sys.stderr, flush=True)
    import pandas as pd

    keys = ["layer", "lang_a", "lang_b", "metric"]
    for pair in (("old_plain", "new_plain"), ("old_resampled", "new_resampled")):
        a = pd.read_parquet(tmp / f"{pair[0]}.parquet")
        b = pd.read_parquet(tmp / f"{pair[1]}.parquet")
        m = a.merge(b, on=keys, suffixes=("_old", "_new"))
        diffs = {}
        for c in ("value", "ci_low", "ci_high", "p_value"):
            d = (m[f"{c}_old"] - m[f"{c}_new"]).abs()
            diffs[c] = float(d.max()) if d.notna().any() else None
        out[f"max_abs_diff_{pair[1]}"] = {"cells": len(m), **diffs}
    new = pd.read_parquet(tmp / "new_plain_null_lenctl.parquet")
    out["levels"] = (new.groupby("metric")[["value", "null_level"]].mean().round(4).reset_index()
                     .to_dict(orient="records"))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--activations", help="activation store of PUD (default: random arrays)")
    p.add_argument("--width", type=int, default=384, help="width of random arrays (default 384, e5-small)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--sample-pairs", type=int, default=30, help="baseline pairs timed (extrapolated)")
    p.add_argument("--full-baseline", action="store_true", help="time the baseline on all pairs")
    p.add_argument("--layer-matrices", action="store_true", help="also time the per-language layer matrices")
    p.add_argument("--skip-map", action="store_true")
    p.add_argument("--skip-minibatch", action="store_true")
    p.add_argument("--minibatch-n", type=int, default=100_000)
    p.add_argument("--minibatch-width", type=int, default=768)
    p.add_argument("--small-n", type=int, default=5000)
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (default: library default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the summary here")
    p.add_argument("--compare-rev", help="(c): also time the engine of this git revision (e.g. c035c9c)")
    p.add_argument("--repeats", type=int, default=1, help="(c): interleaved repeats")
    p.add_argument("--jobs", type=int, default=2, help="(c): threads over CCA pairs of the new engine")
    p.add_argument("--perms", type=int, default=200, help="(c): permutations for cka/retrieval")
    p.add_argument("--boots", type=int, default=200, help="(c): bootstrap samples for cka/retrieval")
    p.add_argument("--compare-layers", help="(c): layers of the plain maps (comma list; default all)")
    p.add_argument("--resample-layers", help="(c): layers of the resampled maps (comma list; default all)")
    p.add_argument("--engine-child", help=argparse.SUPPRESS)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--x", help=argparse.SUPPRESS)
    p.add_argument("--y", help=argparse.SUPPRESS)
    p.add_argument("--limit-gb", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        _child(args.child, args.x, args.y, args.limit_gb)
        return 0
    if args.engine_child:
        # The engine under test is the one on PYTHONPATH, not this checkout (inserted at import time above).
        src = os.environ.get("PYTHONPATH", str(REPO)).split(os.pathsep)[0]
        sys.path[:] = [src] + [q for q in sys.path if q not in (str(REPO), src)]
        _engine_child(json.loads(args.engine_child))
        return 0
    from threadpoolctl import threadpool_info, threadpool_limits

    summary: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
                                           "blas": [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]}}
    ctx = threadpool_limits(args.threads) if args.threads else None
    if ctx is not None:
        ctx.__enter__()
        summary["machine"]["blas_threads"] = args.threads
    if not args.skip_map:
        if args.activations:
            views, model = store_views(args.activations)
            summary["map_source"] = f"activations {args.activations} ({model})"
        else:
            views = random_views(16, 13, args.n, args.width, args.seed)
            summary["map_source"] = f"random arrays 16 x 13 x ({args.n}, {args.width})"
        summary["map"] = bench_map(views, args.sample_pairs, args.full_baseline, args.layer_matrices, args.seed)
        print(json.dumps({"map": summary["map"]}, indent=1), file=sys.stderr)
    if args.compare_rev:
        with tempfile.TemporaryDirectory(prefix="bench-sim-cmp-") as tmp:
            def ints(v: str | None) -> list[int] | None:
                return [int(x) for x in v.split(",")] if v else None

            summary["compare"] = bench_compare(args.compare_rev, args.activations, args.repeats, args.threads or 2,
                                               args.jobs, args.perms, args.boots, ints(args.compare_layers),
                                               ints(args.resample_layers), Path(tmp))
        print(json.dumps({"compare": summary["compare"]}, indent=1), file=sys.stderr)
    if not args.skip_minibatch:
        with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
            summary["minibatch"] = bench_minibatch(args.minibatch_n, args.minibatch_width, Path(tmp), args.seed,
                                                   args.small_n)
    summary["machine"]["loadavg_end"] = os.getloadavg()
    text = json.dumps(summary, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
