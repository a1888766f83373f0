"""Threading helpers of the probe solvers: BLAS/torch thread limits, row blocks and their pool."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from crossling.errors import ConfigError

_CONTROLLER: object | None = None


def _blas_threads(work: int):  # type: ignore[no-untyped-def]
    """Single-threaded BLAS for small products (``work`` = n*d*K multiply-adds).

    Threaded OpenBLAS on tiny matrices spends its time waiting for threads
    (orders of magnitude slower on a busy machine); large products keep the
    default thread count.
    """
    global _CONTROLLER
    from contextlib import nullcontext

    if work >= 20_000_000:
        return nullcontext()
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return nullcontext()
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")  # type: ignore[attr-defined]


def _single_blas():  # type: ignore[no-untyped-def]
    """Single-threaded BLAS/LAPACK for the enclosed block (see :func:`_blas_threads`)."""
    return _blas_threads(0)


class _torch_threads:
    """Run small torch work single-threaded (restoring the thread count after)."""

    def __init__(self, work: int):
        self.work = work
        self.old = 0

    def __enter__(self) -> None:
        import torch

        self.old = torch.get_num_threads()
        if self.work < 50_000_000:
            torch.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.set_num_threads(self.old)


#: Rows per block of the solver's passes over the features: blocks are the unit of work of the
#: threads, and their partial sums are added in block order (results do not depend on n_jobs).
_BLOCK_ROWS = 2048


def _run_all(jobs: list[Callable[[], Any]], pool) -> list[Any]:  # type: ignore[no-untyped-def]
    """``[job() for job in jobs]``, on ``pool`` when there is more than one job (results in order)."""
    if pool is None or len(jobs) < 2:
        return [job() for job in jobs]
    return list(pool.map(lambda job: job(), jobs))


def _row_blocks(n: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the solver's blocks over ``n`` rows (one empty block when ``n == 0``)."""
    return [(s, min(n, s + _BLOCK_ROWS)) for s in range(0, n, _BLOCK_ROWS)] or [(0, 0)]


def _map_blocks(fn, n: int, pool) -> list:  # type: ignore[no-untyped-def]
    """``[fn(start, stop) for each block of rows]``, on ``pool`` when there is more than one block."""
    return _run_all([lambda se=se: fn(*se) for se in _row_blocks(n)], pool)


class _Pool:
    """A thread pool for the row blocks of one solver call (``None`` inside when one thread will do).

    BLAS runs single-threaded inside: the products per block are small, gain little from BLAS
    threads and lose a lot to them on a busy machine.
    """

    def __init__(self, n_jobs: int | None, n_rows: int):
        if n_jobs is not None and n_jobs < 1:
            raise ConfigError(f"n_jobs must be >= 1 (or None for the CPU count), got {n_jobs}.")
        workers = n_jobs if n_jobs is not None else (os.cpu_count() or 1)
        self.workers = max(1, min(workers, -(-n_rows // _BLOCK_ROWS)))
        self.pool = None
        self._blas = _single_blas()

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._blas.__enter__()
        if self.workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(self.workers)
        return self.pool

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        self._blas.__exit__(*exc)
