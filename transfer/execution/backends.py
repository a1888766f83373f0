"""Where batches run: in this process, in local worker processes, or on Ray.

Every backend takes the same list of :class:`~transfer.execution.jobs.Batch` and calls
``on_done(batch, outcomes, error)`` in the driver as each batch finishes
(``error`` is set when the worker itself died; the driver then records the
batch's cells as failed). Workers write finished cells into the run directory
themselves (:class:`~transfer.execution.jobs.CellStore`), so with Ray the run directory
and the feature stores must be on a filesystem every worker sees (a shared
mount on a cluster; automatic on a single machine).

=========  ===========================================================
``serial``   in the driver process (debugging, tiny grids)
``process``  a pool of ``workers`` spawned local processes (default);
             memory is bounded by the number of workers, each keeping a
             small LRU cache of feature arrays
``ray``      ``ray.init(address=ray_address)``; without an address a
             local Ray with ``workers`` CPUs is started and stopped by the run
=========  ===========================================================
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from crossling.errors import ConfigError
from crossling.registry import Registry
from transfer.execution.jobs import Batch

__all__ = ["BACKENDS", "Progress", "run_serial", "run_processes", "run_ray"]

#: Registry of execution backends, keyed by name.
BACKENDS: Registry = Registry("execution backend")

OnDone = Callable[[Batch, list[dict[str, Any]], str | None], None]


class Progress:
    """Jobs done / total, failures and ETA, printed to stderr at most every ``every`` seconds.

    Parameters
    ----------
    total : int
        Cells in the grid.
    skipped : int
        Cells already finished before this run (resumed).
    """

    def __init__(self, total: int, skipped: int = 0, *, every: float = 2.0, stream: Any = None,
                 enabled: bool = True):
        self.total, self.skipped = total, skipped
        self.done = 0
        self.failed = 0
        self.t0 = time.perf_counter()
        self.every = every
        self._last = 0.0
        self.stream = stream or sys.stderr
        self.enabled = enabled

    def update(self, ok: int, failed: int) -> None:
        self.done += ok
        self.failed += failed
        now = time.perf_counter()
        if now - self._last >= self.every or self.skipped + self.done + self.failed >= self.total:
            self._last = now
            self.emit()

    def line(self) -> str:
        el = time.perf_counter() - self.t0
        finished = self.done + self.failed
        left = self.total - self.skipped - finished
        eta = el / finished * left if finished else float("nan")
        eta_s = "?" if eta != eta else _fmt(eta)
        pct = 100.0 * (self.skipped + self.done) / max(1, self.total)
        return (f"[transfer] {self.skipped + self.done}/{self.total} cells done ({pct:.1f}%), "
                f"{self.skipped} resumed, {self.failed} failed, elapsed {_fmt(el)}, ETA {eta_s}")

    def emit(self) -> None:
        if self.enabled:
            print(self.line(), file=self.stream, flush=True)


def _fmt(s: float) -> str:
    s = int(round(s))
    h, r = divmod(s, 3600)
    m, s = divmod(r, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


@BACKENDS.register("serial")
def run_serial(batches: list[Batch], on_done: OnDone, *, workers: int = 1, ray_address: str | None = None) -> None:
    """Run every batch in this process, in order."""
    from transfer.regimes import run_batch

    for b in batches:
        on_done(b, run_batch(b), None)


def _init_worker() -> None:
    import signal

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the workers

    torch.set_num_threads(1)


@BACKENDS.register("process")
def run_processes(batches: list[Batch], on_done: OnDone, *, workers: int = 2, ray_address: str | None = None) -> None:
    """Run batches in a pool of ``workers`` spawned processes (``workers=1`` runs in-process)."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from transfer.regimes import run_batch

    if workers < 1:
        raise ConfigError(f"The 'workers' parameter must be >= 1, got {workers}.")
    if workers == 1 or len(batches) <= 1:
        run_serial(batches, on_done)
        return
    import signal

    ctx = mp.get_context("spawn")
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)
    try:
        # Ctrl-C is the parent's to handle: workers start with SIGINT ignored (inherited across exec),
        # so an interrupt prints one line from the parent, not one traceback per worker.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            pending = {ex.submit(run_batch, b): b for b in batches}  # spawns the workers
        finally:
            signal.signal(signal.SIGINT, old)
        # SIGTERM (kill, a job scheduler's cancel, timeout) stops the workers too, as Ctrl-C does:
        # otherwise they outlive the parent and finish the batches they hold
        old_term = None
        if threading.current_thread() is threading.main_thread():
            old_term = signal.signal(signal.SIGTERM, _terminate)
        try:
            while pending:
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in finished:
                    b = pending.pop(fut)
                    try:
                        on_done(b, fut.result(), None)
                    except Exception as exc:  # noqa: BLE001 - a dead worker fails its batch, not the grid
                        on_done(b, [], f"worker failed: {type(exc).__name__}: {exc}")
        finally:
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
    except KeyboardInterrupt:
        # finished cells are on disk already; stop the workers now instead of waiting for their batches
        for proc in list(getattr(ex, "_processes", {}).values()):
            proc.terminate()
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    ex.shutdown(wait=True)


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM handler of the process backend's parent: leave through the Ctrl-C path (workers stopped)."""
    raise KeyboardInterrupt(f"terminated by signal {signum}")


@BACKENDS.register("ray")
def run_ray(batches: list[Batch], on_done: OnDone, *, workers: int = 2, ray_address: str | None = None) -> None:
    """Run batches as Ray tasks (one CPU each).

    ``ray_address`` connects to a running cluster (``"auto"``, ``"ray://host:10001"``,
    ``"host:6379"``); without one a local Ray with ``workers`` CPUs is started and
    shut down afterwards.
    """
    from crossling._ray import ray_session
    from transfer.regimes import run_batch

    with ray_session(workers, ray_address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=0)(run_batch)
        pending = {remote.remote(b): b for b in batches}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                b = pending.pop(ref)
                try:
                    on_done(b, ray.get(ref), None)
                except Exception as exc:  # noqa: BLE001 - a failed task fails its batch, not the grid
                    on_done(b, [], f"ray task failed: {type(exc).__name__}: {exc}")
