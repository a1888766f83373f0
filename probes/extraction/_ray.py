"""Extraction shards on Ray (``python -m probes.extract --backend ray``).

The unit of work is the shard (``shard_size`` consecutive sentences of one
language), as in a local run. ``workers`` Ray actors each load the model
once (one GPU each when ``device`` is ``cuda``) and take the next missing
shard as soon as they finish one; each writes its shard atomically into the
store's ``.work`` directory, exactly as the local loop does. The driver then
assembles every language, writes the index and the manifest with its
checksums with the same code as a local run, so the store is identical to
one extracted locally with the same number of torch threads per process (the
manifest's creation time and timings aside; CPU kernels may round differently,
by about one float32 ulp, at another thread count, as two local runs do).

A worker that dies (killed, out of memory, a lost node) is restarted by Ray,
which reloads the model and reruns the shard it held (a shard already on disk
is not redone); past ``max_restarts`` the run stops with the error, keeping
every finished shard, and rerunning the same command resumes from them.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path
from typing import Any

from crossling.types import Sentence

__all__ = ["encode_shards_on_ray"]

#: Restarts of a dead worker (and reruns of the shard it held) before the run stops.
MAX_RESTARTS = 2


class _ShardWorker:
    """Holds one loaded model and encoder; writes the shards it is given."""

    def __init__(self, run: Any, layers: list[int], threads: int) -> None:
        import torch

        from probes.extraction.encode import Encoder

        torch.set_num_threads(threads)
        self.run = run
        self.layers = layers
        loaded = run.loaded
        if str(run.device) != "cpu":
            loaded.model.to(run.device)
        self.encoder = Encoder(loaded, layers, pool=run.pool, dtype=run.dtype, final_norm=run.final_norm,
                               max_tokens=run.max_tokens, device=run.device)

    def shard(self, toks: list, sents: list[Sentence], sdir: str) -> int:
        """Encode and write one shard (nothing if it is already on disk); returns its sentence count."""
        p = Path(sdir)
        if not (p / "meta.json").is_file():  # a rerun after a worker died once it had written the shard
            self.run._shard(self.encoder, toks, sents, self.layers, p)
        return len(sents)


def encode_shards_on_ray(run: Any, groups: dict[str, list[Sentence]], layers: list[int], max_length: int, *,
                         workers: int, ray_address: str | None, threads: int, progress: bool) -> int:
    """Write every missing shard of ``groups`` on Ray workers; returns the number of shards written.

    ``run`` is the :class:`probes.extraction._engine._Run` of the extraction (its options and
    output directory; the workers get a copy without the driver's loaded model).
    """
    from tqdm import tqdm

    from crossling._ray import ray_session
    from probes.extraction.encode import tokenize_sentences

    jobs: list[tuple[list, list[Sentence], str]] = []
    for g, sents in groups.items():
        gdir = run.out / ".work" / g
        if (gdir / "DONE.json").is_file():
            continue
        toks = None
        for k in range((len(sents) + run.shard_size - 1) // run.shard_size):
            sdir = gdir / f"shard-{k:05d}"
            if (sdir / "meta.json").is_file():
                continue
            if toks is None:
                toks = tokenize_sentences(run.loaded.tokenizer, sents, prefix=run.prefix, max_length=max_length)
            lo, hi = k * run.shard_size, min(len(sents), (k + 1) * run.shard_size)
            jobs.append((toks[lo:hi], sents[lo:hi], str(sdir)))
    if not jobs:
        return 0
    # longest shards first, so that the last ones to finish are short
    jobs.sort(key=lambda j: -sum(len(t.ids) for t in j[0]))
    shipped = copy.copy(run)
    shipped._loaded = None  # each worker loads the model itself (from its spec, or from this copy's factory)
    gpus = 1 if str(run.device).startswith("cuda") else 0
    bar = tqdm(total=sum(len(j[1]) for j in jobs), unit="sent", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, desc="extract on Ray")
    t0 = time.perf_counter()
    with ray_session(workers, ray_address) as ray:
        actor_cls = ray.remote(num_cpus=1, num_gpus=gpus, max_restarts=MAX_RESTARTS,
                               max_task_retries=MAX_RESTARTS)(_ShardWorker)
        actors = [actor_cls.remote(shipped, layers, threads) for _ in range(min(workers, len(jobs)))]
        todo = list(reversed(jobs))
        pending: dict[Any, Any] = {}
        for a in actors:
            if todo:
                pending[a.shard.remote(*todo.pop())] = a
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    a = pending.pop(ref)
                    bar.update(ray.get(ref))  # a worker that died past its restarts raises here
                    if todo:
                        pending[a.shard.remote(*todo.pop())] = a
        finally:
            bar.close()
            for a in actors:
                ray.kill(a)
    bar.set_postfix_str(f"{len(jobs)} shards in {time.perf_counter() - t0:.1f}s")
    return len(jobs)
