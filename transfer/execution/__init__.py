"""How the transfer grid runs: cells and their store (:mod:`.jobs`), and where batches run (:mod:`.backends`).

:mod:`transfer.execution.jobs`
    The grid of (task, src, tgt, k, seed) cells, their content hashes under a
    :class:`RunSpec`, the :class:`Batch` (the unit of scheduling) and the
    resumable on-disk :class:`CellStore`.
:mod:`transfer.execution.backends`
    The :data:`BACKENDS` registry: ``serial``, ``process`` (default) and
    ``ray``, plus the :class:`Progress` line of a run.
"""

from transfer.execution.backends import BACKENDS, Progress, run_processes, run_ray, run_serial
from transfer.execution.jobs import (
    CELL_FORMAT,
    Batch,
    Cell,
    CellStore,
    RunSpec,
    cell_checksum,
    group_batches,
    make_grid,
)

__all__ = ["Batch", "Cell", "CellStore", "RunSpec", "CELL_FORMAT", "cell_checksum", "group_batches", "make_grid",
           "BACKENDS", "Progress", "run_serial", "run_processes", "run_ray"]
