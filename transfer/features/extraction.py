"""Extract each (task, language)'s training and test pool once, for every cell to reuse.

One activation store per (task, language), holding the groups ``train`` and
``test`` (the capped pools of :meth:`DownstreamTask.pools`), under
``<features_dir>/<model-slug>/<task>-<lang>-<fingerprint>``. The fingerprint
covers the model, the pool definition (caps, split fraction and seed) and
the extraction options, so a different configuration never overwrites
another's store, and a finished store is reused by every later run (the model
is not even loaded when every store exists). Extraction itself is
:func:`probes.extract.extract_sentences` (resumable shard by shard). Sentence
pairs are encoded as one sequence with the tokenizer's pair template and
mean-pooled over their tokens.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from crossling.io import atomic_write_json
from probes.extraction.store import MANIFEST
from transfer.features import StoreFeatures
from transfer.tasks import get_task

__all__ = ["extract_features", "store_dir", "pool_options", "extract_layers"]


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in s.split("/")[-1].replace(":", "-"))


def pool_options(cfg: Any) -> dict[str, Any]:
    """The pool-defining options of a transfer config (what a store's content depends on)."""
    shots = [int(k) for k in cfg.shots] or [0]
    pool_cap = None if cfg.train_cap is None else max(int(cfg.train_cap), max(shots))
    return {"pool_cap": pool_cap, "test_cap": cfg.test_cap, "test_fraction": cfg.test_fraction,
            "split_seed": cfg.split_seed}


def extract_layers(cfg: Any) -> str:
    """Layers to extract: ``extract_layers``, where ``auto`` is the run's layer if it is an integer, else all."""
    spec = str(cfg.extract_layers).strip().lower()
    if spec != "auto":
        return spec
    return str(int(cfg.layer)) if str(cfg.layer).strip().lstrip("-").isdigit() else "all"


def _pair_encoding(cfg: Any) -> str:
    return str(getattr(cfg, "pair_encoding", "joint"))


def store_dir(features_dir: str | Path, model: str, task: str, lang: str, options: dict[str, Any]) -> Path:
    """Directory of the store of (model, task, lang) under ``options``."""
    fp = hashlib.sha256(json.dumps({"model": model, "task": task, "lang": lang, **options},
                                   sort_keys=True, default=str).encode()).hexdigest()[:12]
    return Path(features_dir) / _slug(model) / f"{task}-{lang}-{fp}"


def _extract_one(cfg: Any, data_dir: str, tname: str, lang: str, d: str, layers: str,
                 loaded: Any = None) -> dict[str, Any]:
    """Extract the pools of one (task, language) into the store ``d``; returns the pools' info."""
    from probes.extract import extract_sentences

    popt = pool_options(cfg)
    t0 = time.perf_counter()
    task = get_task(tname)
    p = task.pools(data_dir, lang, pool_cap=popt["pool_cap"], test_cap=popt["test_cap"],
                   test_fraction=popt["test_fraction"], split_seed=popt["split_seed"])
    groups = {"train": p.train, "test": p.test}
    if task.kind == "pair" and _pair_encoding(cfg) == "separate":
        for pool, sents in (("train", p.train), ("test", p.test)):
            groups[f"{pool}_a"] = [replace(s, text_b=None, words=[]) for s in sents]
            groups[f"{pool}_b"] = [replace(s, text=s.text_b or "", text_b=None, words=[]) for s in sents]
    extract_sentences(
        loaded if loaded is not None else cfg.model, groups, d,
        layers=layers, prefix=cfg.prefix, max_length=cfg.max_length, store_dtype=cfg.store_dtype,
        max_tokens=cfg.extract_max_tokens, device=cfg.device, corpus_name=f"xtreme-{tname}",
        extra_config={"task": tname, "lang": lang, **popt}, progress=cfg.progress, seed=cfg.model_seed,
    )
    info = {"train_from": p.train_from, "test_from": p.test_from, "n_train": len(p.train),
            "n_test": len(p.test), "seconds": round(time.perf_counter() - t0, 2)}
    atomic_write_json(Path(d).parent / f"{Path(d).name}.pools.json", info)
    return info


def _extract_on_ray(cfg: Any, data_dir: str, jobs: list[tuple[str, str, str]], layers: str,
                    log: Callable[[str], None]) -> None:
    """Run extraction jobs as Ray tasks (one model load per task; GPUs if ``device`` is cuda)."""
    from crossling._ray import ray_session

    with ray_session(max(1, cfg.workers), cfg.ray_address) as ray:
        gpus = 1 if str(cfg.device).startswith("cuda") else 0
        remote = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(_extract_one)
        refs = {remote.remote(cfg, data_dir, t, l, d, layers): (t, l) for t, l, d in jobs}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for r in ready:
                t, l = refs.pop(r)
                info = ray.get(r)
                log(f"[transfer] features {t}/{l}: train {info['n_train']} ({info['train_from']}), "
                    f"test {info['n_test']} ({info['test_from']}), {info['seconds']}s on Ray")


def extract_features(
    cfg: Any,
    *,
    data_dir: str | Path,
    features_dir: str | Path,
    log: Callable[[str], None] | None = None,
) -> StoreFeatures:
    """Extract (or reuse) the stores of every (task, language) of ``cfg``.

    With ``backend: ray`` the (task, language) extractions run as Ray tasks
    (sharded over the cluster's workers or GPUs); otherwise they run here,
    one after the other, sharing one loaded model.

    Parameters
    ----------
    cfg : TransferConfig
        Uses ``model``, ``tasks``, ``langs``, caps, split options and the
        extraction options (``extract_layers``, ``prefix``, ``max_length``,
        ``store_dtype``, ``extract_max_tokens``, ``device``).
    data_dir : path
        Data directory holding ``xtreme/``.
    features_dir : path
        Root of the feature stores.

    Returns
    -------
    StoreFeatures
    """
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    popt = pool_options(cfg)
    layers = extract_layers(cfg)
    xopt = {"prefix": cfg.prefix, "max_length": cfg.max_length, "store_dtype": cfg.store_dtype,
            "layers": layers}
    dirs: dict[str, Path] = {}
    todo: list[tuple[str, str, str]] = []
    for tname in cfg.tasks:
        # separately encoded pairs live in their own stores; every other store keeps its fingerprint
        sep = {"pair_encoding": "separate"} if (get_task(tname).kind == "pair"
                                                and _pair_encoding(cfg) == "separate") else {}
        for lang in cfg.langs:
            d = store_dir(features_dir, cfg.model, tname, lang, {**popt, **xopt, **sep})
            dirs[f"{tname}/{lang}"] = d
            if not ((d / MANIFEST).is_file() and (d.parent / f"{d.name}.pools.json").is_file()):
                todo.append((tname, lang, str(d)))
    if todo and cfg.backend == "ray":
        _extract_on_ray(cfg, str(data_dir), todo, layers, log)
    elif todo:
        from probes.models import load_model

        log(f"[transfer] loading {cfg.model} to extract {len(todo)} (task, language) feature store(s)")
        loaded = load_model(cfg.model, seed=cfg.model_seed)
        for tname, lang, d in todo:
            info = _extract_one(cfg, str(data_dir), tname, lang, d, layers, loaded)
            log(f"[transfer] features {tname}/{lang}: train {info['n_train']} ({info['train_from']}), "
                f"test {info['n_test']} ({info['test_from']}), {info['seconds']}s")
    stores: dict[str, str] = {}
    pools: dict[str, list[str]] = {}
    plans: dict[str, str] = {}
    model_label = cfg.model
    for key, d in dirs.items():
        info = json.loads((d.parent / f"{d.name}.pools.json").read_text(encoding="utf-8"))
        stores[key] = str(d)
        pools[key] = [info["train_from"], info["test_from"]]
        mf = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
        plans[key] = str(mf.get("plan", ""))
        model_label = str(mf.get("model", {}).get("name", model_label))
    return StoreFeatures(stores=stores, pools=pools, model=model_label, store_plans=plans,
                         pair_encoding=_pair_encoding(cfg))
